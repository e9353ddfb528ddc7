"""JSON API v1, described at /api/v1/openapi.json. Bearer tokens only; no cookies, so no CSRF."""

from __future__ import annotations

from flask import Flask

from matching.blueprints.api import (
    accounts,
    coordination,
    document,
    events,
    meetings,
    requests,
)
from matching.blueprints.api.blueprint import DOCUMENT, ApiBlueprint, OpenApi

bp = ApiBlueprint("api", public=True)
for _module in (accounts, requests, coordination, meetings, events, document):
    for _child in _module.blueprints:
        bp.register_blueprint(_child)


def register(app: Flask) -> None:
    """Register the API under /api/v1 and build its OpenAPI document."""
    docs = OpenApi(app, spec_kwargs=DOCUMENT)
    docs.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    docs.spec.options["security"] = [{"bearer": []}]
    docs.register_blueprint(bp, url_prefix="/api/v1")
