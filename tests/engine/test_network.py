from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.engine import Interval, propose
from matching.engine import network as column_generation
from matching.engine.scoring import EARLINESS_CLASSES

from .helpers import NOW, listener, request
from .reference import propose_unpruned
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
    full = propose_unpruned(requests, listeners, p)
    assert grown.stats["matched"] == full.stats["matched"]
    assert grown.stats["total_score"] == full.stats["total_score"]
    assert_feasible(grown, requests, listeners, p)


@pytest.mark.usefixtures("first_pairs_one")
@pytest.mark.parametrize("seed", range(4))
def test_pricing_adds_the_arcs_the_first_subset_lacks(seed):
    requests, listeners, p = random_round(seed, n_requests=60, n_listeners=12)
    grown = propose(requests, listeners, p)
    full = propose_unpruned(requests, listeners, p)
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


def _head_potential(c, net, dist, li, position, day) -> int:
    """The potential of the node an arc at ``position`` enters, as pricing defines it."""
    node = net.slot_node.get((li, position)) if c.day_cap[day] > 1 else None
    if node is None:
        node = net.day_node.get(day)
    if node is None:
        node = net.week_node.get(c.day_week[day])
    return dist[column_generation.SINK] if node is None else dist[node]


@pytest.fixture
def screens_checked(monkeypatch):
    """Before each pricing, find by hand every pair with an omitted arc pricing below the
    margin; record whether the screen kept all of them, and how many pairs it kept."""
    price = column_generation._price
    seen = []

    def checked(c, active, subset, net, dist, table):
        needed = set()
        for i, (r, rank) in enumerate(zip(table.request, table.rank, strict=True)):
            _, li, base = c.pairs[r][rank]
            for position, day, score in c.pair_arcs(r, li, base):
                if (li, position) in subset[r]:
                    continue
                head = _head_potential(c, net, dist, li, position, day)
                if 100 - score + dist[net.request_node[r]] - head < column_generation.MARGIN:
                    needed.add(i)
                    break
        screen = table.screen
        kept: set[int] = set()

        def recording(d_request, top, top_key):
            found = screen(d_request, top, top_key)
            kept.update(found)
            return found

        table.screen = recording
        try:
            result = price(c, active, subset, net, dist, table)
        finally:
            del table.screen
        seen.append((needed <= kept, len(kept), len(needed)))
        return result

    monkeypatch.setattr(column_generation, "_price", checked)
    return seen


@pytest.mark.usefixtures("first_pairs_one")
@pytest.mark.parametrize("seed", range(4))
def test_the_pair_screen_keeps_every_pair_that_may_improve_the_flow(seed, screens_checked):
    requests, listeners, p = random_round(seed, n_requests=60, n_listeners=12)
    propose(requests, listeners, p)
    assert screens_checked
    assert all(sound for sound, _, _ in screens_checked)
    assert any(kept for _, kept, _ in screens_checked)
    assert any(needed for _, _, needed in screens_checked)


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
        for k, u in enumerate(EARLINESS_CLASSES):
            points = [c.earliness[u][t] + c.week_load[c.day_week[d]] for t, d in positions.items()]
            if points:
                assert c.listener_top[li][k] == max(points)
                checked += 1
    assert checked


def _reduced_costs_hold(net, flows, dist) -> bool:
    """Tell whether every residual arc has a non-negative reduced cost under dist."""
    for t, h, cap, cost, flow in zip(net.tails, net.heads, net.caps, net.costs, flows, strict=True):
        if flow < cap and cost + dist[t] - dist[h] < 0:
            return False
        if flow > 0 and -cost + dist[h] - dist[t] < 0:
            return False
    return True


@pytest.fixture
def potentials_checked(monkeypatch):
    """Check every round's potentials against the residual network they certify."""
    potentials = column_generation.potentials
    seen = []

    def checked(net, flows):
        dist = potentials(net, flows)
        seen.append((_reduced_costs_hold(net, flows, dist), min(dist)))
        return dist

    monkeypatch.setattr(column_generation, "potentials", checked)
    return seen


@pytest.mark.usefixtures("first_pairs_one")
@pytest.mark.parametrize("seed", range(4))
def test_every_rounds_potentials_certify_its_flow(seed, potentials_checked):
    requests, listeners, p = random_round(seed, n_requests=60, n_listeners=12)
    grown = propose(requests, listeners, p)
    full = propose_unpruned(requests, listeners, p)
    assert potentials_checked
    assert all(holds for holds, _ in potentials_checked)
    assert any(lowest < 0 for _, lowest in potentials_checked)
    assert (grown.stats["matched"], grown.stats["total_score"]) == (
        full.stats["matched"],
        full.stats["total_score"],
    )


def test_potentials_refuse_a_negative_cycle():
    layout = column_generation._Layout()
    a = layout.node()
    layout.edge(column_generation.SOURCE, a, 1, -2)
    layout.edge(a, column_generation.SOURCE, 1, 1)
    with pytest.raises(RuntimeError, match="negative cycle"):
        column_generation.potentials(layout, [0, 0])


def test_groups_that_share_no_listener_are_solved_apart_with_the_same_answer():
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
    full = propose_unpruned(first + second, first_listeners + second_listeners, p)
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
