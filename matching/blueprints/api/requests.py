"""API: practitioners' requests."""

from __future__ import annotations

from flask import Blueprint, request

from matching.errors import Malformed
from matching.extensions import db
from matching.models import REQUEST_STATUSES
from matching.security import api_user, guard_api
from matching.services import requests as requests_service

from . import cursor_arg, json_body, listing

mine = Blueprint("requests", __name__)
shared = Blueprint("request_view", __name__)
coordinated = Blueprint("request_list", __name__)
guard_api(mine, "practitioner")
guard_api(shared, "practitioner", "coordinator")
guard_api(coordinated, "coordinator")
blueprints = (mine, shared, coordinated)


@mine.post("/requests")
def create():
    req = requests_service.create_request(api_user(), json_body())
    db.session.commit()
    answer = {"id": req.id, "status": req.status, "urgency": req.urgency}
    if req.urgency == "urgent":
        answer["crisis_resources"] = requests_service.crisis_resources()
    return answer, 201


@mine.delete("/requests/<int:request_id>")
def withdraw(request_id: int):
    requests_service.withdraw_request(api_user(), request_id)
    db.session.commit()
    return "", 204


@shared.get("/requests/<int:request_id>")
def show(request_id: int):
    req = requests_service.get_request(api_user(), request_id)
    return requests_service.request_dict(req)


@coordinated.get("/requests")
def index():
    status = request.args.get("status")
    if status is not None and status not in REQUEST_STATUSES:
        raise Malformed(
            "Unknown status.", fields={"status": "one of " + ", ".join(REQUEST_STATUSES)}
        )
    rows, next_cursor = requests_service.list_requests(status, after=cursor_arg())
    return listing(requests_service.request_dicts(rows), next_cursor)
