"""Matching rounds: proposals written from the engine, approvals re-checked, rejections kept."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from matching import engine
from matching.errors import Conflict, NotFound
from matching.extensions import db
from matching.models import (
    AuditEvent,
    ListenerProfile,
    MatchingRound,
    Meeting,
    Proposal,
    SupportRequest,
    User,
)
from matching.services import rounds

# Every weekday, so that a round finds times whatever day the suite runs on.
ALL_WEEK = [(day, "08:00", "20:00") for day in range(7)]


def add_request(app, practitioner_id: int, **fields) -> int:
    with app.app_context():
        req = SupportRequest(
            practitioner_id=practitioner_id,
            urgency=fields.pop("urgency", "routine"),
            topics=fields.pop("topics", []),
            modalities=fields.pop("modalities", ["video"]),
            note=fields.pop("note", ""),
            **fields,
        )
        db.session.add(req)
        db.session.commit()
        return req.id


@pytest.fixture
def programme(app, make_user):
    """A coordinator, two listeners and two practitioners with open requests."""
    ids = {
        "coordinator": make_user("coordinator", name="Cora"),
        "listener_a": make_user("listener", name="Lena", windows=ALL_WEEK),
        "listener_b": make_user("listener", name="Luis", windows=ALL_WEEK),
        "prac_a": make_user("practitioner", name="Pia", windows=ALL_WEEK),
        "prac_b": make_user("practitioner", name="Paul", windows=ALL_WEEK),
    }
    ids["req_a"] = add_request(app, ids["prac_a"])
    ids["req_b"] = add_request(app, ids["prac_b"])
    return ids


def run(app, coordinator_id: int) -> int:
    with app.app_context():
        matching_round = rounds.run_round(db.session.get(User, coordinator_id))
        db.session.commit()
        return matching_round.id


def approve(app, coordinator_id: int, proposal_id: int) -> int:
    with app.app_context():
        meeting = rounds.approve_proposal(db.session.get(User, coordinator_id), proposal_id)
        db.session.commit()
        return meeting.id


def reject(app, coordinator_id: int, proposal_id: int, never_again: bool = False) -> None:
    with app.app_context():
        rounds.reject_proposal(db.session.get(User, coordinator_id), proposal_id, never_again)
        db.session.commit()


def proposals_of(app, round_id: int) -> list[Proposal]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(Proposal).where(Proposal.round_id == round_id).order_by(Proposal.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def status_of(app, request_id: int) -> str:
    with app.app_context():
        return db.session.get(SupportRequest, request_id).status


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def test_round_writes_proposals_reasons_and_an_audit_event(app, programme, make_user):
    polish = make_user("practitioner", languages=["pl"], windows=ALL_WEEK)
    req_pl = add_request(app, polish)
    round_id = run(app, programme["coordinator"])

    proposals = proposals_of(app, round_id)
    assert sorted(p.request_id for p in proposals) == sorted(
        [programme["req_a"], programme["req_b"]]
    )
    assert {p.listener_id for p in proposals} <= {programme["listener_a"], programme["listener_b"]}
    for p in proposals:
        assert p.status == "pending"
        assert p.end_at - p.start_at == timedelta(minutes=60)
        assert set(p.parts) == {"field", "topics", "continuity", "urgency", "earliness", "load"}
        assert sum(p.parts.values()) == p.score
        assert p.reasons and all(isinstance(r, str) for r in p.reasons)
        assert status_of(app, p.request_id) == "proposed"
    assert status_of(app, req_pl) == "open"

    with app.app_context():
        matching_round = db.session.get(MatchingRound, round_id)
        assert matching_round.started_by_id == programme["coordinator"]
        assert matching_round.parameters["session_minutes"] == 60
        assert matching_round.parameters["solver"] == "networkx"
        assert matching_round.statistics["matched"] == 2
        assert matching_round.unmatched == [
            {"request_id": req_pl, "reasons": ["no verified listener speaks Polish"]}
        ]
        event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "round.run"))
        assert event.subject_id == round_id
        assert event.actor_id == programme["coordinator"]


def test_a_second_round_leaves_proposed_requests_alone(app, programme):
    first = run(app, programme["coordinator"])
    second = run(app, programme["coordinator"])
    assert len(proposals_of(app, first)) == 2
    assert proposals_of(app, second) == []


def test_approve_books_the_meeting_and_schedules_the_request(app, programme):
    proposal = proposals_of(app, run(app, programme["coordinator"]))[0]
    meeting_id = approve(app, programme["coordinator"], proposal.id)

    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert (meeting.listener_id, meeting.request_id) == (
            proposal.listener_id,
            proposal.request_id,
        )
        assert (meeting.start_at, meeting.end_at) == (proposal.start_at, proposal.end_at)
        assert meeting.status == "scheduled"
        assert meeting.uid.startswith(f"meeting-{meeting_id}@")
        decided = db.session.get(Proposal, proposal.id)
        assert decided.status == "approved"
        assert decided.decided_by_id == programme["coordinator"]
        assert decided.decided_at is not None
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "proposal.approved")
        )
        assert event.subject_id == proposal.id
        assert event.data["meeting_id"] == meeting_id
    assert status_of(app, proposal.request_id) == "scheduled"


def test_approving_twice_is_a_conflict(app, programme):
    proposal = proposals_of(app, run(app, programme["coordinator"]))[0]
    approve(app, programme["coordinator"], proposal.id)
    with pytest.raises(Conflict) as err:
        approve(app, programme["coordinator"], proposal.id)
    assert err.value.code == "not_pending"
    assert count(app, Meeting) == 1


def _duplicate(app, proposal: Proposal, request_id: int, *, shift: timedelta = timedelta(0)) -> int:
    """A second pending proposal for the same listener, as if from another round."""
    with app.app_context():
        round_ = MatchingRound(parameters={}, statistics={}, unmatched=[])
        db.session.add(round_)
        db.session.flush()
        twin = Proposal(
            round_id=round_.id,
            request_id=request_id,
            listener_id=proposal.listener_id,
            start_at=proposal.start_at + shift,
            end_at=proposal.end_at + shift,
            score=50,
            parts={},
            reasons=["made by hand"],
        )
        db.session.add(twin)
        db.session.get(SupportRequest, request_id).status = "proposed"
        db.session.commit()
        return twin.id


def test_two_proposals_for_one_listener_slot_cannot_both_be_approved(app, programme, make_user):
    only = proposals_of(app, run(app, programme["coordinator"]))[0]
    approve(app, programme["coordinator"], only.id)
    # A round that read the programme before that approval proposed the same time.
    other = make_user("practitioner", windows=ALL_WEEK)
    twin_id = _duplicate(app, only, add_request(app, other))
    with pytest.raises(Conflict) as err:
        approve(app, programme["coordinator"], twin_id)
    assert err.value.code == "slot_taken"
    assert "too close to another session of the listener" in err.value.message

    assert count(app, Meeting) == 1
    assert count(app, Meeting, Meeting.proposal_id == twin_id) == 0
    with app.app_context():
        twin = db.session.get(Proposal, twin_id)
        assert twin.status == "pending"
        assert twin.decided_at is None
        assert twin.request.status == "proposed"
        assert count(app, AuditEvent, AuditEvent.action == "proposal.approved") == 1


def test_a_full_day_refuses_the_next_approval(app, programme, make_user):
    only = proposals_of(app, run(app, programme["coordinator"]))[0]
    approve(app, programme["coordinator"], only.id)
    other = make_user("practitioner", windows=ALL_WEEK)
    # Two hours later the same day: clear of the buffer, but over the daily limit of 1.
    twin_id = _duplicate(app, only, add_request(app, other), shift=timedelta(hours=2))
    with pytest.raises(Conflict) as err:
        approve(app, programme["coordinator"], twin_id)
    assert err.value.code == "slot_taken"
    assert "daily limit" in err.value.message
    assert count(app, Meeting) == 1


def test_slot_taken_is_chosen_by_rule_codes_the_engine_has():
    taken = rounds._TAKEN
    assert taken.issubset(engine.RULES_BY_CODE)
    # Taken: the time or a limit went to another booking. The rest: the pair changed.
    busy_or_limit = {rule.code for rule in engine.RULES if rule.code.endswith(("_busy", "_limit"))}
    assert taken == busy_or_limit


def test_approval_fails_when_the_listener_is_no_longer_eligible(app, programme):
    proposal = proposals_of(app, run(app, programme["coordinator"]))[0]
    with app.app_context():
        lp = db.session.get(ListenerProfile, proposal.listener_id)
        lp.verified_at = None
        db.session.commit()
    with pytest.raises(Conflict) as err:
        approve(app, programme["coordinator"], proposal.id)
    assert err.value.code == "no_longer_valid"
    assert count(app, Meeting) == 0
    assert status_of(app, proposal.request_id) == "proposed"
    assert count(app, AuditEvent, AuditEvent.action == "proposal.approved") == 0


def test_reject_reopens_the_request_and_never_again_holds(app, make_user):
    coordinator = make_user("coordinator")
    listener = make_user("listener", windows=ALL_WEEK)
    practitioner = make_user("practitioner", windows=ALL_WEEK)
    first_request = add_request(app, practitioner)
    proposal = proposals_of(app, run(app, coordinator))[0]
    assert proposal.listener_id == listener

    reject(app, coordinator, proposal.id, never_again=True)
    assert status_of(app, first_request) == "open"
    with app.app_context():
        decided = db.session.get(Proposal, proposal.id)
        assert (decided.status, decided.never_again) == ("rejected", True)
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "proposal.rejected")
        )
        assert event.data["never_again"] is True

    # The same practitioner asks again: still never that listener.
    with app.app_context():
        db.session.get(SupportRequest, first_request).status = "withdrawn"
        db.session.commit()
    second_request = add_request(app, practitioner)
    round_id = run(app, coordinator)
    assert proposals_of(app, round_id) == []
    with app.app_context():
        unmatched = db.session.get(MatchingRound, round_id).unmatched
    assert [u["request_id"] for u in unmatched] == [second_request]
    assert "excluded" in unmatched[0]["reasons"][0]


def test_a_plain_reject_lets_a_new_request_meet_that_listener(app, make_user):
    coordinator = make_user("coordinator")
    listener = make_user("listener", windows=ALL_WEEK)
    practitioner = make_user("practitioner", windows=ALL_WEEK)
    first_request = add_request(app, practitioner)
    proposal = proposals_of(app, run(app, coordinator))[0]
    reject(app, coordinator, proposal.id)
    # This request declined that listener: not proposed again for it.
    assert proposals_of(app, run(app, coordinator)) == []
    with app.app_context():
        db.session.get(SupportRequest, first_request).status = "withdrawn"
        db.session.commit()
    add_request(app, practitioner)
    again = proposals_of(app, run(app, coordinator))
    assert [p.listener_id for p in again] == [listener]


def test_decided_proposals_cannot_be_rejected(app, programme):
    proposal = proposals_of(app, run(app, programme["coordinator"]))[0]
    approve(app, programme["coordinator"], proposal.id)
    with pytest.raises(Conflict) as err:
        reject(app, programme["coordinator"], proposal.id)
    assert err.value.code == "not_pending"
    assert status_of(app, proposal.request_id) == "scheduled"


@pytest.mark.parametrize("action", [approve, reject])
def test_unknown_proposals_are_not_found(app, programme, action):
    with pytest.raises(NotFound):
        action(app, programme["coordinator"], 999)


def test_stale_helpers_still_reopen_requests(app, programme):
    proposals = proposals_of(app, run(app, programme["coordinator"]))
    with app.app_context():
        listener = db.session.get(User, proposals[0].listener_id)
        rounds.stale_pending_for_user(listener)
        db.session.commit()
        assert db.session.get(Proposal, proposals[0].id).status == "stale"
    assert status_of(app, proposals[0].request_id) == "open"


def test_match_command_runs_a_round_and_prints_a_summary(app, runner, programme, make_user):
    polish = make_user("practitioner", languages=["pl"], windows=ALL_WEEK)
    req_pl = add_request(app, polish)
    result = runner.invoke(args=["match", "--coordinator", "Coordinator1@example.org"])
    assert result.exit_code == 0, result.output
    assert "2 proposed, 1 unmatched" in result.output
    assert f"request {req_pl}: no verified listener speaks Polish" in result.output
    with app.app_context():
        matching_round = db.session.scalar(db.select(MatchingRound))
        assert matching_round.started_by_id == programme["coordinator"]
        assert len(matching_round.proposals) == 2
    assert status_of(app, programme["req_a"]) == "proposed"


def test_match_command_refuses_an_unknown_coordinator(app, runner, programme):
    result = runner.invoke(args=["match", "--coordinator", "nobody@example.org"])
    assert result.exit_code != 0
    assert "No coordinator" in result.output
    assert count(app, MatchingRound) == 0


def test_two_approvals_of_one_proposal_at_once_book_one_meeting(app, programme):
    proposal = proposals_of(app, run(app, programme["coordinator"]))[0]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide():
        with app.app_context():
            actor = db.session.get(User, programme["coordinator"])
            barrier.wait()
            try:
                rounds.approve_proposal(actor, proposal.id)
                db.session.commit()
                outcomes.append("approved")
            except Conflict as err:
                db.session.rollback()
                outcomes.append(err.code)

    threads = [threading.Thread(target=decide) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["approved", "not_pending"]
    assert count(app, Meeting) == 1
