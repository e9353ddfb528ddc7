"""App, database and factory fixtures shared by the whole suite.

The same tests run on SQLite (default) and on PostgreSQL when TEST_DATABASE_URL is
set. The schema is built once per session by the real migrations; each test then
starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import time

import pytest
from argon2 import PasswordHasher
from sqlalchemy import event

from matching import create_app
from matching.extensions import db
from matching.models import (
    AvailabilityWindow,
    Consent,
    ListenerProfile,
    PractitionerProfile,
    User,
    now_utc,
)
from matching.services import consent
from tests.support.openapi import CheckedClient
from tests.support.smtp import smtp_server  # noqa: F401  (a fixture for the whole suite)

PASSWORD = "correct horse battery staple"
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
PASSWORD_HASH = PasswordHasher(**FAST_ARGON2).hash(PASSWORD)
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


def _base_config(uri: str, tmp_path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": uri,
        "WTF_CSRF_ENABLED": False,
        "ARGON2_PARAMS": FAST_ARGON2,
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "LOGIN_LIMITS_IN_MEMORY": True,
        "SERVER_NAME": "alongside.test",
        "BASE_URL": "http://alongside.test",
        # The suite's expected rounds were written against networkx; "auto" has its own tests.
        "MATCH_SOLVER": "networkx",
    }


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> str:
    """Run the real migrations once: a SQLite template file, or the PostgreSQL schema."""
    from flask_migrate import downgrade, upgrade

    uri = POSTGRES_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'template.sqlite'}"
    app = create_app(_base_config(uri, tmp_path_factory.mktemp("inst")))
    with app.app_context():
        if POSTGRES_URL:
            downgrade(revision="base")
        upgrade()
        db.engine.dispose()
    return uri


@pytest.fixture
def app_config(tmp_path) -> dict:
    """Extra configuration for one test; fill it before asking for `app`."""
    return {}


@pytest.fixture
def app(migrated_template, tmp_path, app_config) -> Iterator:
    """A fresh app over empty tables."""
    if POSTGRES_URL:
        uri = POSTGRES_URL
    else:
        target = tmp_path / "test.sqlite"
        shutil.copyfile(migrated_template.removeprefix("sqlite:///"), target)
        uri = f"sqlite:///{target}"
    application = create_app(_base_config(uri, tmp_path) | app_config)
    application.test_client_class = CheckedClient  # every API answer must match the document
    if POSTGRES_URL:
        with application.app_context():
            _truncate_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _truncate_all() -> None:
    names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(db.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create a user with a profile and windows; returns the user id.

    People start as they are once they have joined: their address confirmed and, for
    practitioners and listeners, the current consent text accepted. `email_verified=False`
    or `consented=False` make someone who has not got that far.
    """
    counter = iter(range(1, 10_000))

    def factory(
        role: str = "practitioner",
        *,
        email: str | None = None,
        timezone: str = "UTC",
        name: str | None = None,
        windows: list[tuple[int, str, str]] | None = None,
        verified: bool = True,
        email_verified: bool = True,
        consented: bool = True,
        **profile,
    ) -> int:
        n = next(counter)
        with app.app_context():
            user = User(
                email=email or f"{role}{n}@example.org",
                password_hash=PASSWORD_HASH,
                role=role,
                display_name=name or f"{role.title()} {n}",
                timezone=timezone,
                email_verified_at=now_utc() if email_verified else None,
            )
            defaults = {"languages": ["en"], "modalities": ["video"], "organization": f"Org {n}"}
            if role == "practitioner":
                user.practitioner_profile = PractitionerProfile(**(defaults | profile))
            elif role == "listener":
                lp = ListenerProfile(**(defaults | {"fields": ["psychology"]} | profile))
                if verified:
                    lp.verified_at = now_utc()
                    lp.training_valid_until = now_utc().date().replace(year=now_utc().year + 1)
                user.listener_profile = lp
            db.session.add(user)
            db.session.flush()
            if consented and role in consent.CONSENTING_ROLES:
                db.session.add(Consent(user_id=user.id, version=consent.current_version()))
            for weekday, start, end in windows or []:
                db.session.add(
                    AvailabilityWindow(
                        user_id=user.id,
                        weekday=weekday,
                        start_local=time.fromisoformat(start),
                        end_local=time.fromisoformat(end),
                    )
                )
            db.session.commit()
            return user.id

    return factory


class ApiClient:
    """The test client with a bearer token and JSON helpers."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        base = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return base | (headers or {})

    def get(self, path, headers=None, **kw):
        return self.client.get(path, headers=self._headers(headers), **kw)

    def delete(self, path, json=None, headers=None, **kw):
        return self.client.delete(path, json=json, headers=self._headers(headers), **kw)

    def post(self, path, json=None, headers=None, **kw):
        return self.client.post(path, json=json, headers=self._headers(headers), **kw)

    def put(self, path, json=None, headers=None, **kw):
        return self.client.put(path, json=json, headers=self._headers(headers), **kw)

    def patch(self, path, json=None, headers=None, **kw):
        return self.client.patch(path, json=json, headers=self._headers(headers), **kw)


@pytest.fixture
def api(app, client):
    """api(user_id) -> an ApiClient holding a fresh token for that user; api() has none."""

    def factory(user_id: int | None = None) -> ApiClient:
        if user_id is None:
            return ApiClient(client, None)
        from matching.services import accounts

        with app.app_context():
            token = accounts.issue_token(db.session.get(User, user_id), 1)
            db.session.commit()
        return ApiClient(client, token)

    return factory


@pytest.fixture
def login(client):
    """Sign a user in through the real login form."""

    def do(email: str, password: str = PASSWORD):
        return client.post("/login", data={"email": email, "password": password})

    return do


@pytest.fixture
def count_queries(app):
    """Count SQL statements run inside a `with count_queries() as n:` block."""
    from contextlib import contextmanager

    @contextmanager
    def counter():
        box = {"n": 0}

        def before(*args, **kwargs):
            box["n"] += 1

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield box
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counter
