"""Sign-in limits hold across workers when they share Redis."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from matching import create_app
from matching.extensions import db


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url():
    if not _redis_up():
        if os.environ.get("CI"):
            pytest.fail("Redis is not running on 127.0.0.1:6379")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/15"


def test_two_workers_share_one_limit(app, redis_url):
    prefix = f"alongside-test-{uuid.uuid4().hex}"
    config = dict(app.config) | {
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": prefix,
        "LOGIN_RATE_LIMIT": "4 per minute",
    }
    workers = [create_app(config) for _ in range(2)]
    body = {"email": "nobody@example.org", "password": "not the password"}
    try:
        codes = [
            workers[i % 2].test_client().post("/api/v1/tokens", json=body).status_code
            for i in range(6)
        ]
    finally:
        for worker in workers:
            with worker.app_context():
                db.engine.dispose()
    assert codes == [401, 401, 401, 401, 429, 429]
