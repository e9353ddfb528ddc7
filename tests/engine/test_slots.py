from dataclasses import replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from matching.engine import Interval, Window, window_intervals
from matching.engine.slots import bounds, instant, resolve
from matching.engine.starts import listener_blocks

from .helpers import listener, params

NEW_YORK = "America/New_York"


def free_slots(windows, timezone, p, *, time_off=(), booked=()) -> tuple[datetime, ...]:
    """The block starts of a listener with these times that the time rules leave free."""
    person = listener(windows=windows, timezone=timezone, time_off=time_off, booked=booked)
    return tuple(instant(s) for s, _ in listener_blocks(person, p, *bounds(p)))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_monday_morning_in_new_york_follows_local_time_across_dst():
    p = params(now=utc(2026, 2, 27), buffer_minutes=0, min_notice_hours=0)
    slots = free_slots((Window(0, time(9), time(12)),), NEW_YORK, p)
    assert slots == (
        utc(2026, 3, 2, 14),
        utc(2026, 3, 2, 15),
        utc(2026, 3, 2, 16),
        utc(2026, 3, 9, 13),
        utc(2026, 3, 9, 14),
        utc(2026, 3, 9, 15),
    )


def test_spring_forward_never_starts_at_a_missing_local_time():
    p = params(now=utc(2026, 3, 6), buffer_minutes=0, min_notice_hours=0, horizon_days=3)
    slots = free_slots((Window(6, time(0), time(5)),), NEW_YORK, p)
    tz = ZoneInfo(NEW_YORK)
    for start in slots:
        wall = start.astimezone(tz).replace(tzinfo=None)
        assert wall.replace(tzinfo=tz).astimezone(UTC) == start  # the wall time exists
    local = [s.astimezone(tz).strftime("%H:%M") for s in slots]
    assert local == ["00:00", "01:00", "03:00", "04:00"]  # the day has 4 real hours


def test_window_starting_in_the_gap_begins_when_the_clock_jumps():
    tz = ZoneInfo(NEW_YORK)
    assert resolve(date(2026, 3, 8), time(2, 30), tz) == utc(2026, 3, 8, 7)


def test_fall_back_gives_distinct_instants_for_the_repeated_hour():
    p = params(now=utc(2026, 10, 30), buffer_minutes=0, min_notice_hours=0, horizon_days=3)
    slots = free_slots((Window(6, time(0), time(4)),), NEW_YORK, p)
    assert slots == tuple(utc(2026, 11, 1, h) for h in (4, 5, 6, 7, 8))
    assert len(set(slots)) == len(slots)
    walls = [s.astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M") for s in slots]
    assert walls == ["00:00", "01:00", "01:00", "02:00", "03:00"]


def test_window_past_midnight_belongs_to_the_day_it_starts():
    windows = (Window(4, time(22), time(2)),)  # Friday night
    got = window_intervals(windows, "Europe/Berlin", date(2026, 3, 2), date(2026, 3, 8))
    assert got == (Interval(utc(2026, 3, 6, 21), utc(2026, 3, 7, 1)),)


def test_blocks_leave_the_buffer_between_sessions():
    p = params(now=utc(2026, 2, 27), buffer_minutes=15, min_notice_hours=0, horizon_days=4)
    slots = free_slots((Window(0, time(9), time(12)),), "UTC", p)
    assert slots == (utc(2026, 3, 2, 9), utc(2026, 3, 2, 10, 15))


def test_time_off_booked_notice_and_horizon_remove_slots():
    windows = tuple(Window(d, time(9), time(12)) for d in range(7))
    base = params(now=utc(2026, 3, 2, 8), buffer_minutes=0, min_notice_hours=0, horizon_days=2)
    everything = free_slots(windows, "UTC", base)
    assert utc(2026, 3, 2, 9) in everything
    assert utc(2026, 3, 3, 11) in everything
    assert utc(2026, 3, 4, 9) not in everything  # beyond the 2-day horizon ends 03-04 08:00

    late = free_slots(windows, "UTC", replace(base, min_notice_hours=24))
    assert min(late) == utc(2026, 3, 3, 9)

    off = Interval(utc(2026, 3, 2, 10, 30), utc(2026, 3, 2, 11))
    assert utc(2026, 3, 2, 10) not in free_slots(windows, "UTC", base, time_off=(off,))
    assert utc(2026, 3, 2, 9) in free_slots(windows, "UTC", base, time_off=(off,))

    booked = Interval(utc(2026, 3, 3, 11, 20), utc(2026, 3, 3, 12))
    buffered = replace(base, buffer_minutes=15)
    without = free_slots(windows, "UTC", buffered)
    with_booking = free_slots(windows, "UTC", buffered, booked=(booked,))
    assert utc(2026, 3, 3, 10, 15) in without
    assert utc(2026, 3, 3, 10, 15) not in with_booking  # ends 11:15, within 15 min of 11:20
    assert utc(2026, 3, 3, 9) in with_booking
