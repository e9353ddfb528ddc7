"""Matching rounds: run the engine over open requests, review and decide proposals."""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from matching import engine
from matching.errors import Conflict, Invalid, NotFound
from matching.extensions import db
from matching.models import (
    PROPOSAL_STATUSES,
    MatchingRound,
    Meeting,
    PractitionerProfile,
    Proposal,
    RoundRun,
    SupportRequest,
    User,
    now_utc,
)
from matching.services import audit, bookings, engine_input, meetings, paging, validate
from matching.vocabulary import URGENCIES

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


def solver_name() -> str:
    """The solver a round uses: MATCH_SOLVER, with "auto" meaning OR-Tools when installed."""
    configured = current_app.config["MATCH_SOLVER"]
    if configured != "auto":
        return configured
    return "ortools" if importlib.util.find_spec("ortools") is not None else "networkx"


def _open_request_count() -> int:
    return db.session.scalar(
        db.select(db.func.count())
        .select_from(SupportRequest)
        .where(SupportRequest.status == "open")
    )


def _claim_run(actor: User | None, now: datetime) -> int:
    """Mark a round as running, committed on its own connection so every worker sees it.

    The partial unique index lets only one row be running: a second claim is a 409.
    A run still marked running after MATCH_ROUND_TIMEOUT_MINUTES lost its worker and
    is released here, so a crash cannot block rounds for good.
    """
    timeout = timedelta(minutes=current_app.config["MATCH_ROUND_TIMEOUT_MINUTES"])
    covers = _open_request_count()
    try:
        with db.engine.begin() as conn:
            conn.execute(
                db.update(RoundRun)
                .where(RoundRun.status == "running")
                .where(RoundRun.started_at < now - timeout)
                .values(status="failed", finished_at=now)
            )
            result = conn.execute(
                db.insert(RoundRun).values(
                    status="running",
                    started_by_id=actor.id if actor else None,
                    started_at=now,
                    requests=covers,
                )
            )
    except IntegrityError:
        raise Conflict(
            "A matching round is running already. Please wait for it to finish.",
            code="round_running",
        ) from None
    return result.inserted_primary_key[0]


def _fail_run(run_id: int) -> None:
    """Release the claim of a round that failed (on its own connection)."""
    with db.engine.begin() as conn:
        conn.execute(
            db.update(RoundRun)
            .where(RoundRun.id == run_id)
            .where(RoundRun.status == "running")
            .values(status="failed", finished_at=now_utc())
        )


@functools.cache
def _running_query():
    return (
        db.select(RoundRun.started_at, RoundRun.requests, User.display_name)
        .outerjoin(User, User.id == RoundRun.started_by_id)
        .where(RoundRun.status == "running")
    )


def running_round() -> dict | None:
    """The round running right now, if any: when it started, by whom, how many requests."""
    row = db.session.execute(_running_query()).first()
    if row is None:
        return None
    return {"started_at": row.started_at, "requests": row.requests, "started_by": row.display_name}


def run_round(actor: User | None, *, now: datetime | None = None) -> MatchingRound:
    """Propose a listener and a time for every open request; the caller commits.

    Only one round runs at a time (409 round_running). The claim is released in the
    round's own transaction when it commits, or at once when the round fails.
    """
    now = now or now_utc()
    run_id = _claim_run(actor, now)
    try:
        matching_round = _run_round(actor, now)
        db.session.execute(
            db.update(RoundRun)
            .where(RoundRun.id == run_id)
            .values(status="finished", finished_at=now_utc(), round_id=matching_round.id)
        )
    except BaseException:
        # Nothing of the round may stay half-written, and the claim must go.
        db.session.rollback()
        _fail_run(run_id)
        raise
    return matching_round


def _run_round(actor: User | None, now: datetime) -> MatchingRound:
    params = engine_input.params(now)
    solver = solver_name()
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


@functools.cache
def _unmatched_query():
    return (
        db.select(
            SupportRequest.id,
            SupportRequest.urgency,
            SupportRequest.created_at,
            SupportRequest.note,
            SupportRequest.status,
            User.display_name.label("practitioner_name"),
        )
        .join(User, User.id == SupportRequest.practitioner_id)
        .where(SupportRequest.id.in_(bindparam("ids", expanding=True)))
    )


def unmatched_requests(
    matching_round: MatchingRound, *, offset: int = 0, limit: int | None = None
) -> list[tuple]:
    """The round's unmatched requests (a slice) with their diagnoses, in one query.

    Each item is (row, reasons); the row carries id, urgency, created_at, note, status
    and practitioner_name.
    """
    items = matching_round.unmatched[offset:]
    if limit is not None:
        items = items[:limit]
    ids = [item["request_id"] for item in items]
    if not ids:
        return []
    rows = db.session.execute(_unmatched_query(), {"ids": ids})
    by_id = {r.id: r for r in rows}
    return [
        (by_id[item["request_id"]], list(item["reasons"]))
        for item in items
        if item["request_id"] in by_id
    ]


@functools.cache
def _header_query():
    return (
        db.select(
            MatchingRound.id,
            MatchingRound.created_at,
            MatchingRound.unmatched,
            User.display_name.label("started_by_name"),
        )
        .outerjoin(User, User.id == MatchingRound.started_by_id)
        .where(MatchingRound.id == bindparam("round_id"))
    )


def round_header(round_id: int):
    """One round's id, time, starter's name and unmatched list, without its proposals."""
    row = db.session.execute(_header_query(), {"round_id": round_id}).first()
    if row is None:
        raise NotFound("No such round.")
    return row


def proposal_filters(args) -> dict:
    """Filters from a query string; unknown values fall back to the defaults (everything)."""
    return paging.filters(args, statuses=PROPOSAL_STATUSES, default="all")


_PRACTITIONER = aliased(User)
_LISTENER = aliased(User)
_RANK = paging.urgency_rank(SupportRequest.urgency)


def _proposal_keys(by_status: bool, by_urgency: bool, by_language: bool, *, counting: bool = False):
    """The sort keys of a round's proposals under the filters used (values bound)."""
    keys = (
        db.select(
            Proposal.id.label("id"),
            _RANK.label("rank"),
            SupportRequest.created_at.label("since"),
        )
        .join(SupportRequest, SupportRequest.id == Proposal.request_id)
        .where(Proposal.round_id == bindparam("round_id"))
    )
    if by_status:
        keys = keys.where(Proposal.status == bindparam("status"))
    if by_urgency:
        keys = keys.where(SupportRequest.urgency == bindparam("urgency"))
    if by_language:
        keys = keys.join(
            PractitionerProfile, PractitionerProfile.user_id == SupportRequest.practitioner_id
        ).where(paging.speaks(PractitionerProfile.languages, bindparam("language")))
    if counting:
        return keys.with_only_columns(db.func.count()).order_by(None)
    return keys


@functools.cache
def _proposal_page(by_status: bool, by_urgency: bool, by_language: bool, after: bool):
    """One page of proposals, built once per combination of filters (values bound).

    The page's rows are chosen on the sort key alone; only they are joined to their
    people and read in full, so the database sorts narrow rows.
    """
    page = paging.narrow_page(
        _proposal_keys(by_status, by_urgency, by_language),
        (_RANK, SupportRequest.created_at, Proposal.id),
        after=after,
    )
    return (
        db.select(
            Proposal.id,
            Proposal.round_id,
            Proposal.request_id,
            Proposal.listener_id,
            Proposal.start_at,
            Proposal.end_at,
            Proposal.score,
            Proposal.parts,
            Proposal.reasons,
            Proposal.status,
            Proposal.never_again,
            SupportRequest.urgency,
            SupportRequest.created_at.label("waiting_since"),
            SupportRequest.topics,
            SupportRequest.note,
            _PRACTITIONER.display_name.label("practitioner_name"),
            _PRACTITIONER.timezone.label("practitioner_timezone"),
            _LISTENER.display_name.label("listener_name"),
            _LISTENER.timezone.label("listener_timezone"),
            page.c.rank,
        )
        .select_from(page)
        .join(Proposal, Proposal.id == page.c.id)
        .join(SupportRequest, SupportRequest.id == Proposal.request_id)
        .join(_PRACTITIONER, _PRACTITIONER.id == SupportRequest.practitioner_id)
        .join(_LISTENER, _LISTENER.id == Proposal.listener_id)
        .order_by(page.c.rank, page.c.since, page.c.id)
    )


def list_proposals(
    round_id: int,
    *,
    status: str | None = "pending",
    urgency: str | None = None,
    language: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    total: int | None = None,
) -> paging.Page:
    """One page of a round's proposals, urgent first, then longest waiting, as plain rows.

    ``total`` may be given when the caller knows it (from proposal_counts), to save a query.

    Each row carries the two people's names and zones, the request's urgency, topics
    and private note: one query for the page and one for the total, whatever its size.
    """
    values = {
        "round_id": round_id,
        "status": status,
        "urgency": urgency,
        "language": paging.language_pattern(language) if language else None,
        "limit": limit + 1,
    }
    filtered = (bool(status and status != "all"), bool(urgency), bool(language))
    if total is None:
        total = db.session.scalar(_proposal_keys(*filtered, counting=True), values)
    after = paging.decode(cursor)
    if after is not None:
        values |= paging.after_values(after)
    rows = db.session.execute(_proposal_page(*filtered, after is not None), values).all()
    return paging.page_from(rows, limit, total)


def proposals_answer(
    round_id: int,
    *,
    status: str | None = None,
    urgency: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict], str | None]:
    """The API's page of a round's proposals, urgent first, then longest waiting."""
    round_header(round_id)
    page = list_proposals(round_id, status=status, urgency=urgency, cursor=cursor, limit=limit)
    items = [
        proposal_dict(row)
        | {"urgency": row.urgency, "waiting_since": row.waiting_since.isoformat()}
        for row in page.items
    ]
    return items, page.next


@functools.cache
def _counts_query():
    return (
        db.select(Proposal.status, SupportRequest.urgency, db.func.count())
        .join(SupportRequest, SupportRequest.id == Proposal.request_id)
        .where(Proposal.round_id == bindparam("round_id"))
        .group_by(Proposal.status, SupportRequest.urgency)
    )


def proposal_counts(round_id: int) -> dict:
    """How many proposals of a round are in each status, and pending ones per urgency.

    ``by`` maps (status, urgency) to a count, from which any total a filter without a
    language asks for follows.
    """
    counts = {status: 0 for status in PROPOSAL_STATUSES}
    pending = {urgency: 0 for urgency in URGENCIES}
    by: dict[tuple[str, str], int] = {}
    rows = db.session.execute(_counts_query(), {"round_id": round_id}).all()
    for status, urgency, n in rows:
        counts[status] = counts.get(status, 0) + n
        by[(status, urgency)] = n
        if status == "pending":
            pending[urgency] = pending.get(urgency, 0) + n
    return {"status": counts, "pending_by_urgency": pending, "by": by}


def filtered_total(counts: dict, status: str | None, urgency: str | None) -> int:
    """How many proposals a status/urgency filter shows, from proposal_counts."""
    return sum(
        n
        for (s, u), n in counts["by"].items()
        if (not status or status == "all" or s == status) and (not urgency or u == urgency)
    )


def pending_ids(round_id: int, *, urgency: str | None = None, limit: int) -> list[int]:
    """Ids of a round's pending proposals, urgent first, then longest waiting."""
    query = (
        db.select(Proposal.id)
        .join(SupportRequest, SupportRequest.id == Proposal.request_id)
        .where(Proposal.round_id == round_id)
        .where(Proposal.status == "pending")
    )
    if urgency:
        query = query.where(SupportRequest.urgency == urgency)
    rank = paging.urgency_rank(SupportRequest.urgency)
    return list(
        db.session.scalars(
            query.order_by(rank, SupportRequest.created_at, Proposal.id).limit(limit)
        )
    )


# The most proposals decided in one request: each takes a few queries and queues two
# invitations, and the whole batch must finish well inside a worker's time limit.
BULK_LIMIT = 100


class Approved(NamedTuple):
    proposal_id: int
    meeting_id: int


class Refused(NamedTuple):
    proposal_id: int
    code: str
    message: str


def approve_many(
    actor: User, round_id: int, proposal_ids, *, now: datetime | None = None
) -> dict[str, list]:
    """Approve many proposals of a round, each on its own; the caller commits once.

    Each proposal goes through approve_proposal inside its own SAVEPOINT, so it takes
    the same per-person lock and re-checks every rule; a conflict rolls back only that
    proposal and is reported with its code and message, the rest are booked.
    Answers {"approved": [(proposal_id, meeting_id)], "conflicts": [(proposal_id, code,
    message)]}.
    """
    round_header(round_id)
    ids = validate.ids(proposal_ids, "proposal_ids")
    if not ids:
        raise Invalid("Choose at least one proposal.", fields={"proposal_ids": "empty"})
    if len(ids) > BULK_LIMIT:
        raise Invalid(
            f"Approve at most {BULK_LIMIT} proposals at once.",
            fields={"proposal_ids": f"at most {BULK_LIMIT}"},
        )
    rows = db.session.execute(
        db.select(Proposal.id, Proposal.listener_id, SupportRequest.practitioner_id)
        .join(SupportRequest, SupportRequest.id == Proposal.request_id)
        .where(Proposal.id.in_(ids))
        .where(Proposal.round_id == round_id)
    ).all()
    in_round = {row.id for row in rows}
    if rows:
        # Everyone in the batch, locked at once in id order: two batches that share
        # people then wait for each other instead of deadlocking item by item.
        bookings.lock_people([p for row in rows for p in (row.listener_id, row.practitioner_id)])
    approved: list[Approved] = []
    conflicts: list[Refused] = []
    for proposal_id in ids:
        if proposal_id not in in_round:
            conflicts.append(Refused(proposal_id, "not_found", "No such proposal in this round."))
            continue
        try:
            with db.session.begin_nested():
                meeting = approve_proposal(actor, proposal_id, now=now)
        except Conflict as err:
            conflicts.append(Refused(proposal_id, err.code, err.message))
        else:
            approved.append(Approved(proposal_id, meeting.id))
    audit.record(
        actor,
        "round.approved_many",
        "matching_round",
        round_id,
        f"Approved {len(approved)} of {len(ids)} proposals at once",
        approved=[a.proposal_id for a in approved],
        conflicts=[c.proposal_id for c in conflicts],
    )
    db.session.flush()
    return {"approved": approved, "conflicts": conflicts}


def _pending_in_round():
    return (
        db.select(db.func.count())
        .where(Proposal.round_id == MatchingRound.id)
        .where(Proposal.status == "pending")
        .scalar_subquery()
    )


@functools.cache
def _latest_query():
    return (
        db.select(MatchingRound.id, MatchingRound.created_at, _pending_in_round().label("pending"))
        .order_by(MatchingRound.id.desc())
        .limit(1)
    )


def latest_round() -> dict | None:
    """The newest round's id, time and pending proposals, in one query (for the overview)."""
    row = db.session.execute(_latest_query()).first()
    return row._asdict() if row else None


@functools.cache
def _recent_query():
    return (
        db.select(
            MatchingRound.id,
            MatchingRound.created_at,
            MatchingRound.statistics,
            db.func.json_array_length(MatchingRound.unmatched).label("unmatched"),
            User.display_name.label("started_by_name"),
            _pending_in_round().label("pending"),
        )
        .outerjoin(User, User.id == MatchingRound.started_by_id)
        .order_by(MatchingRound.id.desc())
        .limit(bindparam("limit"))
    )


def recent_rounds(limit: int = 20) -> list:
    """The latest rounds, newest first, as rows: id, created_at, statistics, unmatched
    (how many), started_by_name and pending (proposals still waiting); one query."""
    return db.session.execute(_recent_query(), {"limit": limit}).all()


def get_proposal(proposal_id: int) -> Proposal:
    """One proposal, or NotFound."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("No such proposal.")
    return proposal


def _not_pending(proposal: Proposal) -> Conflict:
    return Conflict(
        f"This proposal was already {proposal.status}; nothing was changed.",
        code="not_pending",
    )


def approve_proposal(actor: User, proposal_id: int, *, now: datetime | None = None) -> Meeting:
    """Book the proposed time after re-checking every hard rule; the caller commits."""
    proposal = get_proposal(proposal_id)
    bookings.lock_people([proposal.listener_id, proposal.request.practitioner_id])
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

    # One savepoint for everything this approval writes: if the database refuses the
    # hold, none of it stays (bulk approval decides each proposal on its own this way).
    with bookings.attempt():
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


def proposal_dict(proposal) -> dict:
    """A proposal as the API shows it, from a Proposal or a row of list_proposals."""
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
