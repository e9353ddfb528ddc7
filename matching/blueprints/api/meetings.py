"""API: meetings, invites, reschedule, cancel, feedback."""

from __future__ import annotations

from flask import Blueprint, make_response

from matching.extensions import db
from matching.security import api_user, guard_api
from matching.services import meetings, validate

from . import cursor_arg, json_body, listing

attendees = Blueprint("meetings", __name__)
guard_api(attendees)
blueprints = (attendees,)


@attendees.get("/meetings")
def index():
    rows, next_cursor = meetings.list_meetings(api_user(), after=cursor_arg())
    return listing([meetings.meeting_dict(m) for m in rows], next_cursor)


@attendees.get("/meetings/<int:meeting_id>/invite.ics")
def invite(meeting_id: int):
    data, method = meetings.invite_for(api_user(), meeting_id)
    response = make_response(data)
    response.headers["Content-Type"] = f"text/calendar; charset=utf-8; method={method}"
    response.headers["Content-Disposition"] = 'attachment; filename="invite.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@attendees.post("/meetings/<int:meeting_id>/reschedule")
def reschedule(meeting_id: int):
    body = validate.body_object(json_body())
    validate.only_fields(body, {"start"})
    start = validate.instant(body.get("start"), "start")
    meeting = meetings.reschedule_meeting(api_user(), meeting_id, start)
    db.session.commit()
    return meetings.meeting_dict(meeting)


@attendees.post("/meetings/<int:meeting_id>/cancel")
def cancel(meeting_id: int):
    body = validate.body_object(json_body(empty_ok=True))
    validate.only_fields(body, {"reason"})
    meeting = meetings.cancel_meeting_by_id(api_user(), meeting_id, body.get("reason") or "")
    db.session.commit()
    return meetings.meeting_dict(meeting)


@attendees.post("/meetings/<int:meeting_id>/feedback")
def feedback(meeting_id: int):
    body = validate.body_object(json_body())
    validate.only_fields(body, {"rating", "comment"})
    row = meetings.add_feedback(api_user(), meeting_id, body.get("rating"), body.get("comment"))
    db.session.commit()
    return {
        "id": row.id,
        "meeting_id": row.meeting_id,
        "rating": row.rating,
        "comment": row.comment,
        "created_at": row.created_at.isoformat(),
    }, 201
