"""The last seat through real servers: 30 people register for 10 seats at once.

On gunicorn with four workers (PostgreSQL) and on a threaded server (the suite's
database, SQLite by default): every answer is 201, exactly the first 10 to join hold a
seat, the other 20 wait in the order they joined, the seat count is exact, and nobody's
time is double-booked.
"""

from __future__ import annotations

from matching.extensions import db
from matching.models import Booking, Event, Registration, User
from matching.services import accounts, bookings
from tests.support.events import new_event

SEATS, PEOPLE = 10, 30
TRIALS = {"threads": 3, "gunicorn": 5}


def _tokens(app, user_ids: list[int]) -> list[str]:
    with app.app_context():
        tokens = [accounts.issue_token(db.session.get(User, uid), 1) for uid in user_ids]
        db.session.commit()
        return tokens


def test_thirty_registrations_for_ten_seats_give_ten_seats_and_an_ordered_list(
    app, make_user, server
):
    kind, target = server
    coordinator = make_user("coordinator")
    for _ in range(TRIALS[kind]):
        eid = new_event(app, coordinator, capacity=SEATS)
        people = [make_user("practitioner") for _ in range(PEOPLE)]
        url = f"/api/v1/events/{eid}/registrations"
        answers = target.fire([("POST", url, {}, token) for token in _tokens(app, people)])

        assert sorted(status for status, _ in answers) == [201] * PEOPLE, answers
        statuses = [body["status"] for _, body in answers]
        assert statuses.count("confirmed") == SEATS
        assert statuses.count("waitlisted") == PEOPLE - SEATS
        with app.app_context():
            rows = db.session.scalars(
                db.select(Registration)
                .where(Registration.event_id == eid)
                .order_by(Registration.number)
            ).all()
            # Joined in some order: the first ten hold the seats, the rest wait in that order.
            assert [r.number for r in rows] == list(range(1, PEOPLE + 1))
            assert [r.status for r in rows] == ["confirmed"] * SEATS + ["waitlisted"] * (
                PEOPLE - SEATS
            )
            positions = {body["id"]: body["position"] for _, body in answers if "position" in body}
            assert [positions[r.id] for r in rows[SEATS:]] == list(range(1, PEOPLE - SEATS + 1))
            assert db.session.get(Event, eid).seats_taken == SEATS
            holds = db.session.scalar(
                db.select(db.func.count())
                .select_from(Booking)
                .join(Registration, Registration.id == Booking.registration_id)
                .where(Registration.event_id == eid)
                .where(Booking.active.is_(True))
            )
            assert holds == SEATS
            assert bookings.overlapping_holds() == []
