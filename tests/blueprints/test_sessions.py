"""Server-side sessions: signing out really ends them; idle and absolute lifetimes; cookies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from matching.extensions import db
from matching.models import AuditEvent, User, UserSession, now_utc
from tests.conftest import PASSWORD

NEW_PASSWORD = "a different long passphrase"


def _email(app, uid):
    with app.app_context():
        return db.session.get(User, uid).email


def _sign_in(app, uid):
    client = app.test_client()
    r = client.post("/login", data={"email": _email(app, uid), "password": PASSWORD})
    assert r.status_code == 302
    return client


def _age_sessions(app, uid, **fields):
    with app.app_context():
        for row in db.session.scalars(db.select(UserSession).where(UserSession.user_id == uid)):
            for name, delta in fields.items():
                setattr(row, name, now_utc() - delta)
        db.session.commit()


def test_a_replayed_cookie_after_sign_out_lands_on_the_sign_in_page(app, make_user):
    uid = make_user("practitioner")
    client = _sign_in(app, uid)
    cookie = client.get_cookie("session", domain="alongside.test").value
    assert client.get("/practitioner/").status_code == 200

    assert client.post("/logout").status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", cookie, domain="alongside.test")
    r = replay.get("/practitioner/")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login")
    r = replay.post("/meetings/calendar/rotate")  # not even the feed can be rotated
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(UserSession)) == 0
        actions = [e.action for e in db.session.scalars(db.select(AuditEvent))]
        assert actions == ["signin.succeeded", "user.signed_out"]


def test_the_session_key_is_stored_hashed(app, make_user):
    uid = make_user("listener")
    client = _sign_in(app, uid)
    with client.session_transaction() as cookie_session:
        raw = cookie_session["sid"]
    with app.app_context():
        (row,) = db.session.scalars(db.select(UserSession))
        assert row.user_id == uid
        assert raw not in row.key_hash and len(row.key_hash) == 64


@pytest.mark.parametrize(
    "aged",
    [
        {"last_seen_at": timedelta(minutes=61)},  # idle for over an hour
        {"created_at": timedelta(hours=12, minutes=1)},  # signed in over 12 hours ago
    ],
    ids=["idle", "absolute"],
)
def test_sessions_end_after_the_idle_and_absolute_lifetimes(app, make_user, aged):
    uid = make_user("practitioner")
    client = _sign_in(app, uid)
    _age_sessions(app, uid, **aged)
    r = client.get("/practitioner/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 5, "SESSION_MAX_HOURS": 1}])
def test_the_lifetimes_come_from_configuration(app, make_user):
    uid = make_user("practitioner")
    client = _sign_in(app, uid)
    _age_sessions(app, uid, last_seen_at=timedelta(minutes=4))
    assert client.get("/practitioner/").status_code == 200
    _age_sessions(app, uid, last_seen_at=timedelta(minutes=6))
    assert client.get("/practitioner/").status_code == 302


def test_last_use_is_written_at_most_once_a_minute(app, make_user):
    uid = make_user("practitioner")
    client = _sign_in(app, uid)

    def updates(n_pages):
        seen = []
        with app.app_context():
            engine = db.engine
        from sqlalchemy import event

        def before(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("UPDATE USER_SESSION"):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            for _ in range(n_pages):
                assert client.get("/practitioner/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", before)
        return len(seen)

    assert updates(5) == 0  # used within the minute: nothing written
    _age_sessions(app, uid, last_seen_at=timedelta(minutes=2))
    assert updates(5) == 1  # one write moves last use to now
    with app.app_context():
        (row,) = db.session.scalars(db.select(UserSession))
        assert now_utc() - row.last_seen_at < timedelta(minutes=1)


def test_sign_out_everywhere_ends_every_session_and_token(app, make_user, api):
    uid = make_user("practitioner")
    here, elsewhere = _sign_in(app, uid), _sign_in(app, uid)
    token = api(uid)
    page = here.get("/account/password").get_data(as_text=True)
    assert "signed in on 2 browsers" in page
    assert "Sign out everywhere" in page

    r = here.post("/account/sign-out-everywhere")

    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert here.get("/practitioner/").status_code == 302
    assert elsewhere.get("/practitioner/").status_code == 302
    assert token.get("/api/v1/me").status_code == 401
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(UserSession)) == 0
        assert db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "user.signed_out_everywhere")
        )


def test_a_password_change_ends_other_sessions_tokens_and_the_feed(app, make_user, api):
    uid = make_user("practitioner")
    here, elsewhere = _sign_in(app, uid), _sign_in(app, uid)
    token = api(uid)
    feed = token.post("/api/v1/me/calendar-feed").json["url"]
    feed_path = feed.removeprefix("http://alongside.test")
    assert here.get(feed_path).status_code == 200

    r = here.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert r.status_code == 302
    assert here.get("/practitioner/").status_code == 200
    assert elsewhere.get("/practitioner/").status_code == 302
    assert token.get("/api/v1/me").status_code == 401
    assert here.get(feed_path).status_code == 404
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(UserSession)) == 1


# Cookies, hosts and links from configuration -------------------------------------------


@pytest.mark.parametrize(
    "app_config",
    [{"BASE_URL": "https://alongside.test", "SESSION_COOKIE_SECURE": False}],
)
def test_cookies_are_secure_and_hsts_is_sent_when_base_url_is_https(app, make_user):
    client = app.test_client()
    r = client.post(
        "/login",
        data={"email": _email(app, make_user("practitioner")), "password": PASSWORD},
        base_url="https://alongside.test",
    )
    assert "Secure" in r.headers["Set-Cookie"]
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_plain_http_sends_no_hsts(client):
    r = client.get("/login")
    assert "Strict-Transport-Security" not in r.headers


def test_a_foreign_host_header_is_refused(client):
    assert client.get("/login").status_code == 200
    r = client.get("/login", headers={"Host": "evil.example"})
    assert r.status_code == 400


@pytest.mark.parametrize(
    "app_config",
    [{"BASE_URL": "https://peer.example.org", "TRUSTED_HOSTS": ["alongside.test"]}],
)
def test_the_feed_url_comes_from_base_url_not_the_host_header(app, make_user, api):
    uid = make_user("practitioner")
    r = api(uid).post("/api/v1/me/calendar-feed")
    assert r.json["url"].startswith("https://peer.example.org/calendar/")
    page = app.test_client()
    page.post("/login", data={"email": _email(app, uid), "password": PASSWORD})
    html = page.post("/meetings/calendar/rotate").get_data(as_text=True)
    assert 'value="https://peer.example.org/calendar/' in html
    assert "alongside.test/calendar" not in html
