"""API: meetings, invites, reschedule, cancel, feedback."""

from __future__ import annotations

from matching.blueprints.feed import invite_response
from matching.extensions import db
from matching.schemas import answers, bodies
from matching.security import api_user
from matching.services import meetings

from .blueprint import ApiBlueprint, listing

attendees = ApiBlueprint("meetings")
blueprints = (attendees,)


@attendees.get("/meetings")
@attendees.query(bodies.Listing)
@attendees.response(200, answers.MeetingPage)
def index(query):
    """My conversations (a coordinator's: all), by id."""
    viewer = api_user()
    rows, next_cursor = meetings.list_meetings(viewer, after=query.get("cursor"))
    return listing([meetings.meeting_dict(m, viewer) for m in rows], next_cursor)


@attendees.get("/meetings/<int:meeting_id>/invite.ics")
@attendees.response(
    200,
    {"description": "an iCalendar file (RFC 5545)"},
    content_type="text/calendar",
    description="The current invite: REQUEST, or CANCEL once cancelled",
)
def invite(meeting_id: int):
    """The current calendar invite for me."""
    data, method = meetings.invite_for(api_user(), meeting_id)
    return invite_response(data, method)


@attendees.post("/meetings/<int:meeting_id>/reschedule")
@attendees.body(bodies.Reschedule)
@attendees.response(200, answers.Meeting)
@attendees.errors(409)
def reschedule(values, meeting_id: int):
    """Move a conversation to a time that is free for both people."""
    meeting = meetings.reschedule_meeting(api_user(), meeting_id, values["start"])
    db.session.commit()
    return meetings.meeting_dict(meeting)


@attendees.post("/meetings/<int:meeting_id>/cancel")
@attendees.body(bodies.Cancellation, required=False)
@attendees.response(200, answers.Meeting)
@attendees.errors(409)
def cancel(values, meeting_id: int):
    """Cancel a conversation; both people get a cancellation.

    With `another_listener: true` (the practitioner only; 422 for anyone else) the
    request reopens and this listener is never proposed for it again. No reason is asked
    and none is passed on.
    """
    meeting = meetings.cancel_meeting_by_id(
        api_user(),
        meeting_id,
        values["reason"],
        another_listener=values["another_listener"],
    )
    db.session.commit()
    return meetings.meeting_dict(meeting)


@attendees.get("/meetings/<int:meeting_id>/free-times")
@attendees.response(200, answers.FreeTimes)
def free_times(meeting_id: int):
    """The next times (up to 10) the conversation could move to, free for both people.

    Each passes every hard rule for both people, as a move checks it; empty once the
    conversation can no longer move.
    """
    starts = meetings.free_times(api_user(), meeting_id)
    return {"items": [start.isoformat() for start in starts]}


@attendees.post("/meetings/<int:meeting_id>/feedback")
@attendees.body(bodies.NewFeedback)
@attendees.response(201, answers.Feedback)
@attendees.errors(403, 409)
def feedback(values, meeting_id: int):
    """Rate a conversation after its end, once."""
    row = meetings.add_feedback(api_user(), meeting_id, values["rating"], values["comment"])
    db.session.commit()
    return {
        "id": row.id,
        "meeting_id": row.meeting_id,
        "rating": row.rating,
        "comment": row.comment,
        "created_at": row.created_at.isoformat(),
    }
