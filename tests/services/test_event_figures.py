"""Attendance and ratings of programme events in the figures, small groups withheld."""

from __future__ import annotations

from datetime import timedelta

import pytest

from matching.extensions import db
from matching.models import Registration, User, now_utc
from matching.services import events, reports
from tests.support.events import move_event_to_past, new_event


@pytest.fixture
def held(app, make_user):
    """held(seats, came, ratings) -> figures of one past event with that story."""
    coordinator = make_user("coordinator")

    def make(seats: int, came: int, ratings: list[int]) -> dict:
        eid = new_event(app, coordinator, capacity=max(seats, 1))
        people = [make_user("practitioner") for _ in range(seats)]
        with app.app_context():
            for person in people:
                events.register(db.session.get(User, person), eid)
            db.session.commit()
        move_event_to_past(app, eid, hours_ago=30)
        with app.app_context():
            actor = db.session.get(User, coordinator)
            rows = db.session.scalars(
                db.select(Registration)
                .where(Registration.event_id == eid)
                .order_by(Registration.id)
            ).all()
            for n, row in enumerate(rows):
                events.mark_attendance(actor, row.id, n < came)
            for person, rating in zip(people, ratings, strict=False):
                events.add_feedback(db.session.get(User, person), eid, rating, "")
            db.session.commit()
            today = now_utc().date()
            return reports.programme(today - timedelta(days=6), today)

    return make


def test_event_figures_of_five_and_more_are_shown(held):
    figures = held(seats=10, came=5, ratings=[5, 4, 4, 3, 4])
    assert figures["events"] == {
        "sessions": 1,
        "seats": 10,
        "attended": 5,
        "attendance_rate": 0.5,
        "feedback": {"count": 5, "mean_rating": 4.0},
    }
    assert not [name for name in figures["suppressed"] if name.startswith("events.")]


def test_small_groups_are_withheld_and_named(held):
    figures = held(seats=8, came=7, ratings=[5, 5, 4, 4])
    ev = figures["events"]
    # 7 came, so the 1 who did not could be worked out: both withheld.
    assert (ev["sessions"], ev["seats"], ev["attended"], ev["attendance_rate"]) == (
        1,
        8,
        None,
        None,
    )
    assert ev["feedback"] == {"count": None, "mean_rating": None}
    assert {"events.attended", "events.attendance_rate", "events.feedback"} <= set(
        figures["suppressed"]
    )


def test_a_handful_of_seats_is_withheld(held):
    figures = held(seats=3, came=3, ratings=[])
    assert figures["events"]["seats"] is None
    assert "events.seats" in figures["suppressed"]
