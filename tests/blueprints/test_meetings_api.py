"""The meetings API and pages: who sees what, invites, moving, cancelling, feedback."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from matching.extensions import db
from matching.models import Meeting, OutboxMessage, User
from tests.conftest import PASSWORD
from tests.support.meetings import book, future_start, make_pair, move_to_past, parse_invite


@pytest.fixture
def pair(make_user):
    return make_pair(make_user)


def test_list_shows_own_meetings_and_all_to_coordinators(app, api, pair, make_user):
    first = book(app, pair, future_start(days=2))
    second = book(app, pair, future_start(days=3))
    r = api(pair.practitioner).get("/api/v1/meetings")
    assert r.status_code == 200
    assert [m["id"] for m in r.json["items"]] == [first, second]
    assert r.json["next"] is None
    item = r.json["items"][0]
    assert set(item) >= {"id", "request_id", "practitioner_id", "listener_id", "start", "end"}
    assert item["status"] == "scheduled" and item["sequence"] == 0
    assert item["start"].endswith("+00:00")
    assert api(pair.stranger).get("/api/v1/meetings").json["items"] == []
    assert len(api(pair.coordinator).get("/api/v1/meetings").json["items"]) == 2
    assert api().get("/api/v1/meetings").status_code == 401


def test_invite_is_request_then_cancel(app, api, pair):
    meeting_id = book(app, pair, future_start())
    listener = api(pair.listener)
    r = listener.get(f"/api/v1/meetings/{meeting_id}/invite.ics")
    assert r.status_code == 200
    assert r.mimetype == "text/calendar"
    assert r.headers["Content-Type"].endswith("method=REQUEST")
    assert parse_invite(r.data)["method"] == "REQUEST"
    assert api(pair.stranger).get(f"/api/v1/meetings/{meeting_id}/invite.ics").status_code == 404
    assert api(pair.coordinator).get(f"/api/v1/meetings/{meeting_id}/invite.ics").status_code == 200

    r = listener.post(f"/api/v1/meetings/{meeting_id}/cancel", json={"reason": "Sorry."})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "cancelled" and r.json["sequence"] == 1
    r = listener.get(f"/api/v1/meetings/{meeting_id}/invite.ics")
    assert r.headers["Content-Type"].endswith("method=CANCEL")
    parsed = parse_invite(r.data)
    assert parsed["method"] == "CANCEL"
    assert parsed["events"][0]["sequence"] == 1
    r = listener.post(f"/api/v1/meetings/{meeting_id}/cancel", json={})
    assert r.status_code == 409
    assert r.json["error"]["code"] == "not_scheduled"


def test_reschedule_answers(app, api, pair):
    meeting_id = book(app, pair, future_start(days=3))
    other = book(app, pair, future_start(days=5, hour=10))
    client = api(pair.practitioner)
    url = f"/api/v1/meetings/{meeting_id}/reschedule"
    new_start = future_start(days=4, hour=8)
    r = client.post(url, json={"start": new_start.isoformat()})
    assert r.status_code == 200, r.json
    assert r.json["sequence"] == 1
    assert r.json["start"] == new_start.isoformat()
    # The other meeting blocks its own time.
    r = client.post(url, json={"start": (future_start(days=5, hour=10)).isoformat()})
    assert r.status_code == 409
    assert r.json["error"]["code"] == "slot_taken"
    assert "another session" in r.json["error"]["message"]
    assert client.post(url, json={"start": "tomorrow"}).status_code == 422
    assert client.post(url, json={"start": "2030-01-01T10:00:00"}).status_code == 422
    assert client.post(url, data="{", content_type="application/json").status_code == 400
    assert client.post(url, json={"start": new_start.isoformat(), "x": 1}).status_code == 422
    stranger = api(pair.stranger).post(url, json={"start": new_start.isoformat()})
    assert stranger.status_code == 404
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).sequence == 1
        assert db.session.get(Meeting, other).sequence == 0


def test_feedback_answers(app, api, pair):
    meeting_id = book(app, pair, future_start())
    url = f"/api/v1/meetings/{meeting_id}/feedback"
    client = api(pair.practitioner)
    r = client.post(url, json={"rating": 5, "comment": ""})
    assert r.status_code == 409
    move_to_past(app, meeting_id)
    assert client.post(url, json={"rating": 0}).status_code == 422
    assert client.post(url, json={"rating": "5"}).status_code == 422
    r = client.post(url, json={"rating": 5, "comment": "It helped."})
    assert r.status_code == 201, r.json
    assert r.json["rating"] == 5
    assert client.post(url, json={"rating": 4}).status_code == 409
    assert api(pair.coordinator).post(url, json={"rating": 4}).status_code == 403
    assert api(pair.stranger).post(url, json={"rating": 4}).status_code == 404


def test_an_error_after_the_write_rolls_back_the_move_and_its_mail(app, api, pair, monkeypatch):
    from matching.services import audit

    meeting_id = book(app, pair, future_start(days=3))
    with app.app_context():
        before = db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record", broken)
    url = f"/api/v1/meetings/{meeting_id}/reschedule"
    r = api(pair.practitioner).post(url, json={"start": future_start(days=4).isoformat()})
    assert r.status_code == 500
    assert r.json["error"]["code"] == "server_error"
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).sequence == 0
        after = db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage))
        assert after == before


# --- pages -------------------------------------------------------------------


def _email(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).email


def test_meeting_page_for_attendees_only(app, client, login, pair):
    meeting_id = book(app, pair, future_start())
    login(_email(app, pair.stranger))
    assert client.get(f"/meetings/{meeting_id}").status_code == 404
    client.post("/logout")
    login(_email(app, pair.listener))
    page = client.get(f"/meetings/{meeting_id}")
    assert page.status_code == 200
    assert b"Pia Practitioner" in page.data
    assert b"Move the conversation" in page.data
    dashboard = client.get("/listener/")
    assert f"/meetings/{meeting_id}".encode() in dashboard.data


def test_pages_move_and_cancel(app, client, login, pair):
    meeting_id = book(app, pair, future_start(days=3))
    login(_email(app, pair.practitioner))
    local = future_start(days=4, hour=9).astimezone(ZoneInfo("Europe/Berlin"))
    r = client.post(
        f"/meetings/{meeting_id}/reschedule", data={"start": local.strftime("%Y-%m-%dT%H:%M")}
    )
    assert r.status_code == 302
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert meeting.start_at == future_start(days=4, hour=9)
        assert meeting.sequence == 1
    r = client.post(
        f"/meetings/{meeting_id}/reschedule",
        data={"start": (local - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M")},
        follow_redirects=True,
    )
    assert b"not free for both" in r.data
    r = client.post(f"/meetings/{meeting_id}/cancel", data={"reason": ""})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).status == "cancelled"


def test_pages_feedback_and_outcome(app, client, login, pair):
    meeting_id = book(app, pair, future_start())
    move_to_past(app, meeting_id)
    login(_email(app, pair.listener))
    page = client.get(f"/meetings/{meeting_id}")
    assert b"Send feedback" in page.data
    client.post(f"/meetings/{meeting_id}/feedback", data={"rating": "4", "comment": "ok"})
    client.post(f"/meetings/{meeting_id}/outcome", data={"outcome": "completed"})
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).status == "completed"
    assert b"your feedback is recorded" in client.get(f"/meetings/{meeting_id}").data


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_page_actions_need_the_form_token(app, client, login, pair):
    meeting_id = book(app, pair, future_start())
    page = client.get("/login")
    token = page.data.split(b'name="csrf_token" type="hidden" value="')[1].split(b'"')[0]
    signed_in = client.post(
        "/login",
        data={"email": "pia@example.org", "password": PASSWORD, "csrf_token": token.decode()},
    )
    assert signed_in.status_code == 302
    assert client.get(f"/meetings/{meeting_id}").status_code == 200
    r = client.post(f"/meetings/{meeting_id}/cancel", data={"reason": ""})
    assert r.status_code == 400
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).status == "scheduled"
    r = client.post("/meetings/calendar/rotate", data={})
    assert r.status_code == 400
    with app.app_context():
        assert db.session.get(User, pair.practitioner).feed_token_hash is None


def test_outbox_page_is_for_coordinators(app, client, login, pair):
    login(_email(app, pair.practitioner))
    assert client.get("/coordinator/outbox/").status_code == 403
    client.post("/logout")
    login(_email(app, pair.coordinator))
    assert client.get("/coordinator/outbox/").status_code == 200
