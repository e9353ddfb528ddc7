"""Matching rounds: run the engine over open requests, review and decide proposals."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import selectinload

from matching import engine
from matching.errors import Conflict, NotFound
from matching.extensions import db
from matching.models import MatchingRound, Meeting, Proposal, SupportRequest, User, now_utc
from matching.services import audit, engine_input, meetings

# Rules that another booking can break between a round and its approval: the time or
# the capacity was taken (409 slot_taken); any other rule means the pair itself no
# longer holds (409 no_longer_valid).
_TAKEN = frozenset({"listener_busy", "practitioner_busy", "daily_limit", "weekly_limit"})


def _stale(query) -> None:
    for proposal in db.session.scalars(query.where(Proposal.status == "pending")):
        proposal.status = "stale"
        proposal.decided_at = now_utc()
        request = proposal.request
        if request.status == "proposed":
            request.status = "open"


def stale_pending_for_user(user: User) -> None:
    """Withdraw pending proposals that involve this person (paused, erased)."""
    _stale(
        db.select(Proposal)
        .join(SupportRequest, SupportRequest.id == Proposal.request_id)
        .where((Proposal.listener_id == user.id) | (SupportRequest.practitioner_id == user.id))
    )
    db.session.flush()


def stale_pending_for_request(req: SupportRequest) -> None:
    """Withdraw the pending proposals of a request (withdrawn, closed)."""
    _stale(db.select(Proposal).where(Proposal.request_id == req.id))
    db.session.flush()


def params_record(params: engine.Params, solver: str) -> dict:
    """The round's parameters as plain JSON values."""
    record = dataclasses.asdict(params)
    record["now"] = params.now.isoformat()
    record["solver"] = solver
    return record


def run_round(actor: User | None, *, now: datetime | None = None) -> MatchingRound:
    """Propose a listener and a time for every open request; the caller commits."""
    now = now or now_utc()
    params = engine_input.params(now)
    solver = current_app.config["MATCH_SOLVER"]
    requests, listeners = engine_input.round_inputs(now)
    result = engine.propose(requests, listeners, params, solver=solver)

    matching_round = MatchingRound(
        started_by_id=actor.id if actor else None,
        created_at=now,
        parameters=params_record(params, solver),
        statistics=dict(result.stats),
        unmatched=[
            {"request_id": u.request_id, "reasons": list(u.reasons)} for u in result.unmatched
        ],
    )
    db.session.add(matching_round)
    db.session.flush()

    if result.proposals:
        # One executemany instead of an INSERT per proposal: rounds can be large.
        db.session.execute(
            db.insert(Proposal),
            [
                {
                    "round_id": matching_round.id,
                    "request_id": p.request_id,
                    "listener_id": p.listener_id,
                    "start_at": p.start,
                    "end_at": p.end,
                    "score": p.score,
                    "parts": {part.name: part.points for part in p.parts},
                    "reasons": list(p.reasons),
                    "status": "pending",
                    "never_again": False,
                }
                for p in result.proposals
            ],
        )
        db.session.expire(matching_round, ["proposals"])
    proposed_ids = [p.request_id for p in result.proposals]
    if proposed_ids:
        db.session.execute(
            db.update(SupportRequest)
            .where(SupportRequest.id.in_(proposed_ids))
            .where(SupportRequest.status == "open")
            .values(status="proposed", updated_at=now_utc())
            .execution_options(synchronize_session="fetch")
        )
    audit.record(
        actor,
        "round.run",
        "matching_round",
        matching_round.id,
        f"Ran a matching round: {len(result.proposals)} proposed, "
        f"{len(result.unmatched)} left unmatched",
        proposals=len(result.proposals),
        unmatched=len(result.unmatched),
    )
    db.session.flush()
    return matching_round


def get_round(round_id: int) -> MatchingRound:
    """One round with its proposals, the people in them and their requests, in bulk."""
    matching_round = db.session.scalar(
        db.select(MatchingRound)
        .where(MatchingRound.id == round_id)
        .options(
            selectinload(MatchingRound.started_by),
            selectinload(MatchingRound.proposals)
            .selectinload(Proposal.request)
            .selectinload(SupportRequest.practitioner),
            selectinload(MatchingRound.proposals).selectinload(Proposal.listener),
        )
    )
    if matching_round is None:
        raise NotFound("No such round.")
    return matching_round


def unmatched_requests(matching_round: MatchingRound) -> list[tuple[SupportRequest, list[str]]]:
    """The round's unmatched requests with their diagnoses, in one query."""
    ids = [item["request_id"] for item in matching_round.unmatched]
    if not ids:
        return []
    rows = db.session.scalars(
        db.select(SupportRequest)
        .where(SupportRequest.id.in_(ids))
        .options(selectinload(SupportRequest.practitioner))
    )
    by_id = {r.id: r for r in rows}
    return [
        (by_id[item["request_id"]], list(item["reasons"]))
        for item in matching_round.unmatched
        if item["request_id"] in by_id
    ]


def recent_rounds(limit: int = 20) -> list[tuple[MatchingRound, int]]:
    """The latest rounds, newest first, each with its number of proposals still pending."""
    rounds = list(
        db.session.scalars(
            db.select(MatchingRound)
            .order_by(MatchingRound.id.desc())
            .limit(limit)
            .options(selectinload(MatchingRound.started_by))
        )
    )
    if not rounds:
        return []
    pending = dict(
        db.session.execute(
            db.select(Proposal.round_id, db.func.count())
            .where(Proposal.round_id.in_([r.id for r in rounds]))
            .where(Proposal.status == "pending")
            .group_by(Proposal.round_id)
        ).all()
    )
    return [(r, pending.get(r.id, 0)) for r in rounds]


def get_proposal(proposal_id: int) -> Proposal:
    """One proposal, or NotFound."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("No such proposal.")
    return proposal


def _lock_people(user_ids: list[int]) -> None:
    """Serialise decisions that touch the same people until this transaction ends.

    PostgreSQL: row locks on the users, taken in id order so two approvals cannot
    deadlock. SQLite: a no-op write takes the database's write lock, which the
    driver otherwise would only take at the first real write, after the re-check.
    """
    ids = sorted(set(user_ids))
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(
            db.update(User)
            .where(User.id.in_(ids))
            .values(session_version=User.session_version)
            .execution_options(synchronize_session=False)
        )
    else:
        db.session.execute(
            db.select(User.id).where(User.id.in_(ids)).order_by(User.id).with_for_update()
        )


def _not_pending(proposal: Proposal) -> Conflict:
    return Conflict(
        f"This proposal was already {proposal.status}; nothing was changed.",
        code="not_pending",
    )


def approve_proposal(actor: User, proposal_id: int, *, now: datetime | None = None) -> Meeting:
    """Book the proposed time after re-checking every hard rule; the caller commits."""
    proposal = get_proposal(proposal_id)
    _lock_people([proposal.listener_id, proposal.request.practitioner_id])
    # Another approval may have committed while we waited for the lock.
    db.session.refresh(proposal)
    db.session.refresh(proposal.request)
    if proposal.status != "pending":
        raise _not_pending(proposal)

    now = now or now_utc()
    params = engine_input.params(now)
    request_in, listener_in = engine_input.pair_inputs(
        proposal.request, proposal.listener, now, skip_proposal=proposal.id
    )
    broken = engine.check_slot(request_in, listener_in, proposal.start_at, params)
    if broken:
        raise Conflict(
            "This time can no longer be booked: " + engine.explain(broken, params) + ".",
            code="slot_taken" if _TAKEN.intersection(broken) else "no_longer_valid",
        )

    meeting = meetings.create_meeting(actor, proposal)
    proposal.status = "approved"
    proposal.decided_by_id = actor.id
    proposal.decided_at = now_utc()
    proposal.request.status = "scheduled"
    audit.record(
        actor,
        "proposal.approved",
        "proposal",
        proposal.id,
        f"Approved proposal {proposal.id}: meeting {meeting.id} booked",
        meeting_id=meeting.id,
        request_id=proposal.request_id,
        listener_id=proposal.listener_id,
    )
    db.session.flush()
    return meeting


def reject_proposal(actor: User, proposal_id: int, never_again: bool = False) -> Proposal:
    """Turn a proposal down and reopen its request; the caller commits."""
    proposal = get_proposal(proposal_id)
    if proposal.status != "pending":
        raise _not_pending(proposal)
    proposal.status = "rejected"
    proposal.never_again = bool(never_again)
    proposal.decided_by_id = actor.id
    proposal.decided_at = now_utc()
    if proposal.request.status == "proposed":
        proposal.request.status = "open"
    audit.record(
        actor,
        "proposal.rejected",
        "proposal",
        proposal.id,
        f"Rejected proposal {proposal.id}"
        + (" — never again for this pair" if never_again else ""),
        never_again=bool(never_again),
        request_id=proposal.request_id,
        listener_id=proposal.listener_id,
    )
    db.session.flush()
    return proposal


def proposal_dict(proposal: Proposal) -> dict:
    return {
        "id": proposal.id,
        "round_id": proposal.round_id,
        "request_id": proposal.request_id,
        "listener_id": proposal.listener_id,
        "start": proposal.start_at.isoformat(),
        "end": proposal.end_at.isoformat(),
        "score": proposal.score,
        "parts": dict(proposal.parts),
        "reasons": list(proposal.reasons),
        "status": proposal.status,
        "never_again": proposal.never_again,
    }


def round_dict(matching_round: MatchingRound) -> dict:
    return {
        "id": matching_round.id,
        "created_at": matching_round.created_at.isoformat(),
        "proposals": [proposal_dict(p) for p in matching_round.proposals],
        "unmatched": [
            {"request_id": u["request_id"], "reasons": list(u["reasons"])}
            for u in matching_round.unmatched
        ],
        "statistics": dict(matching_round.statistics),
    }
