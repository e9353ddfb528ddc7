"""JSON API v1 (the contract in API.md). Bearer tokens only; no cookies, so no CSRF."""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.exceptions import BadRequest

from matching.errors import Malformed
from matching.extensions import csrf
from matching.services import validate

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def json_body(*, empty_ok: bool = False):
    """Parse the JSON body; malformed JSON is a 400, never a 500."""
    if not request.get_data(cache=True):
        if empty_ok:
            return {}
        raise Malformed("Send a JSON body.")
    try:
        return request.get_json(force=True)
    except BadRequest:
        raise Malformed("The body is not valid JSON.") from None


def cursor_arg() -> int | None:
    return validate.digits(request.args.get("cursor"), "cursor")


def listing(items: list, next_cursor: int | None) -> dict:
    return {"items": items, "next": str(next_cursor) if next_cursor else None}


from matching.blueprints.api import (  # noqa: E402  (sub-blueprints need bp above)
    accounts,
    coordination,
    meetings,
    openapi,
    requests,
)

for _module in (accounts, requests, coordination, meetings, openapi):
    for _child in _module.blueprints:
        csrf.exempt(_child)
        bp.register_blueprint(_child)
