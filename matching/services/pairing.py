"""Pairing by hand: a coordinator books a request with a listener at a time they choose.

The same booking path as approving a proposal (services/rounds.py): the per-person lock
before anything is read, every hard rule re-checked through the engine on data read
after the lock (engine.broken_rules, from the rule registry), the meeting written by
services/meetings.py inside bookings.attempt(). A rule marked ``overridable`` may be
set aside with a note, and that is audited; the others never (engine/rules.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta

from matching import engine
from matching.errors import Conflict, Invalid, NotFound
from matching.extensions import db
from matching.models import Meeting, SupportRequest, User, now_utc
from matching.services import audit, bookings, engine_input, meetings, rounds

RULE_BROKEN = "rule_broken"
# A request a coordinator may still pair: waiting, or with a proposal not yet decided.
PAIRABLE = ("open", "proposed")
NOTE_NEEDED = "Write a note saying why the rule is set aside."


def rule_dicts(rules: Iterable[engine.Rule], params: engine.Params) -> list[dict]:
    """Rules as a person and a program read them: code, sentence, override flag."""
    return [
        {"code": rule.code, "message": rule.text(params), "overridable": rule.overridable}
        for rule in rules
    ]


def get_request(request_id: int) -> SupportRequest:
    """The request, or NotFound."""
    req = db.session.get(SupportRequest, request_id)
    if req is None:
        raise NotFound("No such request.")
    return req


def get_listener(listener_id: int) -> User:
    """A listener with a profile, or NotFound."""
    user = db.session.get(User, listener_id)
    if user is None or user.role != "listener" or user.listener_profile is None:
        raise NotFound("No such listener.")
    return user


def _check_pairable(req: SupportRequest) -> None:
    if req.status not in PAIRABLE:
        raise Conflict(
            f"This request is {req.status}, so it cannot be paired now.", code="request_not_open"
        )


def _params(now: datetime) -> engine.Params:
    return engine_input.params(now)


def _inputs(req: SupportRequest, listener: User, now: datetime):
    return engine_input.pair_inputs(req, listener, now, skip_request=req.id)


def broken(
    request_id: int, listener_id: int, start: datetime, *, now: datetime | None = None
) -> list[dict]:
    """Each hard rule this pair breaks by meeting at ``start``: code, message, overridable."""
    now = now or now_utc()
    req, listener = get_request(request_id), get_listener(listener_id)
    params = _params(now)
    req_in, listener_in = _inputs(req, listener, now)
    return rule_dicts(engine.broken_rules(req_in, listener_in, start, params), params)


def free_times(
    request_id: int, listener_id: int, *, limit: int = 10, now: datetime | None = None
) -> list[datetime]:
    """The next starts (at most ``limit``) at which this pair meets without breaking a rule."""
    now = now or now_utc()
    req, listener = get_request(request_id), get_listener(listener_id)
    if req.status not in PAIRABLE:
        return []
    req_in, listener_in = _inputs(req, listener, now)
    return list(engine.free_times(req_in, listener_in, _params(now), limit=limit))


@dataclasses.dataclass(frozen=True)
class Candidates:
    """Listeners for a request: those who pass every rule that needs no start, and the rest.

    ``fit`` holds (id, name, timezone) rows; ``misfit`` (id, name, sentences, whether
    every one of those rules may be overridden).
    """

    fit: list[tuple[int, str, str]]
    misfit: list[tuple[int, str, list[str], bool]]


def candidates(request_id: int, *, search: str = "", now: datetime | None = None) -> Candidates:
    """Active listeners split by the rules that need no start (the round's funnel).

    ``search`` keeps the listeners whose name contains it (either list). The number of
    queries does not depend on the number of listeners.
    """
    now = now or now_utc()
    req = get_request(request_id)
    params = _params(now)
    req_in, people = engine_input.request_and_listeners(req, now)
    funnel = engine.Funnel(engine.RULES, [lis for _, lis in people], params)
    misfits = funnel.misfits(req_in)
    needle = search.strip().casefold()
    fit, misfit = [], []
    for i, (user, _) in enumerate(people):
        if needle and needle not in user.display_name.casefold():
            continue
        if i in misfits:
            rules = misfits[i]
            sentences = [r.text(params) for r in rules]
            misfit.append(
                (user.id, user.display_name, sentences, all(r.overridable for r in rules))
            )
        else:
            fit.append((user.id, user.display_name, user.timezone))
    return Candidates(fit, misfit)


def pair(
    actor: User,
    request_id: int,
    listener_id: int,
    start: datetime,
    *,
    override: Iterable[str] = (),
    note: str = "",
    now: datetime | None = None,
) -> Meeting:
    """Book a request with a listener at ``start``, by hand; the caller commits.

    Every hard rule is re-checked after the per-person lock. A broken rule that is not
    overridable, or is but is not listed in ``override``, refuses with 409 rule_broken
    (``fields.rules`` lists every broken rule); overriding needs a note (422). The
    meeting is booked as an approval books it (409 slot_taken if the database refuses
    the time); the request's pending proposals are withdrawn; all is audited.
    """
    now = now or now_utc()
    if not isinstance(start, datetime) or start.tzinfo is None:
        raise Invalid("Give a time with a UTC offset.", fields={"start": "needs an offset"})
    req, listener = get_request(request_id), get_listener(listener_id)
    bookings.lock_people([req.practitioner_id, listener.id])
    # Another booking may have committed while we waited for the lock.
    db.session.refresh(req)
    db.session.refresh(listener)
    db.session.refresh(listener.listener_profile)
    _check_pairable(req)

    params = _params(now)
    req_in, listener_in = _inputs(req, listener, now)
    failing = engine.broken_rules(req_in, listener_in, start, params)
    allowed = set(override)
    refused = [rule for rule in failing if not (rule.overridable and rule.code in allowed)]
    if refused:
        raise Conflict(
            "This time breaks a rule: " + "; ".join(r.text(params) for r in refused) + ".",
            code=RULE_BROKEN,
            fields={"rules": rule_dicts(failing, params)},
        )
    note = note.strip()
    if failing and not note:
        raise Invalid(NOTE_NEEDED, fields={"note": NOTE_NEEDED})

    end = start + timedelta(minutes=params.session_minutes)
    with bookings.attempt():
        rounds.stale_pending_for_request(req)
        meeting = meetings.book_meeting(actor, req, listener.id, start, end, now=now)
        overridden = [rule.code for rule in failing]
        summary = f"Paired request {req.id} by hand: meeting {meeting.id} booked"
        if overridden:
            summary += " with an override of " + ", ".join(overridden)
        audit.record(
            actor,
            "request.paired",
            "support_request",
            req.id,
            summary,
            meeting_id=meeting.id,
            listener_id=listener.id,
            start=start.isoformat(),
            overridden=overridden,
            note=note,
        )
    return meeting
