"""Holds on people's time: the database refuses double booking on every path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from matching import engine
from matching.extensions import db
from matching.models import (
    AuditEvent,
    Booking,
    MatchingRound,
    Meeting,
    OutboxMessage,
    Proposal,
    SupportRequest,
    User,
)
from matching.services import bookings, engine_input, meetings
from tests.support.meetings import book, future_start, make_pair, move_to_past


@pytest.fixture
def pair(make_user):
    return make_pair(make_user)


def _holds(meeting_id: int) -> list[Booking]:
    return list(
        db.session.scalars(
            db.select(Booking).where(Booking.meeting_id == meeting_id).order_by(Booking.user_id)
        )
    )


def _raw_hold(user_id, meeting_id, start, minutes=60, buffer=15, active=True):
    """Insert a hold with a plain INSERT: no Python check stands in the way."""
    end = start + timedelta(minutes=minutes)
    db.session.execute(
        db.insert(Booking).values(
            user_id=user_id,
            start_at=start,
            end_at=end,
            blocked_until=end + timedelta(minutes=buffer),
            meeting_id=meeting_id,
            active=active,
            created_at=start,
        )
    )


# The database itself ------------------------------------------------------------------


def test_the_database_refuses_overlapping_active_holds_of_one_person(app, pair):
    start = future_start(days=3)
    first = book(app, pair, start)
    second = book(app, pair, start + timedelta(days=2))
    source = book(app, pair, start + timedelta(days=4))
    with app.app_context():
        db.session.execute(db.delete(Booking).where(Booking.meeting_id == source))
        db.session.commit()
        # 30 minutes into the first hold.
        with pytest.raises(IntegrityError, match="booking_no_overlap"):
            _raw_hold(pair.listener, source, start + timedelta(minutes=30))
        db.session.rollback()
        # Inside the buffer (the first hold blocks until end + 15 minutes).
        with pytest.raises(IntegrityError, match="booking_no_overlap"):
            _raw_hold(pair.listener, source, start + timedelta(minutes=70))
        db.session.rollback()
        # Moving an existing hold onto another one is refused too.
        with pytest.raises(IntegrityError, match="booking_no_overlap"):
            db.session.execute(
                db.update(Booking)
                .where(Booking.meeting_id == second, Booking.user_id == pair.listener)
                .values(start_at=start, end_at=start + timedelta(hours=1))
            )
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count()).select_from(Booking)) == 4
        assert {m.id for m in db.session.scalars(db.select(Meeting))} == {first, second, source}


def test_the_database_allows_touching_other_people_and_inactive_holds(app, pair):
    start = future_start(days=3)
    book(app, pair, start)
    sources = [book(app, pair, start + timedelta(days=d)) for d in (1, 2, 3)]
    with app.app_context():
        db.session.execute(db.delete(Booking).where(Booking.meeting_id.in_(sources)))
        # Another person at the same time.
        _raw_hold(pair.stranger, sources[0], start)
        # Exactly where the listener's buffer ends (the first hold blocks until +75 min).
        _raw_hold(pair.listener, sources[0], start + timedelta(minutes=75), buffer=0)
        db.session.execute(db.delete(Booking).where(Booking.meeting_id == sources[0]))
        # An inactive hold may overlap anything.
        _raw_hold(pair.listener, sources[0], start + timedelta(minutes=30), active=False)
        # A hold ending exactly where another starts (its own buffer included).
        _raw_hold(pair.coordinator, sources[1], start - timedelta(minutes=75))
        _raw_hold(pair.coordinator, sources[2], start)
        db.session.commit()
        assert bookings.overlapping_holds() == []


def test_every_hold_has_exactly_one_source(app, pair):
    with app.app_context():
        with pytest.raises(IntegrityError):
            _raw_hold(pair.listener, None, future_start())
        db.session.rollback()


# The meeting lifecycle keeps the holds --------------------------------------------------


def test_a_meeting_holds_both_people_until_it_ends_or_is_cancelled(app, pair):
    start = future_start(days=3)
    meeting_id = book(app, pair, start)
    other = book(app, pair, start + timedelta(days=1))
    with app.app_context():
        holds = _holds(meeting_id)
        assert [h.user_id for h in holds] == sorted([pair.practitioner, pair.listener])
        assert all(h.active and h.start_at == start for h in holds)
        assert all(h.blocked_until == start + timedelta(minutes=75) for h in holds)

        coordinator = db.session.get(User, pair.coordinator)
        moved = start + timedelta(hours=3)
        meetings.reschedule_meeting(coordinator, meeting_id, moved)
        db.session.commit()
        assert all(h.active and h.start_at == moved for h in _holds(meeting_id))

        meetings.cancel_meeting_by_id(coordinator, meeting_id, "")
        db.session.commit()
        assert not any(h.active for h in _holds(meeting_id))
    move_to_past(app, other)
    with app.app_context():
        db.session.execute(
            db.update(Booking)
            .where(Booking.meeting_id == other)
            .values(
                start_at=db.session.get(Meeting, other).start_at,
                end_at=db.session.get(Meeting, other).end_at,
                blocked_until=db.session.get(Meeting, other).end_at,
            )
        )
        db.session.commit()
        meetings.mark_outcome(db.session.get(User, pair.listener), other, "completed")
        db.session.commit()
        assert not any(h.active for h in _holds(other))


def test_the_engine_sees_busy_times_from_the_holds(app, pair):
    start = future_start(days=3)
    meeting_id = book(app, pair, start)
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        _, listener = engine_input.pair_inputs(
            meeting.request, meeting.listener, start - timedelta(days=1)
        )
        assert listener.booked == (engine.Interval(start, start + timedelta(hours=1)),)
        db.session.execute(db.update(Booking).values(active=False))
        _, listener = engine_input.pair_inputs(
            meeting.request, meeting.listener, start - timedelta(days=1)
        )
        assert listener.booked == ()  # the meeting row alone no longer blocks anything


# The constraint is the backstop: 409, never 500 -------------------------------------


@pytest.fixture
def no_python_checks(monkeypatch):
    """Let every Python re-check pass, so only the database stands in the way."""
    monkeypatch.setattr(engine, "check_slot", lambda *args, **kwargs: ())
    monkeypatch.setattr(bookings, "lock_people", lambda ids: None)


def test_a_reschedule_the_checks_missed_is_refused_by_the_database(
    app, api, pair, no_python_checks
):
    start = future_start(days=3)
    first = book(app, pair, start)
    second = book(app, pair, start + timedelta(days=1))
    with app.app_context():
        outbox_before = db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage))

    r = api(pair.coordinator).post(
        f"/api/v1/meetings/{second}/reschedule",
        json={"start": (start + timedelta(minutes=30)).isoformat()},
    )

    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "slot_taken"
    with app.app_context():
        meeting = db.session.get(Meeting, second)
        assert (meeting.start_at, meeting.sequence) == (start + timedelta(days=1), 0)
        assert all(h.start_at == meeting.start_at for h in _holds(second))
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == (
            outbox_before
        )
        assert bookings.overlapping_holds() == []
        assert db.session.get(Meeting, first).start_at == start


def _pending_proposal(app, pair, start) -> int:
    with app.app_context():
        req = SupportRequest(
            practitioner_id=pair.stranger,
            urgency="routine",
            modalities=["video"],
            status="proposed",
        )
        rnd = MatchingRound(started_by_id=pair.coordinator)
        db.session.add_all([req, rnd])
        db.session.flush()
        proposal = Proposal(
            round_id=rnd.id,
            request_id=req.id,
            listener_id=pair.listener,
            start_at=start,
            end_at=start + timedelta(hours=1),
            score=50,
        )
        db.session.add(proposal)
        db.session.commit()
        return proposal.id


def test_an_approval_the_checks_missed_is_refused_and_leaves_nothing(
    app, api, pair, no_python_checks
):
    start = future_start(days=3)
    book(app, pair, start)
    proposal_id = _pending_proposal(app, pair, start + timedelta(minutes=30))
    with app.app_context():
        counts = {
            model: db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in (Meeting, Booking, OutboxMessage, AuditEvent)
        }

    r = api(pair.coordinator).post(f"/api/v1/proposals/{proposal_id}/approve")

    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "slot_taken"
    with app.app_context():
        assert db.session.get(Proposal, proposal_id).status == "pending"
        for model, count in counts.items():
            assert db.session.scalar(db.select(db.func.count()).select_from(model)) == count


def test_a_refused_attempt_leaves_the_transaction_usable(app, pair, no_python_checks):
    """Bulk approval decides each proposal in its own savepoint within one transaction."""
    start = future_start(days=3)
    book(app, pair, start)
    clash = _pending_proposal(app, pair, start)
    with app.app_context():
        coordinator = db.session.get(User, pair.coordinator)
        fine = db.session.get(Proposal, _pending_proposal(app, pair, start + timedelta(days=1)))
        outcomes = []
        for proposal_id in (clash, fine.id):
            try:
                from matching.services import rounds

                rounds.approve_proposal(coordinator, proposal_id)
            except bookings.Conflict as err:
                outcomes.append(err.code)
            else:
                outcomes.append("approved")
        db.session.commit()
        assert outcomes == ["slot_taken", "approved"]
        assert db.session.get(Proposal, clash).status == "pending"
        assert db.session.get(Proposal, fine.id).status == "approved"
        assert bookings.overlapping_holds() == []
