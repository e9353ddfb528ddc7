"""Coordination at scale: one round at a time, the solver choice, bulk approval, the queue."""

from __future__ import annotations

import importlib.util
from datetime import timedelta

import pytest

from matching.errors import Conflict, Invalid, Malformed
from matching.extensions import db
from matching.models import (
    AuditEvent,
    ListenerProfile,
    MatchingRound,
    Meeting,
    PractitionerProfile,
    Proposal,
    RoundRun,
    SupportRequest,
    User,
    now_utc,
)
from matching.services import bookings, queue, rounds
from tests.conftest import PASSWORD_HASH

ALL_WEEK = [(day, "08:00", "20:00") for day in range(7)]


def add_request(app, practitioner_id: int, **fields) -> int:
    with app.app_context():
        req = SupportRequest(practitioner_id=practitioner_id, modalities=["video"], **fields)
        db.session.add(req)
        db.session.commit()
        return req.id


@pytest.fixture
def coordinator(make_user):
    return make_user("coordinator", name="Cora")


def actor(coordinator_id: int) -> User:
    return db.session.get(User, coordinator_id)


# --- one round at a time -------------------------------------------------------------


def test_a_second_round_while_one_runs_is_refused(app, coordinator, make_user):
    make_user("listener", windows=ALL_WEEK)
    add_request(app, make_user("practitioner", windows=ALL_WEEK))
    with app.app_context():
        # Another worker holds the claim (committed, as _claim_run does).
        db.session.add(RoundRun(status="running", started_at=now_utc(), requests=1))
        db.session.commit()
        with pytest.raises(Conflict) as err:
            rounds.run_round(actor(coordinator))
        assert err.value.code == "round_running"
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count()).select_from(MatchingRound)) == 0
        running = rounds.running_round()
        assert running["requests"] == 1


def test_the_database_refuses_two_running_rows(app):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        db.session.add(RoundRun(status="running", started_at=now_utc(), requests=0))
        db.session.commit()
        db.session.add(RoundRun(status="running", started_at=now_utc(), requests=0))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        # Finished and failed runs are history and may be many.
        db.session.add_all(
            [RoundRun(status="finished", started_at=now_utc(), requests=0) for _ in range(2)]
        )
        db.session.commit()


def test_a_finished_round_releases_the_claim_and_records_its_size(app, coordinator, make_user):
    make_user("listener", windows=ALL_WEEK)
    for _ in range(3):
        add_request(app, make_user("practitioner", windows=ALL_WEEK))
    with app.app_context():
        matching_round = rounds.run_round(actor(coordinator))
        db.session.commit()
        run = db.session.scalar(db.select(RoundRun))
        assert (run.status, run.requests, run.round_id) == ("finished", 3, matching_round.id)
        assert run.started_by_id == coordinator
        assert rounds.running_round() is None
        # The next round may start at once.
        rounds.run_round(actor(coordinator))
        db.session.commit()


def test_a_failed_round_releases_the_claim(app, coordinator, make_user, monkeypatch):
    add_request(app, make_user("practitioner", windows=ALL_WEEK))

    def broken(*args, **kwargs):
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(rounds.engine, "propose", broken)
    with app.app_context():
        with pytest.raises(RuntimeError):
            rounds.run_round(actor(coordinator))
        assert rounds.running_round() is None
        assert db.session.scalar(db.select(RoundRun.status)) == "failed"
        assert db.session.scalar(db.select(db.func.count()).select_from(MatchingRound)) == 0


def test_a_claim_abandoned_by_a_dead_worker_expires(app, coordinator, make_user):
    add_request(app, make_user("practitioner", windows=ALL_WEEK))
    with app.app_context():
        old = now_utc() - timedelta(minutes=app.config["MATCH_ROUND_TIMEOUT_MINUTES"] + 1)
        db.session.add(RoundRun(status="running", started_at=old, requests=1))
        db.session.commit()
        rounds.run_round(actor(coordinator))
        db.session.commit()
        statuses = sorted(db.session.scalars(db.select(RoundRun.status)))
        assert statuses == ["failed", "finished"]


def test_the_rounds_page_shows_a_running_round(app, client, coordinator, login):
    with app.app_context():
        db.session.add(
            RoundRun(status="running", started_at=now_utc(), requests=1000, started_by_id=1)
        )
        db.session.commit()
    login("coordinator1@example.org")
    page = client.get("/coordinator/rounds").text
    assert "A round is running now" in page
    assert "covers 1000 open requests" in page
    assert "Run a matching round</button>" not in page
    r = client.post("/coordinator/rounds", follow_redirects=True)
    assert "A matching round is running already" in r.text
    assert "A matching round is running" in client.get("/coordinator/").text


# --- the solver ----------------------------------------------------------------------


def test_auto_picks_ortools_when_installed_and_networkx_otherwise(app, monkeypatch):
    app.config["MATCH_SOLVER"] = "auto"
    with app.app_context():
        installed = importlib.util.find_spec("ortools") is not None
        assert rounds.solver_name() == ("ortools" if installed else "networkx")
        real = importlib.util.find_spec
        monkeypatch.setattr(
            importlib.util,
            "find_spec",
            lambda name, *a: None if name == "ortools" else real(name, *a),
        )
        assert rounds.solver_name() == "networkx"
        app.config["MATCH_SOLVER"] = "networkx"
        assert rounds.solver_name() == "networkx"


def test_auto_is_the_default_and_rounds_record_the_solver_used(app, coordinator, make_user):
    from matching.config import Defaults

    assert Defaults.MATCH_SOLVER == "auto"
    app.config["MATCH_SOLVER"] = "auto"
    make_user("listener", windows=ALL_WEEK)
    add_request(app, make_user("practitioner", windows=ALL_WEEK))
    with app.app_context():
        matching_round = rounds.run_round(actor(coordinator))
        db.session.commit()
        assert matching_round.parameters["solver"] == rounds.solver_name()
        assert len(matching_round.proposals) == 1


def test_an_unknown_solver_is_refused_at_start_up():
    from matching import create_app

    with pytest.raises(RuntimeError, match="MATCH_SOLVER"):
        create_app({"SECRET_KEY": "x", "TESTING": True, "MATCH_SOLVER": "fastest"})


# --- approving many ------------------------------------------------------------------


@pytest.fixture
def round_of_three(app, coordinator, make_user):
    """Three listeners, three practitioners with open requests, and their round."""
    for _ in range(3):
        make_user("listener", windows=ALL_WEEK, max_sessions_per_day=1, max_sessions_per_week=1)
        add_request(app, make_user("practitioner", windows=ALL_WEEK))
    with app.app_context():
        matching_round = rounds.run_round(actor(coordinator))
        db.session.commit()
        ids = [p.id for p in matching_round.proposals]
        assert len(ids) == 3
        return matching_round.id, ids


def test_approve_many_books_each_and_reports_conflicts(app, coordinator, round_of_three):
    round_id, ids = round_of_three
    with app.app_context():
        # One listener's training lapses: that proposal alone must fail.
        broken = db.session.get(Proposal, ids[1])
        db.session.get(ListenerProfile, broken.listener_id).verified_at = None
        db.session.commit()
        outcome = rounds.approve_many(actor(coordinator), round_id, [*ids, 999])
        db.session.commit()
        assert [a.proposal_id for a in outcome["approved"]] == [ids[0], ids[2]]
        conflicts = {c.proposal_id: c for c in outcome["conflicts"]}
        assert conflicts[ids[1]].code == "no_longer_valid"
        assert "can no longer be booked" in conflicts[ids[1]].message
        assert conflicts[999].code == "not_found"
        meetings = db.session.scalars(db.select(Meeting)).all()
        assert sorted(m.proposal_id for m in meetings) == [ids[0], ids[2]]
        assert {a.meeting_id for a in outcome["approved"]} == {m.id for m in meetings}
        # The refused one changed nothing: still pending, its request still proposed.
        refused = db.session.get(Proposal, ids[1])
        assert refused.status == "pending"
        assert refused.request.status == "proposed"
        actions = list(db.session.scalars(db.select(AuditEvent.action)))
        assert actions.count("proposal.approved") == 2
        assert actions.count("round.approved_many") == 1


def test_approve_many_answers_in_the_api_shape(app, coordinator, round_of_three):
    round_id, ids = round_of_three
    with app.app_context():
        rounds.approve_many(actor(coordinator), round_id, ids[:1])
        db.session.commit()
        outcome = rounds.approve_many(actor(coordinator), round_id, ids[:2])
        db.session.commit()
    assert outcome["approved"][0]._asdict().keys() == {"proposal_id", "meeting_id"}
    assert outcome["conflicts"][0]._asdict() == {
        "proposal_id": ids[0],
        "code": "not_pending",
        "message": "This proposal was already approved; nothing was changed.",
    }


def test_a_slot_taken_meanwhile_is_a_conflict_and_the_rest_are_booked(
    app, coordinator, round_of_three, make_user
):
    round_id, ids = round_of_three
    with app.app_context():
        taken = db.session.get(Proposal, ids[0])
        # Another conversation of that listener was booked at that time meanwhile.
        other = SupportRequest(practitioner_id=make_user("practitioner"), status="scheduled")
        db.session.add(other)
        db.session.flush()
        elsewhere = Meeting(
            request_id=other.id,
            practitioner_id=other.practitioner_id,
            listener_id=taken.listener_id,
            start_at=taken.start_at,
            end_at=taken.end_at,
            uid="elsewhere@example.org",
        )
        db.session.add(elsewhere)
        db.session.flush()
        bookings.hold_meeting(elsewhere)
        db.session.commit()
        outcome = rounds.approve_many(actor(coordinator), round_id, ids)
        db.session.commit()
        assert [a.proposal_id for a in outcome["approved"]] == ids[1:]
        assert [(c.proposal_id, c.code) for c in outcome["conflicts"]] == [(ids[0], "slot_taken")]
        assert db.session.get(Proposal, ids[0]).status == "pending"
        assert db.session.scalar(db.select(db.func.count()).select_from(Meeting)) == 3


@pytest.mark.parametrize(
    "ids", [[], "1,2", [True], [0], [1.5], list(range(1, rounds.BULK_LIMIT + 2))]
)
def test_approve_many_refuses_bad_lists(app, coordinator, round_of_three, ids):
    round_id, _ = round_of_three
    with app.app_context(), pytest.raises(Invalid):
        rounds.approve_many(actor(coordinator), round_id, ids)


# --- the queue -----------------------------------------------------------------------


def _bulk_requests(app, specs) -> list[int]:
    """Practitioners with one request each, written in one transaction: [(urgency, age, langs)]."""
    now = now_utc()
    ids = []
    with app.app_context():
        for i, (urgency, hours_ago, languages) in enumerate(specs):
            user = User(
                email=f"q{i}-{now.timestamp()}@example.org",
                password_hash=PASSWORD_HASH,
                role="practitioner",
                display_name=f"Person {i}",
            )
            user.practitioner_profile = PractitionerProfile(
                languages=languages, modalities=["video"]
            )
            db.session.add(user)
            db.session.flush()
            req = SupportRequest(
                practitioner_id=user.id,
                urgency=urgency,
                modalities=["video"],
                created_at=now - timedelta(hours=hours_ago),
            )
            db.session.add(req)
            db.session.flush()
            ids.append(req.id)
        db.session.commit()
    return ids


def test_the_queue_is_urgent_first_then_longest_waiting(app):
    ids = _bulk_requests(
        app,
        [
            ("routine", 300, ["en"]),
            ("urgent", 2, ["en"]),
            ("soon", 50, ["es", "en"]),
            ("urgent", 30, ["de"]),
            ("routine", 400, ["es"]),
        ],
    )
    with app.app_context():
        page = queue.list_queue()
        assert [r.id for r in page.items] == [ids[3], ids[1], ids[2], ids[4], ids[0]]
        assert page.total == 5 and page.next is None
        assert [r.id for r in queue.list_queue(urgency="urgent").items] == [ids[3], ids[1]]
        assert [r.id for r in queue.list_queue(language="es").items] == [ids[2], ids[4]]
        assert queue.list_queue(status="scheduled").items == []


def test_the_queue_pages_stay_consistent_while_people_are_matched(app):
    ids = _bulk_requests(app, [("routine", 100 - i, ["en"]) for i in range(7)])
    with app.app_context():
        first = queue.list_queue(limit=3)
        assert [r.id for r in first.items] == ids[:3]
        # Someone on the first page and someone on the next are matched meanwhile.
        for request_id in (ids[0], ids[3]):
            db.session.get(SupportRequest, request_id).status = "proposed"
        db.session.commit()
        second = queue.list_queue(limit=3, cursor=first.next)
        assert [r.id for r in second.items] == [ids[4], ids[5], ids[6]]
        assert second.next is None
        with pytest.raises(Malformed):
            queue.list_queue(cursor="not-a-cursor")


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(minutes=5), "waiting less than an hour"),
        (timedelta(hours=1, minutes=5), "waiting 1 hour"),
        (timedelta(hours=23), "waiting 23 hours"),
        (timedelta(days=1, hours=3), "waiting 1 day"),
        (timedelta(days=3), "waiting 3 days"),
        (timedelta(days=20), "waiting 2 weeks"),
    ],
)
def test_waiting_time_in_words(delta, words):
    now = now_utc()
    assert queue.waiting_words(now - delta, now) == words
