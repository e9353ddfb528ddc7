"""The coordinator's pages fit a 390 px phone without sideways scrolling, on the demo."""

from __future__ import annotations

import pytest

from matching.extensions import db
from matching.models import MatchingRound, SupportRequest

pytestmark = pytest.mark.browser


def test_every_coordinator_page_fits_a_phone(app, chromium, live_server, tmp_path):
    from matching import demo

    with app.app_context():
        assert demo.seed()
        db.session.commit()
        round_id = db.session.scalar(db.select(db.func.max(MatchingRound.id)))
        request_id = db.session.scalar(db.select(db.func.min(SupportRequest.id)))
    context = chromium.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    context.set_default_timeout(5_000)
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_label("E-mail").fill(demo.COORDINATOR)
        page.get_by_label("Password").fill(demo.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/coordinator/")
        for path in (
            "/coordinator/",
            "/coordinator/queue",
            f"/coordinator/requests/{request_id}",
            "/coordinator/listeners",
            "/coordinator/rounds",
            f"/coordinator/rounds/{round_id}",
            "/coordinator/reports",
        ):
            answer = page.goto(path)
            assert answer.status == 200, path
            page.locator("details").evaluate_all("(all) => all.forEach((d) => (d.open = true))")
            width = page.evaluate("document.documentElement.scrollWidth")
            name = path.strip("/").replace("/", "-") or "overview"
            page.screenshot(path=tmp_path / f"phone-{name}.png", full_page=True)
            assert width <= 390, f"{path} is {width} px wide"
    finally:
        context.close()
