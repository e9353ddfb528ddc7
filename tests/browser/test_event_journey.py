"""A workshop with one seat, in a real Chromium: publish, register, wait, withdraw,
take the offered seat from the mail link, and find the workshop in the calendar feed."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from playwright.sync_api import expect

from matching.extensions import db
from matching.models import Event, OutboxMessage, Registration
from tests.browser.conftest import PageProblems
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, email: str, lands_on: str) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{lands_on}")


@pytest.fixture
def second_page(chromium, live_server):
    """Another person's browser, with the same checks as `page`."""
    opened = []

    def make():
        context = chromium.new_context(
            base_url=live_server, viewport={"width": 1100, "height": 800}, locale="en-GB"
        )
        context.set_default_timeout(5_000)
        page = context.new_page()
        opened.append((context, PageProblems(page)))
        return page

    yield make
    for context, problems in opened:
        context.close()
        assert problems.items == []


def test_a_one_seat_workshop_from_publishing_to_the_feed(
    app, page, second_page, make_user, tmp_path
):
    make_user("coordinator", email="cora@example.org", name="Cora", timezone="Europe/Berlin")
    make_user("practitioner", email="ana@example.org", name="Ana Alpha", timezone="Europe/Berlin")
    make_user("practitioner", email="ben@example.org", name="Ben Beta", timezone="Europe/London")

    # The coordinator publishes a workshop with one seat.
    sign_in(page, "cora@example.org", "/coordinator/")
    page.get_by_role("navigation").get_by_role("link", name="Events").click()
    page.get_by_role("link", name="New event").click()
    start = (datetime.now(UTC) + timedelta(days=9)).astimezone(ZoneInfo("Europe/Berlin"))
    start = start.replace(hour=18, minute=0, second=0, microsecond=0, tzinfo=None)
    page.get_by_label("Kind").select_option("workshop")
    page.get_by_label("Title").fill("Holding steady")
    page.get_by_label("Time zone of these times").select_option("Europe/Berlin")
    page.get_by_label("Starts", exact=True).fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Ends", exact=True).fill(
        (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_label("Online (video link)").check()
    page.get_by_label("Video link (https://…) or place").fill("https://meet.example.org/steady")
    page.get_by_label("Seats").fill("1")
    page.get_by_label("Practitioners").check()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("The event is published.")).to_be_visible()
    page.screenshot(path=tmp_path / "event-published.png", full_page=True)

    # Ana registers and gets the seat; Ben registers and waits.
    ana = second_page()
    sign_in(ana, "ana@example.org", "/practitioner/")
    ana.get_by_role("navigation").get_by_role("link", name="Events").click()
    expect(ana.get_by_text("1 of 1 seats left")).to_be_visible()
    ana.get_by_role("link", name="Holding steady").click()
    ana.get_by_role("button", name="Register").click()
    expect(ana.get_by_text("You have a seat. The invitation is on its way")).to_be_visible()

    ben = second_page()
    sign_in(ben, "ben@example.org", "/practitioner/")
    ben.goto("/events/")
    ben.get_by_role("link", name="Holding steady").click()
    ben.get_by_role("button", name="Join the waiting list").click()
    expect(ben.get_by_text("On the waiting list: number 1.")).to_be_visible()

    # Ana withdraws: the seat is offered to Ben by mail.
    ana.get_by_role("button", name="Withdraw").click()
    expect(ana.get_by_text("You are no longer registered.")).to_be_visible()
    with app.app_context():
        [offer] = db.session.scalars(
            db.select(OutboxMessage).where(
                OutboxMessage.recipient == "ben@example.org", OutboxMessage.kind == "offer"
            )
        ).all()
        link = next(
            line.strip() for line in offer.text_body.splitlines() if "/events/offers/" in line
        )

    # Ben follows the link in the mail and takes the seat.
    ben.goto(link)
    expect(ben.get_by_text("A seat has come free and it is yours")).to_be_visible()
    ben.get_by_role("button", name="Take the seat").click()
    expect(ben.get_by_text("The seat is yours.")).to_be_visible()
    expect(ben.get_by_text("https://meet.example.org/steady")).to_be_visible()
    ben.screenshot(path=tmp_path / "event-seat-taken.png", full_page=True)

    # ... and sees the workshop in his private calendar feed.
    ben.get_by_role("navigation").get_by_role("link", name="Calendar").click()
    ben.get_by_role("button", name="Make an address").click()
    feed_url = ben.get_by_label("Calendar address").input_value()
    with urllib.request.urlopen(feed_url, timeout=30) as answer:  # noqa: S310 - the live server
        feed = icalendar.Calendar.from_ical(answer.read())
    with app.app_context():
        event = db.session.scalar(db.select(Event))
        seat = db.session.scalar(db.select(Registration).where(Registration.status == "confirmed"))
        assert seat.user.email == "ben@example.org"
    [entry] = feed.walk("VEVENT")
    assert (str(entry["UID"]), str(entry["STATUS"])) == (seat.uid, "CONFIRMED")
    assert str(entry["SUMMARY"]) == "Group session — Alongside"
    assert entry.decoded("DTSTART") == event.start_at
