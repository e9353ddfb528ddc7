"""API: meetings, invites, reschedule, cancel, feedback."""

from __future__ import annotations

from flask import Blueprint

from matching.security import guard_api

attendees = Blueprint("meetings", __name__)
guard_api(attendees)
blueprints = (attendees,)
