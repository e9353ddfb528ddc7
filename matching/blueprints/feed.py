"""Calendar files: the private subscription feed (/calendar/<token>.ics) and invite downloads."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, make_response

from matching.errors import NotFound
from matching.models import now_utc
from matching.services import accounts, calendar

bp = Blueprint("feed", __name__)

# How far back a subscribed calendar still shows past items.
FEED_HISTORY = timedelta(days=90)


@bp.get("/calendar/<token>.ics", endpoint="calendar")
def subscription(token: str):
    user = accounts.user_for_feed(token)
    if user is None:
        raise NotFound("No such calendar.")
    now = now_utc()
    response = make_response(calendar.feed(user, now - FEED_HISTORY, now=now))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, max-age=300"
    # The URL is the secret: keep it out of logs and Referer headers of linked pages.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def invite_response(data: bytes, method: str):
    """One item's .ics as a download (pages and API alike), never kept by a cache."""
    response = make_response(data)
    response.headers["Content-Type"] = f"text/calendar; charset=utf-8; method={method}"
    response.headers["Content-Disposition"] = 'attachment; filename="invite.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
