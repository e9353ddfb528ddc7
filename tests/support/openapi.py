"""Check real API answers against the app's own OpenAPI document.

The `app` fixture gives every test a client that runs check() on each answer under
/api/, so every API test in the suite also proves the document right: status code,
content type and body shape, errors included.
"""

from __future__ import annotations

import json
from functools import cache

from flask.testing import FlaskClient
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound

DOCUMENT_URL = "/api/v1/openapi.json"
# A 500 is a fault, never part of an operation's contract.
UNDOCUMENTED = {500}


@cache
def _openapi(document: str) -> OpenAPI:
    """Parse (and validate) the document once per distinct document."""
    return OpenAPI.from_dict(json.loads(document))


def openapi_of(app) -> OpenAPI:
    """The app's document as served, read once per app."""
    if "tests.openapi" not in app.extensions:
        plain = FlaskClient(app, app.response_class, use_cookies=False)
        app.extensions["tests.openapi"] = _openapi(plain.get(DOCUMENT_URL).get_data(as_text=True))
    return app.extensions["tests.openapi"]


class _Sent(WerkzeugOpenAPIRequest):
    """The request as sent; its body was read by the app already and is not needed here."""

    @property
    def body(self) -> bytes | None:
        return None


def check(app, response) -> bool:
    """Validate one real answer; return False when no documented operation matches."""
    if response.status_code in UNDOCUMENTED:
        return False
    request = _Sent(response.request)
    try:
        openapi_of(app).validate_response(request, WerkzeugOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):
        return False
    return True


class CheckedClient(FlaskClient):
    """A test client that checks every API answer against the OpenAPI document."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if response.request.path.startswith("/api/"):
            check(self.application, response)
        return response
