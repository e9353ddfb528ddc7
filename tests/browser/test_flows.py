"""Whole journeys in a real Chromium: practitioner, listener and coordinator."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from matching.extensions import db
from matching.models import AvailabilityWindow, SupportRequest, User
from tests.conftest import PASSWORD
from tests.support.accounts import latest_link

pytestmark = pytest.mark.browser


def user_by_email(app, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        assert user is not None, f"no account for {email}"
        _ = user.profile
        return user


def register(app, page, *, role: str, name: str, email: str, zone: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Join").first.click()
    expect(page.get_by_role("heading", name="Join Alongside")).to_be_visible()
    page.locator(f"input[name=role][value={role}]").check()
    page.get_by_label("Name to show").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Time zone").select_option(zone)
    page.get_by_label("Password").fill("a calm long passphrase")
    page.get_by_label("I have read this and I agree").check()
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    path, _ = latest_link(app, email, "verification")
    page.goto(path)
    page.get_by_role("button", name="Confirm and continue").click()
    page.wait_for_url(f"**/{role}/profile")


def test_practitioner_registers_sets_times_and_asks_for_a_listener(app, page, tmp_path):
    register(
        app, page, role="practitioner", name="Ana", email="ana@example.org", zone="Europe/Berlin"
    )

    page.get_by_label("Where you work").fill("City Hospital")
    page.get_by_label("Your field").select_option("nursing")
    page.get_by_label("Languages you can talk in").fill("en, de")
    page.get_by_label("Video").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/practitioner/")
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Hello, Ana")).to_be_visible()

    page.get_by_role("link", name="My times").click()
    expect(page.get_by_text("Europe/Berlin")).to_be_visible()
    rows = page.locator("table.windows tbody tr")
    rows.nth(0).get_by_label("Day").select_option("Monday")
    rows.nth(0).get_by_label("From").fill("09:00")
    rows.nth(0).get_by_label("To").fill("12:00")
    rows.nth(1).get_by_label("Day").select_option("Friday")
    rows.nth(1).get_by_label("From").fill("22:00")
    rows.nth(1).get_by_label("To").fill("02:00")
    page.get_by_role("button", name="Save my weekly times").click()
    expect(page.get_by_text("Your weekly times are saved.")).to_be_visible()
    expect(rows.nth(1).get_by_label("From")).to_have_value("22:00")
    expect(rows.nth(1).get_by_label("To")).to_have_value("02:00")

    page.get_by_role("link", name="Home").click()
    page.get_by_role("link", name="Ask for a listener").click()
    page.get_by_label("As soon as possible").check()
    page.get_by_label("Topics").fill("night shifts")
    page.get_by_role("button", name="Send my request").click()
    page.wait_for_url("**/practitioner/")
    crisis = page.locator(".flash.crisis")
    expect(crisis).to_contain_text("call your local emergency number")
    expect(page.get_by_text("looking for a listener")).to_be_visible()
    expect(page.get_by_role("button", name="Withdraw my request")).to_be_visible()
    page.screenshot(path=tmp_path / "practitioner-dashboard.png", full_page=True)

    user = user_by_email(app, "ana@example.org")
    assert (user.role, user.timezone) == ("practitioner", "Europe/Berlin")
    assert user.practitioner_profile.languages == ["en", "de"]
    with app.app_context():
        windows = db.session.scalars(
            db.select(AvailabilityWindow)
            .where(AvailabilityWindow.user_id == user.id)
            .order_by(AvailabilityWindow.weekday)
        ).all()
        assert [(w.weekday, w.start_local, w.end_local) for w in windows] == [
            (0, time(9), time(12)),
            (4, time(22), time(2)),
        ]
        [req] = db.session.scalars(
            db.select(SupportRequest).where(SupportRequest.practitioner_id == user.id)
        ).all()
        assert (req.status, req.urgency, req.topics) == ("open", "urgent", ["night shifts"])


def test_listener_registers_fills_the_profile_pauses_and_resumes(app, page, tmp_path):
    register(
        app, page, role="listener", name="Lena", email="lena@example.org", zone="Europe/Warsaw"
    )

    page.get_by_label("Where you work or volunteer").fill("Helpline North")
    page.get_by_label("Crisis line").check()
    page.get_by_label("Languages you can listen in").fill("pl, en")
    page.get_by_label("Phone").check()
    page.get_by_label("At most this many conversations a week").fill("3")
    page.get_by_label("At most this many a day").select_option("2")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/listener/")
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    expect(page.get_by_text("A coordinator will verify your training")).to_be_visible()

    until = datetime.now(UTC).date() + timedelta(days=7)
    page.get_by_label("Pause to and including").fill(until.isoformat())
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("main section").last).to_contain_text(
        f"You are paused to and including {until:%a %-d %b}"
    )
    page.screenshot(path=tmp_path / "listener-paused.png", full_page=True)
    user = user_by_email(app, "lena@example.org")
    assert user.listener_profile.paused_until > datetime.now(UTC)

    page.get_by_role("button", name="Resume now").click()
    expect(page.get_by_text("Welcome back. You can be matched again.")).to_be_visible()
    expect(page.get_by_role("button", name="Pause")).to_be_visible()

    user = user_by_email(app, "lena@example.org")
    prof = user.listener_profile
    assert prof.paused_until is None
    assert (prof.fields, prof.languages, prof.modalities) == (
        ["crisis_line"],
        ["pl", "en"],
        ["phone"],
    )
    assert (prof.max_sessions_per_week, prof.max_sessions_per_day) == (3, 2)


def test_coordinator_signs_in_and_verifies_a_listener(app, page, make_user, tmp_path):
    make_user("coordinator", email="coord@example.org", name="Cora")
    make_user("listener", email="lena@example.org", name="Lena", verified=False)
    make_user("listener", name="Omar", verified=True)

    page.goto("/login")
    page.get_by_label("E-mail").fill("coord@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/coordinator/")

    page.get_by_role("navigation").get_by_role("link", name="Listeners").click()
    lena = page.get_by_role("row").filter(has_text="Lena")
    expect(lena).to_contain_text("not verified")
    valid_until = datetime.now(UTC).date() + timedelta(days=365)
    lena.get_by_label("Training valid until for Lena").fill(valid_until.isoformat())
    lena.get_by_role("button", name="Verify").click()

    expect(page.get_by_text("Listener verified.")).to_be_visible()
    lena = page.get_by_role("row").filter(has_text="Lena")
    expect(lena).to_contain_text(f"verified until {valid_until.isoformat()}")
    expect(lena.get_by_role("button", name="Renew")).to_be_visible()
    page.screenshot(path=tmp_path / "coordinator-listeners.png", full_page=True)

    lp = user_by_email(app, "lena@example.org").listener_profile
    assert lp.verified_at is not None
    assert lp.training_valid_until == valid_until


def test_coordinator_runs_a_round_on_the_demo_reads_why_and_approves(app, page, tmp_path):
    from matching import demo
    from matching.models import Meeting, OutboxMessage, Proposal

    with app.app_context():
        assert demo.seed()
        db.session.commit()

    page.goto("/login")
    page.get_by_label("E-mail").fill(demo.COORDINATOR)
    page.get_by_label("Password").fill(demo.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/coordinator/")

    page.get_by_role("navigation").get_by_role("link", name="Rounds").click()
    page.get_by_role("button", name="Run a matching round").click()
    expect(page.get_by_text("Round finished:")).to_be_visible()

    # Why each pair was proposed, and why the rest were not.
    proposals = page.locator("section[id^=proposal-]")
    expect(proposals.first).to_be_visible()
    first = proposals.first
    reasons = first.locator("ul.reasons li").all_inner_texts()
    assert reasons, "a proposal shows no reasons"
    assert any(text.startswith("earliest shared time") for text in reasons), reasons
    waiting = page.locator("section[id^=unmatched-]")
    expect(waiting.filter(has_text="no verified listener speaks Polish")).to_have_count(1)
    expect(waiting.filter(has_text="only listeners from your own organisation fit")).to_have_count(
        1
    )
    page.screenshot(path=tmp_path / "coordinator-round.png", full_page=True)

    proposal_id = int(first.get_attribute("id").removeprefix("proposal-"))
    first.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Approved. The conversation is booked")).to_be_visible()
    expect(page.locator(f"#proposal-{proposal_id}")).to_contain_text("Approved.")

    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        meeting = db.session.scalar(
            db.select(Meeting).where(Meeting.request_id == proposal.request_id)
        )
        assert meeting is not None
        assert (meeting.listener_id, meeting.start_at) == (proposal.listener_id, proposal.start_at)
        invites = db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.meeting_id == meeting.id)
        ).all()
        assert sorted(m.kind for m in invites) == ["invite", "invite"]
