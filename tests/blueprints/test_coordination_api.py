"""The coordination API: listeners, rounds and proposals."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from matching.extensions import db
from matching.models import AuditEvent, Meeting, Proposal, SupportRequest, now_utc

ALL_WEEK = [(day, "08:00", "20:00") for day in range(7)]


@pytest.fixture
def people(app, make_user):
    ids = {
        "coordinator": make_user("coordinator"),
        "listener": make_user("listener", windows=ALL_WEEK, timezone="Europe/Berlin"),
        "practitioner": make_user("practitioner", windows=ALL_WEEK, timezone="America/New_York"),
    }
    with app.app_context():
        req = SupportRequest(practitioner_id=ids["practitioner"], modalities=["video"])
        db.session.add(req)
        db.session.commit()
        ids["request"] = req.id
    return ids


@pytest.fixture
def coord(api, people):
    return api(people["coordinator"])


def aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0)
    return parsed


def test_run_round_answers_with_proposals_in_utc(coord, people):
    r = coord.post("/api/v1/rounds", json={})
    assert r.status_code == 201, r.json
    assert isinstance(r.json["id"], int)
    assert r.json["unmatched"] == []
    [proposal] = r.json["proposals"]
    assert proposal["request_id"] == people["request"]
    assert proposal["listener_id"] == people["listener"]
    assert aware(proposal["end"]) - aware(proposal["start"]) == timedelta(hours=1)
    assert 0 <= proposal["score"] <= 100
    assert proposal["reasons"]


def test_run_round_takes_an_empty_body(coord):
    r = coord.post("/api/v1/rounds")
    assert r.status_code == 201
    assert len(r.json["proposals"]) == 1


def test_unmatched_requests_carry_their_diagnosis(app, coord, make_user):
    polish = make_user("practitioner", languages=["pl"], windows=ALL_WEEK)
    with app.app_context():
        req = SupportRequest(practitioner_id=polish, modalities=["video"])
        db.session.add(req)
        db.session.commit()
        request_id = req.id
    r = coord.post("/api/v1/rounds", json={})
    assert r.json["unmatched"] == [
        {"request_id": request_id, "reasons": ["no verified listener speaks Polish"]}
    ]


def test_approve_answers_with_the_meeting(app, coord, people):
    proposal = coord.post("/api/v1/rounds", json={}).json["proposals"][0]
    r = coord.post(f"/api/v1/proposals/{proposal['id']}/approve")
    assert r.status_code == 200, r.json
    meeting = r.json["meeting"]
    assert meeting["request_id"] == people["request"]
    assert meeting["practitioner_id"] == people["practitioner"]
    assert meeting["listener_id"] == people["listener"]
    assert aware(meeting["start"]) == aware(proposal["start"])
    assert (meeting["status"], meeting["sequence"]) == ("scheduled", 0)
    assert coord.get(f"/api/v1/requests/{people['request']}").json["status"] == "scheduled"

    again = coord.post(f"/api/v1/proposals/{proposal['id']}/approve")
    assert again.status_code == 409
    assert again.json["error"]["code"] == "not_pending"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Meeting)) == 1


def test_a_taken_slot_answers_409_and_changes_nothing(app, coord, people, make_user):
    proposal = coord.post("/api/v1/rounds", json={}).json["proposals"][0]
    assert coord.post(f"/api/v1/proposals/{proposal['id']}/approve").status_code == 200
    other = make_user("practitioner", windows=ALL_WEEK)
    with app.app_context():
        req = SupportRequest(practitioner_id=other, modalities=["video"], status="proposed")
        db.session.add(req)
        db.session.flush()
        twin = Proposal(
            round_id=db.session.get(Proposal, proposal["id"]).round_id,
            request_id=req.id,
            listener_id=people["listener"],
            start_at=aware(proposal["start"]),
            end_at=aware(proposal["end"]),
            score=40,
        )
        db.session.add(twin)
        db.session.commit()
        twin_id, twin_request = twin.id, req.id
        events = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))

    r = coord.post(f"/api/v1/proposals/{twin_id}/approve", json={})
    assert r.status_code == 409
    assert r.json["error"]["code"] == "slot_taken"
    assert "another session of the listener" in r.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Meeting)) == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == events
        assert db.session.get(Proposal, twin_id).status == "pending"
        assert db.session.get(SupportRequest, twin_request).status == "proposed"


def test_reject_never_again(app, coord, people):
    proposal = coord.post("/api/v1/rounds", json={}).json["proposals"][0]
    r = coord.post(f"/api/v1/proposals/{proposal['id']}/reject", json={"never_again": True})
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["never_again"]) == ("rejected", True)
    assert coord.get(f"/api/v1/requests/{people['request']}").json["status"] == "open"
    assert coord.post("/api/v1/rounds", json={}).json["proposals"] == []
    again = coord.post(f"/api/v1/proposals/{proposal['id']}/reject", json={})
    assert again.status_code == 409


def test_reject_without_body_is_a_plain_reject(coord):
    proposal = coord.post("/api/v1/rounds", json={}).json["proposals"][0]
    r = coord.post(f"/api/v1/proposals/{proposal['id']}/reject")
    assert r.status_code == 200
    assert r.json["never_again"] is False


def test_listeners_list_and_verify(app, coord, people, make_user):
    waiting = make_user("listener", verified=False)
    r = coord.get("/api/v1/listeners")
    assert r.status_code == 200
    assert r.json["next"] is None
    by_id = {item["id"]: item for item in r.json["items"]}
    assert by_id[people["listener"]]["verified"] is True
    assert by_id[waiting]["verified"] is False
    assert "load" in by_id[waiting]

    until = (now_utc().date() + timedelta(days=200)).isoformat()
    r = coord.post(f"/api/v1/listeners/{waiting}/verify", json={"training_valid_until": until})
    assert r.status_code == 200, r.json
    assert (r.json["verified"], r.json["training_valid_until"]) == (True, until)
    with app.app_context():
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "listener.verified")
        )
        assert event.subject_id == waiting


ROUTES = [
    ("get", "/api/v1/listeners"),
    ("post", "/api/v1/listeners/{listener}/verify"),
    ("post", "/api/v1/rounds"),
    ("post", "/api/v1/proposals/1/approve"),
    ("post", "/api/v1/proposals/1/reject"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("role", ["practitioner", "listener"])
def test_other_roles_are_refused(api, people, method, path, role):
    r = getattr(api(people[role]), method)(path.format(**people), json={})
    assert r.status_code == 403
    assert r.json["error"]["code"] == "not_allowed"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_callers_must_sign_in(api, people, method, path):
    r = getattr(api(), method)(path.format(**people), json={})
    assert r.status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/proposals/999/approve",
        "/api/v1/proposals/999/reject",
        "/api/v1/listeners/999/verify",
    ],
)
def test_unknown_ids_are_not_found(coord, path):
    body = {"training_valid_until": (now_utc().date() + timedelta(days=30)).isoformat()}
    r = coord.post(path, json=body if "verify" in path else {})
    assert r.status_code == 404
    assert r.json["error"]["code"] == "not_found"


def test_practitioner_ids_are_not_listeners(coord, people):
    until = (now_utc().date() + timedelta(days=30)).isoformat()
    r = coord.post(
        f"/api/v1/listeners/{people['practitioner']}/verify", json={"training_valid_until": until}
    )
    assert r.status_code == 404


BAD_BODIES = [
    ("/api/v1/rounds", b"{not json", 400),
    ("/api/v1/rounds", b"[]", 400),
    ("/api/v1/rounds", b'{"solver": "other"}', 422),
    ("/api/v1/proposals/{proposal}/reject", b'{"never_again": "yes"}', 422),
    ("/api/v1/proposals/{proposal}/reject", b'{"never_again": null}', 422),
    ("/api/v1/proposals/{proposal}/reject", b'{"forever": true}', 422),
    ("/api/v1/proposals/{proposal}/reject", b'"text"', 400),
    ("/api/v1/proposals/{proposal}/approve", b'{"start": "now"}', 422),
    ("/api/v1/proposals/{proposal}/approve", b"\xff\xfe", 400),
    ("/api/v1/listeners/{listener}/verify", b"", 400),
    ("/api/v1/listeners/{listener}/verify", b"{}", 422),
    ("/api/v1/listeners/{listener}/verify", b'{"training_valid_until": "soon"}', 422),
    ("/api/v1/listeners/{listener}/verify", b'{"training_valid_until": 20270101}', 422),
    ("/api/v1/listeners/{listener}/verify", b'{"training_valid_until": "2001-01-01"}', 422),
]


@pytest.mark.parametrize(("path", "body", "status"), BAD_BODIES)
def test_bad_bodies_are_refused_without_changes(app, coord, people, path, body, status):
    proposal = coord.post("/api/v1/rounds", json={}).json["proposals"][0]
    url = path.format(proposal=proposal["id"], **people)
    r = coord.post(url, data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.json
    assert set(r.json["error"]) >= {"code", "message"}
    with app.app_context():
        assert db.session.get(Proposal, proposal["id"]).status == "pending"
        assert db.session.scalar(db.select(db.func.count()).select_from(Meeting)) == 0
