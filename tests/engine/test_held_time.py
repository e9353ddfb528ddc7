"""Time held by something that is not a conversation (a workshop seat) blocks, never counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from matching.engine import Interval, check_slot, free_times, propose

from .helpers import listener, params, request

SLOT = datetime(2026, 3, 4, 10, tzinfo=UTC)  # a Wednesday, on the block grid
# A workshop on the same day, ending five minutes into the buffer before SLOT.
WORKSHOP = (Interval(SLOT - timedelta(hours=2), SLOT - timedelta(minutes=10)),)


def test_a_held_workshop_blocks_its_time_and_buffer_for_either_person():
    assert check_slot(request(held=WORKSHOP), listener(), SLOT, params()) == ("practitioner_busy",)
    # Busy, but the daily limit of 1 is untouched: a workshop is not a conversation.
    assert check_slot(request(), listener(held=WORKSHOP), SLOT, params()) == ("listener_busy",)
    after_buffer = SLOT + timedelta(minutes=30)
    assert check_slot(request(), listener(held=WORKSHOP), after_buffer, params()) == ()


def test_held_time_counts_against_no_limit():
    # Two workshops in the week of a listener who takes one conversation a day and a week.
    monday = (Interval(SLOT - timedelta(days=2), SLOT - timedelta(days=2, minutes=-60)),)
    tuesday = (Interval(SLOT - timedelta(days=1), SLOT - timedelta(days=1, minutes=-60)),)
    busy_week = listener(held=monday + tuesday, max_per_day=1, max_per_week=1)
    assert check_slot(request(), busy_week, SLOT, params()) == ()
    # The same two intervals as conversations fill the weekly limit.
    booked_week = listener(booked=monday + tuesday, max_per_day=1, max_per_week=1)
    assert check_slot(request(), booked_week, SLOT, params()) == ("weekly_limit",)


def test_rounds_and_free_times_step_around_held_time():
    held = (Interval(SLOT - timedelta(hours=2), SLOT + timedelta(hours=9)),)
    lis = listener(held=held, max_per_day=4, max_per_week=10)
    result = propose([request()], [lis], params())
    [proposal] = result.proposals
    assert not (held[0].start - timedelta(minutes=75) < proposal.start < held[0].end)
    starts = free_times(request(), lis, params(), limit=10)
    assert starts
    assert all(
        s + timedelta(minutes=75) <= held[0].start or s >= held[0].end + timedelta(minutes=15)
        for s in starts
    )
