"""The programme-event pages: publishing, copying, registering, offers, the roster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from matching.extensions import db
from matching.models import Event, Registration, now_utc
from tests.conftest import PASSWORD
from tests.support.events import ROOM, mail_to, move_event_to_past, new_event, registration_of

LOCAL = "%Y-%m-%dT%H:%M"


@pytest.fixture
def people(make_user):
    return {
        "coordinator": make_user("coordinator", email="cora@example.org", timezone="Europe/London"),
        "facilitator": make_user("listener", email="fay@example.org", name="Fay Facilitator"),
        "practitioners": [
            make_user(
                "practitioner",
                email=f"p{i}@example.org",
                name=f"Person{i} Smith",
                timezone="America/New_York",
            )
            for i in range(3)
        ],
    }


def _form(start: datetime, **changes) -> dict:
    return {
        "kind": "workshop",
        "title": "Carrying other people's stories",
        "description": "Two calm hours.",
        "timezone": "Europe/Berlin",
        "start": start.strftime(LOCAL),
        "end": (start + timedelta(hours=2)).strftime(LOCAL),
        "registration_closes": "",
        "modality": "video",
        "location": ROOM,
        "capacity": "8",
        "open_to": ["practitioner", "listener"],
        "facilitator_id": "",
    } | changes


def _next_weekday(days: int = 20) -> datetime:
    """A local wall-clock time some days ahead (no DST change near it in these tests)."""
    return (now_utc() + timedelta(days=days)).replace(
        hour=18, minute=30, second=0, microsecond=0, tzinfo=None
    )


def test_a_coordinator_publishes_an_event_in_a_named_zone(app, client, login, people):
    login("cora@example.org")
    page = client.get("/coordinator/events/new").get_data(as_text=True)
    assert 'aria-describedby="location-hint"' in page and 'id="location-hint"' in page
    start = _next_weekday()
    r = client.post(
        "/coordinator/events/new",
        data=_form(start, facilitator_id=str(people["facilitator"])),
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(db.select(Event))
        expected = start.replace(tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
        assert (event.start_at, event.timezone) == (expected, "Europe/Berlin")
        assert event.registration_closes == event.start_at
        assert event.facilitator_id == people["facilitator"]
        assert event.open_to == ["practitioner", "listener"]
        assert mail_to("fay@example.org", "invite")
    show = client.get(urlsplit(r.headers["Location"]).path).get_data(as_text=True)
    assert "Who registered" in show and "Copy to next month" in show


def test_the_event_form_says_what_is_wrong(app, client, login, people):
    login("cora@example.org")
    start = _next_weekday()
    page = client.post(
        "/coordinator/events/new", data=_form(start, location="http://meet.example.org/x")
    ).get_data(as_text=True)
    assert "Use an https:// address" in page
    page = client.post(
        "/coordinator/events/new", data=_form(start, end=start.strftime(LOCAL))
    ).get_data(as_text=True)
    assert "after the start" in page
    # 02:30 on the last Sunday of March does not exist in Berlin.
    gap = datetime(now_utc().year + 1, 3, 31, 2, 30)
    while gap.weekday() != 6:
        gap -= timedelta(days=1)
    page = client.post("/coordinator/events/new", data=_form(gap)).get_data(as_text=True)
    assert "does not exist" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Event)) == 0


def test_copy_to_next_month_and_change_and_cancel_from_the_pages(app, client, login, people):
    eid = new_event(app, people["coordinator"], capacity=3)
    login("p0@example.org")
    client.post(f"/events/{eid}/register")
    client.post("/logout")
    login("cora@example.org")
    copy = client.get(f"/coordinator/events/new?copy={eid}").get_data(as_text=True)
    with app.app_context():
        event = db.session.get(Event, eid)
        from matching.services import events

        expected = events.next_month(event)["start"].strftime(LOCAL)
    assert f'value="{expected}"' in copy
    assert "Carrying other people&#39;s stories" in copy

    edit = client.get(f"/coordinator/events/{eid}/edit").get_data(as_text=True)
    assert "Cancel the event for everyone" in edit
    with app.app_context():
        values = events.form_values(db.session.get(Event, eid))
    later = values["start"] + timedelta(hours=2)
    form = _form(
        later,
        timezone=values["timezone"],
        registration_closes=values["registration_closes"].strftime(LOCAL),
        capacity="3",
        open_to=["practitioner"],
    )
    assert client.post(f"/coordinator/events/{eid}/edit", data=form).status_code == 302
    with app.app_context():
        [update] = mail_to("p0@example.org", "update")
        assert "has changed" in update.text_body
    r = client.post(f"/coordinator/events/{eid}/cancel", data={"reason": "Unwell."})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Event, eid).status == "cancelled"
        assert "Unwell." in mail_to("p0@example.org", "cancel")[0].text_body


def test_people_register_wait_and_withdraw_from_the_pages(app, client, login, people):
    eid = new_event(app, people["coordinator"], capacity=1)
    login("p0@example.org")
    listing = client.get("/events/").get_data(as_text=True)
    assert "1 of 1 seats left" in listing
    with app.app_context():
        start = db.session.get(Event, eid).start_at.astimezone(ZoneInfo("America/New_York"))
    assert f"{start:%a %d %b, %H:%M} (America/New York)" in listing
    page = client.post(f"/events/{eid}/register", follow_redirects=True).get_data(as_text=True)
    assert "You have a seat." in page and ROOM in page and "Download the calendar entry" in page
    client.post("/logout")
    login("p1@example.org")
    page = client.get(f"/events/{eid}").get_data(as_text=True)
    assert "Join the waiting list" in page and ROOM not in page
    page = client.post(f"/events/{eid}/register", follow_redirects=True).get_data(as_text=True)
    assert "On the waiting list: number 1." in page
    client.post("/logout")
    login("p0@example.org")
    with app.app_context():
        mine = registration_of(people["practitioners"][0], eid).id
    page = client.post(f"/events/registrations/{mine}/withdraw", follow_redirects=True).get_data(
        as_text=True
    )
    assert "You are no longer registered." in page
    # The freed seat is held for the person waiting, so a newcomer would wait too.
    assert "Earlier: you withdrew." in page and "Join the waiting list" in page


def test_the_offer_link_asks_a_signed_out_person_to_sign_in_then_continues(
    app, client, login, people
):
    eid = new_event(app, people["coordinator"], capacity=1)
    p0, p1, _ = people["practitioners"]
    login("p0@example.org")
    client.post(f"/events/{eid}/register")
    client.post("/logout")
    login("p1@example.org")
    client.post(f"/events/{eid}/register")
    client.post("/logout")
    login("p0@example.org")
    with app.app_context():
        client.post(f"/events/registrations/{registration_of(p0, eid).id}/withdraw")
    client.post("/logout")
    with app.app_context():
        [offer] = mail_to("p1@example.org", "offer")
    link = next(line.strip() for line in offer.text_body.splitlines() if "/events/offers/" in line)
    path = urlsplit(link).path

    r = client.get(path)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = client.post(r.headers["Location"], data={"email": "p1@example.org", "password": PASSWORD})
    assert urlsplit(r.headers["Location"]).path == path
    page = client.get(path)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "Take the seat" in page.get_data(as_text=True)
    # Another person's link does nothing for anyone else.
    client.post("/logout")
    login("p2@example.org")
    assert client.get(path).status_code == 404
    client.post("/logout")
    login("p1@example.org")
    with app.app_context():
        reg_id = registration_of(p1, eid).id
    page = client.post(f"/events/registrations/{reg_id}/accept", follow_redirects=True)
    assert "The seat is yours." in page.get_data(as_text=True)
    # Once answered, the link only says so.
    assert "has been answered or has passed" in client.get(path).get_data(as_text=True)


def test_the_roster_page_approves_rejects_and_marks_attendance(app, client, login, people):
    eid = new_event(
        app, people["coordinator"], capacity=2, approval=True, facilitator=people["facilitator"]
    )
    p = people["practitioners"]
    for i in range(3):
        login(f"p{i}@example.org")
        client.post(f"/events/{eid}/register")
        client.post("/logout")
    login("fay@example.org")
    roster = client.get(f"/events/{eid}/roster").get_data(as_text=True)
    assert "Person0 Smith" in roster and "p0@example.org" not in roster
    assert "Approve" not in roster
    client.post("/logout")
    login("p0@example.org")
    assert client.get(f"/events/{eid}/roster").status_code == 404
    client.post("/logout")
    login("cora@example.org")
    roster = client.get(f"/events/{eid}/roster").get_data(as_text=True)
    assert "p0@example.org" in roster and "Approve" in roster
    with app.app_context():
        first, second = (registration_of(p[i], eid).id for i in (0, 1))
    client.post(f"/coordinator/events/registrations/{first}/approve")
    client.post(f"/coordinator/events/registrations/{second}/reject")
    with app.app_context():
        assert db.session.get(Registration, first).status == "confirmed"
        assert db.session.get(Registration, second).status == "rejected"
        assert registration_of(p[2], eid).status == "offered"
    r = client.post(f"/coordinator/events/registrations/{first}/attendance", data={"attended": "1"})
    assert r.status_code == 302
    move_event_to_past(app, eid)
    assert "Came" in client.get(f"/events/{eid}/roster").get_data(as_text=True)
    client.post(f"/coordinator/events/registrations/{first}/attendance", data={"attended": "1"})
    with app.app_context():
        assert db.session.get(Registration, first).attended is True


def test_feedback_from_the_page_and_its_summary(app, client, login, people):
    eid = new_event(app, people["coordinator"], capacity=3, facilitator=people["facilitator"])
    login("p0@example.org")
    client.post(f"/events/{eid}/register")
    move_event_to_past(app, eid)
    page = client.get(f"/events/{eid}").get_data(as_text=True)
    assert "How was it?" in page
    r = client.post(f"/events/{eid}/feedback", data={"rating": "5", "comment": "Calm."})
    assert r.status_code == 302
    assert "your feedback is recorded" in client.get(f"/events/{eid}").get_data(as_text=True)
    client.post("/logout")
    login("fay@example.org")
    page = client.get(f"/events/{eid}").get_data(as_text=True)
    assert "1 response so far; shown from 5 on" in page and "Calm." not in page


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_event_forms_need_the_form_token(app, client, people):
    eid = new_event(app, people["coordinator"])
    page = client.get("/login")
    token = page.data.split(b'name="csrf_token" type="hidden" value="')[1].split(b'"')[0]
    client.post(
        "/login",
        data={"email": "p0@example.org", "password": PASSWORD, "csrf_token": token.decode()},
    )
    assert client.post(f"/events/{eid}/register").status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Registration)) == 0


def test_the_demo_runs_a_monthly_series(app, client, login):
    from matching import demo
    from matching.services import events

    with app.app_context():
        assert demo.seed()
        db.session.commit()
        rows = db.session.scalars(db.select(Event).order_by(Event.start_at)).all()
        upcoming = [e for e in rows if e.start_at > now_utc()]
        assert len(upcoming) == 2
        statuses = {
            e.title: sorted(r.status for r in db.session.scalars(
                db.select(Registration).where(Registration.event_id == e.id)))
            for e in upcoming
        }  # fmt: skip
        full = statuses["Carrying other people's stories"]
        assert full.count("waitlisted") == 2 and "offered" in full
        assert events.seats_left(upcoming[0]) == 0
    login(demo.COORDINATOR, demo.PASSWORD)
    manage = client.get("/coordinator/events/").get_data(as_text=True)
    assert "Copy to next month" in manage and "Rest after night shifts" in manage
    figures = client.get("/coordinator/reports").get_data(as_text=True)
    assert "Workshops and seminars" in figures
