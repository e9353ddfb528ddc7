"""Every invite a programme event sends, as three calendar parsers read it.

Each message the service queued for an event — a registrant's invite, update and
cancellation, the facilitator's, the downloads and the feed — is read by icalendar,
vobject and ical.js: they must agree on the time, UID, SEQUENCE, METHOD and STATUS,
find exactly one ATTENDEE (the person the message went to), and see neutral words only.
The same holds for conversations with a place to meet.
"""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest

from matching.extensions import db
from matching.models import ListenerProfile, OutboxMessage, Registration, User
from matching.services import calendar, events
from tests.support.calendars import attendees_three_ways, locations_three_ways, read_three_ways
from tests.support.events import new_event
from tests.support.meetings import book, future_start, make_pair


@pytest.fixture
def story(app, make_user):
    """An event lived through: seats, a wait, an offer taken, a new time, a withdrawal,
    a new place, a facilitator handing over, and in the end a cancellation."""
    coordinator = make_user("coordinator", email="cora@example.org")
    fay = make_user("listener", email="fay@example.org", name='Fay "F" O\'Neill, Jr')
    people = [make_user("practitioner", email=f"p{i}@example.org") for i in range(4)]
    start = future_start(days=6, hour=15)
    eid = new_event(app, coordinator, capacity=2, start=start, facilitator=fay)
    with app.app_context():
        actor = db.session.get(User, coordinator)
        regs = [events.register(db.session.get(User, p), eid) for p in people[:3]]
        moved = start + timedelta(days=1, hours=2)
        events.update_event(actor, eid, {"start": moved, "end": moved + timedelta(hours=2)})
        events.withdraw(db.session.get(User, people[0]), regs[0].id)
        events.accept(db.session.get(User, people[2]), regs[2].id)
        events.update_event(
            actor, eid, {"modality": "in_person", "location": "Hall 2, 4 Mill Lane, Leeds"}
        )
        events.update_event(actor, eid, {"facilitator_id": coordinator})
        events.cancel_event(actor, eid, "The hall is closed.")
        db.session.commit()
    return {"event": eid, "start": start, "moved": moved}


def _event_mail(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(OutboxMessage)
            .where(OutboxMessage.meeting_id.is_(None))
            .where(OutboxMessage.ics.is_not(None))
            .order_by(OutboxMessage.id)
        ).all()
        db.session.expunge_all()
        return rows


def test_every_event_invite_is_read_alike_and_names_only_its_recipient(
    app, story, icaljs, assert_calendar_neutral
):
    rows = _event_mail(app)
    seen = []
    for row in rows:
        [reading] = read_three_ways(icaljs, row.ics)
        [attendees] = attendees_three_ways(icaljs, row.ics)
        assert attendees == [f"mailto:{row.recipient}"], (row.kind, row.recipient, attendees)
        assert (
            reading["method"] == row.ics_method == ("CANCEL" if row.kind == "cancel" else "REQUEST")
        )
        assert reading["status"] == ("CANCELLED" if row.kind == "cancel" else "CONFIRMED")
        assert reading["end"] - reading["start"] == timedelta(hours=2)
        assert_calendar_neutral(row.ics)
        alarms = icalendar.Calendar.from_ical(row.ics).walk("VALARM")
        wanted = [] if row.kind == "cancel" else ["Reminder: group session in 15 minutes"]
        assert [str(a["DESCRIPTION"]) for a in alarms] == wanted
        seen.append(
            (row.recipient, row.kind, reading["uid"], reading["sequence"], reading["start"])
        )

    eid, start, moved = story["event"], story["start"], story["moved"]
    with app.app_context():
        uid = {
            r.user.email: r.uid
            for r in db.session.scalars(db.select(Registration).order_by(Registration.id))
        }
    facilitation = f"event-{eid}@alongside.localhost"
    assert seen == [
        ("fay@example.org", "invite", facilitation, 0, start),
        ("p0@example.org", "invite", uid["p0@example.org"], 0, start),
        ("p1@example.org", "invite", uid["p1@example.org"], 0, start),
        # A new time: SEQUENCE + 1 to each person with a seat, and the facilitator.
        ("p0@example.org", "update", uid["p0@example.org"], 1, moved),
        ("p1@example.org", "update", uid["p1@example.org"], 1, moved),
        ("fay@example.org", "update", facilitation, 1, moved),
        # A withdrawal: CANCEL to that person only.
        ("p0@example.org", "cancel", uid["p0@example.org"], 2, moved),
        ("p2@example.org", "invite", uid["p2@example.org"], 0, moved),
        # A new place: an update again.
        ("p1@example.org", "update", uid["p1@example.org"], 2, moved),
        ("p2@example.org", "update", uid["p2@example.org"], 1, moved),
        ("fay@example.org", "update", facilitation, 2, moved),
        # The facilitator hands over: the old one's entry cancelled, the new one invited.
        ("fay@example.org", "cancel", facilitation, 3, moved),
        ("cora@example.org", "invite", facilitation, 3, moved),
        # The event is cancelled: CANCEL to everyone with an entry.
        ("p1@example.org", "cancel", uid["p1@example.org"], 3, moved),
        ("p2@example.org", "cancel", uid["p2@example.org"], 2, moved),
        ("cora@example.org", "cancel", facilitation, 4, moved),
    ]
    assert len({u for _, _, u, _, _ in seen}) == 4  # each registration its own UID


def test_places_are_read_alike_and_leave_with_a_cancellation(app, story, icaljs):
    places = {}
    for row in _event_mail(app):
        [location] = locations_three_ways(icaljs, row.ics)
        places.setdefault(row.kind, set()).add(location)
    assert places["invite"] >= {"https://meet.example.org/group-room"}
    assert "Hall 2, 4 Mill Lane, Leeds" in places["update"]
    assert places["cancel"] == {None}


def test_downloads_and_the_feed_carry_one_attendee_or_none(app, story, icaljs, make_user):
    with app.app_context():
        reg = db.session.scalars(db.select(Registration).order_by(Registration.id)).all()[1]
        data, method = events.invite_for(reg.user, reg.id)
        [reading] = read_three_ways(icaljs, data)
        assert (method, reading["method"], reading["uid"]) == ("CANCEL", "CANCEL", reg.uid)
        assert attendees_three_ways(icaljs, data) == [[f"mailto:{reg.user.email}"]]
        since = story["start"] - timedelta(days=30)
        feed = calendar.feed(reg.user, since)
        readings = read_three_ways(icaljs, feed)
        assert [(r["uid"], r["status"]) for r in readings] == [(reg.uid, "CANCELLED")]
        assert attendees_three_ways(icaljs, feed) == [[]]


@pytest.mark.parametrize(
    ("modality", "profile", "location"),
    [
        ("video", {"video_url": "https://meet.example.org/leo"}, "https://meet.example.org/leo"),
        ("phone", {}, "Phone: +44 20 7946 0000"),
        ("in_person", {"place": "Library, 2 Park Road, room 3"}, "Library, 2 Park Road, room 3"),
    ],
)
def test_conversation_places_are_neutral_and_read_alike(
    app, make_user, icaljs, assert_calendar_neutral, modality, profile, location
):
    pair = make_pair(make_user)
    with app.app_context():
        lp = db.session.get(ListenerProfile, pair.listener)
        lp.modalities = [modality]
        for name, value in profile.items():
            setattr(lp, name, value)
        db.session.commit()
    meeting_id = book(app, pair, future_start(), modalities=(modality,), phone="+44 20 7946 0000")
    with app.app_context():
        rows = db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.meeting_id == meeting_id)
        ).all()
        assert len(rows) == 2
        for row in rows:
            assert locations_three_ways(icaljs, row.ics) == [location]
            assert len(attendees_three_ways(icaljs, row.ics)[0]) == 2
            assert_calendar_neutral(row.ics)
