"""Sign-in failure counts hold across workers when they share Redis."""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

from matching import create_app
from matching.extensions import db
from matching.models import User
from tests.conftest import PASSWORD

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_up() -> bool:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url():
    if not _redis_up():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not running at {REDIS_URL}")
        pytest.skip(f"Redis is not running at {REDIS_URL}")
    return REDIS_URL


def test_two_workers_share_one_failure_count(app, make_user, redis_url):
    uid = make_user("practitioner")
    with app.app_context():
        email = db.session.get(User, uid).email
    prefix = f"alongside-test-{uuid.uuid4().hex}"
    config = dict(app.config) | {
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": prefix,
        "LOGIN_RATE_LIMIT": "4 per minute",
        "LOGIN_LIMITS_IN_MEMORY": False,
    }
    workers = [create_app(config) for _ in range(2)]

    def attempt(i: int, password: str) -> int:
        client = workers[i % 2].test_client()
        body = {"email": email, "password": password}
        return client.post("/api/v1/tokens", json=body).status_code

    try:
        successes = [attempt(i, PASSWORD) for i in range(6)]  # never counted
        failures = [attempt(i, "not the password") for i in range(6)]
        after = attempt(0, PASSWORD)
    finally:
        for worker in workers:
            with worker.app_context():
                db.engine.dispose()
    assert successes == [201] * 6
    assert failures == [401, 401, 401, 401, 429, 429]
    assert after == 429
