"""API: listeners, rounds and proposals (coordinators)."""

from __future__ import annotations

from flask import Blueprint

from matching.security import guard_api

coordinators = Blueprint("coordination", __name__)
guard_api(coordinators, "coordinator")
blueprints = (coordinators,)
