import random
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.engine import Interval, Params, Weights, Window, check_slot, propose
from matching.engine.rules import local_day, local_week
from matching.engine.scoring import score_parts, total
from matching.engine.slots import block_starts, bounds

from .helpers import NOW, listener, params, request
from .reference import propose_unpruned

ZONES = ("UTC", "Asia/Tokyo", "America/New_York")


def small_params(**changes) -> Params:
    values = {"now": NOW, "horizon_days": 4, "min_notice_hours": 12, "buffer_minutes": 15}
    values.update(changes)
    return Params(**values)


def windows(draw) -> tuple[Window, ...]:
    days = draw(st.sets(st.integers(0, 6), min_size=1, max_size=4))
    found = []
    for day in sorted(days):
        start = draw(st.integers(6, 20))
        length = draw(st.integers(1, 3))
        found.append(Window(day, time(start), time((start + length) % 24)))
    return tuple(found)


@st.composite
def instances(draw):
    p = small_params(
        buffer_minutes=draw(st.sampled_from((0, 15))),
        min_notice_hours=draw(st.sampled_from((0, 24))),
    )
    listeners = []
    for i in range(draw(st.integers(1, 3))):
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
                topics=frozenset(draw(st.sets(st.sampled_from(("grief", "burnout", "violence"))))),
                max_per_day=draw(st.integers(1, 2)),
                max_per_week=draw(st.integers(1, 3)),
                windows=windows(draw),
                booked=booked,
            )
        )
    requests = []
    for i in range(draw(st.integers(1, 3))):
        requests.append(
            request(
                id=i + 1,
                timezone=draw(st.sampled_from(ZONES)),
                organization=draw(st.sampled_from(("A", "B", "C"))),
                field=draw(st.sampled_from(("nursing", "social work"))),
                languages=frozenset(draw(st.sets(st.sampled_from(("en", "es")), min_size=1))),
                topics=frozenset(draw(st.sets(st.sampled_from(("grief", "burnout", "violence"))))),
                urgency=draw(st.sampled_from(("routine", "soon", "urgent"))),
                created_at=NOW - timedelta(days=draw(st.integers(0, 20))),
                past_ratings=((1, draw(st.integers(1, 5))),),
                windows=windows(draw),
            )
        )
    return requests, listeners, p


def brute_force(requests, listeners, p) -> tuple[int, int]:
    """Return (most matched, best total score) by trying every assignment.

    A session's load counts the listener's booked sessions of that week and those the
    assignment already gave them that week (in whatever order; the sum is the same).
    """
    options = []
    for req in requests:
        mine = []
        for lis in listeners:
            for start in block_starts(lis.windows, lis.timezone, p, *bounds(p)):
                if check_slot(req, lis, start, p):
                    continue
                mine.append((req, lis, start))
        options.append(mine)
    best = (0, 0)

    def walk(i, used, days, weeks, count, score):
        nonlocal best
        if i == len(options):
            best = max(best, (count, score))
            return
        walk(i + 1, used, days, weeks, count, score)
        for req, lis, start in options[i]:
            day = (lis.id, local_day(start, lis.timezone))
            week = (lis.id, local_week(start, lis.timezone))
            booked_day = sum(local_day(b.start, lis.timezone) == day[1] for b in lis.booked)
            booked_week = sum(local_week(b.start, lis.timezone) == week[1] for b in lis.booked)
            if (lis.id, start) in used:
                continue
            if days[day] + booked_day >= lis.max_per_day:
                continue
            if weeks[week] + booked_week >= lis.max_per_week:
                continue
            parts = score_parts(req, lis, start, p, booked_that_week=booked_week + weeks[week])
            points = total(parts)
            days[day] += 1
            weeks[week] += 1
            walk(i + 1, used | {(lis.id, start)}, days, weeks, count + 1, score + points)
            days[day] -= 1
            weeks[week] -= 1

    walk(0, frozenset(), Counter(), Counter(), 0, 0)
    return best


def assert_feasible(result, requests, listeners, p):
    by_id = {lis.id: lis for lis in listeners}
    reqs = {req.id: req for req in requests}
    assert len({prop.request_id for prop in result.proposals}) == len(result.proposals)
    per_listener = {}
    for prop in result.proposals:
        lis = by_id[prop.listener_id]
        assert check_slot(reqs[prop.request_id], lis, prop.start, p) == ()
        assert prop.score == total(prop.parts)
        per_listener.setdefault(lis.id, []).append(prop)
    for lid, props in per_listener.items():
        lis = by_id[lid]
        starts = [b.start for b in lis.booked] + [prop.start for prop in props]
        days = Counter(local_day(s, lis.timezone) for s in starts)
        weeks = Counter(local_week(s, lis.timezone) for s in starts)
        assert max(days.values()) <= lis.max_per_day
        assert max(weeks.values()) <= lis.max_per_week
        ordered = sorted(props, key=lambda x: x.start)
        for a, b in pairwise(ordered):
            assert a.end + timedelta(minutes=p.buffer_minutes) <= b.start


def assert_optimal_and_feasible(instance):
    """Check a round against brute force and every hard rule; return its result."""
    requests, listeners, p = instance
    result = propose(requests, listeners, p)
    assert (result.stats["matched"], result.stats["total_score"]) == brute_force(
        requests, listeners, p
    )
    assert_feasible(result, requests, listeners, p)
    return result


@settings(max_examples=200, deadline=None)
@given(instances())
def test_propose_reaches_the_true_optimum_and_breaks_no_rule(instance):
    requests, _, _ = instance
    result = assert_optimal_and_feasible(instance)
    assert len(result.proposals) + len(result.unmatched) == len(requests)


@settings(max_examples=100, deadline=None)
@given(instances())
def test_pruned_and_full_networks_agree(instance):
    requests, listeners, p = instance
    pruned = propose(requests, listeners, p)
    full = propose_unpruned(requests, listeners, p)
    assert pruned.stats["matched"] == full.stats["matched"]
    assert pruned.stats["total_score"] == full.stats["total_score"]
    assert pruned.stats["candidates"] <= full.stats["candidates"]


def random_round(seed: int, n_requests: int = 40, n_listeners: int = 15):
    rng = random.Random(seed)
    listeners = [
        listener(
            id=100 + i,
            timezone=rng.choice(ZONES),
            organization=rng.choice("ABCD"),
            languages=frozenset(rng.sample(("en", "es", "de"), rng.randint(1, 2))),
            modalities=frozenset(rng.sample(("video", "phone"), rng.randint(1, 2))),
            max_per_day=rng.randint(1, 2),
            max_per_week=rng.randint(1, 3),
            windows=tuple(
                Window(d, time(rng.randint(7, 15)), time(rng.randint(16, 21)))
                for d in rng.sample(range(7), 4)
            ),
        )
        for i in range(n_listeners)
    ]
    requests = [
        request(
            id=i + 1,
            timezone=rng.choice(ZONES),
            organization=rng.choice("ABCD"),
            languages=frozenset(rng.sample(("en", "es", "de"), 1)),
            modalities=frozenset(rng.sample(("video", "phone"), 1)),
            urgency=rng.choice(("routine", "soon", "urgent")),
            windows=tuple(
                Window(d, time(rng.randint(8, 14)), time(rng.randint(15, 20)))
                for d in rng.sample(range(7), 3)
            ),
        )
        for i in range(n_requests)
    ]
    return requests, listeners, small_params(horizon_days=14)


def test_shuffled_input_gives_identical_output():
    requests, listeners, p = random_round(7)
    first = propose(requests, listeners, p)
    assert first.proposals and first.unmatched
    for seed in range(3):
        rng = random.Random(seed)
        r, lis = list(requests), list(listeners)
        rng.shuffle(r)
        rng.shuffle(lis)
        again = propose(r, lis, p)
        assert again.proposals == first.proposals
        assert again.unmatched == first.unmatched


def test_optional_compiled_solver_returns_the_same_optimum():
    pytest.importorskip("ortools")
    for seed in range(5):
        requests, listeners, p = random_round(seed)
        plain = propose(requests, listeners, p)
        fast = propose(requests, listeners, p, solver="ortools")
        assert fast.stats["matched"] == plain.stats["matched"]
        assert fast.stats["total_score"] == plain.stats["total_score"]
        assert_feasible(fast, requests, listeners, p)


def test_unknown_solver_is_refused():
    with pytest.raises(ValueError, match="unknown solver"):
        propose([], [], small_params(), solver="magic")


def test_engine_imports_no_web_or_database_code():
    # The application factory lives in matching/__init__.py and imports Flask, so the
    # engine is loaded under a bare parent package to see its own imports only.
    root = Path(__file__).resolve().parents[2]
    code = f"""
import sys, types
parent = types.ModuleType("matching")
parent.__path__ = [{str(root / "matching")!r}]
sys.modules["matching"] = parent
import matching.engine
bad = sorted(m for m in sys.modules
             if m.split(".")[0] in ("flask", "sqlalchemy", "flask_sqlalchemy")
             or m.startswith("matching.models"))
print(",".join(bad) or "clean")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert done.stdout.strip() == "clean"


def test_one_listener_slot_goes_to_one_request():
    one_hour = (Window(2, time(10), time(11)),)  # Wednesday 10:00-11:00, one block
    lis = listener(windows=one_hour, max_per_day=2)
    result = propose([request(1), request(2)], [lis], small_params())
    assert len(result.proposals) == 1
    assert result.proposals[0].start == datetime(2026, 3, 4, 10, tzinfo=UTC)


def points(prop) -> dict[str, int]:
    return {part.name: part.points for part in prop.parts}


def test_a_round_spreads_sessions_over_listeners_when_the_score_is_close():
    # Ada is free from Tuesday, Ben only on Thursday: Ada's times score about 2 points
    # more for earliness, less than the 5 load points a second session that week costs.
    p = params()
    ada = listener(1, max_per_day=2, max_per_week=3)
    ben = listener(2, max_per_day=2, max_per_week=3, windows=(Window(3, time(8), time(20)),))
    requests = [request(1), request(2)]
    result = propose(requests, [ada, ben], p)
    assert sorted(prop.listener_id for prop in result.proposals) == [1, 2]
    assert all(points(prop)["load"] == 15 for prop in result.proposals)
    assert (result.stats["matched"], result.stats["total_score"]) == brute_force(
        requests, [ada, ben], p
    )


def test_a_second_session_in_a_week_scores_its_load_after_the_first():
    p = params()
    ada = listener(1, max_per_day=2, max_per_week=3)
    requests = [request(1), request(2)]
    result = propose(requests, [ada], p)
    ordered = sorted(result.proposals, key=lambda prop: prop.start)
    assert [points(prop)["load"] for prop in ordered] == [15, 10]
    assert "listener has no other session that week" in ordered[0].reasons
    assert "listener has no other session that week" not in ordered[1].reasons
    assert result.stats["total_score"] == sum(prop.score for prop in ordered)
    assert (result.stats["matched"], result.stats["total_score"]) == brute_force(requests, [ada], p)


@st.composite
def spreadable(draw):
    """Rounds where one listener could take several sessions and load weighs a lot."""
    weights = Weights(field=10, topics=10, continuity=5, urgency=5, earliness=30, load=40)
    p = small_params(buffer_minutes=draw(st.sampled_from((0, 15))), weights=weights)
    listeners = [
        listener(
            id=i + 1,
            timezone=draw(st.sampled_from(ZONES)),
            fields=frozenset(draw(st.sets(st.sampled_from(("nursing", "social work"))))),
            max_per_day=draw(st.integers(1, 3)),
            max_per_week=draw(st.integers(2, 4)),
            windows=windows(draw),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    requests = [
        request(
            id=i + 1,
            timezone=draw(st.sampled_from(ZONES)),
            field=draw(st.sampled_from(("nursing", "social work"))),
            urgency=draw(st.sampled_from(("routine", "urgent"))),
            windows=windows(draw),
        )
        for i in range(draw(st.integers(2, 4)))
    ]
    return requests, listeners, p


@settings(max_examples=200, deadline=None)
@given(spreadable())
def test_spreading_the_load_keeps_the_true_optimum(instance):
    result = assert_optimal_and_feasible(instance)
    assert result.stats["total_score"] == sum(prop.score for prop in result.proposals)
