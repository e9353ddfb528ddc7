"""The API of coordination at scale: the queue, a round's proposals, bulk approval, figures."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from matching.extensions import db
from matching.models import AuditEvent, Meeting, Proposal, SupportRequest, now_utc
from tests.support.programme import Programme

ALL_WEEK = [(day, "08:00", "20:00") for day in range(7)]


@pytest.fixture
def programme(app):
    return Programme(app)


@pytest.fixture
def coord(api, make_user):
    return api(make_user("coordinator"))


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    if code:
        assert error["code"] == code
    return error


def _all_pages(client, path: str) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        joiner = "&" if "?" in path else "?"
        r = client.get(path + (f"{joiner}cursor={cursor}" if cursor else ""))
        assert r.status_code == 200, r.json
        items += r.json["items"]
        pages += 1
        cursor = r.json["next"]
        if cursor is None:
            return items
        assert pages < 50


# --- the queue -----------------------------------------------------------------------


def test_open_requests_come_urgent_first_then_longest_waiting(coord, programme):
    old_routine = programme.requests(2, urgency="routine", days_ago=9)
    new_urgent = programme.requests(2, urgency="urgent", days_ago=1)
    soon = programme.requests(1, urgency="soon", days_ago=4)
    r = coord.get("/api/v1/requests?status=open")
    assert r.status_code == 200
    items = r.json["items"]
    # Urgent first; within one urgency, the one created earliest (minutes=i) waits longest.
    assert [i["id"] for i in items] == [new_urgent[1], new_urgent[0], *soon, *old_routine[::-1]]
    assert [i["urgency"] for i in items] == ["urgent", "urgent", "soon", "routine", "routine"]
    assert items[-1]["waiting"] == "waiting 9 days"
    assert items[-1]["waiting_since"] == items[-1]["created_at"]
    assert r.json["next"] is None


def test_the_queue_pages_without_skipping_or_repeating(coord, programme):
    ids = programme.requests(120, urgency="soon") + programme.requests(3, urgency="urgent")
    items = _all_pages(coord, "/api/v1/requests?status=open")
    assert sorted(i["id"] for i in items) == sorted(ids)
    assert len(items) == len(ids)
    assert [i["urgency"] for i in items[:3]] == ["urgent"] * 3


def test_the_queue_filters_by_urgency_and_language(app, coord, programme):
    urgent = programme.requests(2, urgency="urgent")
    programme.requests(3)
    r = coord.get("/api/v1/requests?status=open&urgency=urgent")
    assert sorted(i["id"] for i in r.json["items"]) == sorted(urgent)
    assert coord.get("/api/v1/requests?language=en").json["items"]
    assert coord.get("/api/v1/requests?language=pl").json["items"] == []
    _error(coord.get("/api/v1/requests?language=polish"), 400)
    _error(coord.get("/api/v1/requests?urgency=now"), 400)


def test_the_queue_answers_in_a_fixed_number_of_queries(coord, programme, count_queries):
    programme.requests(5)
    coord.get("/api/v1/requests?status=open")
    with count_queries() as few:
        assert len(coord.get("/api/v1/requests?status=open").json["items"]) == 5
    programme.requests(45)
    with count_queries() as many:
        assert len(coord.get("/api/v1/requests?status=open").json["items"]) == 50
    assert many["n"] == few["n"]


# --- a round's proposals and bulk approval ----------------------------------------------


@pytest.fixture
def round_of_many(app, coord, make_user):
    """Six requests (two urgent) and three listeners free all week: one round, six proposals."""
    for _ in range(3):
        make_user("listener", windows=ALL_WEEK)
    requests = {}
    for i, urgency in enumerate(["routine", "urgent", "soon", "routine", "urgent", "routine"]):
        practitioner = make_user("practitioner", windows=ALL_WEEK)
        with app.app_context():
            req = SupportRequest(
                practitioner_id=practitioner,
                urgency=urgency,
                modalities=["video"],
                created_at=now_utc() - timedelta(hours=10 - i),
            )
            db.session.add(req)
            db.session.commit()
            requests[req.id] = urgency
    answer = coord.post("/api/v1/rounds", json={}).json
    assert len(answer["proposals"]) == 6, answer
    return answer["id"], requests


def test_a_rounds_proposals_come_urgent_first_and_filter(coord, round_of_many):
    round_id, requests = round_of_many
    items = coord.get(f"/api/v1/rounds/{round_id}/proposals?status=pending").json["items"]
    assert [i["urgency"] for i in items] == ["urgent", "urgent", "soon"] + ["routine"] * 3
    assert {i["request_id"] for i in items} == set(requests)
    assert all(i["round_id"] == round_id and i["status"] == "pending" for i in items)
    assert items[0]["waiting_since"] <= items[1]["waiting_since"]
    urgent = coord.get(f"/api/v1/rounds/{round_id}/proposals?urgency=urgent").json["items"]
    assert [i["id"] for i in urgent] == [i["id"] for i in items[:2]]
    assert coord.get(f"/api/v1/rounds/{round_id}/proposals?status=approved").json["items"] == []
    _error(coord.get(f"/api/v1/rounds/{round_id}/proposals?status=maybe"), 400)
    _error(coord.get(f"/api/v1/rounds/{round_id}/proposals?cursor=12"), 400)
    _error(coord.get(f"/api/v1/rounds/{round_id + 99}/proposals"), 404)


def test_approve_many_books_each_on_its_own_and_lists_conflicts(app, coord, round_of_many):
    round_id, _ = round_of_many
    items = coord.get(f"/api/v1/rounds/{round_id}/proposals").json["items"]
    first, second, *rest = (i["id"] for i in items)
    # Someone else approves one first: it is no longer pending, the others still book.
    assert coord.post(f"/api/v1/proposals/{second}/approve").status_code == 200
    r = coord.post(
        f"/api/v1/rounds/{round_id}/approve", json={"proposal_ids": [first, second, 999999]}
    )
    assert r.status_code == 200, r.json
    assert [a["proposal_id"] for a in r.json["approved"]] == [first]
    assert [(c["proposal_id"], c["code"]) for c in r.json["conflicts"]] == [
        (second, "not_pending"),
        (999999, "not_found"),
    ]
    assert all(c["message"] for c in r.json["conflicts"])
    with app.app_context():
        meeting = db.session.get(Meeting, r.json["approved"][0]["meeting_id"])
        assert meeting is not None and meeting.status == "scheduled"
        assert db.session.get(Proposal, rest[0]).status == "pending"
        assert db.session.scalar(
            db.select(db.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "round.approved_many")
        )


@pytest.mark.parametrize(
    "body",
    [{}, {"proposal_ids": []}, {"proposal_ids": "1,2"}, {"proposal_ids": [0]},
     {"proposal_ids": [True]}, {"proposal_ids": list(range(1, 102))}],
)  # fmt: skip
def test_approve_many_refuses_bad_lists_and_changes_nothing(app, coord, round_of_many, body):
    round_id, _ = round_of_many
    _error(coord.post(f"/api/v1/rounds/{round_id}/approve", json=body), 422)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Meeting)) == 0


def test_approve_many_in_an_unknown_round_is_404(coord):
    _error(coord.post("/api/v1/rounds/424242/approve", json={"proposal_ids": [1]}), 404)


# --- programme figures ---------------------------------------------------------------


def test_the_figures_are_the_dashboards_with_small_groups_withheld(coord, programme):
    [listener] = programme.listeners(1)
    programme.meetings(programme.requests(4, days_ago=8), listener, ratings=[5, 4, 4])
    today = now_utc().date()
    r = coord.get(f"/api/v1/reports/programme?from={today - timedelta(days=13)}&to={today}")
    assert r.status_code == 200, r.json
    figures = r.json
    assert figures["from"] == (today - timedelta(days=13)).isoformat()
    assert figures["share_matched"] is None and "share_matched" in figures["suppressed"]
    assert figures["feedback"]["count"] is None and "feedback" in figures["suppressed"]
    assert figures["listener_load"] == [{"sessions": 4, "listeners": None}]
    assert {"week", "requests", "matched", "meetings", "cancelled", "no_show"} == set(
        figures["weeks"][0]
    )
    # Without dates: the last twelve weeks.
    assert len(coord.get("/api/v1/reports/programme").json["weeks"]) in (12, 13)


def test_the_figures_as_csv_never_start_a_formula(coord, programme):
    [listener] = programme.listeners(1)
    programme.meetings(programme.requests(6), listener)
    r = coord.get("/api/v1/reports/programme.csv?from=2026-01-05&to=2026-02-01")
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0] == ["week", "requests", "matched", "meetings", "cancelled", "no_show"]
    assert [row[0] for row in rows[1:]] == ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]
    assert not any(cell[:1] in "=+-@" and cell for row in rows for cell in row[1:])


@pytest.mark.parametrize(
    ("query", "status"),
    [("from=2026-13-01", 400), ("from=yesterday", 400), ("to=2026-1-1", 400),
     ("from=2026-02-01&to=2026-01-01", 422), ("from=2020-01-01&to=2026-01-01", 422)],
)  # fmt: skip
def test_a_bad_range_is_refused(coord, query, status):
    _error(coord.get(f"/api/v1/reports/programme?{query}"), status)
    _error(coord.get(f"/api/v1/reports/programme.csv?{query}"), status)


@pytest.mark.parametrize("role", ["practitioner", "listener"])
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/requests?status=open"), ("get", "/api/v1/rounds/1/proposals"),
     ("post", "/api/v1/rounds/1/approve"), ("get", "/api/v1/reports/programme"),
     ("get", "/api/v1/reports/programme.csv")],
)  # fmt: skip
def test_only_coordinators_may_coordinate(api, make_user, role, method, path):
    client = api(make_user(role))
    kwargs = {"json": {"proposal_ids": [1]}} if method == "post" else {}
    _error(getattr(client, method)(path, **kwargs), 403)
    _error(getattr(api(), method)(path, **kwargs), 401)
