"""Weekly availability windows (local wall-clock) and time off (UTC)."""

from __future__ import annotations

from datetime import datetime, time

from matching.errors import Invalid, NotFound
from matching.extensions import db
from matching.models import AvailabilityWindow, TimeOff, User

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _clock(minutes: int) -> time:
    minutes %= MINUTES_PER_DAY
    return time(minutes // 60, minutes % 60)


def normalise(windows: list[tuple[int, time, time]]) -> list[tuple[int, time, time]]:
    """Merge overlapping and touching windows on the weekly circle.

    A window whose end is before its start runs past midnight and keeps the weekday it
    starts on. A merged run of a day or more cannot be one window (start == end is
    reserved as an error), so it is kept as consecutive windows of at most 12 hours.
    """
    spans = []
    for weekday, start, end in windows:
        begin = weekday * MINUTES_PER_DAY + _minutes(start)
        length = (_minutes(end) - _minutes(start)) % MINUTES_PER_DAY
        spans.append([begin, begin + length])
    spans.sort()
    merged: list[list[int]] = []
    for begin, finish in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], finish)
        else:
            merged.append([begin, finish])
    # The week is a circle: a run that passes Sunday midnight may reach the first run.
    while len(merged) > 1 and merged[-1][1] - MINUTES_PER_WEEK >= merged[0][0]:
        last = merged.pop()
        merged[0] = [last[0], max(last[1], merged[0][1] + MINUTES_PER_WEEK)]
    result = []
    for begin, finish in merged:
        if finish - begin >= MINUTES_PER_WEEK:
            begin, finish = 0, MINUTES_PER_WEEK
        result.extend(_pieces(begin, finish))
    return sorted(result)


def _pieces(begin: int, finish: int) -> list[tuple[int, time, time]]:
    """Express [begin, finish) in week minutes as windows, each shorter than a day."""
    step = finish - begin if finish - begin < MINUTES_PER_DAY else 12 * 60
    pieces = []
    while begin < finish:
        end = min(begin + step, finish)
        pieces.append(((begin // MINUTES_PER_DAY) % 7, _clock(begin), _clock(end)))
        begin = end
    return pieces


def set_windows(user: User, windows: list[dict]) -> dict:
    """Replace the user's weekly windows ({weekday, start, end} as loaded) with the normalised set."""
    windows = normalise([(w["weekday"], w["start"], w["end"]) for w in windows])
    db.session.execute(db.delete(AvailabilityWindow).where(AvailabilityWindow.user_id == user.id))
    for weekday, start, end in windows:
        db.session.add(
            AvailabilityWindow(user_id=user.id, weekday=weekday, start_local=start, end_local=end)
        )
    db.session.flush()
    return availability_dict(user)


def windows_of(user_id: int) -> list[AvailabilityWindow]:
    return list(
        db.session.scalars(
            db.select(AvailabilityWindow)
            .where(AvailabilityWindow.user_id == user_id)
            .order_by(AvailabilityWindow.weekday, AvailabilityWindow.start_local)
        )
    )


def availability_dict(user: User) -> dict:
    return {
        "timezone": user.timezone,
        "windows": [
            {
                "weekday": w.weekday,
                "start": w.start_local.strftime("%H:%M"),
                "end": w.end_local.strftime("%H:%M"),
            }
            for w in windows_of(user.id)
        ],
    }


def add_time_off(user: User, start: datetime, end: datetime) -> TimeOff:
    """Add time off between two instants; the end must come after the start."""
    if end <= start:
        raise Invalid("The end must be after the start.", fields={"end": "must be after start"})
    row = TimeOff(user_id=user.id, start_at=start, end_at=end)
    db.session.add(row)
    db.session.flush()
    return row


def delete_time_off(user: User, time_off_id: int) -> None:
    row = db.session.get(TimeOff, time_off_id)
    if row is None or row.user_id != user.id:
        raise NotFound("No such time off.")
    db.session.delete(row)
    db.session.flush()


def time_off_dict(row: TimeOff) -> dict:
    return {"id": row.id, "start": row.start_at.isoformat(), "end": row.end_at.isoformat()}


def time_off_list(user: User) -> list[dict]:
    rows = db.session.scalars(
        db.select(TimeOff).where(TimeOff.user_id == user.id).order_by(TimeOff.start_at)
    )
    return [time_off_dict(r) for r in rows]
