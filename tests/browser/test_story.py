"""The people's journey in one story, in a real Chromium, three people at once.

A practitioner in Berlin joins (the browser's zone is pre-selected), confirms the address
from the mail in the outbox, agrees to the consent text, fills in the profile and the
weekly times ("copy to weekdays") and asks for a listener. A coordinator runs a round
and approves. The practitioner and a listener in New York (who first agrees to the
current consent text) each see the conversation in their own zone, and how to meet
on its page. The practitioner
moves it to one of the times offered, then asks for a different listener: the request
reopens and the next round proposes nobody from before. The listener pauses, and is
told the last day of the pause.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from matching.extensions import db
from matching.models import AvailabilityWindow, Meeting, RequestExclusion, SupportRequest, User
from matching.models import now_utc as utc_now
from tests.browser.checks import LAPTOP, PHONE, page_width, sign_in
from tests.browser.conftest import PageProblems
from tests.conftest import PASSWORD
from tests.support.accounts import latest_link
from tests.support.meetings import ALL_WEEK

pytestmark = pytest.mark.browser

ANA = "ana@example.org"
ANA_PASSWORD = "a calm long passphrase"
CLOCK = "%a %d %b, %H:%M"


class People:
    """One browser context per person, each failing on any 4xx/5xx or console error."""

    def __init__(self, chromium, base_url: str):
        self.chromium, self.base_url = chromium, base_url
        self.contexts, self.problems = [], []

    def page(self, zone: str, viewport=LAPTOP):
        context = self.chromium.new_context(
            base_url=self.base_url, viewport=viewport, locale="en-US", timezone_id=zone
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        self.problems.append(PageProblems(page))
        return page

    def close(self) -> list[str]:
        for context in self.contexts:
            context.close()
        return [item for problems in self.problems for item in problems.items]


def _meeting(app, practitioner_id: int) -> Meeting:
    with app.app_context():
        meeting = db.session.scalar(
            db.select(Meeting)
            .where(Meeting.practitioner_id == practitioner_id)
            .order_by(Meeting.id.desc())
        )
        assert meeting is not None
        _ = (meeting.practitioner, meeting.listener)
        return meeting


def _local(instant, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime(CLOCK)


def test_join_meet_move_change_listener_and_pause(app, chromium, live_server, make_user):
    coordinator_id = make_user("coordinator", email="cora@example.org", name="Cora")
    leo_id = make_user(
        "listener",
        email="leo@example.org",
        name="Leo",
        timezone="America/New_York",
        windows=ALL_WEEK,
        max_sessions_per_day=4,
        max_sessions_per_week=10,
        consented=False,  # joined before the current consent text
    )
    people = People(chromium, live_server)
    try:
        # --- Ana joins on her laptop in Berlin -------------------------------------
        ana = people.page("Europe/Berlin")
        ana.goto("/")
        ana.get_by_role("link", name="Join").first.click()
        ana.locator("input[name=role][value=practitioner]").check()
        ana.get_by_label("Name to show").fill("Ana")
        ana.get_by_label("E-mail").fill(ANA)
        # The browser's own zone is chosen for her (static/timezone.js).
        expect(ana.get_by_label("Time zone")).to_have_value("Europe/Berlin")
        ana.get_by_label("Password").fill(ANA_PASSWORD)
        expect(ana.get_by_text("it is not therapy, counselling")).to_be_visible()
        ana.get_by_label("I have read this and I agree").check()
        ana.get_by_role("button", name="Create my account").click()
        expect(ana.get_by_role("heading", name="Check your e-mail")).to_be_visible()
        with app.app_context():
            user = db.session.scalar(db.select(User).where(User.email == ANA))
            ana_id, verified = user.id, user.email_verified_at
        assert verified is None
        path, _ = latest_link(app, ANA, "verification")
        ana.goto(path)
        ana.get_by_role("button", name="Confirm and continue").click()
        ana.wait_for_url("**/practitioner/profile")

        ana.get_by_label("Where you work").fill("City Hospital")
        ana.get_by_label("Your field").select_option("nursing")
        ana.get_by_label("Languages you can talk in").fill("en, de")
        ana.get_by_label("Video").check()
        ana.get_by_role("button", name="Save").click()
        ana.wait_for_url("**/practitioner/")
        # No times yet: the home page says so, with a link, and offers no request.
        missing = ana.locator("#missing")
        expect(missing).to_contain_text("Add your weekly times")
        expect(ana.get_by_role("link", name="Ask for a listener")).to_have_count(0)
        missing.get_by_role("link", name="Add your weekly times").click()

        rows = ana.locator("table.windows tbody tr")
        rows.nth(0).get_by_label("Day").select_option("Monday")
        rows.nth(0).get_by_label("From").fill("08:00")
        rows.nth(0).get_by_label("To").fill("20:00")
        rows.nth(0).get_by_role("button", name="Copy to weekdays").click()
        expect(rows.nth(4).get_by_label("Day")).to_have_value("4")  # Friday, in the page
        expect(rows.nth(4).get_by_label("To")).to_have_value("20:00")
        ana.get_by_role("button", name="Save my weekly times").click()
        expect(ana.get_by_text("Your weekly times are saved.")).to_be_visible()
        with app.app_context():
            days = db.session.scalars(
                db.select(AvailabilityWindow.weekday).where(AvailabilityWindow.user_id == ana_id)
            ).all()
        assert sorted(days) == [0, 1, 2, 3, 4]

        ana.get_by_role("link", name="Home").click()
        ana.get_by_role("link", name="Ask for a listener").click()
        ana.get_by_label("In the next few days").check()
        ana.get_by_role("button", name="Send my request").click()
        expect(ana.get_by_text("Thank you. We will look for a listener")).to_be_visible()

        # --- Cora runs a round and approves ------------------------------------------
        cora = people.page("UTC")
        sign_in(cora, "cora@example.org", PASSWORD)
        cora.get_by_role("navigation").get_by_role("link", name="Rounds").click()
        cora.get_by_role("button", name="Run a matching round").click()
        expect(cora.get_by_text("Round finished: 1 proposed")).to_be_visible()
        cora.locator("section[id^=proposal-]").first.get_by_role("button", name="Approve").click()
        expect(cora.get_by_text("Approved. The conversation is booked")).to_be_visible()
        booked = _meeting(app, ana_id)
        assert booked.listener_id == leo_id

        # --- Both see it, each in their own zone --------------------------------------
        ana.goto("/practitioner/")
        expect(ana.locator("article.meeting")).to_contain_text(
            f"{_local(booked.start_at, 'Europe/Berlin')} (Europe/Berlin)"
        )
        leo = people.page("America/New_York", viewport=PHONE)
        sign_in(leo, "leo@example.org", PASSWORD)
        leo.wait_for_url("**/consent**")  # asked for the current text before anything else
        leo.get_by_role("button", name="I have read this and I agree").click()
        leo.wait_for_url("**/listener/")
        expect(leo.locator("article.meeting")).to_contain_text(
            f"{_local(booked.start_at, 'America/New_York')} (America/New York)"
        )
        expect(leo.get_by_role("heading", name="This week")).to_be_visible()
        assert page_width(leo) <= PHONE["width"]
        # ... and how to meet, on the conversation's own page.
        assert booked.modality == "video" and booked.join_url.startswith("https://")
        for person in (ana, leo):
            person.goto(f"/meetings/{booked.id}")
            expect(person.locator("section.how-to-meet")).to_contain_text(
                f"By video: {booked.join_url}"
            )
        assert page_width(leo) <= PHONE["width"]
        ana.goto("/practitioner/")

        # --- Ana moves it to a time offered -------------------------------------------
        ana.locator("article.meeting").get_by_role("link", name="Move").click()
        choices = ana.locator("#move ul.choices button")
        expect(choices.first).to_be_visible()
        first = choices.first.inner_text()
        choices.first.click()
        expect(ana.get_by_text("The conversation has moved.")).to_be_visible()
        moved = _meeting(app, ana_id)
        assert (moved.id, moved.sequence) == (booked.id, 1)
        assert _local(moved.start_at, "Europe/Berlin") == first

        # --- ... then asks for a different listener ----------------------------------
        ana.get_by_role("link", name="I would like a different listener").click()
        expect(ana.get_by_role("heading", name="A different listener")).to_be_visible()
        expect(ana.get_by_label("I would like a different listener")).to_be_checked()
        ana.get_by_role("button", name="Cancel the conversation").click()
        expect(ana.get_by_text("we will look for a different listener")).to_be_visible()
        with app.app_context():
            meeting = db.session.get(Meeting, booked.id)
            request = db.session.get(SupportRequest, meeting.request_id)
            assert (meeting.status, request.status) == ("cancelled", "open")
            assert db.session.get(RequestExclusion, (request.id, leo_id)) is not None

        cora.get_by_role("navigation").get_by_role("link", name="Rounds").click()
        cora.get_by_role("button", name="Run a matching round").click()
        expect(cora.get_by_text("Round finished: 0 proposed")).to_be_visible()
        expect(cora.locator("section[id^=unmatched-]")).to_contain_text(
            "the only listeners who fit are excluded for this request"
        )

        # --- Leo takes a break --------------------------------------------------------
        leo.goto("/listener/")
        last = (utc_now().astimezone(ZoneInfo("America/New_York")) + timedelta(days=10)).date()
        leo.get_by_label("Pause to and including").fill(last.isoformat())
        leo.get_by_role("button", name="Pause").click()
        words = f"You are paused to and including {last:%a %-d %b}"
        expect(leo.locator(".flash.success")).to_contain_text(words)
        expect(leo.locator("main section").last).to_contain_text(words)
        assert page_width(leo) <= PHONE["width"]
        with app.app_context():
            assert db.session.get(User, leo_id).listener_profile.paused_until > utc_now()
            assert db.session.get(User, coordinator_id).role == "coordinator"
    finally:
        problems = people.close()
    assert problems == []
