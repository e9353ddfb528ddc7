"""Practitioners' requests for a listener."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import bindparam

from matching.errors import Conflict, Invalid, NotFound
from matching.extensions import db
from matching.models import (
    ACTIVE_REQUEST_STATUSES,
    Meeting,
    SupportRequest,
    User,
)
from matching.services import audit, meetings, profiles, rounds
from matching.vocabulary import MODALITIES

PROFILE_INCOMPLETE = "profile_incomplete"


def create_request(user: User, values: dict) -> SupportRequest:
    """Open a request from loaded values; a practitioner has one active request at a time.

    A request that could never be matched is refused (409 profile_incomplete) until the
    profile has languages and ways to meet and the weekly times exist. Without
    modalities, the request takes the practitioner's profile's (or every one). A
    phone number is needed when phone is the only way to meet, and kept only when phone
    is one of them.
    """
    values = {"modalities": list(user.practitioner_profile.modalities or MODALITIES)} | values
    if "phone" not in values["modalities"]:
        values["phone"] = None
    elif values["modalities"] == ["phone"] and not values.get("phone"):
        raise Invalid(
            "Please give a number we can call you on.",
            fields={"phone": "needed when phone is the only way to meet"},
        )
    if active_request(user) is not None:
        raise Conflict(
            "You already have a request in progress. You can withdraw it first.",
            code="request_open",
        )
    missing = profiles.missing_for_matching(user)
    if missing:
        words = [profiles.MATCHING_NEEDS[key] for key in missing]
        listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        raise Conflict(
            f"Before we can look for a listener, please add {listed}.",
            code=PROFILE_INCOMPLETE,
            fields={key: f"Please add {profiles.MATCHING_NEEDS[key]}." for key in missing},
        )
    req = SupportRequest(practitioner_id=user.id, status="open", **values)
    db.session.add(req)
    db.session.flush()
    return req


def active_request(user: User) -> SupportRequest | None:
    return db.session.scalar(_ACTIVE, {"practitioner_id": user.id})


# Built once: the practitioner's home runs it on every view.
_ACTIVE = (
    db.select(SupportRequest)
    .where(SupportRequest.practitioner_id == bindparam("practitioner_id"))
    .where(SupportRequest.status.in_(ACTIVE_REQUEST_STATUSES))
    .order_by(SupportRequest.id.desc())
    .limit(1)
)


def get_request(actor: User, request_id: int) -> SupportRequest:
    """The request if the actor owns it or coordinates; otherwise NotFound."""
    req = db.session.get(SupportRequest, request_id)
    if req is None or (actor.role != "coordinator" and req.practitioner_id != actor.id):
        raise NotFound("No such request.")
    return req


def withdraw_request(actor: User, request_id: int) -> None:
    """Withdraw my request; pending proposals go stale and a future meeting is cancelled."""
    req = get_request(actor, request_id)
    if req.practitioner_id != actor.id:
        raise NotFound("No such request.")
    if req.status in ("closed", "withdrawn"):
        raise Conflict("This request is already closed.", code="request_closed")
    rounds.stale_pending_for_request(req)
    for meeting in meetings.future_meetings_for_request(req):
        meetings.cancel_meeting(actor, meeting, reason="The request was withdrawn.")
    req.status = "withdrawn"
    db.session.flush()


# The latest meeting of each request on a page: one query for all of them.
_MEETINGS_OF = (
    db.select(Meeting)
    .where(Meeting.request_id.in_(bindparam("ids", expanding=True)))
    .order_by(Meeting.id)
)


def record_note_views(actor: User, request_ids: list[int]) -> None:
    """Audit that a coordinator was shown these requests' private notes (never the text)."""
    audit.record_each(
        actor, "request.note_viewed", "support_request", request_ids, "Private note viewed"
    )


def crisis_resources() -> str:
    return current_app.config["CRISIS_RESOURCES"]


def request_dicts(rows: list, *, include_note: bool = False) -> list[dict]:
    """Serialise requests (rows or rows of the queue) with their latest meeting, in one query."""
    latest: dict[int, Meeting] = {}
    ids = [r.id for r in rows]
    if ids:
        for meeting in db.session.scalars(_MEETINGS_OF, {"ids": ids}):
            latest[meeting.request_id] = meeting
    answers = []
    for req in rows:
        data = {
            "id": req.id,
            "status": req.status,
            "urgency": req.urgency,
            "topics": list(req.topics),
            "modalities": list(req.modalities),
            "created_at": req.created_at.isoformat(),
            "meeting": meetings.meeting_dict(latest[req.id]) if req.id in latest else None,
        }
        if include_note:
            data["note"] = req.note
            data["phone"] = req.phone
        answers.append(data)
    return answers


def request_dict(req: SupportRequest, *, include_note: bool = False) -> dict:
    return request_dicts([req], include_note=include_note)[0]
