"""Pairings by hand racing each other and an approval for one listener at one time.

Fired through the race servers (gunicorn -w 4 on PostgreSQL, a threaded server on the
suite's database): exactly one conversation is booked, every other answer is 409
slot_taken or rule_broken, never a 500, and no one's holds overlap afterwards.
"""

from __future__ import annotations

from datetime import timedelta

from matching.extensions import db
from matching.models import Meeting, SupportRequest
from tests.races.test_races import TRIALS, _listener, _no_overlap, _pending, _token
from tests.support.meetings import ALL_WEEK, future_start

PAIRINGS = 6  # requests paired with one listener at one time at once
OVERRIDES = ["notice", "horizon", "daily_limit", "weekly_limit"]


def _open_request(app, practitioner: int) -> int:
    with app.app_context():
        req = SupportRequest(practitioner_id=practitioner, urgency="routine", modalities=["video"])
        db.session.add(req)
        db.session.commit()
        return req.id


def test_parallel_pairings_and_an_approval_book_one_listener_once(app, make_user, server):
    kind, target = server
    coordinator = make_user("coordinator")
    token = _token(app, coordinator)
    for trial in range(TRIALS[kind]):
        listener = _listener(make_user)
        when = future_start(days=3 + trial % 5, hour=9)
        calls = []
        for _ in range(PAIRINGS):
            request_id = _open_request(app, make_user("practitioner", windows=ALL_WEEK))
            body = {
                "request_id": request_id,
                "listener_id": listener,
                "start": when.isoformat(),
                "override": OVERRIDES,
                "note": "Agreed on the phone with both.",
            }
            calls.append(("POST", "/api/v1/pairings", body, token))
        if trial % 2:
            # A proposal of a round for the same listener, half an hour later.
            asking = make_user("practitioner", windows=ALL_WEEK)
            proposal_id = _pending(app, asking, listener, when + timedelta(minutes=30))
            calls.append(("POST", f"/api/v1/proposals/{proposal_id}/approve", {}, token))
        answers = target.fire(calls if trial % 4 < 2 else calls[::-1])
        won = [body for status, body in answers if status in (200, 201)]
        lost = [body for status, body in answers if status not in (200, 201)]
        assert len(won) == 1, answers
        assert {status for status, _ in answers} <= {200, 201, 409}, answers
        assert {b["error"]["code"] for b in lost} <= {"slot_taken", "rule_broken"}, answers
        with app.app_context():
            booked = db.session.scalars(
                db.select(Meeting)
                .where(Meeting.listener_id == listener)
                .where(Meeting.status == "scheduled")
            ).all()
            assert [m.id for m in booked] == [won[0]["meeting"]["id"]]
        _no_overlap(app)
