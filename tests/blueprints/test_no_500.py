"""No input answers 500: each case found by trying the app as an attacker would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from matching.extensions import db
from matching.models import ListenerProfile, Meeting, TimeOff, User, now_utc
from tests.conftest import PASSWORD
from tests.support.meetings import ALL_WEEK, book, future_start, make_pair

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def pair(make_user):
    return make_pair(make_user)


def _signed_in(app, uid):
    client = app.test_client()
    with app.app_context():
        email = db.session.get(User, uid).email
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


# Bodies and parameters ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/tokens", "/api/v1/me/availability"])
@pytest.mark.parametrize(
    "body", [DEEP, '{"a":' * 40 + "1" + "}" * 40], ids=["100000-deep", "40-deep-object"]
)
def test_deeply_nested_json_is_malformed_without_sign_in(client, path, body):
    method = client.put if path.endswith("availability") else client.post
    r = method(path, data=body, content_type="application/json")
    assert r.status_code == 400
    assert r.json["error"]["code"] == "malformed"
    assert "nested too deeply" in r.json["error"]["message"]


def test_ordinary_nesting_still_works(app, api, make_user):
    uid = make_user("listener")
    windows = [{"weekday": 0, "start": "09:00", "end": "12:00"}]
    r = api(uid).put("/api/v1/me/availability", json={"windows": windows})
    assert r.status_code == 200


@pytest.mark.parametrize("bad", ["\u0000", "\u0007", "\u001b[31m", "\u007f"])
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/tokens", "email"),
        ("/api/v1/tokens", "password"),
        ("/api/v1/users", "display_name"),
    ],
)
def test_control_characters_in_json_are_refused_with_422(client, path, field, bad):
    body = {"email": "ana@example.org", "password": "long enough password", "role": "listener"}
    body |= {"display_name": "Ana", "timezone": "UTC", field: f"a{bad}b@example.org"}
    r = client.post(path, json=body)
    assert r.status_code == 422
    assert r.json["error"]["fields"] == {
        field: "Remove the control characters (such as NUL) from this."
    }


def test_control_characters_in_keys_and_query_are_refused(client, api, make_user):
    r = client.post("/api/v1/tokens", json={"email\u0000": "x"})
    assert r.status_code == 422
    r = api(make_user("coordinator")).get("/api/v1/requests", query_string={"status": "open\u0000"})
    assert r.status_code == 422


def test_nul_through_the_sign_in_page_is_a_form_error(app, client, make_user):
    make_user("practitioner", email="mira@example.org")
    for data in (
        {"email": "mira@example.org\u0000", "password": PASSWORD},
        {"email": "mira@example.org", "password": PASSWORD + "\u0000"},
    ):
        r = client.post("/login", data=data)
        assert r.status_code == 200
        assert "Remove the control characters" in r.get_data(as_text=True)
    assert client.get("/practitioner/").status_code == 302


def test_nul_through_the_page_forms_is_a_form_error(app, make_user):
    uid = make_user("practitioner", windows=ALL_WEEK)
    client = _signed_in(app, uid)
    r = client.post(
        "/practitioner/profile",
        data={
            "organization": "Clinic\u0000",
            "field": "psychology",
            "languages": "en",
            "modalities": "video",
        },
    )
    assert r.status_code == 200
    assert "Remove the control characters" in r.get_data(as_text=True)
    r = client.post(
        "/practitioner/request",
        data={"urgency": "routine", "modalities": "video", "note": "a\u0000"},
    )
    assert r.status_code == 200
    r = client.post(
        "/register",
        data={
            "role": "listener",
            "display_name": "A\u0000",
            "email": "x@example.org",
            "timezone": "UTC",
            "password": "long enough password",
        },
    )
    assert r.status_code == 200


@pytest.mark.parametrize("cursor", ["²", "١٢", "¹0", "-1", "1.5", "9" * 13, ""])
def test_unicode_digits_in_a_cursor_are_malformed(api, make_user, cursor):
    r = api(make_user("coordinator")).get("/api/v1/meetings", query_string={"cursor": cursor})
    assert r.status_code == 400
    assert r.json["error"]["code"] == "malformed"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/meetings/99999999999/invite.ics",
        "/api/v1/requests/99999999999",
        "/api/v1/requests/١",
    ],
)
def test_ids_past_the_database_integer_are_not_found(api, make_user, path):
    assert api(make_user("coordinator")).get(path).status_code == 404


# Dates outside a sane range ------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("9999-12-31T00:00:00+00:00", "9999-12-31T23:59:59-14:00"),
        ("2026-12-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"),
        ("0001-01-01T00:00:00+14:00", "2026-12-01T00:00:00+00:00"),
    ],
)
def test_time_off_in_the_year_9999_is_refused(app, api, make_user, start, end):
    uid = make_user("listener")
    r = api(uid).post("/api/v1/me/time-off", json={"start": start, "end": end})
    assert r.status_code == 422
    assert "between 2000 and 2099" in str(r.json["error"]["fields"])


def test_a_reschedule_to_the_year_9999_is_refused(app, api, pair):
    meeting_id = book(app, pair, future_start())
    r = api(pair.practitioner).post(
        f"/api/v1/meetings/{meeting_id}/reschedule", json={"start": "9999-12-31T23:00:00-12:00"}
    )
    assert r.status_code == 422


def test_page_forms_refuse_the_year_9999(app, pair):
    meeting_id = book(app, pair, future_start())
    listener = _signed_in(app, pair.listener)
    r = listener.post(
        "/listener/time-off",
        data={"off-start": "9999-12-31T23:00", "off-end": "9999-12-31T23:59"},
    )
    assert r.status_code == 200
    assert "between 2000 and 2099" in r.get_data(as_text=True)
    r = listener.post("/listener/pause", data={"until": "9999-12-31"}, follow_redirects=True)
    assert r.status_code == 200
    assert "between 2000 and 2099" in r.get_data(as_text=True)
    r = listener.post(
        f"/meetings/{meeting_id}/reschedule",
        data={"start": "9999-12-31T23:59"},
        follow_redirects=True,
    )
    assert r.status_code == 200
    assert "between 2000 and 2099" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(TimeOff)) == 0
        assert db.session.get(ListenerProfile, pair.listener).paused_until is None


# Local times the clocks skip or pass twice ---------------------------------------------


def _next_change(zone_name: str, *, forward: bool) -> datetime:
    """The local wall time half an hour into the next gap (forward) or fold (back)."""
    zone = ZoneInfo(zone_name)
    instant = now_utc().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    for _ in range(24 * 400):
        before = instant.astimezone(zone).utcoffset()
        after = (instant + timedelta(hours=1)).astimezone(zone).utcoffset()
        if before != after and (after > before) == forward:
            local = instant.astimezone(zone).replace(tzinfo=None)
            return (
                local.replace(minute=0) + timedelta(hours=1, minutes=30)
                if forward
                else (
                    (instant + timedelta(hours=1)).astimezone(zone).replace(tzinfo=None, minute=30)
                )
            )
        instant += timedelta(hours=1)
    raise AssertionError("no change within 400 days")


def test_a_time_in_a_dst_gap_is_a_form_error_that_names_the_gap(app, pair):
    gap = _next_change("Europe/Berlin", forward=True)  # e.g. 02:30 on the last Sunday of March
    practitioner = _signed_in(app, pair.practitioner)  # in Europe/Berlin
    r = practitioner.post(
        "/practitioner/time-off",
        data={
            "off-start": gap.strftime("%Y-%m-%dT%H:%M"),
            "off-end": (gap + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f"{gap:%H:%M} does not exist on" in html
    assert "clocks jump from 02:00 to 03:00" in html
    meeting_id = book(app, pair, future_start())
    r = practitioner.post(
        f"/meetings/{meeting_id}/reschedule",
        data={"start": gap.strftime("%Y-%m-%dT%H:%M")},
        follow_redirects=True,
    )
    assert "clocks jump from 02:00 to 03:00" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(TimeOff)) == 0
        assert db.session.get(Meeting, meeting_id).sequence == 0


def test_a_time_in_a_dst_fold_means_the_first_one_and_the_page_says_so(app, pair):
    fold = _next_change("Europe/Berlin", forward=False)  # 02:30 happens twice
    practitioner = _signed_in(app, pair.practitioner)
    r = practitioner.post(
        "/practitioner/time-off",
        data={
            "off-start": fold.strftime("%Y-%m-%dT%H:%M"),
            "off-end": (fold + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        },
        follow_redirects=True,
    )
    html = r.get_data(as_text=True)
    assert "happens twice in Europe/Berlin" in html
    assert "We used the first one" in html
    with app.app_context():
        (row,) = db.session.scalars(db.select(TimeOff))
        first = fold.replace(tzinfo=ZoneInfo("Europe/Berlin"), fold=0).astimezone(UTC)
        assert row.start_at == first
