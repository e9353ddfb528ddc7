"""The OpenAPI 3 description of /api/v1, served at /api/v1/openapi.json.

A test compares these paths and methods with app.url_map, so the two cannot drift.
"""

from __future__ import annotations

from flask import Blueprint

public_doc = Blueprint("openapi", __name__)
blueprints = (public_doc,)

ERROR = {"$ref": "#/components/schemas/Error"}
STR_LIST = {"type": "array", "items": {"type": "string"}}
INSTANT = {"type": "string", "format": "date-time"}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        },
    },
    "User": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string"},
            "role": {"type": "string", "enum": ["practitioner", "listener", "coordinator"]},
            "display_name": {"type": "string"},
            "timezone": {"type": "string"},
        },
    },
    "Window": {
        "type": "object",
        "required": ["weekday", "start", "end"],
        "properties": {
            "weekday": {"type": "integer", "minimum": 0, "maximum": 6},
            "start": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
            "end": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
        },
    },
    "Meeting": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "request_id": {"type": "integer"},
            "practitioner_id": {"type": "integer"},
            "listener_id": {"type": "integer"},
            "start": INSTANT,
            "end": INSTANT,
            "status": {
                "type": "string",
                "enum": ["scheduled", "cancelled", "completed", "no_show"],
            },
            "sequence": {"type": "integer"},
        },
    },
    "Proposal": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "request_id": {"type": "integer"},
            "listener_id": {"type": "integer"},
            "start": INSTANT,
            "end": INSTANT,
            "score": {"type": "integer", "minimum": 0, "maximum": 100},
            "reasons": STR_LIST,
        },
    },
    "List": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"type": "object"}},
            "next": {"type": ["string", "null"]},
        },
    },
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def op(summary: str, who: str, ok: int, answer=None, body=None, errors=(), auth=True) -> dict:
    """Describe one operation."""
    responses = {str(ok): {"description": "OK"}}
    if answer is not None:
        responses[str(ok)]["content"] = {"application/json": {"schema": answer}}
    for code in (*errors, *((401,) if auth else ()), 400):
        responses[str(code)] = {
            "description": "Error",
            "content": {"application/json": {"schema": ERROR}},
        }
    operation = {"summary": summary, "description": f"Who: {who}.", "responses": responses}
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    if not auth:
        operation["security"] = []
    return operation


def obj(**props) -> dict:
    return {"type": "object", "properties": props}


PROFILE = obj(
    languages=STR_LIST,
    modalities=STR_LIST,
    organization={"type": "string"},
    topics=STR_LIST,
    field={"type": "string"},
    listener_gender={"type": ["string", "null"]},
    listener_gender_required={"type": "boolean"},
    do_not_match={"type": "array", "items": {"type": "integer"}},
    fields=STR_LIST,
    gender={"type": ["string", "null"]},
    max_sessions_per_week={"type": "integer", "minimum": 1, "maximum": 10},
    max_sessions_per_day={"type": "integer", "minimum": 1, "maximum": 4},
)
WINDOWS = obj(windows={"type": "array", "items": _ref("Window")})
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}

PATHS = {
    "/users": {
        "post": op(
            "Register a practitioner or listener",
            "anyone",
            201,
            _ref("User"),
            obj(
                email={"type": "string"},
                password={"type": "string", "minLength": 12},
                role={"type": "string", "enum": ["practitioner", "listener"]},
                display_name={"type": "string"},
                timezone={"type": "string"},
            ),
            errors=(409, 422),
            auth=False,
        )
    },
    "/tokens": {
        "post": op(
            "Create an API token",
            "anyone",
            201,
            obj(token={"type": "string"}),
            obj(email={"type": "string"}, password={"type": "string"}),
            errors=(429,),
            auth=True,
        )
        | {"security": []}
    },
    "/tokens/current": {"delete": op("Revoke the token of this request", "any", 204)},
    "/me": {
        "get": op("Who am I", "any", 200, _ref("User")),
        "delete": op(
            "Close my account and erase my data",
            "practitioner, listener",
            204,
            body=obj(password={"type": "string"}),
            errors=(403, 422),
        ),
    },
    "/me/profile": {
        "put": op(
            "Update my profile", "practitioner, listener", 200, PROFILE, PROFILE, errors=(403, 422)
        )
    },
    "/me/export": {"get": op("Everything stored about me", "any", 200, {"type": "object"})},
    "/me/availability": {
        "get": op("My weekly availability", "practitioner, listener", 200, WINDOWS, errors=(403,)),
        "put": op(
            "Replace my weekly availability",
            "practitioner, listener",
            200,
            WINDOWS,
            WINDOWS,
            errors=(403, 422),
        ),
    },
    "/me/time-off": {
        "post": op(
            "Add time off",
            "practitioner, listener",
            201,
            obj(id={"type": "integer"}, start=INSTANT, end=INSTANT),
            obj(start=INSTANT, end=INSTANT),
            errors=(403, 422),
        )
    },
    "/me/time-off/{id}": {
        "parameters": [ID],
        "delete": op("Delete my time off", "owner", 204, errors=(403, 404)),
    },
    "/me/calendar-feed": {
        "post": op("Create a new private feed URL", "any", 201, obj(url={"type": "string"})),
        "delete": op("Revoke my feed URL", "any", 204),
    },
    "/requests": {
        "post": op(
            "Ask for a listener",
            "practitioner",
            201,
            obj(
                id={"type": "integer"},
                status={"type": "string"},
                crisis_resources={"type": "string"},
            ),
            obj(
                urgency={"type": "string", "enum": ["routine", "soon", "urgent"]},
                topics=STR_LIST,
                modalities=STR_LIST,
                note={"type": "string"},
            ),
            errors=(403, 409, 422),
        ),
        "get": op("List requests", "coordinator", 200, _ref("List"), errors=(403,))
        | {"parameters": [{"name": "status", "in": "query", "schema": {"type": "string"}}]},
    },
    "/requests/{id}": {
        "parameters": [ID],
        "get": op("One request", "owner, coordinator", 200, {"type": "object"}, errors=(403, 404)),
        "delete": op("Withdraw my request", "owner", 204, errors=(403, 404, 409)),
    },
    "/listeners": {
        "get": op(
            "Listeners with verification and load", "coordinator", 200, _ref("List"), errors=(403,)
        )
    },
    "/listeners/{id}/verify": {
        "parameters": [ID],
        "post": op(
            "Verify a listener",
            "coordinator",
            200,
            {"type": "object"},
            obj(training_valid_until={"type": "string", "format": "date"}),
            errors=(403, 404, 422),
        ),
    },
    "/rounds": {
        "post": op(
            "Run a matching round",
            "coordinator",
            201,
            obj(
                id={"type": "integer"},
                proposals={"type": "array", "items": _ref("Proposal")},
                unmatched={
                    "type": "array",
                    "items": obj(request_id={"type": "integer"}, reasons=STR_LIST),
                },
            ),
            {"type": "object"},
            errors=(403,),
        )
    },
    "/proposals/{id}/approve": {
        "parameters": [ID],
        "post": op(
            "Approve a proposal",
            "coordinator",
            200,
            obj(meeting=_ref("Meeting")),
            errors=(403, 404, 409),
        ),
    },
    "/proposals/{id}/reject": {
        "parameters": [ID],
        "post": op(
            "Reject a proposal",
            "coordinator",
            200,
            {"type": "object"},
            obj(never_again={"type": "boolean"}),
            errors=(403, 404, 409),
        ),
    },
    "/meetings": {"get": op("My meetings (coordinator: all)", "any", 200, _ref("List"))},
    "/meetings/{id}/invite.ics": {
        "parameters": [ID],
        "get": op("The current invite for me", "attendee, coordinator", 200, errors=(404,))
        | {
            "responses": {
                "200": {"description": "text/calendar"},
                "404": {"description": "Error", "content": {"application/json": {"schema": ERROR}}},
            }
        },
    },
    "/meetings/{id}/reschedule": {
        "parameters": [ID],
        "post": op(
            "Move a meeting",
            "attendee, coordinator",
            200,
            _ref("Meeting"),
            obj(start=INSTANT),
            errors=(404, 409, 422),
        ),
    },
    "/meetings/{id}/cancel": {
        "parameters": [ID],
        "post": op(
            "Cancel a meeting",
            "attendee, coordinator",
            200,
            _ref("Meeting"),
            obj(reason={"type": "string"}),
            errors=(404, 409, 422),
        ),
    },
    "/meetings/{id}/feedback": {
        "parameters": [ID],
        "post": op(
            "Give feedback after a meeting",
            "attendee",
            201,
            {"type": "object"},
            obj(rating={"type": "integer", "minimum": 1, "maximum": 5}, comment={"type": "string"}),
            errors=(404, 409, 422),
        ),
    },
    "/openapi.json": {"get": op("This description", "anyone", 200, {"type": "object"}, auth=False)},
}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Alongside API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@public_doc.get("/openapi.json")
def openapi_json():
    return document()
