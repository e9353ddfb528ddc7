"""API: listeners, rounds and proposals (coordinators)."""

from __future__ import annotations

from matching.extensions import db
from matching.schemas import answers, bodies
from matching.security import api_user
from matching.services import listeners as listeners_service
from matching.services import meetings as meetings_service
from matching.services import pairing as pairing_service
from matching.services import rounds as rounds_service

from .blueprint import ApiBlueprint, listing

coordinators = ApiBlueprint("coordination", roles=("coordinator",))
blueprints = (coordinators,)


@coordinators.get("/listeners")
@coordinators.query(bodies.Listing)
@coordinators.response(200, answers.ListenerPage)
def listeners(query):
    """Listeners with their verification and load."""
    items, next_cursor = listeners_service.list_listeners(after=query.get("cursor"))
    return listing(items, next_cursor)


@coordinators.post("/listeners/<int:listener_id>/verify")
@coordinators.body(bodies.Verification)
@coordinators.response(200, answers.Listener)
def verify(values, listener_id: int):
    """Verify a listener's training until a date."""
    answer = listeners_service.verify_listener(
        api_user(), listener_id, values["training_valid_until"]
    )
    db.session.commit()
    return answer


@coordinators.post("/rounds")
@coordinators.body(bodies.Nothing, required=False)
@coordinators.response(201, answers.Round)
def run_round(_):
    """Run a matching round over every open request."""
    matching_round = rounds_service.run_round(api_user())
    db.session.commit()
    return rounds_service.round_dict(matching_round)


@coordinators.post("/proposals/<int:proposal_id>/approve")
@coordinators.body(bodies.Nothing, required=False)
@coordinators.response(200, answers.Approved)
@coordinators.errors(409)
def approve(_, proposal_id: int):
    """Book the proposed conversation, if its time and limits are still free."""
    meeting = rounds_service.approve_proposal(api_user(), proposal_id)
    db.session.commit()
    return {"meeting": meetings_service.meeting_dict(meeting)}


@coordinators.post("/proposals/<int:proposal_id>/reject")
@coordinators.body(bodies.Rejection, required=False)
@coordinators.response(200, answers.Proposal)
@coordinators.errors(409)
def reject(values, proposal_id: int):
    """Reject a proposal; with never_again the pair is never proposed again."""
    proposal = rounds_service.reject_proposal(api_user(), proposal_id, values["never_again"])
    db.session.commit()
    return rounds_service.proposal_dict(proposal)


# --- pairing by hand ------------------------------------------------------------


@coordinators.post("/pairings")
@coordinators.body(bodies.NewPairing)
@coordinators.response(201, answers.Approved)
@coordinators.errors(404, 409)
def pair(values):
    """Pair a request with a listener by hand; overriding a rule needs a note."""
    meeting = pairing_service.pair(
        api_user(),
        values["request_id"],
        values["listener_id"],
        values["start"],
        override=values["override"],
        note=values["note"],
    )
    db.session.commit()
    return {"meeting": meetings_service.meeting_dict(meeting, api_user())}
