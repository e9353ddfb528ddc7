"""Servers for the race tests: gunicorn with four workers, and a threaded live server.

Both serve the test database; everything a test prepares is committed first, so the
server's own connections see it. Servers bind 127.0.0.1 on a free port chosen now.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A base URL and a way to fire requests at it all at once."""

    def __init__(self, url: str):
        self.url = url

    def call(self, method: str, path: str, body=None, token: str | None = None):
        """One request; returns (status, JSON answer or None)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def fire(self, calls: list[tuple]) -> list[tuple]:
        """Send every call at the same moment from its own thread; answers in call order."""
        results: list = [None] * len(calls)
        barrier = threading.Barrier(len(calls))

        def run(i, call):
            barrier.wait()
            results[i] = self.call(*call)

        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        return results


@pytest.fixture(params=["threads", "gunicorn"] if POSTGRES_URL else ["threads"])
def server(request):
    """Each race runs on a threaded server, and on gunicorn -w 4 with PostgreSQL."""
    name = "threaded_server" if request.param == "threads" else "gunicorn_server"
    return request.param, request.getfixturevalue(name)


@pytest.fixture(scope="module")
def gunicorn_server(migrated_template, tmp_path_factory) -> Iterator[Server]:
    """gunicorn -w 4 over the PostgreSQL test database, configured through the environment."""
    if not POSTGRES_URL:
        pytest.skip("gunicorn races run on PostgreSQL (set TEST_DATABASE_URL)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAIL_", "REDIS_", "DATABASE_", "BASE_URL"))
    } | {
        "DATABASE_URL": POSTGRES_URL,
        "SECRET_KEY": "race-test-secret",
        "BASE_URL": url,
        "LOGIN_LIMITS_IN_MEMORY": "true",
        "MAIL_OUTBOX_DIR": str(tmp_path_factory.mktemp("outbox")),
        "OUTBOX_DELIVER_AFTER_COMMIT": "false",
    }
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}",
             "--timeout", "120", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(url)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if server.call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + log.read_text())
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    errors = [line for line in log.read_text().splitlines() if "Traceback" in line]
    assert errors == [], log.read_text()


@pytest.fixture
def threaded_server(app) -> Iterator[Server]:
    """The test app (SQLite by default) behind a threaded live server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config.update(BASE_URL=url, TRUSTED_HOSTS=["127.0.0.1"], OUTBOX_DELIVER_AFTER_COMMIT=False)
    thread = threading.Thread(target=server.serve_forever, name="race-server", daemon=True)
    thread.start()
    try:
        yield Server(url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
