"""The private calendar subscription feed: /calendar/<token>.ics."""

from __future__ import annotations

from flask import Blueprint

from matching.errors import NotFound

bp = Blueprint("feed", __name__)


@bp.get("/calendar/<token>.ics")
def calendar(token: str):
    raise NotFound("No such calendar.")
