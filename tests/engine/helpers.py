"""Small builders for engine tests: a fixed clock and permissive defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from matching.engine import Listener, Params, Request, Window

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday
EVERY_DAY = tuple(Window(d, time(8), time(20)) for d in range(7))


def params(**changes) -> Params:
    values = {"now": NOW, "buffer_minutes": 15, "min_notice_hours": 24, "horizon_days": 14}
    values.update(changes)
    return Params(**values)


def listener(id: int = 1, **changes) -> Listener:
    values = {
        "id": id,
        "timezone": "UTC",
        "organization": "Riverside Hospital",
        "languages": frozenset({"en"}),
        "modalities": frozenset({"video"}),
        "verified": True,
        "training_valid_until": date(2027, 1, 1),
        "windows": EVERY_DAY,
        "max_per_day": 1,
        "max_per_week": 2,
    }
    values.update(changes)
    return Listener(**values)


def request(id: int = 1, **changes) -> Request:
    values = {
        "id": id,
        "practitioner_id": 500 + id,
        "timezone": "UTC",
        "organization": "Northside Clinic",
        "field": "social work",
        "languages": frozenset({"en"}),
        "modalities": frozenset({"video"}),
        "windows": EVERY_DAY,
    }
    values.update(changes)
    return Request(**values)
