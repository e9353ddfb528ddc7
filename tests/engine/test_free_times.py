from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.engine import Interval, Window, check_slot, free_times
from matching.engine.slots import block_starts, bounds

from .helpers import NOW, listener, params, request

ZONES = ("UTC", "Asia/Tokyo", "America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def busy(draw, count: int) -> tuple[Interval, ...]:
    found = []
    for _ in range(draw(st.integers(0, count))):
        start = NOW + timedelta(minutes=draw(st.integers(0, 60 * 24 * 12)))
        found.append(Interval(start, start + timedelta(minutes=draw(st.integers(15, 300)))))
    return tuple(sorted(found, key=lambda i: i.start))


def weekly(draw) -> tuple[Window, ...]:
    found = []
    for day in sorted(draw(st.sets(st.integers(0, 6), min_size=2, max_size=7))):
        start = draw(st.integers(0, 22))
        found.append(Window(day, time(start), time((start + draw(st.integers(1, 14))) % 24)))
    return tuple(found)


@st.composite
def pairs(draw):
    """A pair that fits on everything but time, with time off, sessions and limits."""
    p = params(
        buffer_minutes=draw(st.sampled_from((0, 15))),
        min_notice_hours=draw(st.sampled_from((0, 24))),
        horizon_days=draw(st.sampled_from((4, 9))),
    )
    lis = listener(
        timezone=draw(st.sampled_from(ZONES)),
        windows=weekly(draw),
        time_off=busy(draw, 1),
        booked=busy(draw, 3),
        max_per_day=draw(st.integers(1, 2)),
        max_per_week=draw(st.integers(1, 4)),
        training_valid_until=draw(st.sampled_from((date(2026, 3, 6), date(2027, 1, 1)))),
    )
    req = request(
        timezone=draw(st.sampled_from(ZONES)),
        windows=weekly(draw),
        time_off=busy(draw, 1),
        booked=busy(draw, 2),
    )
    after = draw(st.sampled_from((None, NOW + timedelta(days=2, minutes=7))))
    return req, lis, p, after


def brute_force(req, lis, p, *, limit, after, enforce_horizon, search_days):
    """The first ``limit`` grid starts of the search window that check_slot allows."""
    lo = p.now if after is None else max(p.now, after)
    hi = bounds(p)[1] if enforce_horizon else lo + timedelta(days=search_days)
    found = []
    for start in block_starts(lis.windows, lis.timezone, p, lo, hi):
        if after is not None and start <= after:
            continue
        if check_slot(req, lis, start, p, enforce_horizon=enforce_horizon) == ():
            found.append(start)
    return tuple(found[:limit])


@settings(max_examples=300, deadline=None)
@given(pairs(), st.integers(1, 12), st.booleans())
def test_free_times_are_the_earliest_grid_starts_that_pass_every_rule(
    instance, limit, enforce_horizon
):
    req, lis, p, after = instance
    options = {"after": after, "enforce_horizon": enforce_horizon, "search_days": 10}
    found = free_times(req, lis, p, limit=limit, **options)
    for start in found:
        assert check_slot(req, lis, start, p, enforce_horizon=enforce_horizon) == ()
    assert found == brute_force(req, lis, p, limit=limit, **options)


def test_a_plain_pair_gets_the_next_ten_blocks_of_the_listener():
    found = free_times(request(), listener(), params())
    # Notice ends Tue 3 March 06:00; the windows run 08:00-20:00 in blocks of 75 minutes.
    assert len(found) == 10
    assert found[:3] == (utc(2026, 3, 3, 8), utc(2026, 3, 3, 9, 15), utc(2026, 3, 3, 10, 30))
    assert found == tuple(sorted(found))


def test_a_pair_that_breaks_a_rule_without_time_gets_nothing():
    assert free_times(request(organization="Riverside Hospital"), listener(), params()) == ()
    assert free_times(request(), listener(verified=False), params()) == ()
    assert free_times(request(), listener(), params(), limit=0) == ()


def test_after_skips_that_instant_and_everything_before():
    first = free_times(request(), listener(), params(), limit=3)
    later = free_times(request(), listener(), params(), limit=2, after=first[0])
    assert later == first[1:]


def test_a_full_day_is_skipped_and_the_horizon_can_be_ignored():
    booked = (Interval(utc(2026, 3, 3, 12), utc(2026, 3, 3, 13)),)
    lis = listener(booked=booked, max_per_day=1, windows=(Window(1, time(8), time(20)),))
    # Tuesdays only: 3 March is full, 10 March is the next; 17 March is past 14 days.
    assert {s.date() for s in free_times(request(), lis, params())} == {date(2026, 3, 10)}
    beyond = free_times(request(), lis, params(), limit=18, enforce_horizon=False)
    assert {s.date() for s in beyond} == {date(2026, 3, 10), date(2026, 3, 17)}
    assert check_slot(request(), lis, beyond[-1], params()) == ("horizon",)
