"""Every page of programme events and of how to meet fits a 390 px phone, for each role."""

from __future__ import annotations

import pytest

from matching.extensions import db
from matching.models import Event, Meeting, Registration, User

pytestmark = pytest.mark.browser


def _paths(app) -> dict[str, list[str]]:
    """Demo sign-ins and the pages each should see, with the demo's own ids."""
    from matching import demo
    from matching.services import events

    with app.app_context():
        assert demo.seed()
        db.session.commit()
        workshop, seminar = db.session.scalars(
            db.select(Event).where(Event.status == "published").order_by(Event.start_at)
        ).all()[1:]
        offered = db.session.scalar(db.select(Registration).where(Registration.status == "offered"))
        waiting = db.session.scalar(
            db.select(Registration).where(Registration.status == "waitlisted")
        )
        seat = db.session.scalar(
            db.select(Registration)
            .where(Registration.status == "confirmed")
            .where(Registration.event_id == workshop.id)
        )
        meeting = db.session.scalar(db.select(Meeting).order_by(Meeting.id))
        facilitator = db.session.get(User, seminar.facilitator_id)
        offer_path = "/events/offers/" + events.offer_url(offered).rsplit("/", 1)[1]
        return {
            demo.COORDINATOR: [
                "/coordinator/events/",
                "/coordinator/events/new",
                f"/coordinator/events/{workshop.id}/edit",
                f"/coordinator/events/new?copy={workshop.id}",
                f"/events/{workshop.id}",
                f"/events/{workshop.id}/roster",
                f"/events/{seminar.id}/roster",
                f"/meetings/{meeting.id}",
            ],
            seat.user.email: ["/events/", f"/events/{workshop.id}", "/practitioner/request"],
            waiting.user.email: [f"/events/{workshop.id}"],
            offered.user.email: [offer_path, f"/events/{workshop.id}"],
            facilitator.email: [
                f"/events/{seminar.id}",
                f"/events/{seminar.id}/roster",
                "/listener/profile",
            ],
            meeting.practitioner.email: [f"/meetings/{meeting.id}"],
        }


def test_event_pages_fit_a_phone(app, chromium, live_server, tmp_path):
    from matching import demo

    paths = _paths(app)
    for email, pages in paths.items():
        context = chromium.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
        context.set_default_timeout(5_000)
        page = context.new_page()
        try:
            page.goto("/login")
            page.get_by_label("E-mail").fill(email)
            page.get_by_label("Password").fill(demo.PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
            for path in pages:
                answer = page.goto(path)
                assert answer.status == 200, (email, path)
                width = page.evaluate("document.documentElement.scrollWidth")
                name = path.strip("/").replace("/", "-").replace("?", "-")[:60]
                page.screenshot(path=tmp_path / f"phone-{name}.png", full_page=True)
                assert width <= 390, f"{path} is {width} px wide for {email}"
        finally:
            context.close()
