"""The coordinator's pages at any size: queue, request, roster, overview, figures, bulk approval."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from matching.extensions import db
from matching.models import (
    AuditEvent,
    ListenerProfile,
    MatchingRound,
    Meeting,
    Proposal,
    SupportRequest,
    now_utc,
)
from matching.services import reports
from tests.support.programme import Programme

NOTE = "Hard week; a colleague died."


@pytest.fixture
def coordinator(app, make_user, login):
    uid = make_user("coordinator", email="cora@example.org", name="Cora")
    assert login("cora@example.org").status_code == 302
    return uid


@pytest.fixture
def programme(app):
    return Programme(app)


def same_queries(client, count_queries, path: str) -> int:
    client.get(path)  # warm up: the first request loads extras
    with count_queries() as counted:
        r = client.get(path)
    assert r.status_code == 200, r.text[:500]
    return counted["n"]


# --- queue and request page ----------------------------------------------------------


def test_the_queue_page_lists_urgent_first_with_waiting_words(client, coordinator, programme):
    routine = programme.requests(2)
    urgent = programme.requests(1, urgency="urgent")
    page = client.get("/coordinator/queue").text
    assert page.index(f'id="request-{urgent[0]}"') < page.index(f'id="request-{routine[0]}"')
    assert "waiting 3 days" in page
    assert "3 open requests" in page
    filtered = client.get("/coordinator/queue?urgency=urgent").text
    assert f'id="request-{routine[0]}"' not in filtered
    assert "1 open request," in filtered
    assert client.get("/coordinator/queue?cursor=bogus").status_code == 400
    # Unknown filter values fall back calmly.
    assert client.get("/coordinator/queue?status=nope&urgency=x&language=123").status_code == 200


def test_the_queue_pages_through_many_requests(client, coordinator, programme):
    ids = programme.requests(120)
    first = client.get("/coordinator/queue").text
    assert first.count('id="request-') == 50
    seen = set()
    path = "/coordinator/queue"
    while path:
        text = client.get(path).text
        seen |= {int(part.split('"')[0]) for part in text.split('id="request-')[1:]}
        marker = 'href="/coordinator/queue?cursor='
        path = None
        if marker in text:
            path = "/coordinator/queue?cursor=" + text.split(marker)[1].split('"')[0]
            path = path.replace("&amp;", "&")
    assert seen == set(ids)


def test_a_request_page_shows_the_note_history_and_feedback_and_audits_the_note(
    app, client, coordinator, programme
):
    [listener] = programme.listeners(1)
    [request_id] = programme.requests(1, note=NOTE)
    [meeting_id] = programme.meetings([request_id], listener, ratings=[4])
    page = client.get(f"/coordinator/requests/{request_id}").text
    assert NOTE in page
    assert f'id="meeting-{meeting_id}"' in page
    assert "The practitioner rated it 4 of 5: “comment 0”" in page
    with app.app_context():
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "request.note_viewed")
        )
        assert (event.subject_type, event.subject_id, event.actor_id) == (
            "support_request",
            request_id,
            coordinator,
        )
        assert "colleague" not in event.summary + str(event.data)
    client.get(f"/coordinator/requests/{request_id}")
    with app.app_context():
        viewed = db.select(db.func.count()).where(AuditEvent.action == "request.note_viewed")
        assert db.session.scalar(viewed) == 2
    assert client.get("/coordinator/requests/9999").status_code == 404


def test_a_request_without_a_note_writes_no_audit_event(app, client, coordinator, programme):
    [request_id] = programme.requests(1)
    assert client.get(f"/coordinator/requests/{request_id}").status_code == 200
    with app.app_context():
        viewed = db.select(db.func.count()).where(AuditEvent.action == "request.note_viewed")
        assert db.session.scalar(viewed) == 0


@pytest.mark.parametrize("role", ["practitioner", "listener"])
@pytest.mark.parametrize(
    "path",
    [
        "/coordinator/queue",
        "/coordinator/requests/1",
        "/coordinator/reports",
        "/coordinator/reports/requests.svg",
        "/coordinator/reports/programme.csv",
    ],
)
def test_other_roles_cannot_open_coordinator_pages(client, make_user, login, role, path):
    make_user(role, email=f"{role}@example.org")
    login(f"{role}@example.org")
    assert client.get(path).status_code == 403


def test_signed_out_visitors_cannot_approve_many(client):
    assert client.post("/coordinator/rounds/1/approve").status_code in (302, 401)


# --- roster and overview -------------------------------------------------------------


def test_the_roster_and_overview_count_every_listener_past_200(client, coordinator, programme):
    programme.listeners(230)
    programme.listeners(3, verified_at=None, training_valid_until=None)
    overview = client.get("/coordinator/").text
    assert "<strong>233</strong> listeners" in overview
    assert "3 waiting for verification" in overview
    roster = client.get("/coordinator/listeners").text
    assert "233 listeners" in roster
    names = set()
    page = 1
    while True:
        text = client.get(f"/coordinator/listeners?page={page}").text
        names |= {part.split("<")[0] for part in text.split('<td data-label="Name">')[1:]}
        if "Next page</a>" not in text:
            break
        page += 1
    assert len(names) == 233


def test_the_roster_searches_and_flags(app, client, coordinator, programme, make_user):
    soon = now_utc().date() + timedelta(days=10)
    make_user("listener", name="Zofia Nowak", email="zofia@example.org", languages=["pl"])
    make_user("listener", name="Ada", organization="Harbour Care")
    expiring = make_user("listener", name="Eve Expiring")
    paused = make_user("listener", name="Paul Paused")
    with app.app_context():
        db.session.get(ListenerProfile, expiring).training_valid_until = soon
        db.session.get(ListenerProfile, paused).paused_until = now_utc() + timedelta(days=5)
        db.session.commit()
    for term, name in [
        ("zofia@", "Zofia"),
        ("pl", "Zofia"),
        ("harbour", "Ada"),
        ("NOWAK", "Zofia"),
    ]:
        text = client.get(f"/coordinator/listeners?q={term}").text
        assert "1 listener matching" in text, term
        assert name in text
    text = client.get("/coordinator/listeners?show=expiring").text
    assert "Eve Expiring" in text and "training ends soon" in text and "Ada" not in text
    text = client.get("/coordinator/listeners?show=paused").text
    assert "Paul Paused" in text and "paused to and including" in text and "Ada" not in text
    overview = client.get("/coordinator/").text
    assert "<strong>1</strong> with training ending within 30 days" in overview
    assert "<strong>1</strong> listeners paused" in overview


def test_the_roster_shows_this_weeks_load_against_caps_and_ratings_from_five(
    app, client, coordinator, programme
):
    rated, few = programme.listeners(2, names=("Rita Rated", "Fay Few"), max_sessions_per_week=3)
    programme.meetings(programme.requests(6), rated, days_ago=30, ratings=[5, 4, 4, 5, 3, 5])
    programme.meetings(programme.requests(4), few, days_ago=30, ratings=[1, 1, 1, 1])
    with app.app_context():
        # Two sessions inside the listener's current week.
        start = now_utc().replace(microsecond=0)
        for i, request_id in enumerate(programme.requests(2)):
            req = db.session.get(SupportRequest, request_id)
            db.session.add(
                Meeting(
                    request_id=request_id,
                    practitioner_id=req.practitioner_id,
                    listener_id=few,
                    start_at=start + timedelta(minutes=i),
                    end_at=start + timedelta(minutes=60 + i),
                    uid=f"week-{i}@test",
                )
            )
        db.session.commit()
    text = client.get("/coordinator/listeners").text
    rows = {row.split("<")[0]: row for row in text.split('<td data-label="Name">')[1:]}
    assert "4.3 (6)" in rows["Rita Rated"]
    assert "0 of 3" in rows["Rita Rated"]
    assert "2 of 3" in rows["Fay Few"]
    assert "1.0 (4)" not in text


def test_pages_cost_the_same_queries_for_5_or_50_rows(
    app, client, coordinator, programme, count_queries
):
    def grow(n):
        listeners = programme.listeners(n)
        requests = programme.requests(n, note=NOTE)
        programme.meetings(programme.requests(n), listeners[0], ratings=[4] * n)
        return requests

    paths = [
        "/coordinator/",
        "/coordinator/queue",
        "/coordinator/listeners",
        "/coordinator/reports",
        "/coordinator/reports/programme.csv",
        "/coordinator/reports/load.svg",
    ]
    few_requests = grow(5)
    few = {p: same_queries(client, count_queries, p) for p in paths}
    few_story = same_queries(client, count_queries, f"/coordinator/requests/{few_requests[0]}")
    many_requests = grow(45)
    many = {p: same_queries(client, count_queries, p) for p in paths}
    assert client.get("/coordinator/queue").text.count('id="request-') == 50
    assert client.get("/coordinator/listeners").text.count('data-label="Name"') == 25
    assert few == many
    many_story = same_queries(client, count_queries, f"/coordinator/requests/{many_requests[0]}")
    assert few_story == many_story


# --- round review and bulk approval through the page -----------------------------------


ALL_WEEK = [(day, "08:00", "20:00") for day in range(7)]


def test_approve_selected_through_the_page(app, client, coordinator, make_user):
    for _ in range(3):
        make_user("listener", windows=ALL_WEEK)
        practitioner = make_user("practitioner", windows=ALL_WEEK)
        with app.app_context():
            db.session.add(SupportRequest(practitioner_id=practitioner, modalities=["video"]))
            db.session.commit()
    client.post("/coordinator/rounds")
    with app.app_context():
        round_id = db.session.scalar(db.select(MatchingRound.id))
        ids = list(db.session.scalars(db.select(Proposal.id).order_by(Proposal.id)))
    page = client.get(f"/coordinator/rounds/{round_id}?status=pending").text
    assert page.count('name="proposal_ids"') == 3
    r = client.post(
        f"/coordinator/rounds/{round_id}/approve",
        data={"proposal_ids": [str(i) for i in ids[:2]], "scope": "selected"},
        follow_redirects=True,
    )
    assert "Approved 2." in r.text
    with app.app_context():
        statuses = dict(db.session.execute(db.select(Proposal.id, Proposal.status)).all())
    assert [statuses[i] for i in ids] == ["approved", "approved", "pending"]
    r = client.post(
        f"/coordinator/rounds/{round_id}/approve",
        data={"proposal_ids": [str(ids[0])], "back": "https://elsewhere.example/"},
    )
    assert r.headers["Location"] == f"/coordinator/rounds/{round_id}"
    r = client.get(r.headers["Location"])
    assert "1 could not be booked" in r.text
    assert f"Proposal {ids[0]}: This proposal was already approved" in r.text
    nothing = client.post(f"/coordinator/rounds/{round_id}/approve", follow_redirects=True)
    assert "Tick the proposals" in nothing.text


def test_approve_every_urgent_one_through_the_page(app, client, coordinator, make_user):
    urgencies = ["urgent", "routine", "urgent"]
    for urgency in urgencies:
        make_user("listener", windows=ALL_WEEK)
        practitioner = make_user("practitioner", windows=ALL_WEEK)
        with app.app_context():
            db.session.add(
                SupportRequest(practitioner_id=practitioner, modalities=["video"], urgency=urgency)
            )
            db.session.commit()
    client.post("/coordinator/rounds")
    with app.app_context():
        round_id = db.session.scalar(db.select(MatchingRound.id))
    page = client.get(f"/coordinator/rounds/{round_id}?urgency=urgent").text
    assert page.count('id="proposal-') == 2
    assert "Approve every urgent one waiting (2)" in page
    r = client.post(
        f"/coordinator/rounds/{round_id}/approve", data={"scope": "urgent"}, follow_redirects=True
    )
    assert "Approved 2." in r.text
    with app.app_context():
        booked = db.session.scalars(
            db.select(SupportRequest.urgency).join(Meeting, Meeting.request_id == SupportRequest.id)
        ).all()
    assert sorted(booked) == ["urgent", "urgent"]


def test_the_round_review_pages_and_costs_the_same_queries(
    app, client, coordinator, make_user, count_queries
):
    from tests.blueprints.test_coordinator_pages import _round_with

    small = _round_with(app, make_user, 5)
    large = _round_with(app, make_user, 60)
    few = same_queries(client, count_queries, f"/coordinator/rounds/{small}")
    many = same_queries(client, count_queries, f"/coordinator/rounds/{large}")
    assert few == many

    def note_views() -> list:
        with app.app_context():
            return db.session.scalars(
                db.select(AuditEvent).where(AuditEvent.action == "request.note_viewed")
            ).all()

    before = len(note_views())
    text = client.get(f"/coordinator/rounds/{large}").text
    assert text.count('id="proposal-') == 25
    assert text.count('id="unmatched-') == 20
    assert "Next page</a>" in text and "More still waiting</a>" in text
    # One row per request whose note the page showed, none carrying the note.
    shown = note_views()[before:]
    assert len(shown) == 45
    assert all(e.subject_type == "support_request" and e.data == {} for e in shown)


# --- programme figures -----------------------------------------------------------------


def test_figures_withhold_small_groups(app, programme):
    [listener] = programme.listeners(1)
    done = programme.requests(4, days_ago=8)
    programme.meetings(done, listener, ratings=[5, 4, 4])
    programme.requests(2)
    with app.app_context():
        today = now_utc().date()
        figures = reports.programme(today - timedelta(days=13), today)
    assert figures["share_matched"] is None  # 4 matched people would show
    assert figures["time_to_first_meeting_hours"] == {"median": None, "p90": None}
    assert "time_to_first_meeting_hours" in figures["suppressed"]
    assert figures["feedback"] == {"count": None, "mean_rating": None, "ratings": []}
    assert "feedback" in figures["suppressed"]
    assert "share_matched" in figures["suppressed"]
    assert all(
        (row[name] is None) == (f"weeks.{row['week']}.{name}" in figures["suppressed"])
        for row in figures["weeks"]
        for name in reports.WEEK_FIELDS
    )
    assert all(
        value is None or value == 0 or value >= reports.MIN_GROUP
        for row in figures["weeks"]
        for name, value in row.items()
        if name != "week"
    )
    # One listener with 4 conversations: a group of one is withheld.
    assert figures["listener_load"] == [{"sessions": 4, "listeners": None}]


def test_figures_show_groups_of_five_and_more(app, programme):
    listeners = programme.listeners(5)
    for listener in listeners:
        programme.meetings(programme.requests(2, days_ago=8), listener, ratings=[4, 5], days_ago=3)
    programme.requests(5)
    with app.app_context():
        today = now_utc().date()
        figures = reports.programme(today - timedelta(days=13), today)
    assert figures["share_matched"] == round(10 / 15, 3)
    assert figures["feedback"]["count"] == 10 and figures["feedback"]["mean_rating"] == 4.5
    assert figures["feedback"]["ratings"][3:] == [
        {"rating": 4, "count": 5},
        {"rating": 5, "count": 5},
    ]
    assert figures["listener_load"] == [{"sessions": 2, "listeners": 5}]
    waits = figures["time_to_first_meeting_hours"]
    assert waits["median"] is not None and waits["p90"] >= waits["median"]
    assert sum(row["requests"] or 0 for row in figures["weeks"]) == 15
    assert set(figures) >= {
        "weeks",
        "time_to_first_meeting_hours",
        "share_matched",
        "listener_load",
        "feedback",
        "suppressed",
    }


def test_the_figures_page_charts_and_csv(app, client, coordinator, programme):
    [listener] = programme.listeners(1)
    programme.meetings(programme.requests(6), listener, ratings=[5, 5, 5, 5, 5, 2])
    page = client.get("/coordinator/reports")
    assert page.status_code == 200
    assert "Figures about fewer than 5 people are withheld" in page.text
    for name in ("requests", "share", "waiting", "load", "feedback"):
        assert f"/coordinator/reports/{name}.svg?" in page.text.replace("&amp;", "&")
        chart = client.get(f"/coordinator/reports/{name}.svg")
        assert chart.status_code == 200
        assert chart.mimetype == "image/svg+xml"
        assert b"<svg" in chart.data and b"<script" not in chart.data
        assert "script-src" not in chart.headers["Content-Security-Policy"]
        assert "default-src 'none'" in chart.headers["Content-Security-Policy"]
    assert client.get("/coordinator/reports/nothing.svg").status_code == 404
    export = client.get("/coordinator/reports/programme.csv?from=2026-01-05&to=2026-02-01")
    assert export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0] == ["week", "requests", "matched", "meetings", "cancelled", "no_show"]
    assert [r[0] for r in rows[1:]] == ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]


@pytest.mark.parametrize(
    "query",
    ["from=2026-13-01", "from=yesterday", "from=2026-02-01&to=2026-01-01", "from=2020-01-01"],
)
def test_a_bad_date_range_is_a_calm_form_error(client, coordinator, query):
    page = client.get(f"/coordinator/reports?{query}")
    assert page.status_code == 200
    assert 'class="error"' in page.text
    assert client.get(f"/coordinator/reports/programme.csv?{query}").status_code == 200


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        (None, "withheld"),
        (7, "7"),
        ("2026-03-02", "2026-03-02"),
    ],
)
def test_csv_cells_never_start_a_formula(value, cell):
    assert reports.safe_cell(value) == cell


def test_the_csv_neutralises_every_cell():
    figures = {
        "weeks": [
            {"week": "=cmd", "requests": "+2", "matched": "-3", "meetings": "@4", "cancelled": None}
            | {"no_show": 0}
        ]
    }
    rows = list(csv.reader(io.StringIO(reports.programme_csv(None, None, figures))))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert rows[1] == ["'=cmd", "'+2", "'-3", "'@4", "withheld", "0"]


def test_the_demo_shows_a_coordinators_day(app, client, login):
    from matching import demo

    with app.app_context():
        assert demo.seed()
        db.session.commit()
        pending = db.select(db.func.count()).where(Proposal.status == "pending")
        assert db.session.scalar(pending) >= 3
        held = db.select(db.func.count()).where(Meeting.status == "completed")
        assert db.session.scalar(held) >= 10
        figures = reports.programme(*reports.default_range())
    assert figures["share_matched"] is not None
    assert figures["feedback"]["count"] >= 5
    assert figures["suppressed"], "the demo should also show what is withheld"
    login(demo.COORDINATOR, demo.PASSWORD)
    assert "training ends soon" in client.get("/coordinator/listeners").text
    assert "paused to and including" in client.get("/coordinator/listeners").text
    assert "waiting for you" in client.get("/coordinator/").text
    assert 'id="request-' in client.get("/coordinator/queue").text


def test_remembered_figures_follow_every_change(app, programme):
    [listener] = programme.listeners(1)
    programme.meetings(programme.requests(6, days_ago=8), listener, ratings=[4] * 6)
    with app.app_context():
        span = reports.default_range()
        before = reports.programme(*span)
        assert reports.programme(*span) is before  # the same data: remembered
    programme.requests(5, days_ago=8)
    with app.app_context():
        after = reports.programme(*span)
        assert sum(w["requests"] or 0 for w in after["weeks"]) == 11
        meeting = db.session.scalar(db.select(Meeting))
        meeting.status = "cancelled"
        db.session.commit()
        assert reports.programme(*span)["weeks"] != after["weeks"]
