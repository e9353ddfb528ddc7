"""Alongside: peer-support matching and scheduling.

The factory imports the web stack inside create_app, so that `matching.engine` can be
imported on its own without pulling in Flask or the database layer.
"""

from __future__ import annotations


def create_app(test_config: dict | None = None):
    """Build the application: config, extensions, hooks, blueprints, errors, commands."""
    # Here, not at the top: `import matching.engine` runs this file and must not load Flask.
    from flask import Flask

    from matching import blueprints, cli, errors, extensions, security
    from matching.config import load_config
    from matching.services import outbox

    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    load_config(app, test_config)
    extensions.register(app)
    security.register(app)

    @app.after_request
    def deliver_committed_mail(response):
        """Send the mail this request committed (embedded default); failures stay queued."""
        outbox.deliver_committed(app.config)
        return response

    blueprints.register(app)
    errors.register(app)
    cli.register(app)
    return app


__all__ = ["create_app"]
