"""Blueprints: pages per role, the JSON API and the calendar feed."""

from __future__ import annotations

from flask import Flask

from matching.blueprints import (
    api,
    auth,
    coordinator,
    feed,
    listener,
    meetings,
    practitioner,
    public,
)
from matching.models import now_utc
from matching.services.notices import local_time


def register(app: Flask) -> None:
    """Register every blueprint, and the template helpers the pages share."""
    for module in (public, auth, practitioner, listener, coordinator, feed, meetings):
        app.register_blueprint(module.bp)
    api.register(app)
    app.add_template_filter(localtime, "localtime")
    app.add_template_global(today, "today")


def localtime(value, zone: str, fmt: str = "%a %d %b, %H:%M") -> str:
    """Show a UTC instant in a person's zone, with the zone named ('' for none)."""
    return "" if value is None else local_time(value, zone, fmt)


def today():
    """Today's date in UTC."""
    return now_utc().date()
