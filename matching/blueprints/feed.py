"""The private calendar subscription feed: /calendar/<token>.ics."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, make_response

from matching.errors import NotFound
from matching.models import now_utc
from matching.services import accounts, meetings, notices

bp = Blueprint("feed", __name__)

# How far back a subscribed calendar still shows past conversations.
FEED_HISTORY = timedelta(days=90)


@bp.get("/calendar/<token>.ics")
def calendar(token: str):
    user = accounts.user_for_feed(token)
    if user is None:
        raise NotFound("No such calendar.")
    now = now_utc()
    rows = meetings.attended_meetings(user, since=now - FEED_HISTORY)
    response = make_response(notices.feed_ics(user, rows, now=now))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, max-age=300"
    # The URL is the secret: keep it out of logs and Referer headers of linked pages.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
