"""Races fired through real servers: gunicorn with four workers on PostgreSQL, and a
threaded live server on the suite's database (SQLite by default).

Each test repeats its race many times with fresh people, and checks every answer (one
winner, the rest 409, never a 500) and the database afterwards (no overlapping holds).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from matching.extensions import db
from matching.models import MatchingRound, Meeting, OutboxMessage, Proposal, SupportRequest, User
from matching.services import accounts, bookings, consent
from tests.support.meetings import ALL_WEEK, Pair, book, future_start

TRIALS = {"threads": 10, "gunicorn": 15}
MOVERS = 6  # meetings of one listener moved to one time at once


def _token(app, user_id: int) -> str:
    with app.app_context():
        token = accounts.issue_token(db.session.get(User, user_id), 1)
        db.session.commit()
        return token


def _listener(make_user) -> int:
    return make_user("listener", windows=ALL_WEEK, max_sessions_per_day=4, max_sessions_per_week=10)


def _no_overlap(app) -> None:
    with app.app_context():
        assert bookings.overlapping_holds() == []


def test_parallel_moves_of_one_listener_to_one_time_book_it_once(app, make_user, server):
    kind, target = server
    coordinator = make_user("coordinator")
    outcomes = []
    for trial in range(TRIALS[kind]):
        listener = _listener(make_user)
        meetings = []
        first = future_start(days=3, hour=0) + timedelta(days=7 * (trial % 3))
        for i in range(MOVERS):
            practitioner = make_user("practitioner", windows=ALL_WEEK)
            pair = Pair(coordinator, practitioner, listener, 0)
            meetings.append((book(app, pair, first + timedelta(minutes=90 * i)), practitioner))
        when = first + timedelta(days=2, hours=10)
        answers = target.fire(
            [
                (
                    "POST",
                    f"/api/v1/meetings/{m}/reschedule",
                    {"start": when.isoformat()},
                    _token(app, p),
                )
                for m, p in meetings
            ]
        )
        statuses = sorted(status for status, _ in answers)
        codes = sorted(body["error"]["code"] for status, body in answers if status == 409)
        outcomes.append(statuses)
        assert statuses == [200] + [409] * (MOVERS - 1), answers
        assert codes == ["slot_taken"] * (MOVERS - 1), answers
        with app.app_context():
            at_target = db.session.scalars(
                db.select(Meeting).where(Meeting.listener_id == listener, Meeting.start_at == when)
            ).all()
            assert len(at_target) == 1
        _no_overlap(app)
    assert len(outcomes) == TRIALS[kind]


def _pending(app, practitioner: int, listener: int, start) -> int:
    with app.app_context():
        req = SupportRequest(
            practitioner_id=practitioner, urgency="routine", modalities=["video"], status="proposed"
        )
        matching_round = MatchingRound()
        db.session.add_all([req, matching_round])
        db.session.flush()
        proposal = Proposal(
            round_id=matching_round.id,
            request_id=req.id,
            listener_id=listener,
            start_at=start,
            end_at=start + timedelta(hours=1),
            score=50,
        )
        db.session.add(proposal)
        db.session.commit()
        return proposal.id


def test_an_approval_racing_a_move_to_the_same_time_books_it_once(app, make_user, server):
    kind, target = server
    coordinator = make_user("coordinator")
    coordinator_token = _token(app, coordinator)
    for trial in range(TRIALS[kind]):
        listener = _listener(make_user)
        asking = make_user("practitioner", windows=ALL_WEEK)
        moving = make_user("practitioner", windows=ALL_WEEK)
        when = future_start(days=5, hour=10)
        proposal_id = _pending(app, asking, listener, when)
        meeting_id = book(app, Pair(coordinator, moving, listener, 0), when - timedelta(days=2))
        calls = [
            ("POST", f"/api/v1/proposals/{proposal_id}/approve", {}, coordinator_token),
            (
                "POST",
                f"/api/v1/meetings/{meeting_id}/reschedule",
                {"start": (when + timedelta(minutes=30)).isoformat()},
                _token(app, moving),
            ),
        ]
        answers = target.fire(calls if trial % 2 else calls[::-1])
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200, 409], answers
        assert all(b["error"]["code"] == "slot_taken" for s, b in answers if s == 409), answers
        _no_overlap(app)


def test_parallel_registrations_of_one_address_make_one_account(app, server):
    kind, target = server
    for _ in range(TRIALS[kind]):
        email = f"same-{uuid.uuid4().hex[:12]}@example.org"
        body = {
            "email": email,
            "password": "long enough password",
            "role": "practitioner",
            "display_name": "Ana",
            "timezone": "UTC",
            "consent_version": consent.current_version(),
        }
        answers = target.fire([("POST", "/api/v1/users", body, None)] * 10)
        # Every one answers alike: whoever won, the others were told "check your e-mail".
        assert answers == [(202, {"status": "check_email"})] * 10, answers
        with app.app_context():
            count = db.session.scalar(
                db.select(db.func.count()).select_from(User).where(User.email == email)
            )
            assert count == 1
            kinds = db.session.scalars(
                db.select(OutboxMessage.kind).where(OutboxMessage.recipient == email)
            ).all()
            # The address is not confirmed: nothing but verification mail may go to it.
            assert kinds and set(kinds) == {"verification"}, kinds
