from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.engine import Interval, propose
from matching.engine import network as column_generation

from .helpers import NOW, listener, request
from .test_solver import ZONES, assert_feasible, random_round, small_params, windows


@pytest.fixture
def first_pairs_one(monkeypatch):
    """Start column generation from one listener per request, so pricing must add arcs."""
    monkeypatch.setattr(column_generation, "FIRST_PAIRS", 1)


@st.composite
def crowded(draw):
    """Rounds with more requests than listeners can take, so pairs compete."""
    p = small_params(
        horizon_days=draw(st.sampled_from((4, 9))),
        buffer_minutes=draw(st.sampled_from((0, 15))),
        min_notice_hours=draw(st.sampled_from((0, 24))),
    )
    listeners = []
    for i in range(draw(st.integers(1, 4))):
        booked = ()
        if draw(st.booleans()):
            start = NOW + timedelta(hours=draw(st.integers(12, 90)))
            booked = (Interval(start, start + timedelta(hours=1)),)
        listeners.append(
            listener(
                id=i + 1,
                timezone=draw(st.sampled_from(ZONES)),
                organization=draw(st.sampled_from(("A", "B"))),
                languages=frozenset(draw(st.sets(st.sampled_from(("en", "es")), min_size=1))),
                fields=frozenset(draw(st.sets(st.sampled_from(("nursing", "social work"))))),
                topics=frozenset(draw(st.sets(st.sampled_from(("grief", "burnout"))))),
                max_per_day=draw(st.integers(1, 3)),
                max_per_week=draw(st.integers(1, 4)),
                windows=windows(draw),
                booked=booked,
            )
        )
    requests = []
    for i in range(draw(st.integers(1, 7))):
        requests.append(
            request(
                id=i + 1,
                timezone=draw(st.sampled_from(ZONES)),
                organization=draw(st.sampled_from(("A", "B", "C"))),
                field=draw(st.sampled_from(("nursing", "social work"))),
                languages=frozenset(draw(st.sets(st.sampled_from(("en", "es")), min_size=1))),
                topics=frozenset(draw(st.sets(st.sampled_from(("grief", "burnout"))))),
                urgency=draw(st.sampled_from(("routine", "soon", "urgent"))),
                created_at=NOW - timedelta(days=draw(st.integers(0, 20))),
                past_ratings=((draw(st.integers(1, 4)), draw(st.integers(1, 5))),),
                windows=windows(draw),
            )
        )
    return requests, listeners, p


@settings(max_examples=200, deadline=None)
@given(crowded())
def test_column_generation_reaches_the_full_network_optimum(instance):
    requests, listeners, p = instance
    column_generation.FIRST_PAIRS, saved = 1, column_generation.FIRST_PAIRS
    try:
        grown = propose(requests, listeners, p)
    finally:
        column_generation.FIRST_PAIRS = saved
    full = propose(requests, listeners, p, prune=False)
    assert grown.stats["matched"] == full.stats["matched"]
    assert grown.stats["total_score"] == full.stats["total_score"]
    assert_feasible(grown, requests, listeners, p)


@pytest.mark.usefixtures("first_pairs_one")
@pytest.mark.parametrize("seed", range(4))
def test_pricing_adds_the_arcs_the_first_subset_lacks(seed):
    requests, listeners, p = random_round(seed, n_requests=60, n_listeners=12)
    grown = propose(requests, listeners, p)
    full = propose(requests, listeners, p, prune=False)
    assert grown.stats["rounds"] > 1
    assert grown.stats["candidates"] < full.stats["candidates"]
    assert (grown.stats["matched"], grown.stats["total_score"]) == (
        full.stats["matched"],
        full.stats["total_score"],
    )


@pytest.mark.usefixtures("first_pairs_one")
def test_compiled_solver_grows_the_same_optimum():
    pytest.importorskip("ortools")
    for seed in range(4):
        requests, listeners, p = random_round(seed, n_requests=60, n_listeners=12)
        plain = propose(requests, listeners, p)
        fast = propose(requests, listeners, p, solver="ortools")
        assert (fast.stats["matched"], fast.stats["total_score"]) == (
            plain.stats["matched"],
            plain.stats["total_score"],
        )
        assert_feasible(fast, requests, listeners, p)


def test_potentials_leave_no_residual_arc_with_negative_reduced_cost():
    layout = column_generation._Layout()
    a, b = layout.node(), layout.node()
    layout.edge(column_generation.SOURCE, a, 2, 5)
    layout.edge(a, b, 2, -7)
    layout.edge(b, column_generation.SINK, 1, 3)
    flows = [1, 1, 1]
    dist = column_generation.potentials(layout, flows)
    for t, h, cap, cost, flow in zip(
        layout.tails, layout.heads, layout.caps, layout.costs, flows, strict=True
    ):
        if flow < cap:
            assert cost + dist[t] - dist[h] >= 0
        if flow > 0:
            assert -cost + dist[h] - dist[t] >= 0


@pytest.fixture
def both_screens_compared(monkeypatch):
    """Run every pair screen both ways and record whether the two agreed."""
    pytest.importorskip("numpy")
    screen = column_generation._PairTable.screen
    seen = []

    def compared(table, d_request, top, top_key):
        fast = screen(table, d_request, top, top_key)
        arrays, table.arrays = table.arrays, None
        try:
            plain = screen(table, d_request, top, top_key)
        finally:
            table.arrays = arrays
        seen.append((arrays is not None, fast == plain, len(plain)))
        return fast

    monkeypatch.setattr(column_generation._PairTable, "screen", compared)
    return seen


@pytest.mark.usefixtures("first_pairs_one")
@pytest.mark.parametrize("seed", range(4))
def test_numpy_and_pure_python_screens_keep_the_same_pairs(seed, both_screens_compared):
    requests, listeners, p = random_round(seed, n_requests=60, n_listeners=12)
    propose(requests, listeners, p)
    assert both_screens_compared
    assert all(vectorised for vectorised, _, _ in both_screens_compared)
    assert all(same for _, same, _ in both_screens_compared)
    assert any(kept for _, _, kept in both_screens_compared)


@settings(max_examples=200, deadline=None)
@given(crowded())
def test_pure_python_screen_reaches_the_full_network_optimum(instance):
    requests, listeners, p = instance
    saved = column_generation.FIRST_PAIRS, column_generation.USE_NUMPY
    column_generation.FIRST_PAIRS, column_generation.USE_NUMPY = 1, False
    try:
        grown = propose(requests, listeners, p)
    finally:
        column_generation.FIRST_PAIRS, column_generation.USE_NUMPY = saved
    full = propose(requests, listeners, p, prune=False)
    assert grown.stats["matched"] == full.stats["matched"]
    assert grown.stats["total_score"] == full.stats["total_score"]
    assert_feasible(grown, requests, listeners, p)


def test_listener_top_bounds_every_start_of_the_listener():
    requests, listeners, p = random_round(1, n_requests=30, n_listeners=8)
    captured = {}
    solve = column_generation.solve

    def capture(c, solver, first_pairs=None):
        captured["c"] = c
        return solve(c, solver, first_pairs)

    column_generation.solve, saved = capture, column_generation.solve
    try:
        propose(requests, listeners, p)
    finally:
        column_generation.solve = saved
    c = captured["c"]
    checked = 0
    for li, positions in enumerate(c.slot_day):
        for k, u in enumerate(column_generation.URGENCY_KEYS):
            points = [c.earliness[u][t] + c.week_load[c.day_week[d]] for t, d in positions.items()]
            if points:
                assert c.listener_top[li][k] == max(points)
                checked += 1
    assert checked


@pytest.fixture
def both_potentials_compared(monkeypatch):
    """Compute every round's potentials both ways and record whether they agreed."""
    np = pytest.importorskip("numpy")
    seen = []

    def compared(net, flows):
        fast = column_generation._potentials_numpy(np, net, flows)
        plain = column_generation._potentials_queue(net, flows)
        seen.append((fast == plain, min(plain)))
        return fast

    monkeypatch.setattr(column_generation, "potentials", compared)
    return seen


@pytest.mark.usefixtures("first_pairs_one")
@pytest.mark.parametrize("seed", range(4))
def test_numpy_and_pure_python_potentials_agree(seed, both_potentials_compared):
    requests, listeners, p = random_round(seed, n_requests=60, n_listeners=12)
    grown = propose(requests, listeners, p)
    full = propose(requests, listeners, p, prune=False)
    assert both_potentials_compared
    assert all(same for same, _ in both_potentials_compared)
    assert any(lowest < 0 for _, lowest in both_potentials_compared)
    assert (grown.stats["matched"], grown.stats["total_score"]) == (
        full.stats["matched"],
        full.stats["total_score"],
    )


def test_numpy_potentials_refuse_a_negative_cycle():
    np = pytest.importorskip("numpy")
    layout = column_generation._Layout()
    a = layout.node()
    layout.edge(column_generation.SOURCE, a, 1, -2)
    layout.edge(a, column_generation.SOURCE, 1, 1)
    with pytest.raises(RuntimeError, match="negative cycle"):
        column_generation._potentials_numpy(np, layout, [0, 0])


def test_groups_that_share_no_listener_are_solved_apart_with_the_same_answer():
    from dataclasses import replace

    first, first_listeners, p = random_round(5, n_requests=40, n_listeners=10)
    second, second_listeners, _ = random_round(6, n_requests=40, n_listeners=10)
    # The second group speaks only Polish and has its own ids.
    second = [
        replace(
            r, id=r.id + 1000, practitioner_id=r.practitioner_id + 1000, languages=frozenset({"pl"})
        )
        for r in second
    ]
    second_listeners = [
        replace(lis, id=lis.id + 1000, languages=frozenset({"pl"})) for lis in second_listeners
    ]
    together = propose(first + second, first_listeners + second_listeners, p)
    apart = [propose(first, first_listeners, p), propose(second, second_listeners, p)]
    assert together.stats["components"] >= 2
    assert together.stats["components"] == sum(a.stats["components"] for a in apart)
    assert together.stats["matched"] > 0
    assert set(together.proposals) == {x for a in apart for x in a.proposals}
    full = propose(first + second, first_listeners + second_listeners, p, prune=False)
    assert (together.stats["matched"], together.stats["total_score"]) == (
        full.stats["matched"],
        full.stats["total_score"],
    )


def test_components_join_requests_through_shared_listeners():
    c = column_generation.Candidates(
        grid=[],
        earliness={},
        listener_mask=[0] * 4,
        slot_day=[],
        day_mask=[],
        day_cap=[],
        day_week=[],
        week_cap=[],
        week_load=[],
        week_spread=[],
        week_listener=[],
        listener_weeks=[],
    )
    # Requests 0 and 2 share listener 1; request 3 shares listener 2 with request 2;
    # request 1 has no pair; request 4 is alone with listener 3.
    c.pairs = [[(50, 1, 0)], [], [(50, 1, 0), (40, 2, 0)], [(30, 2, 0)], [(20, 3, 0)]]
    assert column_generation.components(c, [0, 2, 3, 4]) == [[0, 2, 3], [4]]
