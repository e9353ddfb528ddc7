"""Every page of every role, on a laptop and on a phone, over the demo programme.

The pages are read from the app's own URL map: every GET route that is not the API must
be listed in PAGES (who visits it, and the path with sample values) or in NOT_PAGES (why
it is no page), so a page added later fails here until it is visited too. Each visit,
at 1280 px and at 390 px: the document is no wider than the window (no sideways
scrolling), and axe-core finds no serious or critical violation. The README's
screenshots are written on the way (docs/screenshots/) when WRITE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from matching import demo
from matching.extensions import db
from matching.models import (
    Event,
    MatchingRound,
    Meeting,
    Registration,
    SupportRequest,
    User,
    now_utc,
)
from matching.services import accounts, events, verification
from tests.browser.checks import (
    LAPTOP,
    PHONE,
    axe_violations,
    blocking,
    open_all_details,
    page_width,
    sign_in,
)
from tests.browser.conftest import PageProblems

ANONYMOUS, PRACTITIONER, LISTENER, COORDINATOR = (
    "anonymous",
    "practitioner",
    "listener",
    "coordinator",
)
# A practitioner of the demo who holds the offer of a freed workshop seat.
OFFERED = "offered"
PEOPLE = (PRACTITIONER, LISTENER)
SIGNED_IN = (PRACTITIONER, LISTENER, COORDINATOR)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# endpoint -> (the roles that visit it, its path; {names} come from the samples below)
PAGES = {
    "public.index": ((ANONYMOUS,), "/"),
    "auth.login": ((ANONYMOUS,), "/login"),
    "auth.register": ((ANONYMOUS,), "/register"),
    "auth.check_email": ((ANONYMOUS,), "/check-email"),
    "auth.verify": ((ANONYMOUS,), "/verify/{verify_token}"),
    "auth.password_reset": ((ANONYMOUS,), "/password-reset"),
    "auth.reset": ((ANONYMOUS,), "/reset/{reset_token}"),
    "auth.closed": ((ANONYMOUS,), "/account/closed"),
    "auth.password": (SIGNED_IN, "/account/password"),
    "account.consent": (SIGNED_IN, "/consent"),
    "account.settings": (SIGNED_IN, "/account/settings"),
    "account.export": (SIGNED_IN, "/account/export"),
    "account.close": (SIGNED_IN, "/account/delete"),
    "practitioner.dashboard": ((PRACTITIONER,), "/practitioner/"),
    "practitioner.profile": ((PRACTITIONER,), "/practitioner/profile"),
    "practitioner.availability": ((PRACTITIONER,), "/practitioner/availability"),
    "practitioner.new_request": ((PRACTITIONER,), "/practitioner/request"),
    "listener.dashboard": ((LISTENER,), "/listener/"),
    "listener.profile": ((LISTENER,), "/listener/profile"),
    "listener.availability": ((LISTENER,), "/listener/availability"),
    "meetings.index": (SIGNED_IN, "/meetings/"),
    "meetings.show": (SIGNED_IN, "/meetings/{meeting_id}"),
    "meetings.confirm_cancel": (SIGNED_IN, "/meetings/{meeting_id}/cancel"),
    "meetings.calendar": (SIGNED_IN, "/meetings/calendar"),
    "meetings.outbox.failed": ((COORDINATOR,), "/coordinator/outbox/"),
    "coordinator.dashboard": ((COORDINATOR,), "/coordinator/"),
    "coordinator.queue": ((COORDINATOR,), "/coordinator/queue"),
    "coordinator.request_detail": ((COORDINATOR,), "/coordinator/requests/{request_id}"),
    # With a listener chosen and a typed time that breaks overridable rules (far ahead, at
    # night): the free times, the rules, the boxes and the note are all on the page.
    "coordinator.pair": (
        (COORDINATOR,),
        "/coordinator/requests/{open_request_id}/pair?listener={listener_id}"
        "&date={far_day}&time=03:00",
    ),
    "coordinator.listeners": ((COORDINATOR,), "/coordinator/listeners"),
    "coordinator.rounds": ((COORDINATOR,), "/coordinator/rounds"),
    "coordinator.round_detail": ((COORDINATOR,), "/coordinator/rounds/{round_id}"),
    "coordinator.reports": ((COORDINATOR,), "/coordinator/reports"),
    "coordinator.audit": ((COORDINATOR,), "/coordinator/audit"),
    "events.index": (SIGNED_IN, "/events/"),
    "events.show": (SIGNED_IN, "/events/{event_id}"),
    "events.offer": ((OFFERED,), "/events/offers/{offer_token}"),
    "events.roster": ((COORDINATOR,), "/events/{event_id}/roster"),
    "events.admin.manage": ((COORDINATOR,), "/coordinator/events/"),
    "events.admin.new": ((COORDINATOR,), "/coordinator/events/new"),
    "events.admin.edit": ((COORDINATOR,), "/coordinator/events/{event_id}/edit"),
}
# GET routes outside /api/ that are no page: files, images and machine answers.
NOT_PAGES = {
    "static": "our CSS and scripts",
    "public.health": "JSON for load balancers",
    "feed.calendar": "the private calendar feed (.ics)",
    "meetings.invite": "a calendar file (.ics)",
    "events.invite": "a calendar file (.ics)",
    "account.export_file": "a JSON download",
    "coordinator.chart": "an SVG image inside the Figures page",
    "coordinator.programme_csv": "a CSV download",
}
# Screenshots for the README: (role, path, file, width).
SHOTS = (
    (PRACTITIONER, "/practitioner/", "practitioner-home.png", LAPTOP),
    (LISTENER, "/listener/", "listener-home.png", LAPTOP),
    (COORDINATOR, "/coordinator/", "coordinator-home.png", LAPTOP),
    (PRACTITIONER, "/meetings/{meeting_id}", "meeting.png", LAPTOP),
    (PRACTITIONER, "/meetings/{meeting_id}", "phone-meeting.png", PHONE),
)


def page_routes(app) -> dict[str, str]:
    """endpoint -> rule of every GET route outside the API."""
    return {
        rule.endpoint: rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.rule.startswith("/api/")
    }


def test_every_page_route_is_visited_or_said_to_be_no_page(app):
    routes = page_routes(app)
    unlisted = sorted(set(routes) - set(PAGES) - set(NOT_PAGES))
    assert unlisted == [], (
        "add these GET routes to PAGES (with sample values) or NOT_PAGES: "
        + ", ".join(f"{e} {routes[e]}" for e in unlisted)
    )
    gone = sorted((set(PAGES) | set(NOT_PAGES)) - set(routes))
    assert gone == [], f"no longer routes: {gone}"


def _samples(app) -> tuple[dict, dict]:
    """The demo's people for each role, and sample values for the paths."""
    with app.app_context():
        assert demo.seed()
        db.session.commit()
        practitioner = accounts.find_by_email(demo.practitioner_email())
        listener = accounts.find_by_email(demo.listener_email())
        meeting = db.session.scalar(
            db.select(Meeting)
            .where(Meeting.practitioner_id == practitioner.id)
            .where(Meeting.status == "scheduled")
        )
        assert meeting is not None and meeting.listener_id == listener.id
        # A newcomer's link, and a reset link of the practitioner: both still unused.
        newcomer = User(
            email="newcomer@example.org",
            password_hash=practitioner.password_hash,
            role="listener",
            display_name="Newcomer",
        )
        db.session.add(newcomer)
        db.session.flush()
        # The demo's seminar is open to both roles; its workshop has a seat on offer.
        seminar = db.session.scalar(db.select(Event).where(Event.kind == "seminar"))
        offered = db.session.scalar(db.select(Registration).where(Registration.status == "offered"))
        assert seminar is not None and offered is not None
        samples = {
            "event_id": seminar.id,
            "offer_token": events.offer_url(offered).rsplit("/", 1)[1],
            "meeting_id": meeting.id,
            "request_id": db.session.scalar(db.select(db.func.min(SupportRequest.id))),
            "round_id": db.session.scalar(db.select(db.func.max(MatchingRound.id))),
            "open_request_id": db.session.scalar(
                db.select(db.func.min(SupportRequest.id)).where(SupportRequest.status == "open")
            ),
            "listener_id": listener.id,
            "far_day": (now_utc() + timedelta(days=40)).date().isoformat(),
            "verify_token": verification.issue(newcomer, verification.VERIFY),
            "reset_token": verification.issue(practitioner, verification.RESET),
        }
        assert samples["open_request_id"] is not None, "the demo needs a request to pair by hand"
        people = {
            PRACTITIONER: practitioner.email,
            LISTENER: listener.email,
            COORDINATOR: demo.COORDINATOR,
            OFFERED: offered.user.email,
        }
        db.session.commit()
    return people, samples


def _check(page, path: str, width: dict, found: list[str]) -> None:
    page.set_viewport_size(width)
    open_all_details(page)
    wide = page_width(page)
    if wide > width["width"]:
        found.append(f"{path} at {width['width']} px is {wide} px wide")
    title = page.title()
    if not title.endswith(" · Alongside") or "<" in title or len(title) > 100:
        found.append(f"{path}: the title is not a short plain name: {title[:120]!r}")
    for v in blocking(axe_violations(page)):
        found.append(
            f"{path} at {width['width']} px: {v['impact']} {v['id']} ({v['help']}) {v['nodes']}"
        )


@pytest.mark.browser
def test_every_page_fits_a_phone_and_passes_axe(app, chromium, live_server):
    people, samples = _samples(app)
    found: list[str] = []
    visited: set[str] = set()
    for role in (ANONYMOUS, *SIGNED_IN, OFFERED):
        context = chromium.new_context(
            base_url=live_server, viewport=LAPTOP, locale="en-US", timezone_id="America/New_York"
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        problems = PageProblems(page)
        try:
            if role != ANONYMOUS:
                sign_in(page, people[role], demo.PASSWORD)
            for endpoint, (roles, template) in PAGES.items():
                if role not in roles:
                    continue
                path = template.format(**samples)
                answer = page.goto(path)
                if answer is None or answer.status != 200:
                    found.append(f"{role} {path}: {answer.status if answer else 'no answer'}")
                    continue
                visited.add(endpoint)
                for width in (LAPTOP, PHONE):
                    _check(page, path, width, found)
            for shot_role, template, name, width in SHOTS:
                # Only on request, so a test run leaves the tracked images as they are.
                if shot_role == role and os.environ.get("WRITE_SCREENSHOTS") == "1":
                    page.set_viewport_size(width)
                    page.goto(template.format(**samples))
                    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=SCREENSHOTS / name, full_page=True)
        finally:
            context.close()
        found.extend(f"{role}: {item}" for item in problems.items)
    assert visited == set(PAGES), sorted(set(PAGES) - visited)
    assert found == [], "\n".join(found)


@pytest.mark.browser
def test_the_checks_see_what_they_look_for(chromium):
    """A field without a label and a too-wide block are caught: the sweep is not vacuous."""
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.set_content(
            '<html lang="en"><head><title>t</title></head><body><main>'
            '<input type="text"><div style="width: 600px">wide</div></main></body></html>'
        )
        assert "label" in {v["id"] for v in blocking(axe_violations(page))}
        assert page_width(page) > PHONE["width"]
    finally:
        context.close()
