"""Flask extensions, created unbound and bound in register()."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import MetaData

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


class FailureCounter:
    """Counts failed attempts per key in storage every worker shares (or this process's).

    Built on `limits`, the library under Flask-Limiter, used directly: the count must
    span two routes (/login and /api/v1/tokens), be keyed by the account a request
    names, and grow only when an attempt fails, which a route decorator does not fit.
    """

    def init_app(self, app: Flask) -> None:
        storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
        app.extensions["failure_counter"] = MovingWindowRateLimiter(storage)

    @staticmethod
    def _limiter() -> MovingWindowRateLimiter:
        return current_app.extensions["failure_counter"]

    @staticmethod
    def _items(limit: str) -> list[RateLimitItem]:
        return parse_many(limit)

    def exceeded(self, limit: str, *key: str) -> bool:
        """Tell whether this key has used up any window of the limit."""
        prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
        return any(not self._limiter().test(item, prefix, *key) for item in self._items(limit))

    def hit(self, limit: str, *key: str) -> None:
        """Count one failure against every window of the limit."""
        prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
        for item in self._items(limit):
            self._limiter().hit(item, prefix, *key)


failures = FailureCounter()


def register(app: Flask) -> None:
    """Bind every extension to the app."""
    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    failures.init_app(app)
