"""Alongside: peer-support matching and scheduling."""

from __future__ import annotations

from flask import Flask

from matching import blueprints, cli, errors, extensions, security
from matching.config import load_config


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: config, extensions, blueprints, errors, commands."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    load_config(app, test_config)
    extensions.register(app)
    security.register(app)
    blueprints.register(app)
    errors.register(app)
    cli.register(app)
    return app


__all__ = ["create_app"]
