"""The OpenAPI document: generated from the schemas, equal to the routes, true to the answers."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from openapi_core.validation.response.exceptions import InvalidData
from openapi_spec_validator import validate
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from matching.models import now_utc
from matching.services import consent
from tests.conftest import PASSWORD
from tests.support.accounts import latest_link
from tests.support.events import move_event_to_past
from tests.support.meetings import ALL_WEEK, future_start, move_to_past
from tests.support.openapi import check

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
METHODS = {"get", "post", "put", "delete", "patch"}


def _api_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "{id}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    return routes


def _documented(doc) -> set[tuple[str, str]]:
    return {
        (m, PLACEHOLDER.sub("{id}", path.removeprefix("/api/v1")))
        for path, item in doc["paths"].items()
        for m in item
        if m in METHODS
    }


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, item, method, op


@pytest.fixture
def doc(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_openapi_matches_the_url_map(app, client, doc):
    assert doc["openapi"].startswith("3.")
    assert _documented(doc) == _api_routes(app)


def test_every_operation_documents_its_errors_and_answers(doc):
    for path, item, method, op in _operations(doc):
        codes = set(op["responses"])
        assert any(code.startswith("2") for code in codes), (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
            declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
            assert set(PLACEHOLDER.findall(path)) <= declared, path


def test_the_document_is_valid_openapi(doc):
    validate(doc)  # raises on any breach of the OpenAPI 3.1 schema
    assert doc["openapi"] == "3.1.0"


def test_bodies_answers_and_errors_are_all_described(doc):
    error = {"$ref": "#/components/schemas/Error"}
    for path, _item, method, op in _operations(doc):
        if "requestBody" in op:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            assert "$ref" in schema or "anyOf" in schema, (method, path)
            assert {"400", "422"} <= set(op["responses"]), (method, path)
        for code, answer in op["responses"].items():
            if code == "204":
                assert "content" not in answer, (method, path)
            elif code.startswith("2"):
                assert answer["content"], (method, path, code)
            else:
                assert answer["content"]["application/json"]["schema"] == error, (path, code)
        if op.get("security") != []:
            assert "401" in op["responses"], (method, path)


def test_the_error_shape_is_the_one_every_error_answers(doc):
    detail = doc["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "fields"}
    # A field's problem is a sentence; 409 rule_broken lists the broken rules under "rules".
    string, rules = detail["properties"]["fields"]["additionalProperties"]["oneOf"]
    assert string == {"type": "string"}
    assert rules["type"] == "array"
    assert rules["items"]["required"] == ["code", "message", "overridable"]


def test_request_bodies_refuse_fields_they_do_not_name(doc):
    schemas = doc["components"]["schemas"]
    for name in ("NewAccount", "PractitionerProfile", "ListenerProfile", "Window", "NewRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    assert set(schemas["PractitionerProfile"]["properties"]) >= {"field", "do_not_match"}
    assert "field" not in schemas["ListenerProfile"]["properties"]


def _fake(app, method: str, path: str, status: int, body) -> bool:
    environ = EnvironBuilder(
        path=path, method=method, base_url="http://alongside.test"
    ).get_environ()
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.request = Request(environ)
    return check(app, response)


def test_an_answer_that_strays_from_the_document_is_caught(app):
    assert _fake(app, "GET", "/api/v1/me/availability", 200, {"timezone": "UTC", "windows": []})
    with pytest.raises(InvalidData):
        _fake(app, "GET", "/api/v1/me/availability", 200, {"timezone": "UTC"})
    with pytest.raises(InvalidData):
        _fake(app, "GET", "/api/v1/me/availability", 403, {"error": {"code": "not_allowed"}})
    with pytest.raises(Exception, match="418"):
        _fake(app, "GET", "/api/v1/me/availability", 418, {"error": {}})


def test_every_operation_answers_as_its_document_says(app, client, api, make_user):
    """Drive every operation once to success; the client checks each answer on the way."""
    seen: set[tuple[str, str]] = set()

    def call(user, method: str, path: str, status: int, **kwargs):
        r = getattr(user, method)(path, **kwargs)
        assert r.status_code == status, (method, path, r.get_data(as_text=True))
        assert check(app, r), (method, path)
        seen.add((method, path))
        return r

    anyone = api()
    call(anyone, "get", "/api/v1/openapi.json", 200)
    version = call(anyone, "get", "/api/v1/consent", 200).json["version"]
    assert version == consent.current_version()
    new = {
        "email": "nia@example.org",
        "password": PASSWORD,
        "role": "practitioner",
        "display_name": "Nia",
        "timezone": "Europe/Lisbon",
        "consent_version": version,
    }
    call(anyone, "post", "/api/v1/users", 202, json=new)
    _, raw = latest_link(app, new["email"], "verification")
    call(anyone, "post", "/api/v1/users/verify", 200, json={"token": raw})
    credentials = {"email": new["email"], "password": PASSWORD}
    nia = api()
    nia.token = call(anyone, "post", "/api/v1/tokens", 201, json=credentials).json["token"]
    call(nia, "post", "/api/v1/me/consent", 201, json={"version": version})
    call(
        nia,
        "put",
        "/api/v1/me/profile",
        200,
        json={"languages": ["pt"], "modalities": ["video"], "field": "nursing"},
    )
    call(nia, "put", "/api/v1/me/availability", 200, json={"windows": []})
    call(nia, "patch", "/api/v1/me", 200, json={"timezone": "Europe/Madrid"})
    call(nia, "get", "/api/v1/me", 200)
    call(anyone, "post", "/api/v1/password-resets", 202, json={"email": new["email"]})
    _, raw = latest_link(app, new["email"], "password_reset")
    renewed = {"token": raw, "password": PASSWORD + " again"}
    call(anyone, "post", "/api/v1/password-resets/confirm", 204, json=renewed)
    credentials["password"] = renewed["password"]
    nia.token = call(anyone, "post", "/api/v1/tokens", 201, json=credentials).json["token"]
    call(nia, "delete", "/api/v1/me", 204, json={"password": renewed["password"]})

    coordinator = api(make_user("coordinator"))
    listener_id = make_user("listener", windows=ALL_WEEK, timezone="Europe/Berlin")
    listener = api(listener_id)
    practitioner = api(make_user("practitioner", windows=ALL_WEEK))
    waiting = make_user("listener", verified=False)

    call(listener, "get", "/api/v1/me/availability", 200)
    call(listener, "put", "/api/v1/me/availability", 200, json={"windows": []})
    call(listener, "put", "/api/v1/me/availability", 200, json={"windows": _all_week()})
    off = call(
        listener,
        "post",
        "/api/v1/me/time-off",
        201,
        json={"start": "2031-01-01T00:00:00+00:00", "end": "2031-01-02T00:00:00+00:00"},
    ).json
    call(listener, "delete", f"/api/v1/me/time-off/{off['id']}", 204)
    call(listener, "post", "/api/v1/me/calendar-feed", 201)
    call(listener, "delete", "/api/v1/me/calendar-feed", 204)
    call(listener, "get", "/api/v1/me/export", 200)

    until = (now_utc().date() + timedelta(days=90)).isoformat()
    call(coordinator, "get", "/api/v1/listeners", 200)
    call(
        coordinator,
        "post",
        f"/api/v1/listeners/{waiting}/verify",
        200,
        json={"training_valid_until": until},
    )

    first = call(practitioner, "post", "/api/v1/requests", 201, json={"urgency": "urgent"}).json
    call(practitioner, "get", f"/api/v1/requests/{first['id']}", 200)
    call(practitioner, "delete", f"/api/v1/requests/{first['id']}", 204)
    request_id = call(practitioner, "post", "/api/v1/requests", 201, json={}).json["id"]
    call(coordinator, "get", "/api/v1/requests?status=open", 200)

    proposal = call(coordinator, "post", "/api/v1/rounds", 201).json["proposals"][0]
    assert proposal["request_id"] == request_id
    meeting = call(coordinator, "post", f"/api/v1/proposals/{proposal['id']}/approve", 200).json[
        "meeting"
    ]
    call(practitioner, "get", "/api/v1/meetings", 200)
    call(listener, "get", f"/api/v1/meetings/{meeting['id']}/invite.ics", 200)
    url = f"/api/v1/meetings/{meeting['id']}"
    start = call(practitioner, "get", f"{url}/free-times", 200).json["items"][0]
    call(practitioner, "post", f"{url}/reschedule", 200, json={"start": start})
    move_to_past(app, meeting["id"])
    call(practitioner, "post", f"{url}/feedback", 201, json={"rating": 4})

    make_user("listener", windows=ALL_WEEK)
    for _ in range(2):
        api(make_user("practitioner", windows=ALL_WEEK)).post("/api/v1/requests", json={})
    second_round = call(coordinator, "post", "/api/v1/rounds", 201, json={}).json
    first, second = second_round["proposals"]
    rounds = f"/api/v1/rounds/{second_round['id']}"
    call(coordinator, "get", f"{rounds}/proposals?status=pending&urgency=routine", 200)
    call(coordinator, "post", f"/api/v1/proposals/{first['id']}/reject", 200, json={})
    call(coordinator, "post", f"{rounds}/approve", 200, json={"proposal_ids": [first["id"]]})
    call(coordinator, "get", "/api/v1/reports/programme?from=2026-01-05&to=2026-03-01", 200)
    call(coordinator, "get", "/api/v1/reports/programme.csv", 200)
    booked = call(coordinator, "post", f"/api/v1/proposals/{second['id']}/approve", 200).json
    call(coordinator, "post", f"/api/v1/meetings/{booked['meeting']['id']}/cancel", 200)
    asking = api(make_user("practitioner", windows=ALL_WEEK))
    by_hand = {
        "request_id": call(asking, "post", "/api/v1/requests", 201, json={}).json["id"],
        "listener_id": listener_id,
        "start": future_start(days=9, hour=11).isoformat(),
        "override": ["notice", "horizon", "outside_listener_times", "outside_practitioner_times"],
        "note": "Both asked for this time.",
    }
    call(coordinator, "post", "/api/v1/pairings", 201, json=by_hand)
    call(listener, "delete", "/api/v1/tokens/current", 204)

    _walk_programme_events(app, call, api, make_user, coordinator)

    doc = client.get("/api/v1/openapi.json").get_json()
    driven = {
        (m, re.sub(r"/\d+", "/{id}", p.split("?")[0].removeprefix("/api/v1"))) for m, p in seen
    }
    assert driven == _documented(doc)


def _walk_programme_events(app, call, api, make_user, coordinator) -> None:
    """Publish, register, wait, take an offered seat, decline one, approve, rate, cancel."""
    start = future_start(days=6, hour=15)
    body = {
        "kind": "workshop",
        "title": "Evening workshop",
        "description": "",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=2)).isoformat(),
        "modality": "video",
        "location": "https://meet.example.org/workshop",
        "capacity": 1,
        "registration_closes": (start - timedelta(hours=1)).isoformat(),
        "requires_approval": False,
        "open_to": ["practitioner"],
    }
    event = call(coordinator, "post", "/api/v1/events", 201, json=body).json
    url = f"/api/v1/events/{event['id']}"
    first, second, third = (api(make_user("practitioner")) for _ in range(3))
    call(first, "get", "/api/v1/events", 200)
    call(first, "get", url, 200)
    seat = call(first, "post", f"{url}/registrations", 201, json={}).json
    waiting = call(second, "post", f"{url}/registrations", 201).json
    assert (seat["status"], waiting["status"], waiting["position"]) == (
        "confirmed",
        "waitlisted",
        1,
    )
    call(first, "get", f"/api/v1/registrations/{seat['id']}", 200)
    call(first, "get", f"/api/v1/registrations/{seat['id']}/invite.ics", 200)
    call(first, "post", f"/api/v1/registrations/{seat['id']}/withdraw", 200)
    offered = call(second, "get", f"/api/v1/registrations/{waiting['id']}", 200).json
    assert offered["status"] == "offered" and offered["offer_expires"]
    call(second, "post", f"/api/v1/registrations/{waiting['id']}/accept", 200)
    late = call(third, "post", f"{url}/registrations", 201).json
    call(coordinator, "patch", url, 200, json={"capacity": 2})
    call(third, "post", f"/api/v1/registrations/{late['id']}/decline", 200)
    call(coordinator, "get", f"{url}/registrations", 200)

    vetted = call(coordinator, "post", "/api/v1/events", 201, json=body | {"capacity": 5,
        "requires_approval": True, "start": (start + timedelta(days=1)).isoformat(),
        "end": (start + timedelta(days=1, hours=2)).isoformat()}).json  # fmt: skip
    vetted_url = f"/api/v1/events/{vetted['id']}"
    pending = call(first, "post", f"{vetted_url}/registrations", 201).json
    assert pending["status"] == "pending_approval"
    call(coordinator, "post", f"/api/v1/registrations/{pending['id']}/approve", 200)
    doubtful = call(third, "post", f"{vetted_url}/registrations", 201).json
    call(coordinator, "post", f"/api/v1/registrations/{doubtful['id']}/reject", 200, json={})
    call(coordinator, "post", f"{vetted_url}/cancel", 200, json={"reason": "Room unavailable"})

    move_event_to_past(app, event["id"])
    call(second, "post", f"{url}/feedback", 201, json={"rating": 5, "comment": "Calm."})
    call(coordinator, "get", f"{url}/feedback", 200)


def _all_week() -> list[dict]:
    return [{"weekday": day, "start": start, "end": end} for day, start, end in ALL_WEEK]
