"""How to meet: every conversation gets a way and a place when it is booked."""

from __future__ import annotations

import re

import pytest

from matching import create_app
from matching.extensions import db
from matching.models import ListenerProfile, Meeting, OutboxMessage, SupportRequest, User
from matching.services import accounts, meetings
from tests.conftest import PASSWORD
from tests.support.meetings import ALL_WEEK, book, future_start, make_pair, parse_invite

PHONE = "+49 30 1234 5678"
ROOM = re.compile(r"^https://meet\.jit\.si/alongside-[0-9a-f]{20}$")


@pytest.fixture
def pair(make_user):
    return make_pair(make_user)


def _listener_offers(app, pair, modalities, **profile) -> None:
    with app.app_context():
        lp = db.session.get(ListenerProfile, pair.listener)
        lp.modalities = list(modalities)
        for name, value in profile.items():
            setattr(lp, name, value)
        db.session.commit()


def _mail(meeting_id: int) -> dict[str, OutboxMessage]:
    rows = db.session.scalars(
        db.select(OutboxMessage).where(OutboxMessage.meeting_id == meeting_id)
    )
    return {row.recipient: row for row in rows if row.kind == "invite"}


@pytest.mark.parametrize(
    ("asked", "offered", "phone", "place", "way"),
    [
        (["video", "phone", "in_person"], ["video", "phone", "in_person"], True, True, "video"),
        (["phone", "in_person"], ["video", "phone", "in_person"], True, True, "phone"),
        (["phone", "in_person"], ["phone", "in_person"], False, True, "in_person"),
        (["in_person"], ["in_person"], False, True, "in_person"),
        (["phone"], ["phone"], True, False, "phone"),
        # Nothing shared can be arranged (or a coordinator paired them anyway): video.
        (["in_person"], ["in_person"], False, False, "video"),
        (["phone"], ["video"], True, True, "video"),
    ],
)
def test_the_way_to_meet_is_the_first_shared_way_that_can_be_arranged(
    asked, offered, phone, place, way
):
    assert meetings.way_to_meet(asked, offered, phone=phone, place=place) == way


def test_video_meets_in_a_room_of_its_own_unless_the_listener_has_a_link(app, pair):
    first = book(app, pair, future_start(days=3))
    second = book(app, pair, future_start(days=4))
    with app.app_context():
        rooms = [db.session.get(Meeting, m).join_url for m in (first, second)]
    assert all(ROOM.match(room) for room in rooms), rooms
    assert rooms[0] != rooms[1]

    _listener_offers(app, pair, ["video"], video_url="https://meet.example.org/leo")
    own = book(app, pair, future_start(days=5))
    with app.app_context():
        meeting = db.session.get(Meeting, own)
        assert (meeting.modality, meeting.join_url) == ("video", "https://meet.example.org/leo")
        for row in _mail(own).values():
            assert "Join by video: https://meet.example.org/leo" in row.text_body
            assert "https://meet.example.org/leo" in row.html_body
            [event] = parse_invite(row.ics)["events"]
            assert "https://meet.example.org/leo" in event["description"]


def test_a_phone_conversation_tells_each_person_who_calls_whom(app, pair):
    _listener_offers(app, pair, ["phone"])
    meeting_id = book(app, pair, future_start(), modalities=("phone",), phone=PHONE)
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).modality == "phone"
        mail = _mail(meeting_id)
        leo, pia = mail["leo@example.org"], mail["pia@example.org"]
        assert PHONE in leo.text_body and "Please call Pia on this number." in leo.text_body
        assert "Leo will call you on this number." in pia.text_body
        for row in (leo, pia):
            lines = row.ics.decode().replace("\r\n ", "")
            assert f"LOCATION:Phone: {PHONE}" in lines


def test_in_person_meets_at_the_listeners_place(app, pair):
    where = "Library, 2 Park Road, room 3"
    _listener_offers(app, pair, ["in_person"], place=where)
    meeting_id = book(app, pair, future_start(), modalities=("in_person", "video"))
    with app.app_context():
        meeting = db.session.get(Meeting, meeting_id)
        assert (meeting.modality, meeting.place, meeting.join_url) == ("in_person", where, None)
        for row in _mail(meeting_id).values():
            assert f"In person: {where}" in row.text_body
            assert "LOCATION:Library\\, 2 Park Road\\, room 3" in row.ics.decode()


def test_the_api_shows_the_place_to_the_two_attendees_and_coordinators(app, api, pair):
    _listener_offers(app, pair, ["phone"])
    meeting_id = book(app, pair, future_start(), modalities=("phone",), phone=PHONE)
    seen = {}
    for who in ("practitioner", "listener", "coordinator"):
        [item] = api(getattr(pair, who)).get("/api/v1/meetings").json["items"]
        seen[who] = item["location"]
    assert seen["listener"] == {
        "modality": "phone",
        "phone": PHONE,
        "note": "Please call Pia on this number.",
    }
    assert seen["practitioner"]["note"] == "Leo will call you on this number."
    assert seen["coordinator"]["phone"] == PHONE
    assert api(pair.stranger).get("/api/v1/meetings").json["items"] == []

    # Once cancelled there is nowhere to meet: no number, no location in the CANCEL.
    listener = api(pair.listener)
    listener.post(f"/api/v1/meetings/{meeting_id}/cancel", json={"reason": ""})
    [item] = listener.get("/api/v1/meetings").json["items"]
    assert item["location"] is None
    ics = listener.get(f"/api/v1/meetings/{meeting_id}/invite.ics").data
    assert PHONE.encode() not in ics and b"LOCATION" not in ics


def test_the_meeting_page_says_how_to_meet(app, client, login, pair):
    meeting_id = book(app, pair, future_start())
    with app.app_context():
        room = db.session.get(Meeting, meeting_id).join_url
    login("pia@example.org")
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "How to meet" in page
    assert f'href="{room}"' in page


def test_a_phone_only_request_needs_a_number_and_others_drop_it(app, api, make_user):
    practitioner = api(make_user("practitioner", modalities=["phone"], windows=ALL_WEEK))
    r = practitioner.post("/api/v1/requests", json={"modalities": ["phone"]})
    assert r.status_code == 422
    assert "phone" in r.json["error"]["fields"]
    r = practitioner.post("/api/v1/requests", json={"modalities": ["phone"], "phone": "call me"})
    assert r.status_code == 422
    assert r.json["error"]["fields"]["phone"].startswith("Use a phone number")
    r = practitioner.post("/api/v1/requests", json={"modalities": ["phone"], "phone": PHONE})
    assert r.status_code == 201, r.json
    with app.app_context():
        assert db.session.get(SupportRequest, r.json["id"]).phone == PHONE

    other = api(make_user("practitioner", windows=ALL_WEEK))
    r = other.post("/api/v1/requests", json={"modalities": ["video"], "phone": PHONE})
    assert r.status_code == 201
    with app.app_context():
        assert db.session.get(SupportRequest, r.json["id"]).phone is None


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("https://meet.example.org/room-7", 200),
        ("", 200),
        (None, 200),
        ("http://meet.example.org/room-7", 422),
        ("javascript:alert(1)", 422),
        ("https://user:secret@meet.example.org/", 422),
        ("https://meet.example.org/a room", 422),
    ],
)
def test_a_listeners_own_link_is_https_only(app, api, make_user, value, status):
    listener = api(make_user("listener"))
    r = listener.put("/api/v1/me/profile", json={"video_url": value, "place": "Room 4"})
    assert r.status_code == status, r.json
    if status == 200:
        assert r.json["video_url"] == (value or None)
        assert r.json["place"] == "Room 4"


def test_erasing_a_practitioner_forgets_their_number(app, pair):
    _listener_offers(app, pair, ["phone"])
    book(app, pair, future_start(), modalities=("phone",), phone=PHONE)
    with app.app_context():
        accounts.erase_user(db.session.get(User, pair.practitioner), PASSWORD)
        db.session.commit()
        assert db.session.scalars(db.select(SupportRequest.phone)).all() == [None]


@pytest.mark.parametrize("template", ["https://meet.example.org/fixed", "http://x/{room}"])
def test_a_room_template_that_is_not_private_stops_the_start(template):
    config = {"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    with pytest.raises(RuntimeError, match="VIDEO_ROOM_URL"):
        create_app(config | {"VIDEO_ROOM_URL": template})


def test_listeners_set_their_link_and_place_on_the_profile_page(app, client, login, make_user):
    uid = make_user("listener", email="lia@example.org")
    login("lia@example.org")
    page = client.get("/listener/profile").get_data(as_text=True)
    assert 'aria-describedby="video-url-hint"' in page and 'id="video-url-hint"' in page
    form = {
        "organization": "Org",
        "fields": "psychology",
        "languages": "en",
        "modalities": ["video", "in_person"],
        "max_sessions_per_week": "2",
        "max_sessions_per_day": "1",
        "video_url": "http://not-private.example.org",
        "place": "Library, room 3",
    }
    page = client.post("/listener/profile", data=form).get_data(as_text=True)
    assert "Use an https:// address" in page
    r = client.post("/listener/profile", data=form | {"video_url": "https://meet.example.org/x"})
    assert r.status_code == 302
    with app.app_context():
        lp = db.session.get(ListenerProfile, uid)
        assert (lp.video_url, lp.place) == ("https://meet.example.org/x", "Library, room 3")
