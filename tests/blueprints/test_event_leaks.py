"""Nothing a registrant can see names anyone else who registered.

Every page, API answer, e-mail, invite and feed a registrant can reach is gathered after
a full story (seats, waiting, an offer, a new time and place, a withdrawal, reminders, a
cancelled second event, feedback) and searched for the other registrants' names and
addresses, and the facilitator's.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from matching.extensions import db
from matching.models import OutboxMessage, Registration, User, now_utc
from matching.services import calendar, events
from tests.support.events import new_event
from tests.support.meetings import future_start

PEOPLE = [
    ("Zephyrine Quillfeather", "zephyrine@clinic-one.example"),
    ("Marisol Okonkwo-Vance", "marisol@clinic-two.example"),
    ("Thaddeus Brightwater", "thaddeus@clinic-three.example"),
    ("Ottilie Farrowmere", "ottilie@clinic-four.example"),
]
FACILITATOR = ("Bartholomew Inglenook", "bartholomew@listeners.example")


@pytest.fixture
def story(app, make_user):
    coordinator = make_user("coordinator", email="cora@example.org")
    fac = make_user("listener", name=FACILITATOR[0], email=FACILITATOR[1])
    ids = [make_user("practitioner", name=n, email=e) for n, e in PEOPLE]
    soon = now_utc().replace(minute=0, second=0, microsecond=0) + timedelta(hours=12)
    first = new_event(app, coordinator, capacity=2, start=soon, closes=soon, facilitator=fac)
    second = new_event(app, coordinator, capacity=5, start=future_start(days=9), approval=True)
    with app.app_context():

        def user(i):
            return db.session.get(User, ids[i])

        regs = [events.register(user(i), first) for i in range(4)]
        events.register(user(1), second)
        events.register(user(2), second)
        events.withdraw(user(0), regs[0].id)  # the seat is offered to the third
        later = soon + timedelta(hours=1)
        events.update_event(
            db.session.get(User, coordinator),
            first,
            {"start": later, "end": later + timedelta(hours=2), "registration_closes": later},
        )
        events.update_event(
            db.session.get(User, coordinator), first, {"location": "https://meet.example.org/b"}
        )
        events.cancel_event(db.session.get(User, coordinator), second, "Sorry")
        calendar.queue_reminders()
        db.session.commit()
    return {"events": (first, second), "ids": ids}


def _others(index: int) -> list[str]:
    words = []
    for i, (name, email) in enumerate([*PEOPLE, FACILITATOR]):
        if i != index:
            words += [email, *name.split()]
    return words


def _gather(app, client, login, api, story, index: int) -> dict[str, str]:
    """Everything person ``index`` can see, by where it came from."""
    email = PEOPLE[index][1]
    uid = story["ids"][index]
    seen: dict[str, str] = {}
    with app.app_context():
        for row in db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.recipient == email)
        ):
            seen[f"mail {row.id} {row.kind}"] = "\n".join(
                [row.subject, row.text_body, row.html_body, (row.ics or b"").decode()]
            )
        registrations = db.session.scalars(
            db.select(Registration).where(Registration.user_id == uid)
        ).all()
        offers = [events.offer_url(r) for r in registrations if r.status == "offered"]
        mine = [r.id for r in registrations]

    login(email)
    paths = ["/events/", "/meetings/calendar", "/practitioner/"]
    paths += [f"/events/{eid}" for eid in story["events"]]
    paths += [urlsplit(url).path for url in offers]
    paths += [f"/events/registrations/{rid}/invite.ics" for rid in mine]
    for path in paths:
        r = client.get(path)
        if r.status_code == 200:
            seen[f"page {path}"] = r.get_data(as_text=True)
    for eid in story["events"]:
        assert client.get(f"/events/{eid}/roster").status_code == 404
    feed = client.post("/meetings/calendar/rotate").get_data(as_text=True)
    feed_url = re.search(r'readonly value="([^"]+)"', feed).group(1)
    seen["feed"] = client.get(urlsplit(feed_url).path).get_data(as_text=True)
    client.post("/logout")

    person = api(uid)
    calls = ["/api/v1/events", "/api/v1/me", "/api/v1/me/export"]
    calls += [f"/api/v1/events/{eid}" for eid in story["events"]]
    calls += [f"/api/v1/registrations/{rid}" for rid in mine]
    calls += [f"/api/v1/registrations/{rid}/invite.ics" for rid in mine]
    for path in calls:
        r = person.get(path)
        if r.status_code == 200:
            seen[f"api {path}"] = r.get_data(as_text=True)
    for eid in story["events"]:
        assert person.get(f"/api/v1/events/{eid}/registrations").status_code == 404
        assert person.get(f"/api/v1/events/{eid}/feedback").status_code == 404
    return seen


@pytest.mark.parametrize("index", range(len(PEOPLE)))
def test_a_registrant_sees_nobody_else_who_registered(app, client, login, api, story, index):
    seen = _gather(app, client, login, api, story, index)
    kinds = {key.split()[0] for key in seen}
    assert {"mail", "page", "feed", "api"} <= kinds
    assert any("BEGIN:VCALENDAR" in text for text in seen.values())
    own_first_name = PEOPLE[index][0].split()[0]
    assert any(own_first_name in text for key, text in seen.items() if key.startswith("mail"))
    leaks = [
        (where, word)
        for where, text in seen.items()
        for word in _others(index)
        if word.lower() in text.lower()
    ]
    assert leaks == []


def test_the_story_reached_every_kind_of_message(app, story):
    with app.app_context():
        kinds = set(db.session.scalars(db.select(OutboxMessage.kind)))
    assert {"invite", "update", "cancel", "offer", "waitlisted", "pending", "reminder"} <= kinds
    assert "called_off" in kinds
