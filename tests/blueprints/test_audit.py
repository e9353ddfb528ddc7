"""The audit trail: refusals and note views are recorded; rows are never changed."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from matching.extensions import db
from matching.models import AuditEvent, MatchingRound, SupportRequest, User
from matching.services import audit
from tests.conftest import PASSWORD

NOTE = "I keep thinking about one family; please no one from Northside."


def _rows(app, action):
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)))


def test_a_refused_page_and_a_refused_api_call_are_audited(app, make_user, api):
    uid = make_user("practitioner")
    with app.app_context():
        email = db.session.get(User, uid).email
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    assert client.get("/coordinator/", environ_base={"REMOTE_ADDR": "192.0.2.4"}).status_code == 403
    assert api(uid).post("/api/v1/rounds", json={}).status_code == 403

    rows = _rows(app, "request.refused")
    assert [(r.actor_id, r.data["endpoint"], r.data["method"]) for r in rows] == [
        (uid, "coordinator.dashboard", "GET"),
        (uid, "api.coordination.run_round", "POST"),
    ]
    assert rows[0].address == "192.0.2.4"
    assert all(r.created_at.tzinfo is not None for r in rows)


def test_a_refused_request_leaves_nothing_else_behind(app, make_user, api):
    """The refusal row is written in its own transaction after the request's is undone."""
    uid = make_user("listener")
    assert api(uid).post("/api/v1/requests", json={}).status_code == 403
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(SupportRequest)) == 0
    assert len(_rows(app, "request.refused")) == 1


def test_a_coordinator_viewing_private_notes_is_audited_without_the_text(app, make_user):
    coordinator = make_user("coordinator", email="coord@example.org")
    practitioner = make_user("practitioner")
    quiet = make_user("practitioner")
    with app.app_context():
        noted = SupportRequest(practitioner_id=practitioner, modalities=["video"], note=NOTE)
        silent = SupportRequest(practitioner_id=quiet, modalities=["video"])
        db.session.add_all([noted, silent])
        db.session.flush()
        matching_round = MatchingRound(
            unmatched=[
                {"request_id": noted.id, "reasons": ["no shared time"]},
                {"request_id": silent.id, "reasons": ["no shared time"]},
            ]
        )
        db.session.add(matching_round)
        db.session.commit()
        round_id, noted_id = matching_round.id, noted.id

    page = app.test_client()
    page.post("/login", data={"email": "coord@example.org", "password": PASSWORD})
    assert NOTE in page.get(f"/coordinator/rounds/{round_id}").get_data(as_text=True)

    rows = _rows(app, "request.note_viewed")
    assert [(r.actor_id, r.subject_type, r.subject_id) for r in rows] == [
        (coordinator, "support_request", noted_id)
    ]
    assert NOTE not in f"{rows[0].summary} {rows[0].data}"
    audit_page = page.get("/coordinator/audit").get_data(as_text=True)
    assert "Private note viewed" in audit_page


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_event SET summary = 'changed'", "DELETE FROM audit_event"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_audit_rows(app, make_user, statement):
    uid = make_user("coordinator")
    with app.app_context():
        audit.record(db.session.get(User, uid), "test.kept", "user", uid, "Kept for ever")
        db.session.commit()
        with pytest.raises(DBAPIError, match="never changed or deleted"):
            db.session.execute(db.text(statement))
        db.session.rollback()
        (row,) = db.session.scalars(db.select(AuditEvent))
        assert row.summary == "Kept for ever"


@pytest.mark.parametrize("page", ["²", "١٢", "-1", "99999", "1e3", "\u0000"])
def test_the_audit_page_takes_any_page_number_calmly(app, make_user, page):
    make_user("coordinator", email="coord@example.org")
    client = app.test_client()
    client.post("/login", data={"email": "coord@example.org", "password": PASSWORD})
    assert client.get("/coordinator/audit", query_string={"page": page}).status_code == 200
