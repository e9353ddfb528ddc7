"""The accounts, availability and requests API, with the error contract."""

from __future__ import annotations

import pytest

from matching.extensions import db
from matching.models import AvailabilityWindow, SupportRequest, TimeOff, User
from matching.services import consent
from tests.support.accounts import mails_to
from tests.support.meetings import ALL_WEEK

GOOD_USER = {
    "email": "zoe@example.org",
    "password": "twelve chars ok",
    "role": "listener",
    "display_name": "Zoë",
    "timezone": "America/New_York",
    "consent_version": consent.current_version(),
}


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_register_creates_unverified_listener(app, api):
    r = api().post("/api/v1/users", json=GOOD_USER)
    assert r.status_code == 202
    assert r.json == {"status": "check_email"}
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "zoe@example.org"))
        assert (user.role, user.display_name, user.timezone) == (
            "listener",
            "Zoë",
            "America/New_York",
        )
        assert user.listener_profile is not None
        assert not user.listener_profile.verified
        assert user.password_hash.startswith("$argon2id$")
        assert user.email_verified_at is None
    [mail] = mails_to(app, "zoe@example.org")
    assert mail.kind == "verification"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": 123456789012}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"timezone": "../x"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"role": "coordinator"}, "role"),
        ({"role": "admin"}, "role"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "x" * 81}, "display_name"),
        ({"consent_version": "2020-01-01"}, "consent_version"),
        ({"consent_version": ""}, "consent_version"),
        ({"consent_version": None}, "consent_version"),
    ],
)
def test_register_rejects_bad_values(app, api, change, field):
    error = _error(api().post("/api/v1/users", json=GOOD_USER | change), 422)
    assert field in error["fields"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_register_without_consent_is_422_and_creates_nothing(app, api):
    body = {k: v for k, v in GOOD_USER.items() if k != "consent_version"}
    error = _error(api().post("/api/v1/users", json=body), 422)
    assert "consent_version" in error["fields"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'"text"', "application/json", 400),
        (b"", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
    ],
)
def test_malformed_bodies_are_400(client, body, content_type, status):
    r = client.post("/api/v1/users", data=body, content_type=content_type)
    _error(r, status)


def test_unknown_fields_are_rejected_not_applied(app, api, make_user):
    uid = make_user("practitioner")
    r = api(uid).put(
        "/api/v1/me/profile", json={"role": "coordinator", "id": 99, "languages": ["en"]}
    )
    error = _error(r, 422)
    assert {"role", "id"} <= set(error["fields"])
    with app.app_context():
        assert db.session.get(User, uid).role == "practitioner"


def test_huge_body_is_413(client):
    r = client.post(
        "/api/v1/users", data=b"x" * (10 * 1024 * 1024), content_type="application/json"
    )
    _error(r, 413, "too_large")


def test_token_lifecycle(api, make_user, client):
    make_user("listener", email="l@example.org")
    anon = api()
    wrong = anon.post(
        "/api/v1/tokens", json={"email": "l@example.org", "password": "wrong password!"}
    )
    unknown = anon.post(
        "/api/v1/tokens", json={"email": "nobody@example.org", "password": "wrong password!"}
    )
    assert _error(wrong, 401) == _error(unknown, 401)
    r = anon.post(
        "/api/v1/tokens",
        json={"email": "L@example.org", "password": "correct horse battery staple"},
    )
    assert r.status_code == 201
    token = r.json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.json["role"] == "listener"
    assert me.json["profile"]["languages"] == ["en"]
    assert client.delete("/api/v1/tokens/current", headers=headers).status_code == 204
    _error(client.get("/api/v1/me", headers=headers), 401)


@pytest.fixture
def limited(app_config):
    app_config["LOGIN_RATE_LIMIT"] = "3 per minute"


def test_hammering_tokens_gets_429(limited, api):
    anon = api()
    codes = [
        anon.post(
            "/api/v1/tokens", json={"email": "x@example.org", "password": "whatever long"}
        ).status_code
        for _ in range(5)
    ]
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]
    _error(
        anon.post("/api/v1/tokens", json={"email": "x@example.org", "password": "p"}),
        429,
        "too_many_requests",
    )


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer nonsense", "Basic dXNlcjpwYXNz", "bearer " + "a" * 500],
)
def test_bad_tokens_are_401(client, header):
    _error(client.get("/api/v1/me", headers={"Authorization": header}), 401)


def test_session_cookie_does_not_authenticate_the_api(client, make_user, login):
    make_user("practitioner", email="p@example.org")
    assert login("p@example.org").status_code == 302
    _error(client.get("/api/v1/me"), 401)


PROFILE_CASES = [
    ({"languages": []}, "languages"),
    ({"languages": ["english"]}, "languages"),
    ({"languages": "en"}, "languages"),
    ({"modalities": []}, "modalities"),
    ({"modalities": ["telepathy"]}, "modalities"),
    ({"field": "astrology"}, "field"),
    ({"topics": ["x" * 41]}, "topics"),
    ({"topics": [1]}, "topics"),
    ({"listener_gender_required": "yes"}, "listener_gender_required"),
    ({"do_not_match": ["a"]}, "do_not_match"),
    ({"organization": 5}, "organization"),
]


@pytest.mark.parametrize(("body", "field"), PROFILE_CASES)
def test_practitioner_profile_validation(api, make_user, body, field):
    uid = make_user("practitioner")
    error = _error(api(uid).put("/api/v1/me/profile", json=body), 422)
    assert field in error["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_sessions_per_week": 0}, "max_sessions_per_week"),
        ({"max_sessions_per_week": 11}, "max_sessions_per_week"),
        ({"max_sessions_per_week": "2"}, "max_sessions_per_week"),
        ({"max_sessions_per_week": True}, "max_sessions_per_week"),
        ({"max_sessions_per_day": 5}, "max_sessions_per_day"),
        ({"fields": ["psychology", "astrology"]}, "fields"),
        ({"field": "psychology"}, "field"),  # practitioners' field, not a listener's
    ],
)
def test_listener_profile_validation(api, make_user, body, field):
    uid = make_user("listener")
    error = _error(api(uid).put("/api/v1/me/profile", json=body), 422)
    assert field in error["fields"]


def test_profiles_round_trip(api, make_user):
    p = api(make_user("practitioner"))
    r = p.put(
        "/api/v1/me/profile",
        json={
            "languages": ["es", "EN", "es"],
            "modalities": ["phone", "video"],
            "organization": "Bronx Family Services",
            "topics": ["Child  Protection"],
            "field": "social_work",
            "listener_gender": "woman",
            "listener_gender_required": True,
            "do_not_match": [7, 3, 7],
        },
    )
    assert r.status_code == 200, r.json
    assert r.json["languages"] == ["es", "en"]
    assert r.json["modalities"] == ["video", "phone"]
    assert r.json["topics"] == ["child protection"]
    assert r.json["do_not_match"] == [3, 7]
    assert p.get("/api/v1/me").json["profile"] == r.json

    listener = api(make_user("listener", verified=False))
    r = listener.put(
        "/api/v1/me/profile",
        json={"max_sessions_per_week": 3, "max_sessions_per_day": 2, "fields": ["nursing"]},
    )
    assert r.status_code == 200
    assert (r.json["max_sessions_per_week"], r.json["max_sessions_per_day"]) == (3, 2)
    assert r.json["verified"] is False


def test_coordinator_has_no_profile_endpoint(api, make_user):
    _error(api(make_user("coordinator")).put("/api/v1/me/profile", json={}), 403)


# --- availability -------------------------------------------------------------


def test_availability_is_normalised(api, make_user):
    p = api(make_user("practitioner", timezone="Europe/Berlin"))
    r = p.put(
        "/api/v1/me/availability",
        json={
            "windows": [
                {"weekday": 0, "start": "09:00", "end": "10:00"},
                {"weekday": 0, "start": "10:00", "end": "12:00"},  # touches: merged
                {"weekday": 0, "start": "11:00", "end": "11:30"},  # inside: merged
                {"weekday": 2, "start": "22:00", "end": "02:00"},  # past midnight
                {"weekday": 3, "start": "01:00", "end": "03:00"},  # overlaps the night
            ]
        },
    )
    assert r.status_code == 200, r.json
    assert r.json == {
        "timezone": "Europe/Berlin",
        "windows": [
            {"weekday": 0, "start": "09:00", "end": "12:00"},
            {"weekday": 2, "start": "22:00", "end": "03:00"},
        ],
    }
    assert p.get("/api/v1/me/availability").json == r.json


@pytest.mark.parametrize(
    "windows",
    [
        [{"weekday": 0, "start": "09:00", "end": "09:00"}],
        [{"weekday": 7, "start": "09:00", "end": "10:00"}],
        [{"weekday": -1, "start": "09:00", "end": "10:00"}],
        [{"weekday": "0", "start": "09:00", "end": "10:00"}],
        [{"weekday": 0, "start": "9", "end": "10:00"}],
        [{"weekday": 0, "start": "24:00", "end": "10:00"}],
        [{"weekday": 0, "start": "09:60", "end": "10:00"}],
        [{"weekday": 0, "start": "09:00"}],
        [{"weekday": 0, "start": "09:00", "end": "10:00", "zone": "UTC"}],
        ["Monday 9-10"],
        "not a list",
        None,
    ],
)
def test_bad_windows_are_422_and_keep_the_old_ones(app, api, make_user, windows):
    uid = make_user("listener", windows=[(1, "09:00", "10:00")])
    error = _error(api(uid).put("/api/v1/me/availability", json={"windows": windows}), 422)
    assert error["fields"]
    with app.app_context():
        rows = db.session.scalars(
            db.select(AvailabilityWindow).where(AvailabilityWindow.user_id == uid)
        ).all()
        assert [(w.weekday, w.start_local.isoformat()) for w in rows] == [(1, "09:00:00")]


def test_time_off(app, api, make_user):
    owner = make_user("listener")
    other = make_user("listener")
    a = api(owner)
    r = a.post(
        "/api/v1/me/time-off",
        json={"start": "2026-12-24T00:00:00+01:00", "end": "2026-12-27T00:00:00+01:00"},
    )
    assert r.status_code == 201
    assert r.json["start"] == "2026-12-23T23:00:00+00:00"
    assert r.json["end"] == "2026-12-26T23:00:00+00:00"
    # Another person's time off answers 404, as if it did not exist.
    _error(api(other).delete(f"/api/v1/me/time-off/{r.json['id']}"), 404)
    assert a.delete(f"/api/v1/me/time-off/{r.json['id']}").status_code == 204
    _error(a.delete(f"/api/v1/me/time-off/{r.json['id']}"), 404)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(TimeOff)) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "2026-12-24T10:00:00+00:00", "end": "2026-12-24T10:00:00+00:00"}, "end"),
        ({"start": "2026-12-24T10:00:00+00:00", "end": "2026-12-24T09:00:00+00:00"}, "end"),
        ({"start": "2026-12-24T10:00:00", "end": "2026-12-24T12:00:00+00:00"}, "start"),
        ({"start": "tomorrow", "end": "2026-12-24T12:00:00+00:00"}, "start"),
        ({"start": 5, "end": "2026-12-24T12:00:00+00:00"}, "start"),
    ],
)
def test_bad_time_off(api, make_user, body, field):
    error = _error(api(make_user("listener")).post("/api/v1/me/time-off", json=body), 422)
    assert field in error["fields"]


# --- requests -------------------------------------------------------------------


def test_request_lifecycle(app, api, make_user):
    uid = make_user("practitioner", modalities=["video", "phone"], windows=ALL_WEEK)
    p = api(uid)
    r = p.post(
        "/api/v1/requests",
        json={"urgency": "routine", "topics": ["Night shifts"], "note": "private"},
    )
    assert r.status_code == 201
    assert r.json["status"] == "open"
    assert "crisis_resources" not in r.json
    request_id = r.json["id"]
    _error(p.post("/api/v1/requests", json={"urgency": "soon"}), 409, "request_open")
    shown = p.get(f"/api/v1/requests/{request_id}")
    assert shown.status_code == 200
    assert {"id", "status", "urgency", "created_at", "meeting"} <= set(shown.json)
    assert "note" not in shown.json
    assert p.delete(f"/api/v1/requests/{request_id}").status_code == 204
    assert p.get(f"/api/v1/requests/{request_id}").json["status"] == "withdrawn"
    _error(p.delete(f"/api/v1/requests/{request_id}"), 409)
    # A new request is possible once the old one is withdrawn; modalities default to the profile's.
    r = p.post("/api/v1/requests", json={"urgency": "urgent"})
    assert r.status_code == 201
    assert "988" in r.json["crisis_resources"]
    with app.app_context():
        assert db.session.get(SupportRequest, r.json["id"]).modalities == ["video", "phone"]


@pytest.fixture
def duty_line(app_config):
    app_config["CRISIS_RESOURCES"] = "Call the duty line on 0800 000 000."


def test_crisis_resources_are_configurable(duty_line, api, make_user):
    p = api(make_user("practitioner", windows=ALL_WEEK))
    r = p.post("/api/v1/requests", json={"urgency": "urgent"})
    assert r.json["crisis_resources"] == "Call the duty line on 0800 000 000."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"urgency": "yesterday"}, "urgency"),
        ({"modalities": []}, "modalities"),
        ({"modalities": ["fax"]}, "modalities"),
        ({"topics": "grief"}, "topics"),
        ({"note": "x" * 2001}, "note"),
        ({"status": "scheduled"}, "status"),
    ],
)
def test_bad_requests_are_422_and_write_nothing(app, api, make_user, body, field):
    error = _error(api(make_user("practitioner")).post("/api/v1/requests", json=body), 422)
    assert field in error["fields"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(SupportRequest)) == 0


def test_requests_of_others_are_404(api, make_user):
    owner = api(make_user("practitioner", windows=ALL_WEEK))
    request_id = owner.post("/api/v1/requests", json={}).json["id"]
    stranger = api(make_user("practitioner"))
    _error(stranger.get(f"/api/v1/requests/{request_id}"), 404)
    _error(stranger.delete(f"/api/v1/requests/{request_id}"), 404)
    coordinator = api(make_user("coordinator"))
    assert coordinator.get(f"/api/v1/requests/{request_id}").status_code == 200
    _error(api(make_user("listener")).get(f"/api/v1/requests/{request_id}"), 403)


def test_coordinator_lists_requests_with_cursor(api, make_user):
    for _ in range(3):
        api(make_user("practitioner", windows=ALL_WEEK)).post("/api/v1/requests", json={})
    c = api(make_user("coordinator"))
    r = c.get("/api/v1/requests?status=open")
    assert r.status_code == 200
    assert [item["status"] for item in r.json["items"]] == ["open"] * 3
    assert r.json["next"] is None
    assert c.get("/api/v1/requests?status=closed").json["items"] == []
    _error(c.get("/api/v1/requests?status=bogus"), 400)
    _error(c.get("/api/v1/requests?cursor=abc"), 400)
    _error(api(make_user("practitioner")).get("/api/v1/requests"), 403)


# --- export and erasure -----------------------------------------------------------


def test_export_contains_my_data(api, make_user):
    p = api(make_user("practitioner", windows=[(0, "09:00", "10:00")]))
    p.post("/api/v1/requests", json={"note": "only for me"})
    data = p.get("/api/v1/me/export").json
    assert data["user"]["email"].endswith("@example.org")
    assert data["availability"]["windows"] == [{"weekday": 0, "start": "09:00", "end": "10:00"}]
    assert data["requests"][0]["note"] == "only for me"
    assert data["meetings"] == []


def test_erasure(app, api, make_user):
    uid = make_user("practitioner", windows=[(0, "09:00", "10:00")])
    p = api(uid)
    p.post("/api/v1/requests", json={"note": "private words"})
    _error(p.delete("/api/v1/me", json={"password": "not my password"}), 422)
    assert (
        p.delete("/api/v1/me", json={"password": "correct horse battery staple"}).status_code == 204
    )
    _error(p.get("/api/v1/me"), 401)
    with app.app_context():
        user = db.session.get(User, uid)
        assert not user.active
        assert "example.org" not in user.email
        assert user.practitioner_profile is None
        req = db.session.scalars(db.select(SupportRequest)).one()
        assert (req.note, req.status) == ("", "withdrawn")
        assert db.session.scalar(db.select(db.func.count()).select_from(AvailabilityWindow)) == 0


def test_coordinator_cannot_erase_themselves(api, make_user):
    _error(api(make_user("coordinator")).delete("/api/v1/me", json={"password": "x"}), 403)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_api_takes_no_form_token_even_where_pages_need_one(app, api, make_user):
    listener = api(make_user("listener"))
    r = listener.put(
        "/api/v1/me/availability",
        json={"windows": [{"weekday": 1, "start": "09:00", "end": "10:00"}]},
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    assert api().post("/api/v1/users", json=GOOD_USER).status_code == 202


@pytest.mark.parametrize("cursor", ["abc", "-1", "1" * 13, "²", "1.5", ""])
def test_a_cursor_that_is_not_a_whole_number_is_400(api, make_user, cursor):
    _error(api(make_user("coordinator")).get(f"/api/v1/requests?cursor={cursor}"), 400, "malformed")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/me/time-off/18446744073709551617"),
        ("get", "/api/v1/requests/2147483648"),
        ("post", "/api/v1/meetings/55083631610074652213248/cancel"),
    ],
)
def test_ids_larger_than_any_row_answer_404_not_500(api, make_user, method, path):
    _error(getattr(api(make_user("listener")), method)(path), 404, "not_found")


def test_pages_with_ids_larger_than_any_row_answer_404(client, make_user, login):
    make_user("practitioner", email="p@example.org")
    login("p@example.org")
    assert client.get("/meetings/18446744073709551617").status_code == 404
