"""Weekly windows: merging on the weekly circle, nights and whole days."""

from __future__ import annotations

from datetime import time

import pytest

from matching.services.availability import normalise


def t(text: str) -> time:
    return time.fromisoformat(text)


def w(day: int, start: str, end: str):
    return (day, t(start), t(end))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([w(0, "09:00", "12:00")], [w(0, "09:00", "12:00")]),
        ([w(0, "09:00", "10:00"), w(0, "10:00", "11:00")], [w(0, "09:00", "11:00")]),
        ([w(0, "09:00", "11:00"), w(0, "10:00", "12:00")], [w(0, "09:00", "12:00")]),
        (
            [w(0, "09:00", "10:00"), w(0, "11:00", "12:00")],
            [w(0, "09:00", "10:00"), w(0, "11:00", "12:00")],
        ),
        # a night window keeps the day it starts on and absorbs the next morning
        ([w(4, "22:00", "02:00"), w(5, "01:00", "06:00")], [w(4, "22:00", "06:00")]),
        # Sunday night runs into Monday morning across the end of the week
        ([w(6, "23:00", "01:00"), w(0, "00:30", "03:00")], [w(6, "23:00", "03:00")]),
        (
            [w(6, "23:00", "01:00"), w(0, "00:30", "03:00"), w(0, "09:00", "10:00")],
            [w(0, "09:00", "10:00"), w(6, "23:00", "03:00")],
        ),
        # a run of more than a day becomes touching windows of at most 12 hours
        (
            [w(0, "00:00", "23:00"), w(0, "22:00", "06:00")],
            [w(0, "00:00", "12:00"), w(0, "12:00", "00:00"), w(1, "00:00", "06:00")],
        ),
    ],
)
def test_normalise(given, expected):
    assert normalise(given) == sorted(expected)


def test_whole_week_is_fourteen_half_days():
    days = [w(d, "00:00", "23:00") for d in range(7)] + [w(d, "22:00", "01:00") for d in range(7)]
    result = normalise(days)
    assert len(result) == 14
    assert result[0] == w(0, "00:00", "12:00")
    assert result[-1] == w(6, "12:00", "00:00")
