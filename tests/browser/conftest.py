"""A live server over the test app and a real Chromium to drive it.

Chromium comes from the system (Debian's package at /usr/bin/chromium, or the path
in CHROMIUM); nothing is downloaded at run time. Without it the browser tests skip
on a laptop and fail in CI, where the CI variable is set.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str | None:
    wanted = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if Path(wanted).is_file() and os.access(wanted, os.X_OK):
        return wanted
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """One headless Chromium for the whole session."""
    path = chromium_path()
    if path is None:
        reason = "Chromium is not installed (apt-get install chromium, or set CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def app_config() -> dict:
    """Real forms carry CSRF tokens; the live server answers on 127.0.0.1, not SERVER_NAME."""
    return {"WTF_CSRF_ENABLED": True, "SERVER_NAME": None}


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Serve the test app on a free local port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url
    app.config["TRUSTED_HOSTS"] = ["127.0.0.1"]
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


class PageProblems:
    """Failed responses, page errors and console errors seen while a page was driven."""

    # Chromium asks for a favicon that the app does not serve; that 404 is not a problem.
    IGNORED_PATHS = ("/favicon.ico",)

    def __init__(self, page):
        self.items: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.items.append(f"page error: {err}"))
        page.on("response", self._response)

    def _console(self, message) -> None:
        # Failed loads are reported (with their URL) by _response.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.items.append(f"console: {message.text}")

    def _response(self, response) -> None:
        if response.status >= 400 and not response.url.endswith(self.IGNORED_PATHS):
            self.items.append(f"{response.status} {response.url}")


@pytest.fixture
def page(chromium, live_server) -> Iterator:
    """A fresh browser context and page pointed at the live server.

    The test fails if any response was a 4xx or 5xx, or the console logged an error.
    """
    context = chromium.new_context(
        base_url=live_server,
        viewport={"width": 1100, "height": 800},
        locale="en-GB",
        timezone_id="Europe/Berlin",
    )
    context.set_default_timeout(5_000)
    page = context.new_page()
    problems = PageProblems(page)
    yield page
    context.close()
    assert problems.items == []
