"""API: practitioners' requests."""

from __future__ import annotations

from matching.extensions import db
from matching.schemas import answers, bodies
from matching.security import api_user
from matching.services import queue as queue_service
from matching.services import requests as requests_service

from .blueprint import ApiBlueprint, no_content

mine = ApiBlueprint("requests", roles=("practitioner",))
shared = ApiBlueprint("request_view", roles=("practitioner", "coordinator"))
coordinated = ApiBlueprint("request_list", roles=("coordinator",))
blueprints = (mine, shared, coordinated)


@mine.post("/requests")
@mine.body(bodies.NewRequest)
@mine.response(201, answers.RequestCreated)
@mine.errors(409)
def create(values):
    """Ask for a listener; urgent requests are answered with crisis resources.

    409 `request_open` while another request of mine is in progress; 409
    `profile_incomplete` until my profile has languages and ways to meet and my weekly
    times exist (`fields` names what is missing: languages, modalities, availability).
    """
    req = requests_service.create_request(api_user(), values)
    db.session.commit()
    answer = {"id": req.id, "status": req.status, "urgency": req.urgency}
    if req.urgency == "urgent":
        answer["crisis_resources"] = requests_service.crisis_resources()
    return answer


@mine.delete("/requests/<int:request_id>")
@mine.response(204)
@mine.errors(409)
def withdraw(request_id: int):
    """Withdraw my request; a booked conversation is cancelled."""
    requests_service.withdraw_request(api_user(), request_id)
    db.session.commit()
    return no_content()


@shared.get("/requests/<int:request_id>")
@shared.response(200, answers.Request)
def show(request_id: int):
    """One request (mine, or any for a coordinator)."""
    req = requests_service.get_request(api_user(), request_id)
    return requests_service.request_dict(req)


@coordinated.get("/requests")
@coordinated.query(bodies.RequestListing)
@coordinated.response(200, answers.QueuedRequestPage)
def index(query):
    """Requests urgent first, then longest waiting; filter by status, urgency and language."""
    items, next_cursor = queue_service.queue_answer(
        status=query.get("status"),
        urgency=query.get("urgency"),
        language=query.get("language"),
        cursor=query.get("cursor"),
    )
    return {"items": items, "next": next_cursor}
