"""Meetings: the only code that creates or changes a meeting."""

from __future__ import annotations

from matching.extensions import db
from matching.models import Feedback, Meeting, SupportRequest, User, now_utc


def meeting_dict(meeting: Meeting) -> dict:
    return {
        "id": meeting.id,
        "request_id": meeting.request_id,
        "practitioner_id": meeting.practitioner_id,
        "listener_id": meeting.listener_id,
        "start": meeting.start_at.isoformat(),
        "end": meeting.end_at.isoformat(),
        "status": meeting.status,
        "sequence": meeting.sequence,
    }


def meetings_for(user: User, *, upcoming_only: bool = False) -> list[Meeting]:
    query = db.select(Meeting).order_by(Meeting.start_at, Meeting.id)
    if user.role != "coordinator":
        query = query.where((Meeting.practitioner_id == user.id) | (Meeting.listener_id == user.id))
    if upcoming_only:
        query = query.where(Meeting.end_at > now_utc()).where(Meeting.status == "scheduled")
    return list(db.session.scalars(query))


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


def cancel_meeting(actor: User, meeting: Meeting, *, reason: str) -> Meeting:
    raise NotImplementedError("cancelling meetings arrives with the invites work")


def meeting_uid(meeting_id: int) -> str:
    from flask import current_app

    return f"meeting-{meeting_id}@{current_app.config['SERVICE_HOST']}"


def create_meeting(actor: User, proposal) -> Meeting:
    """Create the meeting for an approved proposal (the caller has re-checked the slot)."""
    meeting = Meeting(
        request_id=proposal.request_id,
        proposal_id=proposal.id,
        practitioner_id=proposal.request.practitioner_id,
        listener_id=proposal.listener_id,
        start_at=proposal.start_at,
        end_at=proposal.end_at,
        status="scheduled",
        uid="pending",
        sequence=0,
    )
    db.session.add(meeting)
    db.session.flush()
    meeting.uid = meeting_uid(meeting.id)
    db.session.flush()
    return meeting
