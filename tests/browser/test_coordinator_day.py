"""A coordinator's day on a programme of the benchmark's size, in a real Chromium."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from playwright.sync_api import expect

from matching.extensions import db
from matching.models import Meeting, Proposal

pytestmark = pytest.mark.browser
BENCH = Path(__file__).resolve().parents[2] / "bench" / "web.py"


@pytest.fixture
def app_config() -> dict:
    # The round covers 1000 requests: the solver a deployment gets by default.
    return {"WTF_CSRF_ENABLED": True, "SERVER_NAME": None, "MATCH_SOLVER": "auto"}


def test_queue_round_review_bulk_approval_figures_and_csv(app, page, tmp_path):
    spec = importlib.util.spec_from_file_location("bench_web", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.seed(app, 1000, 300)

    page.goto("/login")
    page.get_by_label("E-mail").fill("coord@bench.example.org")
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

    # The figures, and their CSV.
    page.get_by_role("navigation").get_by_role("link", name="Figures").click()
    expect(page.get_by_role("heading", name="Programme figures")).to_be_visible()
    expect(page.locator(".charts img")).to_have_count(5)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the weekly figures (CSV)").click()
    text = Path(download.value.path()).read_text()
    assert text.startswith("week,requests,matched,meetings,cancelled,no_show")
