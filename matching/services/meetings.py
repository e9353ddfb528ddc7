"""Meetings: the only code that creates or changes a meeting.

Every change queues the matching invite for both attendees in the same
transaction (through services/calendar.py), writes an audit event, and only flushes.
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
from collections.abc import Collection
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy.orm import selectinload

from matching import engine
from matching.errors import Conflict, Invalid, NotAllowed, NotFound
from matching.extensions import db
from matching.models import Feedback, Meeting, RequestExclusion, SupportRequest, User, now_utc
from matching.services import audit, bookings, calendar, engine_input, transactions, validate
from matching.vocabulary import MODALITIES, OUTCOMES, RATINGS


def _end(meeting: Meeting, status: str) -> None:
    """Leave "scheduled": the one place where a meeting stops holding both people's time."""
    meeting.status = status
    bookings.release_meeting(meeting)


def meeting_dict(meeting: Meeting, viewer: User | None = None) -> dict:
    """The meeting for the API; with a viewer (an attendee or a coordinator), how to meet."""
    data = {
        "id": meeting.id,
        "request_id": meeting.request_id,
        "practitioner_id": meeting.practitioner_id,
        "listener_id": meeting.listener_id,
        "start": meeting.start_at.isoformat(),
        "end": meeting.end_at.isoformat(),
        "status": meeting.status,
        "sequence": meeting.sequence,
    }
    if viewer is not None and (viewer.role == "coordinator" or attends(viewer, meeting)):
        place = calendar.conversation_place(meeting, viewer)
        data["location"] = place.as_dict() if place else None
    return data


def meetings_for(user: User, *, upcoming_only: bool = False) -> list[Meeting]:
    query = _meetings_query(user.role != "coordinator", upcoming_only)
    return list(db.session.scalars(query, {"user_id": user.id, "now": now_utc()}))


def _at(name: str):
    """A bound instant, typed as the columns it is compared with."""
    return bindparam(name, type_=Meeting.end_at.type)


def _attends():
    """A SQL condition: the bound user takes part in the meeting."""
    return (Meeting.practitioner_id == bindparam("user_id")) | (
        Meeting.listener_id == bindparam("user_id")
    )


@functools.cache
def _meetings_query(mine: bool, upcoming_only: bool):
    """Built once per kind: the homes run it on every view."""
    query = db.select(Meeting).order_by(Meeting.start_at, Meeting.id)
    if mine:
        query = query.where(_attends())
    if upcoming_only:
        query = query.where(Meeting.end_at > _at("now")).where(Meeting.status == "scheduled")
    return query


def feedback_by(user: User) -> list[dict]:
    rows = db.session.scalars(
        db.select(Feedback).where(Feedback.author_id == user.id).order_by(Feedback.id)
    )
    return [
        {
            "meeting_id": f.meeting_id,
            "rating": f.rating,
            "comment": f.comment,
            "created_at": f.created_at.isoformat(),
        }
        for f in rows
    ]


def future_meetings_for_request(req: SupportRequest) -> list[Meeting]:
    return list(
        db.session.scalars(
            db.select(Meeting)
            .where(Meeting.request_id == req.id)
            .where(Meeting.status == "scheduled")
            .where(Meeting.end_at > now_utc())
        )
    )


def cancel_future_meetings_of(user: User, *, reason: str) -> None:
    """Cancel every scheduled future meeting this person attends (invites go out)."""
    for meeting in meetings_for(user, upcoming_only=True):
        cancel_meeting(user, meeting, reason=reason)


def way_to_meet(
    asked: Collection[str], offered: Collection[str], *, phone: bool, place: bool
) -> str:
    """Choose how a pair meets: the first shared way, in the order of MODALITIES, that can
    be arranged (video always; phone with the request's number; in person with the
    listener's place). With none, video: a room can always be made.
    """
    ready = {"video": True, "phone": phone, "in_person": place}
    for way in MODALITIES:
        if way in asked and way in offered and ready[way]:
            return way
    return "video"


def video_room_url() -> str:
    """A new room from the VIDEO_ROOM_URL template, under a name nobody can guess."""
    return current_app.config["VIDEO_ROOM_URL"].replace("{room}", secrets.token_hex(10))


def arrange_place(meeting: Meeting) -> None:
    """Fix how the two will meet, once, when the conversation is booked."""
    req, profile = meeting.request, meeting.listener.listener_profile
    offered = profile.modalities if profile else ()
    place = profile.place if profile else None
    meeting.modality = way_to_meet(
        req.modalities, offered, phone=bool(req.phone), place=bool(place)
    )
    if meeting.modality == "video":
        meeting.join_url = (profile.video_url if profile else None) or video_room_url()
    elif meeting.modality == "in_person":
        meeting.place = place


def create_meeting(actor: User, proposal, *, now: datetime | None = None) -> Meeting:
    """Create the meeting for an approved proposal (the caller has re-checked the slot).

    Holds both people's time (Conflict slot_taken if the database refuses it). Queues one invite per attendee in the caller's transaction and records who booked it.
    """
    return book_meeting(
        actor,
        proposal.request,
        proposal.listener_id,
        proposal.start_at,
        proposal.end_at,
        proposal_id=proposal.id,
        now=now,
    )


def book_meeting(
    actor: User,
    req: SupportRequest,
    listener_id: int,
    start: datetime,
    end: datetime,
    *,
    proposal_id: int | None = None,
    now: datetime | None = None,
) -> Meeting:
    """Create a meeting for a request and a listener (the caller has re-checked the time).

    The one way a conversation is booked: from an approved proposal or a coordinator's
    pairing by hand. Holds both people's time (Conflict slot_taken if the database
    refuses it), schedules the request, queues one invite per attendee in the caller's
    transaction and records who booked it.
    """
    meeting = Meeting(
        request_id=req.id,
        proposal_id=proposal_id,
        practitioner_id=req.practitioner_id,
        listener_id=listener_id,
        start_at=start,
        end_at=end,
        status="scheduled",
        sequence=0,
    )
    calendar.add_item(meeting, "meeting")
    arrange_place(meeting)
    bookings.hold_meeting(meeting)
    if req.status in ("open", "proposed"):
        req.status = "scheduled"
    db.session.flush()
    _send_invites(meeting, "invite", now=now or now_utc())
    audit.record(
        actor,
        "meeting.created",
        "meeting",
        meeting.id,
        "Conversation booked",
        proposal_id=proposal_id,
        start=meeting.start_at.isoformat(),
    )
    db.session.flush()
    return meeting


def get_meeting(actor: User, meeting_id: int) -> Meeting:
    """The meeting if the actor attends it or coordinates; otherwise NotFound."""
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or not (actor.role == "coordinator" or attends(actor, meeting)):
        raise NotFound("No such meeting.")
    return meeting


def attends(user: User, meeting: Meeting) -> bool:
    return user.id in (meeting.practitioner_id, meeting.listener_id)


def list_meetings(
    actor: User, *, after: int | None = None, limit: int = 50
) -> tuple[list[Meeting], int | None]:
    """One page of the actor's meetings (a coordinator's: all), by id."""
    query = _page_query(actor.role != "coordinator", bool(after))
    values = {"user_id": actor.id, "after": after, "limit": limit + 1}
    rows = list(db.session.scalars(query, values))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_cursor


@functools.cache
def _page_query(mine: bool, after: bool):
    """A page of meetings by id, built once per kind (values bound)."""
    query = db.select(Meeting).order_by(Meeting.id).limit(bindparam("limit"))
    if mine:
        query = query.where(_attends())
    if after:
        query = query.where(Meeting.id > bindparam("after"))
    return query


def reschedule_meeting(
    actor: User, meeting_id: int, start: datetime, *, now: datetime | None = None
) -> Meeting:
    """Move a future meeting to ``start`` if both people are free then; invites go out again."""
    now = now or now_utc()
    meeting = get_meeting(actor, meeting_id)
    if not isinstance(start, datetime) or start.tzinfo is None:
        raise Invalid("Give a time with a UTC offset.", fields={"start": "needs an offset"})
    bookings.lock_people([meeting.practitioner_id, meeting.listener_id])
    # Another change may have committed while we waited for the lock.
    db.session.refresh(meeting)
    if not is_movable(meeting, now):
        raise Conflict(
            "Only a conversation that has not started yet can be moved.", code="not_movable"
        )
    length = meeting.end_at - meeting.start_at
    req, listener, params = _pair_for_times(meeting, now)
    broken = engine.check_slot(req, listener, start, params, enforce_horizon=False)
    if broken:
        reasons = engine.explain(broken, params)
        raise Conflict(
            "That time is not free for both of you: " + reasons + ".",
            code="slot_taken",
            fields={"start": reasons},
        )
    old_start = meeting.start_at
    with bookings.attempt():
        meeting.start_at = start
        meeting.end_at = start + length
        meeting.sequence += 1
        db.session.flush()
        bookings.move_meeting(meeting)
    _send_invites(meeting, "update", now=now)
    audit.record(
        actor,
        "meeting.rescheduled",
        "meeting",
        meeting.id,
        "Conversation moved",
        old_start=old_start.isoformat(),
        start=meeting.start_at.isoformat(),
        sequence=meeting.sequence,
    )
    db.session.flush()
    return meeting


def cancel_meeting(
    actor: User,
    meeting: Meeting,
    *,
    reason: str = "",
    another_listener: bool = False,
    now: datetime | None = None,
) -> Meeting:
    """Cancel a scheduled meeting; CANCEL invites go to both, a future one reopens the request.

    With ``another_listener`` (the practitioner's choice, no reason asked) the request
    reopens and this listener is never proposed for it again.
    """
    now = now or now_utc()
    if actor.role != "coordinator" and not attends(actor, meeting):
        raise NotFound("No such meeting.")
    if meeting.status != "scheduled":
        raise Conflict("This conversation is no longer scheduled.", code="not_scheduled")
    req = meeting.request
    if another_listener:
        _exclude_listener(actor, meeting, req)
    _end(meeting, "cancelled")
    meeting.sequence += 1
    meeting.cancel_reason = reason
    if (meeting.start_at > now or another_listener) and req.status not in ("withdrawn", "closed"):
        # The practitioner still wants a conversation: the next round may match again.
        req.status = "open"
    db.session.flush()
    _send_invites(meeting, "cancel", now=now, reason=reason)
    audit.record(
        actor,
        "meeting.cancelled",
        "meeting",
        meeting.id,
        "Conversation cancelled",
        reason=reason,
        sequence=meeting.sequence,
        another_listener=another_listener,
    )
    db.session.flush()
    return meeting


def cancel_meeting_by_id(actor: User, meeting_id: int, reason: str = "", **options) -> Meeting:
    """cancel_meeting for a meeting the actor may see, by id (the same keyword options)."""
    return cancel_meeting(actor, get_meeting(actor, meeting_id), reason=reason, **options)


def _exclude_listener(actor: User, meeting: Meeting, req: SupportRequest) -> None:
    """Never propose this meeting's listener for its request again (engine rule `excluded`)."""
    if actor.id != meeting.practitioner_id:
        raise Invalid(
            "Only the practitioner can ask for a different listener.",
            fields={"another_listener": "only the practitioner can ask for this"},
        )
    if req.status in ("withdrawn", "closed"):
        raise Conflict("This request is already closed.", code="request_closed")
    known = db.session.get(RequestExclusion, (req.id, meeting.listener_id))
    if known is None:
        db.session.add(RequestExclusion(request_id=req.id, listener_id=meeting.listener_id))


def is_movable(meeting: Meeting, now: datetime | None = None) -> bool:
    """A meeting can move (or be cancelled from its page) until it starts."""
    return meeting.status == "scheduled" and meeting.start_at > (now or now_utc())


def _pair_for_times(meeting: Meeting, now: datetime):
    """The pair and parameters that judge new times for a meeting; its own time is free."""
    length = meeting.end_at - meeting.start_at
    req, listener = engine_input.pair_inputs(
        meeting.request, meeting.listener, now, skip_meeting=meeting.id
    )
    params = dataclasses.replace(
        engine_input.params(now), session_minutes=int(length.total_seconds() // 60)
    )
    return req, listener, params


def free_times(
    actor: User, meeting_id: int, *, limit: int = 10, now: datetime | None = None
) -> list[datetime]:
    """The next starts (at most ``limit``) a meeting may move to, free for both people.

    Every hard rule holds for each one, as a move re-checks; the horizon of rounds does
    not apply (engine.free_times with enforce_horizon=False); none once it cannot move.
    """
    now = now or now_utc()
    meeting = get_meeting(actor, meeting_id)
    if not is_movable(meeting, now):
        return []
    req, listener, params = _pair_for_times(meeting, now)
    starts = engine.free_times(req, listener, params, limit=limit + 1, enforce_horizon=False)
    return [start for start in starts if start != meeting.start_at][:limit]


def awaiting_feedback(
    user: User, *, now: datetime | None = None, within: timedelta = timedelta(days=30)
) -> list[Meeting]:
    """Conversations of this person that ended lately and still wait for their feedback."""
    now = now or now_utc()
    values = {"user_id": user.id, "now": now, "since": now - within}
    return list(db.session.scalars(_awaiting_query(), values))


@functools.cache
def _awaiting_query():
    """Built once: both homes run it on every view."""
    given = db.select(Feedback.meeting_id).where(Feedback.author_id == bindparam("user_id"))
    return (
        db.select(Meeting)
        .where(_attends())
        .where(Meeting.status.in_(("scheduled", "completed")))
        .where(Meeting.end_at <= _at("now"))
        .where(Meeting.end_at > _at("since"))
        .where(Meeting.id.not_in(given))
        .options(selectinload(Meeting.practitioner), selectinload(Meeting.listener))
        .order_by(Meeting.end_at.desc(), Meeting.id)
    )


def mark_outcome(
    actor: User, meeting_id: int, outcome: str, *, now: datetime | None = None
) -> Meeting:
    """Record after the end whether the conversation happened; a completed one closes the request."""
    now = now or now_utc()
    meeting = get_meeting(actor, meeting_id)
    if outcome not in OUTCOMES:
        raise Invalid("Choose completed or no_show.", fields={"outcome": "completed or no_show"})
    if meeting.status != "scheduled":
        raise Conflict("This conversation is no longer scheduled.", code="not_scheduled")
    if meeting.end_at > now:
        raise Conflict("This conversation has not ended yet.", code="not_ended")
    _end(meeting, outcome)
    req = meeting.request
    if req.status not in ("withdrawn", "closed"):
        # A missed conversation leaves the request waiting for another match.
        req.status = "closed" if outcome == "completed" else "open"
    audit.record(actor, f"meeting.{outcome}", "meeting", meeting.id, f"Marked {outcome}")
    db.session.flush()
    return meeting


def add_feedback(
    actor: User,
    meeting_id: int,
    rating: int,
    comment: str = "",
    *,
    now: datetime | None = None,
) -> Feedback:
    """Record an attendee's rating after the meeting's end, once per person."""
    now = now or now_utc()
    meeting = get_meeting(actor, meeting_id)
    if not attends(actor, meeting):
        raise NotAllowed("Only the people in a conversation give feedback on it.")
    validate.integer(rating, "rating", low=min(RATINGS), high=max(RATINGS))
    if meeting.status == "cancelled":
        raise Conflict("This conversation was cancelled.", code="cancelled")
    if meeting.end_at > now:
        raise Conflict("Feedback opens when the conversation has ended.", code="not_ended")
    exists = db.session.scalar(
        db.select(Feedback.id)
        .where(Feedback.meeting_id == meeting.id)
        .where(Feedback.author_id == actor.id)
    )
    duplicate = Conflict("You have already given feedback on this conversation.", code="duplicate")
    if exists is not None:
        raise duplicate
    row = Feedback(meeting_id=meeting.id, author_id=actor.id, rating=rating, comment=comment)
    transactions.add_once(row, duplicate)
    return row


def invite_for(actor: User, meeting_id: int, *, now: datetime | None = None) -> tuple[bytes, str]:
    """The meeting's current invite (REQUEST, or CANCEL once cancelled) and its METHOD."""
    meeting = get_meeting(actor, meeting_id)
    return calendar.invite(calendar.conversation_entry(meeting, actor), now=now)


def note_reminded(meeting_ids: list[int], now: datetime) -> None:
    """Record when the latest reminders of these meetings were queued."""
    if meeting_ids:
        db.session.execute(
            db.update(Meeting)
            .where(Meeting.id.in_(meeting_ids))
            .values(reminder_queued_at=now)
            .execution_options(synchronize_session="fetch")
        )


def _send_invites(meeting: Meeting, kind: str, *, now: datetime, reason: str = "") -> None:
    """Queue the current invite for each attendee who still has an account."""
    calendar.send(calendar.conversation_entries(meeting), kind, now=now, reason=reason)
