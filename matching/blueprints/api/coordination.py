"""API: listeners, rounds and proposals (coordinators)."""

from __future__ import annotations

from flask import Blueprint

from matching.extensions import db
from matching.security import api_user, guard_api
from matching.services import listeners as listeners_service
from matching.services import meetings as meetings_service
from matching.services import rounds as rounds_service
from matching.services import validate

from . import cursor_arg, json_body, listing

coordinators = Blueprint("coordination", __name__)
guard_api(coordinators, "coordinator")
blueprints = (coordinators,)


def _body(allowed: set[str], *, empty_ok: bool) -> dict:
    body = validate.body_object(json_body(empty_ok=empty_ok))
    validate.only_fields(body, allowed)
    return body


@coordinators.get("/listeners")
def listeners():
    items, next_cursor = listeners_service.list_listeners(after=cursor_arg())
    return listing(items, next_cursor)


@coordinators.post("/listeners/<int:listener_id>/verify")
def verify(listener_id: int):
    body = _body({"training_valid_until"}, empty_ok=False)
    answer = listeners_service.verify_listener(
        api_user(), listener_id, body.get("training_valid_until")
    )
    db.session.commit()
    return answer


@coordinators.post("/rounds")
def run_round():
    _body(set(), empty_ok=True)
    matching_round = rounds_service.run_round(api_user())
    db.session.commit()
    return rounds_service.round_dict(matching_round), 201


@coordinators.post("/proposals/<int:proposal_id>/approve")
def approve(proposal_id: int):
    _body(set(), empty_ok=True)
    meeting = rounds_service.approve_proposal(api_user(), proposal_id)
    db.session.commit()
    return {"meeting": meetings_service.meeting_dict(meeting)}


@coordinators.post("/proposals/<int:proposal_id>/reject")
def reject(proposal_id: int):
    body = _body({"never_again"}, empty_ok=True)
    never_again = validate.boolean(body.get("never_again", False), "never_again")
    proposal = rounds_service.reject_proposal(api_user(), proposal_id, never_again)
    db.session.commit()
    return rounds_service.proposal_dict(proposal)
