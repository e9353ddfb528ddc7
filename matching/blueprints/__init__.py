"""Blueprints: pages per role, the JSON API and the calendar feed."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register every blueprint."""
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

    for module in (public, auth, practitioner, listener, coordinator, api, feed, meetings):
        app.register_blueprint(module.bp)
    app.add_template_filter(localtime, "localtime")
    app.add_template_global(
        lambda: __import__("matching.models", fromlist=["now_utc"]).now_utc().date(), "today"
    )


def localtime(value, zone: str, fmt: str = "%a %d %b, %H:%M") -> str:
    """Show a UTC instant in a person's zone, with the zone named."""
    from zoneinfo import ZoneInfo

    if value is None:
        return ""
    return f"{value.astimezone(ZoneInfo(zone)).strftime(fmt)} ({zone.replace('_', ' ')})"
