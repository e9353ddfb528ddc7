"""Rows become engine inputs in a fixed number of queries."""

from __future__ import annotations

from matching.extensions import db
from matching.models import SupportRequest, now_utc
from matching.services import engine_input


def _programme(app, make_user, n: int) -> None:
    for _ in range(n):
        make_user("listener", windows=[(0, "09:00", "12:00")])
        uid = make_user("practitioner", windows=[(0, "09:00", "12:00")])
        with app.app_context():
            db.session.add(SupportRequest(practitioner_id=uid, modalities=["video"]))
            db.session.commit()


def _queries(app, count_queries) -> tuple[int, int, int]:
    with app.app_context():
        with count_queries() as box:
            requests, listeners = engine_input.round_inputs(now_utc())
        return box["n"], len(requests), len(listeners)


def test_round_inputs_do_not_query_per_person(app, make_user, count_queries):
    _programme(app, make_user, 2)
    small, requests, listeners = _queries(app, count_queries)
    assert (requests, listeners) == (2, 2)
    _programme(app, make_user, 10)
    large, requests, listeners = _queries(app, count_queries)
    assert (requests, listeners) == (12, 12)
    assert large == small


def test_inputs_carry_profiles_and_windows(app, make_user):
    make_user("listener", windows=[(2, "22:00", "02:00")], languages=["es"], organization="A")
    uid = make_user("practitioner", windows=[(0, "09:00", "12:00")], organization="B")
    with app.app_context():
        db.session.add(SupportRequest(practitioner_id=uid, modalities=["video"], topics=["grief"]))
        db.session.commit()
        [request], [listener] = engine_input.round_inputs(now_utc())
    assert listener.languages == frozenset({"es"})
    assert listener.verified
    assert [(w.weekday, w.start.isoformat(), w.end.isoformat()) for w in listener.windows] == [
        (2, "22:00:00", "02:00:00")
    ]
    assert request.topics == frozenset({"grief"})
    assert request.organization == "B"


def test_lists_do_not_query_per_row(app, api, make_user, count_queries):
    coordinator = api(make_user("coordinator"))

    def queries() -> tuple[int, int]:
        with count_queries() as box:
            listeners = coordinator.get("/api/v1/listeners")
            requests = coordinator.get("/api/v1/requests")
        assert listeners.status_code == requests.status_code == 200
        return box["n"], len(listeners.json["items"]) + len(requests.json["items"])

    _programme(app, make_user, 2)
    small, rows = queries()
    assert rows == 4
    _programme(app, make_user, 8)
    large, rows = queries()
    assert rows == 20
    assert large == small
