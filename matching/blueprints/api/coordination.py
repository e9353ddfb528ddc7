"""API: listeners, rounds, proposals and the programme's figures (coordinators)."""

from __future__ import annotations

from flask import Response

from matching.extensions import db
from matching.schemas import answers, bodies
from matching.security import api_user
from matching.services import listeners as listeners_service
from matching.services import meetings as meetings_service
from matching.services import pairing as pairing_service
from matching.services import reports as reports_service
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


@coordinators.get("/rounds/<int:round_id>/proposals")
@coordinators.query(bodies.ProposalListing)
@coordinators.response(200, answers.RoundProposalPage)
def round_proposals(query, round_id: int):
    """A round's proposals, urgent first, then longest waiting; filter by status and urgency."""
    items, next_cursor = rounds_service.proposals_answer(
        round_id,
        status=query.get("status"),
        urgency=query.get("urgency"),
        cursor=query.get("cursor"),
    )
    return {"items": items, "next": next_cursor}


@coordinators.post("/rounds/<int:round_id>/approve")
@coordinators.body(bodies.BulkApproval)
@coordinators.response(200, answers.BulkApproved)
def approve_many(values, round_id: int):
    """Approve many proposals at once, each on its own: one conflict never undoes the others."""
    outcome = rounds_service.approve_many(api_user(), round_id, values["proposal_ids"])
    db.session.commit()
    return {
        "approved": [booked._asdict() for booked in outcome["approved"]],
        "conflicts": [refused._asdict() for refused in outcome["conflicts"]],
    }


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


def _range(query):
    return reports_service.check_range(query.get("from_"), query.get("to"))


@coordinators.get("/reports/programme")
@coordinators.query(bodies.ReportRange)
@coordinators.response(200, answers.Programme)
def programme(query):
    """The programme's figures; any about fewer than five people is null and named in suppressed."""
    return reports_service.programme(*_range(query))


@coordinators.get("/reports/programme.csv")
@coordinators.query(bodies.ReportRange)
@coordinators.response(
    200,
    {"description": "the weekly rows as CSV"},
    content_type="text/csv",
    description="The same weekly rows and suppression as the figures",
)
def programme_csv(query):
    """The weekly figures as CSV; no cell starts with =, +, - or @."""
    from_, to = _range(query)
    response = Response(reports_service.programme_csv(from_, to), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="programme-{from_.isoformat()}-{to.isoformat()}.csv"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


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
