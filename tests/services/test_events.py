"""Programme events: seats, the waiting list, offers, changes, cancellation, holds, feedback."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from matching import engine
from matching.errors import Conflict, Invalid, NotAllowed, NotFound
from matching.extensions import db
from matching.models import AuditEvent, Booking, Event, Registration, User, now_utc
from matching.services import accounts, bookings, calendar, engine_input, events
from tests.conftest import PASSWORD
from tests.support.events import (
    mail_to,
    move_event_to_past,
    new_event,
    seats,
)
from tests.support.meetings import ALL_WEEK, Pair, book, future_start, parse_invite


@pytest.fixture
def people(make_user):
    """A coordinator, a listener who facilitates, and six practitioners."""
    return {
        "coordinator": make_user("coordinator", email="cora@example.org"),
        "facilitator": make_user(
            "listener", email="fay@example.org", name="Fay Facilitator", windows=ALL_WEEK
        ),
        "practitioners": [
            make_user("practitioner", email=f"p{i}@example.org", name=f"Person{i} Smith")
            for i in range(6)
        ],
    }


def _user(user_id: int) -> User:
    return db.session.get(User, user_id)


def _register(event_id: int, *user_ids: int, now: datetime | None = None) -> list[Registration]:
    found = [events.register(_user(uid), event_id, now=now) for uid in user_ids]
    db.session.commit()
    return found


def _statuses(event_id: int) -> list[tuple[int, str]]:
    rows = db.session.scalars(
        db.select(Registration)
        .where(Registration.event_id == event_id)
        .order_by(Registration.number)
        .execution_options(populate_existing=True)
    )
    return [(r.user_id, r.status) for r in rows]


# --- seats and the waiting list ----------------------------------------------------


def test_seats_go_in_order_of_joining_then_the_waiting_list(app, people):
    eid = new_event(app, people["coordinator"], capacity=2)
    p = people["practitioners"]
    with app.app_context():
        regs = _register(eid, *p[:5])
        assert [r.status for r in regs] == ["confirmed"] * 2 + ["waitlisted"] * 3
        assert [r.number for r in regs] == [1, 2, 3, 4, 5]
        assert [events.position(r) for r in regs] == [None, None, 1, 2, 3]
        assert seats(eid) == (2, {"confirmed": 2, "waitlisted": 3})
        assert regs[0].uid == f"registration-{regs[0].id}@alongside.localhost"
        [invite] = mail_to("p0@example.org", "invite")
        parsed = parse_invite(invite.ics)
        assert parsed["method"] == "REQUEST"
        [vevent] = parsed["events"]
        assert vevent["attendees"] == ["mailto:p0@example.org"]
        assert vevent["uid"] == regs[0].uid
        assert vevent["summary"] == "Group session — Alongside"
        [waiting] = mail_to("p3@example.org", "waitlisted")
        assert "number 2" in waiting.text_body and waiting.ics is None


def test_one_registration_at_a_time_and_only_while_open(app, people):
    start = future_start(days=5)
    closes = start - timedelta(days=1)
    eid = new_event(app, people["coordinator"], start=start, closes=closes)
    p = people["practitioners"]
    with app.app_context():
        _register(eid, p[0])
        with pytest.raises(Conflict) as caught:
            events.register(_user(p[0]), eid)
        assert caught.value.code == "already_registered"
        with pytest.raises(Conflict) as caught:
            events.register(_user(p[1]), eid, now=closes)
        assert caught.value.code == "closed"
        # Not open to listeners: it does not exist for them.
        with pytest.raises(NotFound):
            events.register(_user(people["facilitator"]), eid)
        with pytest.raises(NotAllowed):
            events.register(_user(people["coordinator"]), eid)


def test_a_person_may_register_again_after_leaving(app, people):
    eid = new_event(app, people["coordinator"])
    p0 = people["practitioners"][0]
    with app.app_context():
        [first] = _register(eid, p0)
        events.withdraw(_user(p0), first.id)
        db.session.commit()
        [second] = _register(eid, p0)
        assert second.id != first.id and second.uid != first.uid
        assert second.status == "confirmed"


def test_the_database_refuses_more_seats_than_the_capacity(app, people):
    eid = new_event(app, people["coordinator"], capacity=1)
    with app.app_context():
        db.session.execute(db.update(Event).where(Event.id == eid).values(seats_taken=1))
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(db.update(Event).where(Event.id == eid).values(seats_taken=2))
        db.session.rollback()
        with pytest.raises(IntegrityError):
            db.session.execute(db.update(Event).where(Event.id == eid).values(capacity=0))
        db.session.rollback()


def test_when_the_python_check_misses_the_database_still_keeps_the_last_seat(
    app, people, monkeypatch
):
    """Even if the seat count read were stale, the CHECK turns the 2nd seat into a wait."""
    eid = new_event(app, people["coordinator"], capacity=1)
    p = people["practitioners"]
    with app.app_context():
        _register(eid, p[0])
        # As if the count had been read without the lock: a seat seems to be left.
        monkeypatch.setattr(events, "seats_left", lambda event: 1)
        [late] = _register(eid, p[1])
        assert late.status == "waitlisted"
        assert seats(eid) == (1, {"confirmed": 1, "waitlisted": 1})


# --- offers -------------------------------------------------------------------------


def test_a_freed_seat_is_offered_to_the_first_waiting_for_a_day(app, people):
    eid = new_event(app, people["coordinator"], capacity=1)
    p = people["practitioners"]
    now = now_utc()
    with app.app_context():
        first, second, _third = _register(eid, *p[:3], now=now)
        events.withdraw(_user(p[0]), first.id, now=now)
        db.session.commit()
        assert _statuses(eid) == [(p[0], "withdrawn"), (p[1], "offered"), (p[2], "waitlisted")]
        second = db.session.get(Registration, second.id)
        assert second.offer_expires == now + timedelta(hours=24)
        assert seats(eid)[0] == 1
        # The withdrawal cancels the leaver's own entry, nobody else's.
        [cancel] = mail_to("p0@example.org", "cancel")
        parsed = parse_invite(cancel.ics)
        assert parsed["method"] == "CANCEL"
        assert parsed["events"][0]["sequence"] == 1
        assert parsed["events"][0]["attendees"] == ["mailto:p0@example.org"]
        assert [m.kind for m in mail_to("p2@example.org")] == ["waitlisted"]
        [offer] = mail_to("p1@example.org", "offer")
        assert "/events/offers/" in offer.text_body and offer.ics is None
        events.accept(_user(p[1]), second.id, now=now + timedelta(hours=1))
        db.session.commit()
        assert _statuses(eid)[1] == (p[1], "confirmed")
        assert mail_to("p1@example.org", "invite")


def test_a_declined_offer_goes_to_the_next_person_at_once(app, people):
    eid = new_event(app, people["coordinator"], capacity=1)
    p = people["practitioners"]
    with app.app_context():
        first, second, _third = _register(eid, *p[:3])
        events.withdraw(_user(p[0]), first.id)
        events.decline(_user(p[1]), second.id)
        db.session.commit()
        assert _statuses(eid) == [(p[0], "withdrawn"), (p[1], "declined"), (p[2], "offered")]
        assert seats(eid)[0] == 1
        with pytest.raises(Conflict) as caught:
            events.accept(_user(p[1]), second.id)
        assert caught.value.code == "not_offered"


def test_offers_expire_under_the_clock_and_pass_on_in_order(app, people):
    eid = new_event(app, people["coordinator"], capacity=1, start=future_start(days=6))
    p = people["practitioners"]
    now = now_utc()
    with app.app_context():
        regs = _register(eid, *p[:4], now=now)
        events.withdraw(_user(p[0]), regs[0].id, now=now)
        db.session.commit()
        assert events.pass_on_expired_offers(now + timedelta(hours=23, minutes=59)) == 0
        with pytest.raises(Conflict) as caught:
            events.accept(_user(p[1]), regs[1].id, now=now + timedelta(hours=24))
        assert caught.value.code == "offer_expired"
        db.session.rollback()
        later = now + timedelta(hours=24, minutes=1)
        assert events.pass_on_expired_offers(later) == 1
        db.session.commit()
        assert [s for _, s in _statuses(eid)] == ["withdrawn", "expired", "offered", "waitlisted"]
        assert mail_to("p1@example.org", "expired")
        third = db.session.get(Registration, regs[2].id)
        assert third.offer_expires == later + timedelta(hours=24)
        assert events.pass_on_expired_offers(later + timedelta(hours=25)) == 1
        db.session.commit()
        assert [s for _, s in _statuses(eid)] == ["withdrawn", "expired", "expired", "offered"]
        assert seats(eid)[0] == 1


@pytest.mark.parametrize("app_config", [{"EVENT_OFFER_HOURS": 2}])
def test_the_offer_lasts_the_configured_hours(app, people):
    eid = new_event(app, people["coordinator"], capacity=1)
    p = people["practitioners"]
    now = now_utc()
    with app.app_context():
        regs = _register(eid, *p[:2], now=now)
        events.withdraw(_user(p[0]), regs[0].id, now=now)
        db.session.commit()
        assert db.session.get(Registration, regs[1].id).offer_expires == now + timedelta(hours=2)


def test_no_offer_is_made_once_registration_has_closed(app, people):
    start = future_start(days=5)
    closes = start - timedelta(days=2)
    eid = new_event(app, people["coordinator"], capacity=1, start=start, closes=closes)
    p = people["practitioners"]
    with app.app_context():
        first, _second = _register(eid, *p[:2])
        events.withdraw(_user(p[0]), first.id, now=closes + timedelta(minutes=1))
        db.session.commit()
        assert _statuses(eid) == [(p[0], "withdrawn"), (p[1], "waitlisted")]
        assert seats(eid)[0] == 0
        assert not mail_to("p1@example.org", "offer")


def test_an_offer_never_outlasts_the_start(app, people):
    start = now_utc().replace(microsecond=0) + timedelta(hours=5)
    eid = new_event(app, people["coordinator"], capacity=1, start=start, closes=start)
    p = people["practitioners"]
    with app.app_context():
        regs = _register(eid, *p[:2])
        events.withdraw(_user(p[0]), regs[0].id)
        db.session.commit()
        assert db.session.get(Registration, regs[1].id).offer_expires == start


def test_the_offer_link_acts_only_for_its_registrant(app, people):
    eid = new_event(app, people["coordinator"], capacity=1)
    p = people["practitioners"]
    with app.app_context():
        regs = _register(eid, *p[:2])
        events.withdraw(_user(p[0]), regs[0].id)
        db.session.commit()
        token = events.offer_url(regs[1]).rsplit("/", 1)[1]
        assert events.registration_for_offer(_user(p[1]), token).id == regs[1].id
        for who, bad in ((p[0], token), (p[1], token + "x"), (p[1], "not-a-token")):
            with pytest.raises(NotFound):
                events.registration_for_offer(_user(who), bad)


# --- approval -----------------------------------------------------------------------


def test_approval_keeps_the_seat_until_a_coordinator_decides(app, people):
    eid = new_event(app, people["coordinator"], capacity=1, approval=True)
    p = people["practitioners"]
    coordinator = people["coordinator"]
    with app.app_context():
        first, second = _register(eid, *p[:2])
        assert (first.status, second.status) == ("pending_approval", "waitlisted")
        assert mail_to("p0@example.org", "pending")
        assert (
            db.session.scalars(db.select(Booking).where(Booking.registration_id.is_not(None))).all()
            == []
        )
        events.reject(_user(coordinator), first.id)
        db.session.commit()
        assert _statuses(eid) == [(p[0], "rejected"), (p[1], "offered")]
        # An offer accepted on an approval event waits for approval too.
        events.accept(_user(p[1]), second.id)
        assert db.session.get(Registration, second.id).status == "pending_approval"
        events.approve(_user(coordinator), second.id)
        db.session.commit()
        assert _statuses(eid)[1] == (p[1], "confirmed")
        assert mail_to("p1@example.org", "invite")
        actions = db.session.scalars(db.select(AuditEvent.action)).all()
        assert {"registration.rejected", "registration.approved"} <= set(actions)
        with pytest.raises(NotAllowed):
            events.approve(_user(p[0]), second.id)


# --- changes and cancellation -------------------------------------------------------


def test_a_new_time_sends_each_confirmed_person_an_update_and_moves_the_holds(app, people):
    eid = new_event(app, people["coordinator"], capacity=2, facilitator=people["facilitator"])
    p = people["practitioners"]
    with app.app_context():
        regs = _register(eid, *p[:3])
        new_start = future_start(days=8, hour=9)
        events.update_event(
            _user(people["coordinator"]),
            eid,
            {"start": new_start, "end": new_start + timedelta(hours=2)},
        )
        db.session.commit()
        for reg, address in zip(regs[:2], ("p0@example.org", "p1@example.org"), strict=True):
            [update] = mail_to(address, "update")
            parsed = parse_invite(update.ics)
            assert parsed["events"][0]["uid"] == reg.uid
            assert parsed["events"][0]["sequence"] == 1
            assert parsed["events"][0]["start"] == new_start
            assert parsed["events"][0]["attendees"] == [f"mailto:{address}"]
        assert not mail_to("p2@example.org", "update")  # waiting: nothing in the calendar
        [fay] = mail_to("fay@example.org", "update")
        assert parse_invite(fay.ics)["events"][0]["uid"] == f"event-{eid}@alongside.localhost"
        holds = db.session.scalars(db.select(Booking).where(Booking.active.is_(True))).all()
        assert len(holds) == 3 and {h.start_at for h in holds} == {new_start}
        # The title is not calendar text: changing it sends nothing.
        before = len(mail_to("p0@example.org"))
        events.update_event(_user(people["coordinator"]), eid, {"title": "New title"})
        assert len(mail_to("p0@example.org")) == before


def test_a_new_place_is_an_update_too(app, people):
    eid = new_event(app, people["coordinator"])
    p0 = people["practitioners"][0]
    with app.app_context():
        _register(eid, p0)
        events.update_event(
            _user(people["coordinator"]),
            eid,
            {"modality": "in_person", "location": "Community hall, 4 Mill Lane"},
        )
        db.session.commit()
        [update] = mail_to("p0@example.org", "update")
        assert "In person: Community hall, 4 Mill Lane" in update.text_body
        assert "LOCATION:Community hall\\, 4 Mill Lane" in update.ics.decode()
        with pytest.raises(Invalid):
            events.update_event(
                _user(people["coordinator"]), eid, {"modality": "video", "location": "Hall"}
            )


def test_capacity_cannot_fall_below_the_seats_taken_and_rising_offers_seats(app, people):
    eid = new_event(app, people["coordinator"], capacity=2)
    p = people["practitioners"]
    coordinator = people["coordinator"]
    with app.app_context():
        _register(eid, *p[:4])
        with pytest.raises(Conflict) as caught:
            events.update_event(_user(coordinator), eid, {"capacity": 1})
        assert caught.value.code == "capacity_too_low"
        db.session.rollback()
        events.update_event(_user(coordinator), eid, {"capacity": 3})
        db.session.commit()
        assert [s for _, s in _statuses(eid)] == ["confirmed", "confirmed", "offered", "waitlisted"]


def test_cancelling_an_event_cancels_every_entry_and_frees_every_hold(app, people):
    eid = new_event(app, people["coordinator"], capacity=2, facilitator=people["facilitator"])
    p = people["practitioners"]
    with app.app_context():
        _register(eid, *p[:3])
        events.cancel_event(_user(people["coordinator"]), eid, "The room flooded.")
        db.session.commit()
        assert {s for _, s in _statuses(eid)} == {"cancelled"}
        assert seats(eid)[0] == 0
        for address in ("p0@example.org", "p1@example.org", "fay@example.org"):
            [cancel] = mail_to(address, "cancel")
            assert parse_invite(cancel.ics)["method"] == "CANCEL"
            assert "will not take place" in cancel.text_body
            assert "The room flooded." in cancel.text_body
        [plain] = mail_to("p2@example.org", "called_off")
        assert plain.ics is None
        assert db.session.scalars(db.select(Booking).where(Booking.active.is_(True))).all() == []
        with pytest.raises(Conflict):
            events.cancel_event(_user(people["coordinator"]), eid)


def test_a_facilitator_change_cancels_the_old_entry_and_invites_the_new(app, people, make_user):
    eid = new_event(app, people["coordinator"], facilitator=people["facilitator"])
    with app.app_context():
        events.update_event(
            _user(people["coordinator"]), eid, {"facilitator_id": people["coordinator"]}
        )
        db.session.commit()
        [cancel] = mail_to("fay@example.org", "cancel")
        [invite] = mail_to("cora@example.org", "invite")
        assert parse_invite(cancel.ics)["events"][0]["attendees"] == ["mailto:fay@example.org"]
        assert parse_invite(invite.ics)["events"][0]["attendees"] == ["mailto:cora@example.org"]
        holds = db.session.scalars(
            db.select(Booking.user_id).where(Booking.event_id == eid, Booking.active.is_(True))
        ).all()
        assert holds == [people["coordinator"]]
        with pytest.raises(Invalid):
            events.update_event(
                _user(people["coordinator"]), eid, {"facilitator_id": people["practitioners"][0]}
            )


# --- busy time ------------------------------------------------------------------------


def test_a_confirmed_seat_blocks_matching_but_counts_against_no_limit(app, people, make_user):
    start = future_start(days=4, hour=10)
    listener = make_user(
        "listener",
        windows=ALL_WEEK,
        max_sessions_per_day=1,
        max_sessions_per_week=1,
        email="lis@example.org",
    )
    eid = new_event(app, people["coordinator"], start=start, open_to=("listener", "practitioner"))
    practitioner = make_user("practitioner", windows=ALL_WEEK)
    with app.app_context():
        _register(eid, listener)
        from matching.models import SupportRequest

        req = SupportRequest(practitioner_id=practitioner, modalities=["video"], status="open")
        db.session.add(req)
        db.session.flush()
        now = start - timedelta(days=2)
        request_in, listener_in = engine_input.pair_inputs(req, _user(listener), now)
        assert listener_in.held == (engine.Interval(start, start + timedelta(hours=2)),)
        assert listener_in.booked == ()
        params = engine_input.params(now)
        assert engine.check_slot(request_in, listener_in, start, params, enforce_horizon=False) == (
            "listener_busy",
        )
        later_that_day = start + timedelta(hours=4)
        assert (
            engine.check_slot(
                request_in, listener_in, later_that_day, params, enforce_horizon=False
            )
            == ()
        )


def test_registering_over_a_booked_conversation_is_refused(app, people, make_user):
    p0 = people["practitioners"][0]
    listener = make_user("listener", windows=ALL_WEEK, max_sessions_per_day=4)
    start = future_start(days=5, hour=15)
    with app.app_context():
        db.session.get(User, p0)  # the practitioner has no windows: book() does not care
    book(app, Pair(people["coordinator"], p0, listener, 0), start + timedelta(minutes=30))
    eid = new_event(app, people["coordinator"], start=start)
    with app.app_context():
        with pytest.raises(Conflict) as caught:
            events.register(_user(p0), eid)
        assert caught.value.code == "slot_taken"
        db.session.rollback()
        assert seats(eid) == (0, {})
        assert bookings.overlapping_holds() == []


# --- leaving the programme --------------------------------------------------------------


def test_erasure_withdraws_registrations_and_gives_up_facilitation(app, people):
    eid = new_event(app, people["coordinator"], capacity=1, facilitator=people["facilitator"])
    p = people["practitioners"]
    with app.app_context():
        _register(eid, *p[:2])
        accounts.erase_user(_user(p[0]), PASSWORD)
        accounts.erase_user(_user(people["facilitator"]), PASSWORD)
        db.session.commit()
        assert [s for _, s in _statuses(eid)] == ["withdrawn", "offered"]
        assert mail_to("p0@example.org", "cancel")  # sent before the address was erased
        assert mail_to("fay@example.org", "cancel")
        assert db.session.get(Event, eid).facilitator_id is None
        assert db.session.scalars(db.select(Booking).where(Booking.active.is_(True))).all() == []


# --- reminders and the feed -------------------------------------------------------------


def test_registrants_and_facilitators_are_reminded_once_a_sequence(app, people):
    start = now_utc().replace(second=0, microsecond=0) + timedelta(hours=20)
    eid = new_event(
        app, people["coordinator"], start=start, closes=start, facilitator=people["facilitator"]
    )
    p0 = people["practitioners"][0]
    with app.app_context():
        [reg] = _register(eid, p0)
        assert calendar.queue_reminders() == 2
        db.session.commit()
        assert calendar.queue_reminders() == 0
        keys = sorted(m.dedupe_key for m in mail_to("p0@example.org", "reminder"))
        assert keys == [f"reminder-registration-{reg.id}-0-{p0}"]
        [fay] = mail_to("fay@example.org", "reminder")
        assert fay.dedupe_key == f"reminder-event-{eid}-0-{people['facilitator']}"
        assert "Thank you for facilitating" in fay.text_body


def test_the_feed_holds_seats_and_facilitations_with_their_own_uids(app, people):
    eid = new_event(app, people["coordinator"], capacity=1, facilitator=people["facilitator"])
    p = people["practitioners"]
    with app.app_context():
        first, _waiting = _register(eid, *p[:2])
        since = now_utc() - timedelta(days=1)
        uids = [(e.uid, e.status) for e in calendar.feed_entries(_user(p[0]), since)]
        assert uids == [(first.uid, "CONFIRMED")]
        assert calendar.feed_entries(_user(p[1]), since) == []  # waiting: nothing to show
        fay = calendar.feed_entries(_user(people["facilitator"]), since)
        assert [(e.uid, e.attendees[0].email) for e in fay] == [
            (f"event-{eid}@alongside.localhost", "fay@example.org")
        ]
        events.withdraw(_user(p[0]), first.id)
        db.session.commit()
        [entry] = calendar.feed_entries(_user(p[0]), since)
        assert (entry.status, entry.sequence) == ("CANCELLED", 1)


# --- feedback and attendance -------------------------------------------------------------


def test_feedback_is_withheld_below_five_and_never_attributed(app, people, make_user):
    eid = new_event(app, people["coordinator"], capacity=10, facilitator=people["facilitator"])
    p = people["practitioners"]
    with app.app_context():
        _register(eid, *p)
        with pytest.raises(Conflict) as caught:
            events.add_feedback(_user(p[0]), eid, 5, "")
        assert caught.value.code == "not_ended"
    move_event_to_past(app, eid)
    with app.app_context():
        comments = ["Zebra calm", "", "Apple helpful", "Middle", ""]
        for person, rating, comment in zip(p[:4], (5, 4, 4, 3), comments, strict=False):
            events.add_feedback(_user(person), eid, rating, comment)
        db.session.commit()
        facilitator = _user(people["facilitator"])
        assert events.feedback_summary(facilitator, eid) == {"count": 4, "withheld": True}
        events.add_feedback(_user(p[4]), eid, 2, "")
        db.session.commit()
        summary = events.feedback_summary(facilitator, eid)
        assert summary == {
            "count": 5,
            "mean_rating": 3.6,
            "comments": ["Apple helpful", "Middle", "Zebra calm"],
            "withheld": False,
        }
        with pytest.raises(NotFound):
            events.feedback_summary(_user(p[0]), eid)
        with pytest.raises(Conflict):
            events.add_feedback(_user(p[0]), eid, 5, "")
        stranger = make_user("practitioner")
        with pytest.raises(NotAllowed):
            events.add_feedback(_user(stranger), eid, 5, "")


def test_coordinators_mark_attendance_once_it_began(app, people):
    eid = new_event(app, people["coordinator"])
    p0 = people["practitioners"][0]
    with app.app_context():
        [reg] = _register(eid, p0)
        with pytest.raises(Conflict):
            events.mark_attendance(_user(people["coordinator"]), reg.id, True)
    move_event_to_past(app, eid)
    with app.app_context():
        events.mark_attendance(_user(people["coordinator"]), reg.id, True)
        db.session.commit()
        assert db.session.get(Registration, reg.id).attended is True
        with pytest.raises(NotAllowed):
            events.mark_attendance(_user(p0), reg.id, False)


def test_the_roster_is_for_coordinators_and_the_facilitator(app, people):
    eid = new_event(app, people["coordinator"], capacity=1, facilitator=people["facilitator"])
    p = people["practitioners"]
    with app.app_context():
        _register(eid, *p[:3])
        _, rows = events.roster(_user(people["facilitator"]), eid)
        assert [(r["user_id"], r["status"], r.get("position")) for r in rows] == [
            (p[0], "confirmed", None),
            (p[1], "waitlisted", 1),
            (p[2], "waitlisted", 2),
        ]
        assert "email" not in rows[0]
        _, rows = events.roster(_user(people["coordinator"]), eid)
        assert rows[0]["email"] == "p0@example.org"
        with pytest.raises(NotFound):
            events.roster(_user(p[0]), eid)


# --- a monthly series ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_start", "expected"),
    [
        (datetime(2026, 3, 10, 18, 30), datetime(2026, 4, 14, 18, 30)),  # 2nd Tuesday
        (datetime(2026, 3, 31, 18, 30), datetime(2026, 4, 28, 18, 30)),  # 5th -> last Tuesday
        (datetime(2026, 12, 3, 9, 0), datetime(2027, 1, 7, 9, 0)),  # 1st Thursday, new year
    ],
)
def test_copy_to_next_month_keeps_the_weekday_of_the_month_and_the_local_time(
    local_start, expected
):
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/London")
    start = local_start.replace(tzinfo=zone)
    event = Event(
        kind="seminar",
        title="Monthly seminar",
        description="",
        start_at=start,
        end_at=start + timedelta(hours=1),
        registration_closes=start - timedelta(days=1),
        timezone="Europe/London",
        modality="video",
        location="https://meet.example.org/s",
        capacity=20,
        requires_approval=False,
        open_to=["practitioner", "listener"],
        facilitator_id=None,
    )
    values = events.next_month(event)
    assert values["start"] == expected
    assert values["end"] == expected + timedelta(hours=1)
    assert values["registration_closes"] == expected - timedelta(days=1)
    assert values["title"] == "Monthly seminar" and values["capacity"] == 20
