"""A coordinator's day on a programme of the benchmark's size, in a real Chromium."""

from __future__ import annotations

import importlib.util
import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from matching.extensions import db
from matching.models import AuditEvent, Meeting, Proposal, User, now_utc

pytestmark = pytest.mark.browser
BENCH = Path(__file__).resolve().parents[2] / "bench" / "web.py"
COORD = "coord@bench.example.org"


@pytest.fixture
def app_config() -> dict:
    # The round covers 1000 requests: the solver a deployment gets by default.
    return {"WTF_CSRF_ENABLED": True, "SERVER_NAME": None, "MATCH_SOLVER": "auto"}


def test_queue_round_review_bulk_approval_pairing_figures_and_csv(app, page, tmp_path):
    spec = importlib.util.spec_from_file_location("bench_web", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.seed(app, 1000, 300)

    page.goto("/login")
    page.get_by_label("E-mail").fill(COORD)
    page.get_by_label("Password").fill(bench.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/coordinator/")
    expect(page.get_by_text("1001 open requests")).to_be_visible()

    # The queue: urgent first, waiting time in words, filtered.
    page.get_by_role("navigation").get_by_role("link", name="Queue").click()
    first = page.locator("tbody tr").first
    expect(first.locator(".tag")).to_have_text("urgent")
    expect(first).to_contain_text("waiting")
    page.get_by_label("Urgency").select_option("urgent")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("tbody .tag.routine")).to_have_count(0)

    # A round over the whole programme, then the urgent proposals waiting.
    page.get_by_role("navigation").get_by_role("link", name="Rounds").click()
    page.get_by_role("button", name="Run a matching round").click()
    expect(page.get_by_text("Round finished:")).to_be_visible(timeout=60_000)
    page.get_by_role("link", name="Waiting for you").click()
    page.get_by_label("Urgency").select_option("urgent")
    page.get_by_role("button", name="Show").click()
    rows = page.locator("section[id^=proposal-]")
    expect(rows).to_have_count(25)
    expect(page.locator("section[id^=proposal-] .tag.routine")).to_have_count(0)
    chosen = [rows.nth(i).get_attribute("id").removeprefix("proposal-") for i in range(20)]
    for i in range(20):
        rows.nth(i).get_by_role("checkbox").check()
    page.get_by_role("button", name="Approve selected").click()
    expect(page.get_by_text("Approved 20.")).to_be_visible()
    page.screenshot(path=tmp_path / "round-after-bulk.png", full_page=True)
    with app.app_context():
        approved = db.session.scalars(
            db.select(Proposal.id)
            .where(Proposal.id.in_([int(c) for c in chosen]))
            .where(Proposal.status == "approved")
        ).all()
        assert len(approved) == 20
        assert db.session.scalar(db.select(db.func.count()).select_from(Meeting)) >= 20

    # The first urgent request of the queue, paired by hand at a time too soon for the
    # rules: the notice rule is set aside, with a note, and the conversation is booked.
    page.get_by_role("navigation").get_by_role("link", name="Queue").click()
    # The urgent ones still open all speak Polish, which no listener speaks: take one with
    # a proposal waiting instead (pairing it by hand withdraws that proposal).
    page.get_by_label("Status").select_option("proposed")
    page.get_by_label("Urgency").select_option("urgent")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name=re.compile(r"^Pair by hand: ")).first.click()
    expect(page.get_by_role("heading", name="Pair by hand")).to_be_visible()
    request_id = int(re.search(r"/requests/(\d+)/pair", page.url).group(1))
    page.get_by_role("link", name=re.compile(r"^Choose ")).first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^2\. Choose a time with"))).to_be_visible()
    with app.app_context():
        zone = ZoneInfo(db.session.scalar(db.select(User.timezone).where(User.email == COORD)))
    soon = (now_utc() + timedelta(hours=3)).astimezone(zone)
    page.get_by_label("Date", exact=True).fill(soon.strftime("%Y-%m-%d"))
    page.get_by_label("Time", exact=True).fill(soon.strftime("%H:%M"))
    page.get_by_role("button", name="Check this time").click()
    expect(page.get_by_text("Less than 24 hours from now").first).to_be_visible()
    boxes = page.locator('input[name="override"]')
    expect(boxes.first).to_be_visible()
    for i in range(boxes.count()):
        boxes.nth(i).check()
    page.get_by_label(re.compile(r"^Why")).fill("Urgent; both can talk this afternoon.")
    page.screenshot(path=tmp_path / "pair-by-hand.png", full_page=True)
    page.get_by_role("button", name="Pair with override").click()
    expect(page.get_by_text("Paired. The conversation is booked")).to_be_visible()
    expect(page.locator("section[id^=meeting-]")).to_have_count(1)
    with app.app_context():
        [meeting] = db.session.scalars(
            db.select(Meeting).where(Meeting.request_id == request_id)
        ).all()
        assert meeting.status == "scheduled"
        event = db.session.scalar(
            db.select(AuditEvent)
            .where(AuditEvent.action == "request.paired")
            .where(AuditEvent.subject_id == request_id)
        )
        assert "notice" in event.data["overridden"]
        assert (
            db.session.scalar(
                db.select(db.func.count())
                .select_from(Proposal)
                .where(Proposal.request_id == request_id)
                .where(Proposal.status == "pending")
            )
            == 0
        )
        assert event.data["note"] == "Urgent; both can talk this afternoon."

    # The figures, and their CSV.
    page.get_by_role("navigation").get_by_role("link", name="Figures").click()
    expect(page.get_by_role("heading", name="Programme figures")).to_be_visible()
    expect(page.locator(".charts img")).to_have_count(5)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the weekly figures (CSV)").click()
    text = Path(download.value.path()).read_text()
    assert text.startswith("week,requests,matched,meetings,cancelled,no_show")
