"""Turn weekly local availability into UTC instants.

Weekly windows are wall-clock times in the owner's IANA zone, so "Mon 09:00-12:00
America/New_York" stays 09:00 local across daylight-saving changes. Each window is
resolved to one UTC interval per date, then blocks are cut from it by stepping in UTC,
never by adding hours to a local datetime (that would invent a 02:30 that does not
exist in March and lose the repeated hour in November).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from matching.engine.model import Interval, Params, Window

ONE_DAY = timedelta(days=1)
ONE_SECOND = timedelta(seconds=1)
# Rounds work in whole seconds since this instant: integers compare and sort fast.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def seconds(moment: datetime) -> int:
    """Return the whole seconds from EPOCH to an instant, rounded down."""
    return (moment - EPOCH) // ONE_SECOND


def seconds_up(moment: datetime) -> int:
    """Return the whole seconds from EPOCH to an instant, rounded up."""
    return -((EPOCH - moment) // ONE_SECOND)


def instant(whole_seconds: int) -> datetime:
    """Return the UTC instant whole_seconds after EPOCH."""
    return EPOCH + timedelta(seconds=whole_seconds)


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name (cached)."""
    return ZoneInfo(name)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


@lru_cache(maxsize=65536)
def resolve(day: date, wall: time, tz: ZoneInfo, *, latest: bool = False) -> datetime:
    """Return the UTC instant of a local wall-clock time on a date.

    A wall time that does not exist (skipped by a spring-forward change) resolves to
    the first instant after the gap. A repeated wall time (fall-back) resolves to its
    first occurrence, or to its second one when ``latest`` is true; window ends use
    ``latest`` so a window covers every instant whose wall time lies inside it.
    Cached: a round resolves the same few wall times on the same few dates thousands
    of times.
    """
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if _wall(first, tz) == naive:
        second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
        return second if latest else first
    # In a gap the two folds land on either side of the change. Bisect on whole
    # seconds for the first instant whose wall time is not before the one asked for.
    other = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(first, other), max(first, other)
    while high - low > timedelta(seconds=1):
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if _wall(middle, tz) >= naive:
            high = middle
        else:
            low = middle
    return high


def merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sort intervals and merge those that overlap or touch."""
    merged: list[Interval] = []
    for item in sorted(intervals, key=lambda i: (i.start, i.end)):
        if item.end <= item.start:
            continue
        if merged and item.start <= merged[-1].end:
            if item.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, item.end)
        else:
            merged.append(item)
    return tuple(merged)


@lru_cache(maxsize=8192)
def window_intervals(
    windows: tuple[Window, ...], timezone: str, first_day: date, last_day: date
) -> tuple[Interval, ...]:
    """Return merged UTC intervals of windows that start on local dates first_day..last_day.

    A window whose end is not after its start runs past midnight and belongs to the
    weekday it starts on. Cached: a round reads each person's windows over the same
    dates more than once, and many people share their windows.
    """
    tz = zone(timezone)
    found: list[Interval] = []
    day = first_day
    while day <= last_day:
        for window in windows:
            if window.weekday != day.weekday():
                continue
            end_day = day if window.end > window.start else day + ONE_DAY
            start = resolve(day, window.start, tz)
            end = resolve(end_day, window.end, tz, latest=True)
            found.append(Interval(start, end))
        day += ONE_DAY
    return merge(found)


def availability(
    windows: tuple[Window, ...], timezone: str, start: datetime, end: datetime
) -> tuple[Interval, ...]:
    """Return the UTC intervals of weekly windows inside [start, end), clipped to it."""
    tz = zone(timezone)
    first_day = start.astimezone(tz).date() - ONE_DAY  # a window from the evening before
    last_day = end.astimezone(tz).date()
    clipped = []
    for item in window_intervals(windows, timezone, first_day, last_day):
        lo, hi = max(item.start, start), min(item.end, end)
        if lo < hi:
            clipped.append(Interval(lo, hi))
    return tuple(clipped)


def cut_blocks(
    intervals: Iterable[Interval], session: timedelta, buffer: timedelta
) -> list[datetime]:
    """Cut each interval into consecutive blocks of session + buffer; return block starts.

    A block needs only the session itself to fit before the interval ends; the buffer
    keeps consecutive blocks apart, so two sessions of one person never overlap.
    """
    step = session + buffer
    starts: list[datetime] = []
    for item in intervals:
        cursor = item.start
        while cursor + session <= item.end:
            starts.append(cursor)
            cursor += step
    return starts


def clashes(start: datetime, end: datetime, busy: Interval, buffer: timedelta) -> bool:
    """Tell whether [start, end) comes closer than the buffer to a busy interval."""
    return start < busy.end + buffer and busy.start < end + buffer


def inside_any(start: datetime, end: datetime, intervals: Iterable[Interval]) -> bool:
    """Tell whether [start, end) lies entirely inside one of the intervals."""
    return any(item.start <= start and end <= item.end for item in intervals)


def bounds(params: Params) -> tuple[datetime, datetime]:
    """Return (earliest start allowed by the notice, end of the horizon)."""
    earliest = params.now + timedelta(hours=params.min_notice_hours)
    return earliest, params.now + timedelta(days=params.horizon_days)


def block_starts(
    windows: tuple[Window, ...], timezone: str, params: Params, start: datetime, end: datetime
) -> list[datetime]:
    """Return the start of every block of a person's weekly windows between two instants.

    Blocks are session + buffer long and cut from each window from its own start, so
    the grid stays anchored at the window whatever the instants asked for; a block is
    returned when it starts at or after ``start`` and its session ends by ``end``.
    """
    session = timedelta(minutes=params.session_minutes)
    buffer = timedelta(minutes=params.buffer_minutes)
    tz = zone(timezone)
    intervals = window_intervals(
        windows, timezone, start.astimezone(tz).date() - ONE_DAY, end.astimezone(tz).date()
    )
    return [s for s in cut_blocks(intervals, session, buffer) if start <= s and s + session <= end]
