"""The meeting lifecycle: create, move, cancel, outcome, feedback — and the invites each queues."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from matching.errors import Conflict, Invalid, NotAllowed, NotFound
from matching.extensions import db
from matching.models import (
    AuditEvent,
    Feedback,
    Meeting,
    OutboxMessage,
    SupportRequest,
    TimeOff,
    User,
    now_utc,
)
from matching.services import meetings
from matching.services import requests as requests_service
from tests.support.meetings import book, future_start, make_pair, move_to_past, parse_invite


@pytest.fixture
def pair(make_user):
    return make_pair(make_user)


def _rows(meeting_id: int) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            db.select(OutboxMessage)
            .where(OutboxMessage.meeting_id == meeting_id)
            .order_by(OutboxMessage.id)
        )
    )


def _user(user_id: int) -> User:
    return db.session.get(User, user_id)


def test_create_queues_one_invite_per_attendee_with_neutral_calendar(app, pair):
    start = future_start()
    meeting_id = book(app, pair, start)
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert meeting.uid == f"meeting-{meeting_id}@alongside.localhost"
        assert meeting.sequence == 0
        assert meeting.request.status == "scheduled"
        rows = _rows(meeting_id)
        assert sorted(r.recipient for r in rows) == ["leo@example.org", "pia@example.org"]
        assert {r.kind for r in rows} == {"invite"}
        assert {r.status for r in rows} == {"queued"}
        for row in rows:
            assert row.ics_method == "REQUEST"
            parsed = parse_invite(row.ics)
            assert parsed["method"] == "REQUEST"
            (event,) = parsed["events"]
            assert event["uid"] == meeting.uid
            assert event["sequence"] == 0
            assert event["start"] == start
            assert event["summary"] == "Peer conversation — Alongside"
            assert event["attendees"] == ["mailto:leo@example.org", "mailto:pia@example.org"]
        audit = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "meeting.created")
        ).all()
        assert [a.subject_id for a in audit] == [meeting_id]


def test_each_person_sees_their_own_zone_and_the_other_first_name(app, pair):
    start = future_start()
    meeting_id = book(app, pair, start)
    with app.app_context():
        rows = {r.recipient: r for r in _rows(meeting_id)}
        berlin = start.astimezone(ZoneInfo("Europe/Berlin"))
        new_york = start.astimezone(ZoneInfo("America/New_York"))
        pia, leo = rows["pia@example.org"], rows["leo@example.org"]
        assert pia.subject == (
            f"Invitation: Peer conversation, {berlin:%a %d %b %H:%M} (Europe/Berlin)"
        )
        assert f"{new_york:%a %d %b %H:%M} (America/New York)" in leo.subject
        assert "Leo" in pia.text_body and "Pia" in leo.text_body
        assert "Pia" not in pia.text_body.split("\n", 1)[1]
        assert f"{berlin:%H:%M} (Europe/Berlin)" in pia.html_body
        for row in (pia, leo):
            assert "trauma" not in (row.subject + row.text_body).lower()


def test_reschedule_twice_keeps_uid_and_raises_sequence(app, pair):
    meeting_id = book(app, pair, future_start(days=3))
    with app.app_context():
        actor = _user(pair.practitioner)
        uid = db.session.get(Meeting, meeting_id).uid
        first = future_start(days=4, hour=9)
        meetings.reschedule_meeting(actor, meeting_id, first)
        db.session.commit()
        second = future_start(days=5, hour=16)
        meetings.reschedule_meeting(_user(pair.listener), meeting_id, second)
        db.session.commit()
        meeting = db.session.get(Meeting, meeting_id)
        assert (meeting.start_at, meeting.end_at) == (second, second + timedelta(hours=1))
        updates = [r for r in _rows(meeting_id) if r.kind == "update"]
        assert len(updates) == 4
        sequences = sorted(parse_invite(r.ics)["events"][0]["sequence"] for r in updates)
        assert sequences == [1, 1, 2, 2]
        assert {parse_invite(r.ics)["events"][0]["uid"] for r in updates} == {uid}
        assert meeting.sequence == 2


def test_reschedule_refuses_a_time_that_is_not_free_for_both(app, pair):
    meeting_id = book(app, pair, future_start(days=3))
    busy = future_start(days=4, hour=10)
    with app.app_context():
        db.session.add(
            TimeOff(user_id=pair.listener, start_at=busy, end_at=busy + timedelta(hours=3))
        )
        db.session.commit()
        actor = _user(pair.practitioner)
        with pytest.raises(Conflict) as caught:
            meetings.reschedule_meeting(actor, meeting_id, busy + timedelta(hours=1))
        assert "the listener has time off then" in caught.value.message
        with pytest.raises(Conflict) as caught:
            meetings.reschedule_meeting(actor, meeting_id, now_utc() + timedelta(hours=2))
        assert "less than 24 hours" in caught.value.message
        db.session.rollback()
        meeting = db.session.get(Meeting, meeting_id)
        assert meeting.sequence == 0
        assert not [r for r in _rows(meeting_id) if r.kind == "update"]


def test_reschedule_may_move_within_its_own_old_slot(app, pair):
    start = future_start(days=3)
    meeting_id = book(app, pair, start)
    with app.app_context():
        meetings.reschedule_meeting(_user(pair.listener), meeting_id, start + timedelta(minutes=30))
        assert db.session.get(Meeting, meeting_id).sequence == 1


def test_reschedule_guards_who_and_when(app, pair):
    meeting_id = book(app, pair, future_start(days=3))
    with app.app_context():
        with pytest.raises(NotFound):
            meetings.reschedule_meeting(_user(pair.stranger), meeting_id, future_start(days=4))
        with pytest.raises(Invalid):
            meetings.reschedule_meeting(_user(pair.practitioner), meeting_id, "next tuesday")
        # A coordinator may move it.
        meetings.reschedule_meeting(_user(pair.coordinator), meeting_id, future_start(days=4))
        db.session.commit()
    move_to_past(app, meeting_id)
    with app.app_context(), pytest.raises(Conflict):
        meetings.reschedule_meeting(_user(pair.practitioner), meeting_id, future_start(days=5))


def test_cancel_sends_cancel_with_higher_sequence_and_reopens_request(app, pair):
    meeting_id = book(app, pair, future_start())
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        meetings.cancel_meeting(_user(pair.listener), meeting, reason="I am unwell.")
        db.session.commit()
        assert meeting.status == "cancelled"
        assert meeting.sequence == 1
        assert meeting.request.status == "open"
        cancels = [r for r in _rows(meeting_id) if r.kind == "cancel"]
        assert sorted(r.recipient for r in cancels) == ["leo@example.org", "pia@example.org"]
        for row in cancels:
            assert row.ics_method == "CANCEL"
            parsed = parse_invite(row.ics)
            assert parsed["method"] == "CANCEL"
            assert parsed["events"][0]["sequence"] == 1
            assert parsed["events"][0]["status"] == "CANCELLED"
            assert parsed["events"][0]["uid"] == meeting.uid
        assert (
            "I am unwell." in next(r for r in cancels if r.recipient == "pia@example.org").text_body
        )
        with pytest.raises(Conflict):
            meetings.cancel_meeting(_user(pair.listener), meeting, reason="")


def test_cancel_by_stranger_is_not_found(app, pair):
    meeting_id = book(app, pair, future_start())
    with app.app_context():
        with pytest.raises(NotFound):
            meetings.cancel_meeting_by_id(_user(pair.stranger), meeting_id, "")
        assert db.session.get(Meeting, meeting_id).status == "scheduled"


def test_withdrawing_the_request_cancels_and_keeps_it_withdrawn(app, pair):
    meeting_id = book(app, pair, future_start())
    with app.app_context():
        request_id = db.session.get(Meeting, meeting_id).request_id
        requests_service.withdraw_request(_user(pair.practitioner), request_id)
        db.session.commit()
        assert db.session.get(Meeting, meeting_id).status == "cancelled"
        assert db.session.get(SupportRequest, request_id).status == "withdrawn"
        assert len([r for r in _rows(meeting_id) if r.kind == "cancel"]) == 2


def test_cancelling_a_past_meeting_leaves_the_request_alone(app, pair):
    meeting_id = book(app, pair, future_start())
    move_to_past(app, meeting_id)
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        meetings.cancel_meeting(_user(pair.coordinator), meeting, reason="")
        assert meeting.request.status == "scheduled"


def test_outcome_only_after_the_end(app, pair):
    meeting_id = book(app, pair, future_start())
    with app.app_context(), pytest.raises(Conflict):
        meetings.mark_outcome(_user(pair.coordinator), meeting_id, "completed")
    move_to_past(app, meeting_id)
    with app.app_context():
        with pytest.raises(Invalid):
            meetings.mark_outcome(_user(pair.coordinator), meeting_id, "great")
        meeting = meetings.mark_outcome(_user(pair.listener), meeting_id, "completed")
        assert meeting.status == "completed"
        assert meeting.request.status == "closed"


def test_no_show_reopens_the_request(app, pair):
    meeting_id = book(app, pair, future_start())
    move_to_past(app, meeting_id)
    with app.app_context():
        meeting = meetings.mark_outcome(_user(pair.practitioner), meeting_id, "no_show")
        assert meeting.request.status == "open"


def test_feedback_after_the_end_once_per_attendee(app, pair):
    meeting_id = book(app, pair, future_start())
    with app.app_context():
        with pytest.raises(Conflict) as caught:
            meetings.add_feedback(_user(pair.practitioner), meeting_id, 5, "")
        assert caught.value.code == "not_ended"
    move_to_past(app, meeting_id)
    with app.app_context():
        with pytest.raises(NotFound):
            meetings.add_feedback(_user(pair.stranger), meeting_id, 5, "")
        with pytest.raises(NotAllowed):
            meetings.add_feedback(_user(pair.coordinator), meeting_id, 5, "")
        with pytest.raises(Invalid):
            meetings.add_feedback(_user(pair.practitioner), meeting_id, 6, "")
        meetings.add_feedback(_user(pair.practitioner), meeting_id, 5, "Thank you.")
        meetings.add_feedback(_user(pair.listener), meeting_id, 4, "")
        db.session.commit()
        with pytest.raises(Conflict) as caught:
            meetings.add_feedback(_user(pair.practitioner), meeting_id, 3, "")
        assert caught.value.code == "duplicate"
        ratings = db.session.scalars(db.select(Feedback.rating).order_by(Feedback.id)).all()
        assert ratings == [5, 4]


def test_no_feedback_on_a_cancelled_meeting(app, pair):
    meeting_id = book(app, pair, future_start())
    with app.app_context():
        meetings.cancel_meeting_by_id(_user(pair.practitioner), meeting_id, "")
        db.session.commit()
    move_to_past(app, meeting_id)
    with app.app_context(), pytest.raises(Conflict):
        meetings.add_feedback(_user(pair.practitioner), meeting_id, 5, "")


def test_erasing_an_account_cancels_its_future_meetings(app, pair):
    from matching.services import accounts
    from tests.conftest import PASSWORD

    meeting_id = book(app, pair, future_start())
    with app.app_context():
        accounts.erase_user(_user(pair.listener), PASSWORD)
        db.session.commit()
        meeting = db.session.get(Meeting, meeting_id)
        assert meeting.status == "cancelled"
        cancels = [r for r in _rows(meeting_id) if r.kind == "cancel"]
        assert sorted(r.recipient for r in cancels) == ["leo@example.org", "pia@example.org"]
        assert meeting.request.status == "open"
