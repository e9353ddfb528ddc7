"""Every page bench/web.py measures costs the same queries for a few rows or many.

tests/blueprints/test_coordinator_scale.py covers the overview, the queue, the
roster, the figures, the request page and the round review; these are the rest: the
filtered views, the rounds list, the chart of requests, both homes and the API lists.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from matching.extensions import db
from matching.models import MatchingRound, Meeting, Proposal, SupportRequest, now_utc
from tests.blueprints.test_coordinator_pages import _round_with
from tests.blueprints.test_coordinator_scale import Programme, same_queries


@pytest.fixture
def programme(app):
    return Programme(app)


def _meetings(app, practitioner: int, listener: int, n: int, *, offset: int) -> None:
    """n conversations between the two, half of them held, half to come."""
    now = now_utc().replace(microsecond=0)
    with app.app_context():
        for i in range(n):
            req = SupportRequest(practitioner_id=practitioner, modalities=["video"])
            db.session.add(req)
            db.session.flush()
            held = i % 2 == 0
            start = now + (timedelta(days=-3, hours=-i) if held else timedelta(days=2, hours=i))
            req.status = "closed" if held else "scheduled"
            db.session.add(
                Meeting(
                    request_id=req.id,
                    practitioner_id=practitioner,
                    listener_id=listener,
                    start_at=start,
                    end_at=start + timedelta(hours=1),
                    status="completed" if held else "scheduled",
                    uid=f"q-{offset + i}@test",
                )
            )
        db.session.commit()


def test_coordinator_views_cost_the_same_queries_for_few_or_many_rows(
    app, client, make_user, login, programme, count_queries
):
    make_user("coordinator", email="cora@example.org")
    assert login("cora@example.org").status_code == 302
    paths = [
        "/coordinator/queue?urgency=urgent",
        "/coordinator/listeners?q=es",
        "/coordinator/reports/requests.svg",
        "/coordinator/rounds",
    ]

    def grow(n: int) -> None:
        programme.listeners(n, languages=["es"])
        programme.requests(n, urgency="urgent")
        programme.requests(n)
        with app.app_context():
            db.session.add_all(
                MatchingRound(parameters={}, statistics={"matched": 0}, unmatched=[])
                for _ in range(n)
            )
            db.session.commit()

    grow(3)
    few = {p: same_queries(client, count_queries, p) for p in paths}
    grow(30)
    many = {p: same_queries(client, count_queries, p) for p in paths}
    assert few == many
    assert client.get("/coordinator/rounds").text.count(">Review</a>") == 20
    assert client.get("/coordinator/listeners?q=es").text.count('data-label="Name"') == 25


def test_the_filtered_round_review_costs_the_same_queries(
    app, client, make_user, login, count_queries
):
    make_user("coordinator", email="cora@example.org")
    assert login("cora@example.org").status_code == 302
    small = _round_with(app, make_user, 3)
    large = _round_with(app, make_user, 30)
    with app.app_context():
        for proposal in db.session.scalars(db.select(Proposal)):
            db.session.get(SupportRequest, proposal.request_id).urgency = "urgent"
        db.session.commit()
    query = "?status=pending&urgency=urgent"
    few = same_queries(client, count_queries, f"/coordinator/rounds/{small}{query}")
    many = same_queries(client, count_queries, f"/coordinator/rounds/{large}{query}")
    assert few == many
    page = client.get(f"/coordinator/rounds/{large}{query}").text
    assert page.count('id="proposal-') == 25


@pytest.mark.parametrize("role", ["practitioner", "listener"])
def test_the_homes_cost_the_same_queries_for_few_or_many_conversations(
    app, client, make_user, login, count_queries, role
):
    practitioner = make_user("practitioner", email="pia@example.org")
    listener = make_user("listener", email="leo@example.org")
    assert login(f"{'pia' if role == 'practitioner' else 'leo'}@example.org").status_code == 302
    path = f"/{role}/"
    _meetings(app, practitioner, listener, 2, offset=0)
    few = same_queries(client, count_queries, path)
    shown = client.get(path).text.count('href="/meetings/')
    _meetings(app, practitioner, listener, 30, offset=100)
    many = same_queries(client, count_queries, path)
    assert few == many
    assert client.get(path).text.count('href="/meetings/') > shown


def test_the_api_lists_cost_the_same_queries_for_few_or_many_rows(
    app, api, make_user, programme, count_queries
):
    coordinator = api(make_user("coordinator"))
    practitioner = make_user("practitioner")
    listener = make_user("listener")
    paths = ["/api/v1/requests?status=open", "/api/v1/meetings"]

    def counted(path: str) -> int:
        coordinator.get(path)
        with count_queries() as n:
            answer = coordinator.get(path)
        assert answer.status_code == 200, answer.text[:300]
        return n["n"]

    programme.requests(3)
    _meetings(app, practitioner, listener, 3, offset=0)
    few = {p: counted(p) for p in paths}
    programme.requests(60)
    _meetings(app, practitioner, listener, 60, offset=100)
    many = {p: counted(p) for p in paths}
    assert few == many
    assert len(coordinator.get(paths[0]).json["items"]) == 50
