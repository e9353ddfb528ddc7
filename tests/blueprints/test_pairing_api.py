"""POST /api/v1/pairings: a coordinator pairs a request with a listener by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from matching.engine import RULES
from matching.extensions import db
from matching.models import (
    AuditEvent,
    Booking,
    ListenerProfile,
    MatchingRound,
    Meeting,
    OutboxMessage,
    PractitionerProfile,
    Proposal,
    RequestExclusion,
    SupportRequest,
    TimeOff,
    User,
    now_utc,
)
from matching.services import bookings
from tests.support.meetings import ALL_WEEK, Pair, book, future_start, make_pair

START = future_start(days=3, hour=14)


@pytest.fixture
def pair(make_user) -> Pair:
    return make_pair(make_user)


@pytest.fixture
def request_id(app, pair) -> int:
    with app.app_context():
        req = SupportRequest(practitioner_id=pair.practitioner, modalities=["video"])
        db.session.add(req)
        db.session.commit()
        return req.id


@pytest.fixture
def coord(api, pair):
    return api(pair.coordinator)


def body(pair: Pair, request_id: int, start=START, **more) -> dict:
    return {
        "request_id": request_id,
        "listener_id": pair.listener,
        "start": start.isoformat(),
        **more,
    }


def _audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)))


def test_pairing_books_the_meeting_queues_invites_and_is_audited(app, coord, pair, request_id):
    r = coord.post("/api/v1/pairings", json=body(pair, request_id))
    assert r.status_code == 201, r.json
    meeting = r.json["meeting"]
    assert meeting["request_id"] == request_id
    assert meeting["listener_id"] == pair.listener
    assert meeting["practitioner_id"] == pair.practitioner
    start = START.isoformat()
    assert meeting["start"] == start
    assert meeting["end"] == (START + timedelta(hours=1)).isoformat()
    assert meeting["status"] == "scheduled"
    with app.app_context():
        row = db.session.get(Meeting, meeting["id"])
        assert row.proposal_id is None
        assert db.session.get(SupportRequest, request_id).status == "scheduled"
        invites = db.session.scalars(
            db.select(OutboxMessage.recipient).where(OutboxMessage.kind == "invite")
        ).all()
        assert sorted(invites) == ["leo@example.org", "pia@example.org"]
        holds = db.session.scalars(
            db.select(db.func.count()).where(Booking.meeting_id == row.id)
        ).one()
        assert holds == 2
    [event] = _audit(app, "request.paired")
    assert event.subject_id == request_id
    assert event.actor_id == pair.coordinator
    assert event.data["meeting_id"] == meeting["id"]
    assert event.data["overridden"] == []
    assert len(_audit(app, "meeting.created")) == 1


def test_pairing_a_request_with_a_pending_proposal_withdraws_it(app, coord, pair, request_id):
    other_time = START + timedelta(days=1)
    with app.app_context():
        req = db.session.get(SupportRequest, request_id)
        req.status = "proposed"
        matching_round = MatchingRound(started_by_id=pair.coordinator)
        db.session.add(matching_round)
        db.session.flush()
        proposal = Proposal(
            round_id=matching_round.id,
            request_id=request_id,
            listener_id=pair.listener,
            start_at=START,  # its own proposal does not make the practitioner busy
            end_at=START + timedelta(hours=1),
            score=50,
        )
        db.session.add(proposal)
        db.session.commit()
        proposal_id = proposal.id
    r = coord.post("/api/v1/pairings", json=body(pair, request_id, other_time))
    assert r.status_code == 201, r.json
    with app.app_context():
        assert db.session.get(Proposal, proposal_id).status == "stale"
        assert db.session.get(SupportRequest, request_id).status == "scheduled"


def _other_listener_meeting(app, pair, request_id):
    book(app, Pair(pair.coordinator, pair.stranger, pair.listener, 0), START)


def _other_practitioner_meeting(app, pair, request_id):
    with app.app_context():
        other = User(
            email="other-listener@example.org",
            password_hash="x",
            role="listener",
            display_name="Other",
            timezone="UTC",
        )
        other.listener_profile = ListenerProfile(
            languages=["en"], modalities=["video"], organization="Elsewhere"
        )
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    book(app, Pair(pair.coordinator, pair.practitioner, other_id, 0), START + timedelta(minutes=30))


def _change_listener(**values):
    def change(app, pair, request_id):
        with app.app_context():
            profile = db.session.get(ListenerProfile, pair.listener)
            for key, value in values.items():
                setattr(profile, key, value)
            db.session.commit()

    return change


def _same_organisation(app, pair, request_id):
    with app.app_context():
        db.session.get(ListenerProfile, pair.listener).organization = "Northside Clinic"
        db.session.get(PractitionerProfile, pair.practitioner).organization = "northside clinic"
        db.session.commit()


def _do_not_match(app, pair, request_id):
    with app.app_context():
        db.session.get(PractitionerProfile, pair.practitioner).do_not_match = [pair.listener]
        db.session.commit()


def _excluded(app, pair, request_id):
    with app.app_context():
        db.session.add(RequestExclusion(request_id=request_id, listener_id=pair.listener))
        db.session.commit()


def _time_off(who: str):
    def add(app, pair, request_id):
        with app.app_context():
            db.session.add(
                TimeOff(
                    user_id=getattr(pair, who),
                    start_at=START - timedelta(hours=2),
                    end_at=START + timedelta(hours=4),
                )
            )
            db.session.commit()

    return add


# For each never-overridable rule: a way to make the pair break it at START.
NEVER = {
    "listener_status": _change_listener(verified_at=None),
    "paused": _change_listener(paused_until=now_utc() + timedelta(days=30)),
    "training": _change_listener(training_valid_until=now_utc().date() + timedelta(days=1)),
    "organization": _same_organisation,
    "do_not_match": _do_not_match,
    "excluded": _excluded,
    "listener_time_off": _time_off("listener"),
    "practitioner_time_off": _time_off("practitioner"),
    "listener_busy": _other_listener_meeting,
    "practitioner_busy": _other_practitioner_meeting,
}


NEVER_OVERRIDABLE = [rule for rule in RULES if not rule.overridable]


def test_the_cases_here_are_never_overridable_rules_of_the_registry():
    assert set(NEVER) <= {rule.code for rule in NEVER_OVERRIDABLE}


@pytest.mark.parametrize("rule", NEVER_OVERRIDABLE, ids=lambda rule: rule.code)
def test_no_rule_of_the_registry_marked_never_is_set_aside(
    monkeypatch, coord, pair, request_id, rule
):
    """Whatever the rule (one added later too): broken and listed, it still refuses."""
    from matching.services import pairing

    monkeypatch.setattr(pairing.engine, "broken_rules", lambda *args, **kwargs: (rule,))
    r = coord.post(
        "/api/v1/pairings", json=body(pair, request_id, override=[rule.code], note="Please.")
    )
    assert r.status_code == 409, r.json
    rules = r.json["error"]["fields"]["rules"]
    assert [(x["code"], x["overridable"]) for x in rules] == [(rule.code, False)]


@pytest.mark.parametrize("code", sorted(NEVER))
def test_a_never_overridable_rule_refuses_even_when_listed(app, coord, pair, request_id, code):
    NEVER[code](app, pair, request_id)
    with app.app_context():
        meetings_before = db.session.scalar(db.select(db.func.count()).select_from(Meeting))
    every = [rule.code for rule in RULES]
    r = coord.post(
        "/api/v1/pairings", json=body(pair, request_id, override=every, note="Agreed with both.")
    )
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "rule_broken"
    named = {rule["code"]: rule for rule in r.json["error"]["fields"]["rules"]}
    assert named[code]["overridable"] is False
    assert named[code]["message"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Meeting)) == meetings_before
        assert db.session.get(SupportRequest, request_id).status == "open"
    assert _audit(app, "request.paired") == []


def _speaks_only_german(app, pair):
    with app.app_context():
        db.session.get(ListenerProfile, pair.listener).languages = ["de"]
        db.session.commit()


def test_an_overridable_rule_refuses_without_override(app, coord, pair, request_id):
    _speaks_only_german(app, pair)
    r = coord.post("/api/v1/pairings", json=body(pair, request_id))
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "rule_broken"
    assert r.json["error"]["fields"]["rules"] == [
        {"code": "language", "message": "no shared language", "overridable": True}
    ]
    assert "no shared language" in r.json["error"]["message"]


def test_an_override_with_a_note_books_and_is_audited(app, coord, pair, request_id):
    _speaks_only_german(app, pair)
    note = "Both agreed to meet with an interpreter."
    r = coord.post(
        "/api/v1/pairings",
        json=body(pair, request_id, override=["language", "gender"], note=note),
    )
    assert r.status_code == 201, r.json
    [event] = _audit(app, "request.paired")
    assert event.data["overridden"] == ["language"]  # gender did not fail: harmless
    assert event.data["note"] == note
    assert "override of language" in event.summary


def test_an_override_needs_a_note(app, coord, pair, request_id):
    _speaks_only_german(app, pair)
    for note in ("", "   "):
        r = coord.post(
            "/api/v1/pairings", json=body(pair, request_id, override=["language"], note=note)
        )
        assert r.status_code == 422, r.json
        assert "note" in r.json["error"]["fields"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Meeting)) == 0


def test_a_time_too_soon_can_be_overridden_but_not_a_double_booking(app, coord, pair, request_id):
    soon = now_utc().replace(microsecond=0) + timedelta(hours=2)
    r = coord.post("/api/v1/pairings", json=body(pair, request_id, soon))
    assert r.status_code == 409
    assert [x["code"] for x in r.json["error"]["fields"]["rules"]] == ["notice"]
    r = coord.post(
        "/api/v1/pairings",
        json=body(pair, request_id, soon, override=["notice"], note="Urgent, both free."),
    )
    assert r.status_code == 201, r.json


@pytest.mark.parametrize(
    "change, status",
    [
        ({"request_id": 999_999}, 404),
        ({"listener_id": 999_999}, 404),
        ({"listener_id": "practitioner"}, 404),
    ],
)
def test_unknown_ids_answer_404(coord, pair, request_id, change, status):
    values = body(pair, request_id)
    if change.get("listener_id") == "practitioner":
        change = {"listener_id": pair.practitioner}
    r = coord.post("/api/v1/pairings", json=values | change)
    assert r.status_code == status, r.json
    assert r.json["error"]["code"] == "not_found"


def test_a_request_no_longer_open_answers_409(app, coord, pair, request_id):
    with app.app_context():
        db.session.get(SupportRequest, request_id).status = "withdrawn"
        db.session.commit()
    r = coord.post("/api/v1/pairings", json=body(pair, request_id))
    assert r.status_code == 409
    assert r.json["error"]["code"] == "request_not_open"


def test_pairing_twice_answers_409(coord, pair, request_id):
    assert coord.post("/api/v1/pairings", json=body(pair, request_id)).status_code == 201
    later = START + timedelta(days=1)
    r = coord.post("/api/v1/pairings", json=body(pair, request_id, later))
    assert r.status_code == 409
    assert r.json["error"]["code"] == "request_not_open"


@pytest.mark.parametrize("role", ["practitioner", "listener"])
def test_only_coordinators_pair(api, pair, request_id, role):
    r = api(getattr(pair, role)).post("/api/v1/pairings", json=body(pair, request_id))
    assert r.status_code == 403
    assert api().post("/api/v1/pairings", json=body(pair, request_id)).status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        {"start": "tomorrow"},
        {"start": "2030-01-01T10:00:00"},  # no offset
        {"override": ["no_such_rule"]},
        {"override": "language"},
        {"request_id": 0},
        {"request_id": "1"},
        {"note": "x" * 2001},
        {"surprise": True},
    ],
)
def test_bad_input_answers_422(app, coord, pair, request_id, change):
    r = coord.post("/api/v1/pairings", json=body(pair, request_id) | change)
    assert r.status_code == 422, r.json
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Meeting)) == 0


def test_a_listener_booked_then_is_refused(app, coord, pair, request_id):
    _other_listener_meeting(app, pair, request_id)
    r = coord.post(
        "/api/v1/pairings",
        json=body(pair, request_id, START + timedelta(minutes=30), override=["daily_limit"]),
    )
    assert r.status_code == 409
    codes = [x["code"] for x in r.json["error"]["fields"]["rules"]]
    assert "listener_busy" in codes
    with app.app_context():
        assert bookings.overlapping_holds() == []


def test_free_times_and_broken_rules_helpers(app, pair, request_id):
    from matching.services import pairing

    _speaks_only_german(app, pair)
    with app.app_context():
        assert pairing.free_times(request_id, pair.listener) == []
        [rule] = pairing.broken(request_id, pair.listener, START)
        assert rule == {"code": "language", "message": "no shared language", "overridable": True}
        db.session.get(ListenerProfile, pair.listener).languages = ["de", "en"]
        db.session.commit()
        times = pairing.free_times(request_id, pair.listener, limit=3)
        assert len(times) == 3
        assert all(pairing.broken(request_id, pair.listener, t) == [] for t in times)
        found = pairing.candidates(request_id)
        assert [row[0] for row in found.fit] == [pair.listener]


def test_candidates_say_why_others_do_not_fit(app, pair, request_id, make_user):
    from matching.services import pairing

    polish = make_user("listener", name="Pola", languages=["pl"], windows=ALL_WEEK)
    waiting = make_user("listener", name="Walt", verified=False, windows=ALL_WEEK)
    with app.app_context():
        found = pairing.candidates(request_id)
        assert [row[0] for row in found.fit] == [pair.listener]
        why = {row[0]: row[2] for row in found.misfit}
        assert {row[0]: row[3] for row in found.misfit} == {polish: True, waiting: False}
        assert why == {
            polish: ["no shared language"],
            waiting: [
                "the listener is not verified or not active",
                "the listener's training expires before then",
            ],
        }
        assert [row[0] for row in pairing.candidates(request_id, search="pol").misfit] == [polish]
        assert pairing.candidates(request_id, search="pol").fit == []


def test_an_overlap_the_database_refuses_is_slot_taken_and_writes_nothing(
    monkeypatch, app, coord, pair, request_id
):
    """Were the re-check ever blind, the database's own refusal still answers 409."""
    from matching.services import pairing

    _other_listener_meeting(app, pair, request_id)
    with app.app_context():
        before = {
            "meetings": db.session.scalar(db.select(db.func.count()).select_from(Meeting)),
            "mail": db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)),
        }
    monkeypatch.setattr(pairing.engine, "broken_rules", lambda *args, **kwargs: ())
    r = coord.post("/api/v1/pairings", json=body(pair, request_id))
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "slot_taken"
    with app.app_context():
        after = {
            "meetings": db.session.scalar(db.select(db.func.count()).select_from(Meeting)),
            "mail": db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)),
        }
        assert after == before
        assert db.session.get(SupportRequest, request_id).status == "open"
        assert bookings.overlapping_holds() == []
    assert _audit(app, "request.paired") == []


def test_the_service_refuses_a_time_without_an_offset(app, pair, request_id):
    from matching.errors import Invalid
    from matching.services import pairing

    with app.app_context():
        coordinator = db.session.get(User, pair.coordinator)
        with pytest.raises(Invalid):
            pairing.pair(coordinator, request_id, pair.listener, START.replace(tzinfo=None))
