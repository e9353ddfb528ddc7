"""API: the OpenAPI document itself, built from the operations' schemas."""

from __future__ import annotations

from flask import jsonify
from flask_smorest import current_api

from .blueprint import ApiBlueprint

public = ApiBlueprint("openapi", public=True)
blueprints = (public,)


@public.get("/openapi.json")
@public.response(200, {"type": "object"}, description="This document (OpenAPI 3.1)")
def openapi_json():
    """The OpenAPI description of every operation."""
    return jsonify(current_api.spec.to_dict())
