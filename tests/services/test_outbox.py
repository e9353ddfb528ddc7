"""The outbox against a real SMTP server: delivery, retries, failures, claims, reminders."""

from __future__ import annotations

import re
import socket
import threading
from datetime import timedelta

import pytest

from matching.extensions import db
from matching.models import Meeting, OutboxMessage, User, now_utc
from matching.services import calendar, meetings, outbox
from tests.support.meetings import book, future_start, make_pair, parse_invite


@pytest.fixture
def pair(make_user):
    return make_pair(make_user)


@pytest.fixture
def smtp_app(smtp_server, app_config):
    """Point the app at the test SMTP server (ask for this before `app`)."""
    app_config.update(smtp_server.settings)
    return smtp_server


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rows(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def _deliver(app, **kw):
    with app.app_context():
        return outbox.deliver_due(app.config, **kw)


def test_creation_delivers_one_invite_per_attendee_with_the_mime_layout(smtp_app, app, pair):
    meeting_id = book(app, pair, future_start())
    assert _deliver(app)["sent"] == 2
    assert _deliver(app)["sent"] == 0
    received = {m.rcpt_tos[0]: m for m in smtp_app.received}
    assert sorted(received) == ["leo@example.org", "pia@example.org"]
    rows = {r.recipient: r for r in _rows(app)}
    for address, got in received.items():
        assert got.rcpt_tos == [address]
        message = got.message
        assert message["To"] == address
        assert message["Message-ID"] == f"<outbox-{rows[address].id}@alongside.localhost>"
        assert message.get_content_type() == "multipart/mixed"
        alternative, attachment = message.iter_parts()
        assert alternative.get_content_type() == "multipart/alternative"
        kinds = [p.get_content_type() for p in alternative.iter_parts()]
        assert kinds == ["text/plain", "text/html", "text/calendar"]
        calendar_part = list(alternative.iter_parts())[2]
        ics = calendar_part.get_content()
        ics = ics.encode() if isinstance(ics, str) else ics
        parsed = parse_invite(ics)
        assert calendar_part.get_param("method") == parsed["method"] == "REQUEST"
        assert parsed["events"][0]["uid"] == f"meeting-{meeting_id}@alongside.localhost"
        assert attachment.get_content_type() == "application/ics"
        assert attachment.get_content() == ics
        assert rows[address].status == "sent" and rows[address].sent_at is not None


def test_smtp_down_during_the_request_still_commits_then_delivers(
    smtp_server, app_config, app, api, pair
):
    app.config.update(smtp_server.settings | {"MAIL_PORT": _closed_port()})
    meeting_id = book(app, pair, future_start(days=3))
    url = f"/api/v1/meetings/{meeting_id}/reschedule"
    r = api(pair.practitioner).post(url, json={"start": future_start(days=4).isoformat()})
    assert r.status_code == 200, r.json
    rows = [r for r in _rows(app) if r.kind == "update"]
    assert len(rows) == 2
    # The request tried to send after commit, failed, and left both queued for later.
    assert {(r.status, r.attempts) for r in rows} == {("queued", 1)}
    assert "ConnectionRefusedError" in rows[0].last_error
    assert smtp_server.received == []

    app.config.update(smtp_server.settings)
    later = now_utc() + timedelta(minutes=5)
    outcome = _deliver(app, now=later)
    assert outcome["sent"] == 4  # the two invites from booking and the two updates
    by_person: dict[str, int] = {}
    for got in smtp_server.received:
        by_person[got.rcpt_tos[0]] = by_person.get(got.rcpt_tos[0], 0) + 1
    assert by_person == {"leo@example.org": 2, "pia@example.org": 2}
    assert _deliver(app, now=later + timedelta(hours=1))["sent"] == 0


def test_a_successful_request_sends_its_mail_right_after_commit(smtp_app, app, api, pair):
    meeting_id = book(app, pair, future_start(days=3))
    _deliver(app)
    smtp_app.received.clear()
    r = api(pair.listener).post(f"/api/v1/meetings/{meeting_id}/cancel", json={"reason": ""})
    assert r.status_code == 200
    assert sorted(m.rcpt_tos[0] for m in smtp_app.received) == [
        "leo@example.org",
        "pia@example.org",
    ]
    for got in smtp_app.received:
        part = next(p for p in got.message.walk() if p.get_content_type() == "text/calendar")
        assert part.get_param("method") == "CANCEL"
        assert parse_invite(part.get_content().encode())["events"][0]["sequence"] == 1


def test_a_request_that_fails_after_the_write_sends_nothing(smtp_app, app, client, pair):
    """An approval whose request breaks after create_meeting leaves no meeting and no mail."""
    meeting_id = book(app, pair, future_start(days=3))
    _deliver(app)
    smtp_app.received.clear()
    before = len(_rows(app))

    def approve_then_fail(proposal_id: int):
        from matching.models import Proposal

        proposal = db.session.get(Proposal, proposal_id)
        # A day later, so the database does not refuse a second hold on the booked time.
        proposal.start_at += timedelta(days=1)
        proposal.end_at += timedelta(days=1)
        meetings.create_meeting(db.session.get(User, pair.coordinator), proposal)
        raise RuntimeError("something after the approval broke")

    with app.app_context():
        proposal_id = db.session.get(Meeting, meeting_id).proposal_id
    app.add_url_rule("/test/approve/<int:proposal_id>", view_func=approve_then_fail)
    r = client.get(f"/test/approve/{proposal_id}")
    assert r.status_code == 500
    assert len(_rows(app)) == before
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Meeting)) == 1
    assert smtp_app.received == []


def test_a_550_fails_for_good_and_coordinators_can_retry(smtp_app, app, client, login, pair):
    smtp_app.answer_rcpt("leo@example.org", "550 5.1.1 No such mailbox")
    book(app, pair, future_start())
    outcome = _deliver(app)
    assert (outcome["sent"], outcome["failed"]) == (1, 1)
    failed = next(r for r in _rows(app) if r.recipient == "leo@example.org")
    assert failed.status == "failed" and failed.attempts == 1
    assert "550" in failed.last_error
    assert _deliver(app, now=now_utc() + timedelta(days=1))["sent"] == 0

    login("coord@example.org")
    page = client.get("/coordinator/outbox/")
    assert b"leo@example.org" in page.data and b"550" in page.data
    smtp_app.handler.rcpt_replies.clear()
    assert client.post(f"/coordinator/outbox/{failed.id}/retry").status_code == 302
    # The retry request itself does not send; the next delivery does.
    assert _deliver(app)["sent"] == 1
    assert sorted(m.rcpt_tos[0] for m in smtp_app.received) == [
        "leo@example.org",
        "pia@example.org",
    ]
    assert client.post(f"/coordinator/outbox/{failed.id}/retry").status_code == 302
    assert {r.status for r in _rows(app)} == {"sent"}


def test_a_451_is_retried_with_backoff_and_then_delivered(smtp_app, app, pair):
    smtp_app.answer_rcpt("leo@example.org", "451 4.3.0 Try again later")
    book(app, pair, future_start())
    start = now_utc()
    assert _deliver(app, now=start)["queued"] == 1
    row = next(r for r in _rows(app) if r.recipient == "leo@example.org")
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.next_attempt_at == start + timedelta(minutes=1)
    assert _deliver(app, now=start + timedelta(seconds=30)) == {}
    assert _deliver(app, now=start + timedelta(minutes=2))["queued"] == 1
    row = next(r for r in _rows(app) if r.recipient == "leo@example.org")
    assert row.attempts == 2
    assert row.next_attempt_at == start + timedelta(minutes=2) + timedelta(minutes=2)
    smtp_app.handler.rcpt_replies.clear()
    assert _deliver(app, now=start + timedelta(minutes=5))["sent"] == 1
    assert [m.rcpt_tos[0] for m in smtp_app.received].count("leo@example.org") == 1


def test_backoff_doubles_up_to_six_hours():
    assert [outbox.retry_delay(n) for n in (1, 2, 3, 4)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8)
    ]
    assert outbox.retry_delay(30) == timedelta(hours=6)


@pytest.mark.parametrize("app_config", [{"OUTBOX_MAX_ATTEMPTS": 3}])
def test_temporary_failures_give_up_after_the_last_attempt(app, pair):
    app.config.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": _closed_port(), "MAIL_TIMEOUT": 2})
    book(app, pair, future_start())
    now = now_utc()
    for step in range(3):
        _deliver(app, now=now + timedelta(hours=7 * step))
    rows = _rows(app)
    assert {(r.status, r.attempts) for r in rows} == {("failed", 3)}


def test_the_conditional_claim_lets_one_claimer_win_and_reclaims_expired_leases(app, pair):
    book(app, pair, future_start())
    now = now_utc()
    with app.app_context():
        first = outbox.claim(10, now=now)
        assert len(first) == 2
        assert outbox.claim(10, now=now) == []
        # The worker holding the lease died: once it runs out, the rows are due again.
        assert outbox.claim(10, now=now + outbox.LEASE - timedelta(seconds=1)) == []
        assert sorted(outbox.claim(10, now=now + outbox.LEASE + timedelta(seconds=1))) == first


def test_two_workers_never_send_one_message_twice(smtp_app, app, pair):
    for day in range(2, 8):
        book(app, pair, future_start(days=day))
    barrier = threading.Barrier(3)
    results: list = []
    errors: list = []

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                results.append(outbox.deliver_due(app.config, limit=100))
                db.session.remove()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(r["sent"] for r in results) == 12
    ids = [m.message["Message-ID"] for m in smtp_app.received]
    assert len(ids) == 12 == len(set(ids))


def test_reminders_are_queued_once_however_often_the_worker_runs(smtp_app, app, runner, pair):
    soon = now_utc().replace(second=0, microsecond=0) + timedelta(hours=20)
    later = future_start(days=3)
    soon_id = book(app, pair, soon)
    later_id = book(app, pair, later)
    for _ in range(3):
        result = runner.invoke(args=["outbox", "deliver"])
        assert result.exit_code == 0, result.output
    reminders = [r for r in _rows(app) if r.kind == "reminder"]
    with app.app_context():
        assert db.session.get(Meeting, soon_id).reminder_queued_at is not None
        assert db.session.get(Meeting, later_id).reminder_queued_at is None
    assert sorted(r.dedupe_key for r in reminders) == sorted(
        [f"reminder-{soon_id}-0-{pair.listener}", f"reminder-{soon_id}-0-{pair.practitioner}"]
    )
    subjects = [m.message["Subject"] for m in smtp_app.received]
    assert sum(s.startswith("Reminder:") for s in subjects) == 2
    assert len(subjects) == 6
    status = runner.invoke(args=["outbox", "status"])
    assert re.search(r"sent: 6", status.output), status.output

    # Moved within the day: the new time is worth a new reminder.
    with app.app_context():
        meetings.reschedule_meeting(
            db.session.get(User, pair.practitioner),
            soon_id,
            soon + timedelta(hours=1),
            now=soon - timedelta(hours=30),
        )
        db.session.commit()
        assert calendar.queue_reminders() == 2
        db.session.commit()
        assert calendar.queue_reminders() == 0
