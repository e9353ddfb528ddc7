"""The private calendar feed: rotate, revoke, cancelled entries, caching."""

from __future__ import annotations

import icalendar
import pytest
import vobject

from matching.extensions import db
from matching.models import User
from tests.support.meetings import book, future_start, make_pair


@pytest.fixture
def pair(make_user):
    return make_pair(make_user)


def _path(url: str) -> str:
    return url.split("alongside.test", 1)[1]


def _events(data: bytes) -> list[tuple[str, str, int]]:
    cal = icalendar.Calendar.from_ical(data)
    found = sorted(
        (str(e["UID"]), str(e["STATUS"]), int(e["SEQUENCE"])) for e in cal.walk("VEVENT")
    )
    parsed = vobject.readOne(data.decode())
    via_vobject = sorted(
        (v.uid.value, v.status.value, int(v.sequence.value))
        for v in parsed.contents.get("vevent", [])
    )
    assert found == via_vobject
    assert str(cal["METHOD"]) == "PUBLISH"
    assert not cal.walk("VEVENT") or all("ATTENDEE" not in e for e in cal.walk("VEVENT"))
    return found


def test_rotate_makes_the_old_url_stop_and_the_new_one_work(app, client, api, pair):
    kept = book(app, pair, future_start(days=2))
    dropped = book(app, pair, future_start(days=3))
    listener = api(pair.listener)
    listener.post(f"/api/v1/meetings/{dropped}/cancel", json={"reason": ""})
    first = _path(listener.post("/api/v1/me/calendar-feed").json["url"])
    r = client.get(first)
    assert r.status_code == 200
    assert r.mimetype == "text/calendar"
    assert "private" in r.headers["Cache-Control"]
    uids = {e[0]: e for e in _events(r.data)}
    assert uids[f"meeting-{kept}@alongside.localhost"][1] == "CONFIRMED"
    assert uids[f"meeting-{dropped}@alongside.localhost"][1:] == ("CANCELLED", 1)

    second = _path(listener.post("/api/v1/me/calendar-feed").json["url"])
    assert second != first
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200

    assert listener.delete("/api/v1/me/calendar-feed").status_code == 204
    assert client.get(second).status_code == 404


def test_feed_shows_only_my_meetings(app, client, api, make_user, pair):
    mine = book(app, pair, future_start(days=2))
    url = _path(api(pair.stranger).post("/api/v1/me/calendar-feed").json["url"])
    assert _events(client.get(url).data) == []
    url = _path(api(pair.practitioner).post("/api/v1/me/calendar-feed").json["url"])
    assert [e[0] for e in _events(client.get(url).data)] == [f"meeting-{mine}@alongside.localhost"]
    # A coordinator's feed holds only the meetings they attend, not the whole programme.
    url = _path(api(pair.coordinator).post("/api/v1/me/calendar-feed").json["url"])
    assert _events(client.get(url).data) == []


def test_unknown_token_is_not_found(client):
    assert client.get("/calendar/nothing-here.ics").status_code == 404
    assert client.get("/calendar/" + "x" * 300 + ".ics").status_code == 404


def test_calendar_page_rotates_and_revokes(app, client, login, pair):
    login("pia@example.org")
    page = client.get("/meetings/calendar")
    assert b"You have no calendar address" in page.data
    page = client.post("/meetings/calendar/rotate")
    assert page.status_code == 200
    url = page.data.split(b'readonly value="')[1].split(b'"')[0].decode()
    assert client.get(_path(url)).status_code == 200
    r = client.post("/meetings/calendar/revoke")
    assert r.status_code == 302
    assert client.get(_path(url)).status_code == 404
    with app.app_context():
        assert db.session.get(User, pair.practitioner).feed_token_hash is None
