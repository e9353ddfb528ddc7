"""What every API operation is built with: ApiBlueprint, the body parser, the document.

An operation names its body and answer schemas (matching/schemas) on its view with
ApiBlueprint's decorators; the same names validate the request, dump the answer and
write the OpenAPI document. The README's "How to add an API operation" shows the recipe.
"""

from __future__ import annotations

import http
import re
from functools import wraps

import flask_smorest
from flask import Response, request
from webargs import core
from webargs.flaskparser import FlaskParser

from matching.errors import HTTP_CODES, Malformed
from matching.extensions import csrf
from matching.schemas import invalid
from matching.schemas.answers import Error
from matching.security import api_user, guard_api

DOCUMENT = {
    "title": "Alongside API",
    "version": "1",
    "openapi_version": "3.1.0",
    "info": {
        "description": "Peer-support matching and scheduling. Send the token from POST "
        "/api/v1/tokens as `Authorization: Bearer <token>`. Instants are ISO 8601 with an "
        'offset; answers give them in UTC. Every error answers {"error": {"code", '
        '"message", "fields"}}; lists answer {"items", "next"}.'
    },
}
PATH_PARAMETER = re.compile(r"<(?:[a-z]+:)?[a-z_]+>")


class BodyParser(FlaskParser):
    """Read bodies and query strings the way the API always has.

    Any body is read as JSON, whatever its Content-Type; JSON that is not an object is
    a 400; bad values are a 422 (a 400 in a query string) with a sentence per field.
    """

    def _raw_load_json(self, req):
        data = req.get_data(cache=True)
        return core.parse_json(data) if data else core.missing

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise Malformed("The body is not valid JSON.")

    def load_json(self, req, schema):
        body = super().load_json(req, schema)
        if body is not core.missing and not isinstance(body, dict):
            raise Malformed("Send a JSON object.")
        return body

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        [messages] = error.messages.values()
        err = invalid(messages)
        if error_status_code == 400:
            raise Malformed(err.message, fields=err.fields)
        raise err


class OpenApi(flask_smorest.Api):
    """The OpenAPI document's builder; errors keep the app's own handlers and shape."""

    ERROR_SCHEMA = Error
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        """Leave errors to matching/errors.py, which answers in the API's error shape."""


class ApiBlueprint(flask_smorest.Blueprint):
    """An API blueprint: role and consent guard, CSRF exemption and the errors every route can give.

    Every route documents 401 (no or bad token), 403 (a role the guard refuses, or
    consent_required), 404 (an id in the path) and 422 (a control character in the query
    string), so no operation can forget them. `consent_needed=False` is only for the
    calls a person may make before agreeing: reading and taking their data, leaving.
    """

    ARGUMENTS_PARSER = BodyParser()

    def __init__(
        self,
        name: str,
        *,
        roles: tuple[str, ...] = (),
        public: bool = False,
        consent_needed: bool = True,
    ):
        super().__init__(name, __name__)
        self.public, self.roles = public, roles
        self.consent_needed = consent_needed and not public
        if not public:
            guard_api(self, *roles, consent_needed=consent_needed)
        csrf.exempt(self)

    def route(self, rule, *, parameters=None, tags=None, **options):
        # Any query string carrying a control character is refused before the view runs
        # (security.py), so every operation can answer 422.
        codes = [422]
        if not self.public:
            codes.append(401)
        if self.roles or self.consent_needed:
            codes.append(403)
        if PATH_PARAMETER.search(rule):
            codes.append(404)
        outer = super().route(rule, parameters=parameters, tags=tags, **options)

        def decorator(view):
            documented = self.errors(*codes)(view) if codes else view
            outer(self.doc(security=[])(documented) if self.public else documented)
            return view

        return decorator

    def body(self, schema, *, required: bool = True):
        """Load the JSON body with `schema` and pass the values to the view.

        Without `required`, an empty body counts as {}; with it, an empty body is a 400.
        """

        def decorator(view):
            loading = self.errors(400, 413, 422)(self.arguments(schema, required=required)(view))
            return _needs_body(loading) if required else loading

        return decorator

    def body_by_role(self, schemas: dict):
        """Load the JSON body with the schema of the caller's role (the document shows each)."""
        content = {"application/json": {"schema": {"anyOf": list(schemas.values())}}}

        def decorator(view):
            loading = self.ARGUMENTS_PARSER.use_args(
                lambda req: schemas[api_user().role](), location="json"
            )(view)
            documented = self.doc(requestBody={"required": True, "content": content})
            return documented(self.errors(400, 413, 422)(_needs_body(loading)))

        return decorator

    def query(self, schema):
        """Load the query string with `schema` (unknown names are ignored); bad values are 400."""

        def decorator(view):
            loading = self.arguments(schema, location="query", error_status_code=400)(view)
            return self.errors(400)(loading)

        return decorator

    def errors(self, *codes: int):
        """Document error answers (the app's error shape) this operation can give."""

        def decorator(view):
            for code in sorted(set(codes), reverse=True):
                _, sentence = HTTP_CODES.get(code, ("", http.HTTPStatus(code).phrase))
                view = self.alt_response(code, schema=Error, description=sentence)(view)
            return view

        return decorator


def _needs_body(view):
    @wraps(view)
    def needs_body(*args, **kwargs):
        if not request.get_data(cache=True):
            raise Malformed("Send a JSON body.")
        return view(*args, **kwargs)

    return needs_body


def listing(items: list, next_cursor: int | None) -> dict:
    """One page of a list: its items and the cursor of the next page (null at the end)."""
    return {"items": items, "next": str(next_cursor) if next_cursor else None}


def no_content() -> Response:
    """An empty 204 answer."""
    return Response(status=204)
