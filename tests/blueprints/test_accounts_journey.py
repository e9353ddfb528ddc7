"""Joining and leaving: verification, the same answer for taken addresses, password reset,
consent to a versioned text, settings, export and closing an account — pages and API."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest

from matching import consent_text
from matching.extensions import db
from matching.models import (
    AccountToken,
    ApiToken,
    Consent,
    Meeting,
    OutboxMessage,
    User,
    UserSession,
    now_utc,
)
from matching.services import accounts, consent, outbox, verification
from tests.conftest import PASSWORD
from tests.support.accounts import latest_link, mails_to
from tests.support.meetings import ALL_WEEK, book, future_start, make_pair

NEW_PASSWORD = "a brand new long passphrase"


def body(email: str = "nia@example.org", **changes) -> dict:
    return {
        "email": email,
        "password": "long enough password",
        "role": "practitioner",
        "display_name": "Nia",
        "timezone": "Europe/Lisbon",
        "consent_version": consent.current_version(),
    } | changes


def user_by_email(app, email: str) -> User | None:
    with app.app_context():
        return db.session.scalar(db.select(User).where(User.email == email))


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# Signing up ---------------------------------------------------------------------------


def test_a_new_and_a_taken_address_get_the_same_answer(app, api, make_user):
    make_user("listener", email="taken@example.org")
    new = api().post("/api/v1/users", json=body("new@example.org"))
    taken = api().post("/api/v1/users", json=body("TAKEN@example.org"))
    assert (new.status_code, new.json) == (taken.status_code, taken.json)
    assert new.status_code == 202
    assert [m.kind for m in mails_to(app, "new@example.org")] == ["verification"]
    [owner] = mails_to(app, "taken@example.org")
    assert owner.kind == "account_exists"
    assert "Forgotten your password?" in owner.text_body
    assert user_by_email(app, "taken@example.org").role == "listener"  # nothing changed


def test_both_answers_hash_a_password_so_their_time_tells_nothing(app, api, make_user, monkeypatch):
    make_user("listener", email="taken@example.org")
    hashed = []
    original = accounts.hash_password
    monkeypatch.setattr(accounts, "hash_password", lambda raw: hashed.append(raw) or original(raw))
    api().post("/api/v1/users", json=body("taken@example.org", password="first long password"))
    api().post("/api/v1/users", json=body("new@example.org", password="second long password"))
    assert hashed == ["first long password", "second long password"]


def test_a_taken_address_not_yet_confirmed_gets_the_verification_mail_again(app, api, make_user):
    make_user("practitioner", email="slow@example.org", email_verified=False)
    assert api().post("/api/v1/users", json=body("slow@example.org")).status_code == 202
    assert [m.kind for m in mails_to(app, "slow@example.org")] == ["verification"]


def test_one_kind_of_account_mail_goes_once_in_a_while(app, api, make_user):
    make_user("listener", email="taken@example.org")
    for _ in range(3):
        assert api().post("/api/v1/users", json=body("taken@example.org")).status_code == 202
    assert [m.kind for m in mails_to(app, "taken@example.org")] == ["account_exists"]


def test_sign_up_records_the_consent_and_the_address_is_unconfirmed(app, api):
    api().post("/api/v1/users", json=body())
    user = user_by_email(app, "nia@example.org")
    assert user.email_verified_at is None
    with app.app_context():
        [row] = db.session.scalars(db.select(Consent).where(Consent.user_id == user.id))
        assert row.version == consent_text.VERSION
        assert row.accepted_at is not None


@pytest.mark.parametrize("app_config", [{"VERIFY_LINK_HOURS": 2, "RESET_LINK_MINUTES": 15}])
def test_links_expire_when_configured(app, api):
    api().post("/api/v1/users", json=body())
    with app.app_context():
        [row] = db.session.scalars(db.select(AccountToken))
        assert row.expires_at - row.created_at == timedelta(hours=2)
        assert row.token_hash != latest_link(app, "nia@example.org", "verification")[1]
        user = db.session.get(User, row.user_id)
        user.email_verified_at = now_utc()
        verification.issue(user, verification.RESET)
        reset = db.session.scalar(db.select(AccountToken).where(AccountToken.purpose == "reset"))
        assert reset.expires_at - reset.created_at == timedelta(minutes=15)


# Confirming the address ---------------------------------------------------------------


def test_verifying_by_api_works_once(app, api):
    api().post("/api/v1/users", json=body())
    _, raw = latest_link(app, "nia@example.org", "verification")
    credentials = {"email": "nia@example.org", "password": "long enough password"}
    refused = api().post("/api/v1/tokens", json=credentials)
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "email_unverified")

    r = api().post("/api/v1/users/verify", json={"token": raw})
    assert r.status_code == 200
    assert (r.json["email"], r.json["role"]) == ("nia@example.org", "practitioner")
    again = api().post("/api/v1/users/verify", json={"token": raw})
    assert (again.status_code, again.json["error"]["code"]) == (400, "invalid_token")
    assert api().post("/api/v1/tokens", json=credentials).status_code == 201


def test_a_wrong_password_for_an_unconfirmed_address_is_the_ordinary_401(app, api, make_user):
    make_user("practitioner", email="slow@example.org", email_verified=False)
    r = api().post(
        "/api/v1/tokens", json={"email": "slow@example.org", "password": "not it at all"}
    )
    assert (r.status_code, r.json["error"]["code"]) == (401, "invalid_credentials")
    assert mails_to(app, "slow@example.org") == []


def test_an_expired_or_unknown_link_is_refused(app, api):
    api().post("/api/v1/users", json=body())
    _, raw = latest_link(app, "nia@example.org", "verification")
    with app.app_context():
        row = db.session.scalar(db.select(AccountToken))
        row.expires_at = now_utc() - timedelta(seconds=1)
        db.session.commit()
    expired = api().post("/api/v1/users/verify", json={"token": raw})
    assert (expired.status_code, expired.json["error"]["code"]) == (410, "token_expired")
    unknown = api().post("/api/v1/users/verify", json={"token": "x" * 43})
    assert (unknown.status_code, unknown.json["error"]["code"]) == (400, "invalid_token")
    assert user_by_email(app, "nia@example.org").email_verified_at is None


def test_signing_in_before_confirming_says_so_and_sends_a_new_link(app, client, make_user):
    make_user("practitioner", email="slow@example.org", email_verified=False)
    r = client.post("/login", data={"email": "slow@example.org", "password": PASSWORD})
    assert r.status_code == 200
    assert "Please confirm your e-mail address first" in text(r)
    assert client.get("/practitioner/").status_code == 302
    [mail] = mails_to(app, "slow@example.org")
    path, _ = latest_link(app, "slow@example.org", "verification")
    assert mail.kind == "verification"
    assert client.get(path).status_code == 200  # opening the link changes nothing yet
    assert user_by_email(app, "slow@example.org").email_verified_at is None
    r = client.post(path)
    assert r.headers["Location"].endswith("/practitioner/profile")
    assert user_by_email(app, "slow@example.org").email_verified_at is not None
    page = client.get(path)
    assert page.status_code == 400 and "already" in text(page)


# Nothing but the verification mail to an unconfirmed address --------------------------


def test_the_outbox_sends_nothing_else_to_an_unconfirmed_address(app, make_user):
    uid = make_user("listener", email="slow@example.org", email_verified=False)
    with app.app_context():
        common = {"recipient": "slow@example.org", "subject": "s", "text": "t", "html": "h"}
        assert outbox.queue(**common, user_id=uid, kind="invite") is None
        assert outbox.queue(**common, kind="notice") is None  # found by address, too
        assert outbox.queue(**common, user_id=uid, kind="verification") is not None
        db.session.commit()
    assert [m.kind for m in mails_to(app, "slow@example.org")] == ["verification"]


def test_a_meeting_with_an_unconfirmed_person_invites_only_the_other(app, make_user):
    pair = make_pair(make_user)
    with app.app_context():
        db.session.get(User, pair.listener).email_verified_at = None
        db.session.commit()
    meeting_id = book(app, pair, future_start())
    with app.app_context():
        sent = db.session.scalars(
            db.select(OutboxMessage.recipient).where(OutboxMessage.meeting_id == meeting_id)
        ).all()
    assert sent == ["pia@example.org"]


# Password reset -----------------------------------------------------------------------


def test_a_reset_is_asked_for_alike_and_mailed_only_to_an_account(app, api, make_user):
    make_user("practitioner", email="pia@example.org")
    known = api().post("/api/v1/password-resets", json={"email": "pia@example.org"})
    unknown = api().post("/api/v1/password-resets", json={"email": "nobody@example.org"})
    odd = api().post("/api/v1/password-resets", json={"email": "not an address"})
    assert known.status_code == unknown.status_code == odd.status_code == 202
    assert known.json == unknown.json == odd.json
    assert [m.kind for m in mails_to(app, "pia@example.org")] == ["password_reset"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 1


def test_a_reset_ends_every_session_token_and_feed_and_works_once(app, api, client, make_user):
    uid = make_user("practitioner", email="pia@example.org")
    token = api(uid)
    client.post("/login", data={"email": "pia@example.org", "password": PASSWORD})
    with app.app_context():
        accounts.rotate_feed_token(db.session.get(User, uid))
        db.session.commit()
    api().post("/api/v1/password-resets", json={"email": "pia@example.org"})
    _, raw = latest_link(app, "pia@example.org", "password_reset")
    done = api().post(
        "/api/v1/password-resets/confirm", json={"token": raw, "password": NEW_PASSWORD}
    )
    assert done.status_code == 204
    assert token.get("/api/v1/me").status_code == 401
    assert client.get("/practitioner/").status_code == 302
    with app.app_context():
        user = db.session.get(User, uid)
        assert user.feed_token_hash is None
        assert db.session.scalar(db.select(db.func.count()).select_from(UserSession)) == 0
        assert all(t.revoked_at for t in db.session.scalars(db.select(ApiToken)))
    again = api().post("/api/v1/password-resets/confirm", json={"token": raw, "password": PASSWORD})
    assert (again.status_code, again.json["error"]["code"]) == (400, "invalid_token")
    signed = api().post(
        "/api/v1/tokens", json={"email": "pia@example.org", "password": NEW_PASSWORD}
    )
    assert signed.status_code == 201


def test_a_reset_for_an_unconfirmed_address_sends_the_verification_mail(app, api, make_user):
    make_user("practitioner", email="slow@example.org", email_verified=False)
    api().post("/api/v1/password-resets", json={"email": "slow@example.org"})
    assert [m.kind for m in mails_to(app, "slow@example.org")] == ["verification"]


def test_a_weak_new_password_is_422_and_the_link_still_works(app, api, make_user):
    make_user("practitioner", email="pia@example.org")
    api().post("/api/v1/password-resets", json={"email": "pia@example.org"})
    _, raw = latest_link(app, "pia@example.org", "password_reset")
    weak = api().post("/api/v1/password-resets/confirm", json={"token": raw, "password": "short"})
    assert weak.status_code == 422
    ok = api().post(
        "/api/v1/password-resets/confirm", json={"token": raw, "password": NEW_PASSWORD}
    )
    assert ok.status_code == 204


def test_resetting_through_the_pages(app, client, make_user, login):
    make_user("listener", email="lee@example.org")
    r = client.post("/password-reset", data={"email": "LEE@example.org"})
    assert r.headers["Location"].endswith("/check-email?why=reset")
    path, _ = latest_link(app, "lee@example.org", "password_reset")
    assert "signs you out everywhere" in text(client.get(path))
    mismatch = client.post(path, data={"password": NEW_PASSWORD, "confirm": "something else!"})
    assert "The two do not match." in text(mismatch)
    r = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.headers["Location"].endswith("/login")
    assert login("lee@example.org").status_code == 200  # the old password no longer works
    assert login("lee@example.org", NEW_PASSWORD).status_code == 302
    used = client.get(path)
    assert used.status_code == 400 and "Ask for a new link" in text(used)


# Consent ------------------------------------------------------------------------------


def test_the_consent_text_says_what_it_is_and_is_not(api):
    r = api().get("/api/v1/consent")
    assert r.status_code == 200
    assert r.json["version"] == consent_text.VERSION
    for words in ("not therapy", "crisis", "Who sees what", "How to leave"):
        assert words in r.json["text"]


def test_without_consent_the_api_answers_403_until_it_is_given(app, api, make_user):
    person = api(make_user("listener", consented=False))
    refused = person.get("/api/v1/me/availability")
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "consent_required")
    assert person.get("/api/v1/me").status_code == 200  # who I am, my data, leaving: always
    assert person.get("/api/v1/me/export").status_code == 200
    old = person.post("/api/v1/me/consent", json={"version": "1999-01-01"})
    assert old.status_code == 422
    given = person.post("/api/v1/me/consent", json={"version": consent_text.VERSION})
    assert given.status_code == 201 and given.json["version"] == consent_text.VERSION
    assert person.get("/api/v1/me/availability").status_code == 200


def test_a_new_version_of_the_text_is_asked_for_again(
    app, api, client, make_user, login, monkeypatch
):
    uid = make_user("practitioner", email="pia@example.org", windows=ALL_WEEK)
    person = api(uid)
    coordinator = api(make_user("coordinator"))
    assert person.get("/api/v1/me/availability").status_code == 200
    first = consent_text.VERSION
    monkeypatch.setattr(consent_text, "VERSION", "2099-01-01")
    assert person.get("/api/v1/me/availability").json["error"]["code"] == "consent_required"
    assert coordinator.get("/api/v1/listeners").status_code == 200  # staff give none
    login("pia@example.org")
    r = client.get("/practitioner/availability")
    assert r.status_code == 302
    assert r.headers["Location"] == "/consent?next=/practitioner/availability"
    page = text(client.get(r.headers["Location"]))
    assert "it is not therapy" in page and "download your data" in page
    r = client.post("/consent?next=/practitioner/availability")
    assert r.headers["Location"] == "/practitioner/availability"
    assert client.get("/practitioner/availability").status_code == 200
    with app.app_context():
        versions = db.session.scalars(
            db.select(Consent.version).where(Consent.user_id == uid).order_by(Consent.id)
        ).all()
    assert versions == [first, "2099-01-01"]


def test_the_register_page_asks_for_consent(app, client):
    page = text(client.get("/register"))
    assert "Peer support, not treatment" in page and "I have read this and I agree" in page
    form = {
        "role": "listener",
        "display_name": "Ana",
        "email": "ana@example.org",
        "timezone": "UTC",
        "password": "long enough password",
    }
    r = client.post("/register", data=form)
    assert r.status_code == 200
    assert consent.OUTDATED in text(r)
    assert user_by_email(app, "ana@example.org") is None


# The browser's zone, errors tied to their fields -----------------------------------------


def test_the_register_page_lets_the_browser_choose_the_zone_unless_the_link_did(client):
    assert "data-browser-zone" in text(client.get("/register"))
    assert "data-browser-zone" not in text(client.get("/register?tz=Asia/Tokyo"))
    assert 'src="/static/timezone.js"' in text(client.get("/register"))


def test_hints_and_errors_are_tied_to_their_inputs(client):
    form = {"role": "listener", "email": "bad", "password": "x", "timezone": "UTC"}
    r = client.post("/register", data=form)
    page = r.get_data(as_text=True)
    email = re.search(r"<input[^>]*id=\"email\"[^>]*>", page).group(0)
    assert 'aria-invalid="true"' in email
    assert 'aria-describedby="email-hint email-error"' in email
    assert 'id="email-hint"' in page and 'id="email-error"' in page
    name = re.search(r"<input[^>]*id=\"display_name\"[^>]*>", page).group(0)
    assert 'aria-describedby="display_name-hint display_name-error"' in name


# Crisis lines in every footer -----------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"CRISIS_RESOURCES": "Call the duty line on 0800 1."}])
def test_every_page_has_the_crisis_lines_in_its_footer(client, make_user, login):
    for path in ("/", "/login", "/register"):
        assert "Call the duty line on 0800 1." in text(client.get(path)), path
    make_user("listener", email="lee@example.org")
    login("lee@example.org")
    for path in ("/listener/", "/account/settings", "/meetings/"):
        footer = text(client.get(path)).split("<footer>")[1]
        assert "Call the duty line on 0800 1." in footer, path
        assert "<details" in footer  # folded away: calm, one click to read


# Settings, export, closing ---------------------------------------------------------------


def test_a_new_zone_keeps_the_weekly_hours(app, api, make_user):
    uid = make_user("listener", timezone="Europe/Berlin", windows=[(0, "09:00", "12:00")])
    person = api(uid)
    r = person.patch("/api/v1/me", json={"timezone": "America/Chicago", "display_name": "Lee"})
    assert r.status_code == 200
    assert (r.json["timezone"], r.json["display_name"]) == ("America/Chicago", "Lee")
    availability = person.get("/api/v1/me/availability").json
    assert availability == {
        "timezone": "America/Chicago",
        "windows": [{"weekday": 0, "start": "09:00", "end": "12:00"}],
    }
    bad = person.patch("/api/v1/me", json={"timezone": "Mars/Base"})
    assert bad.status_code == 422


def test_the_settings_page_changes_name_and_zone(app, client, make_user, login):
    uid = make_user("practitioner", email="pia@example.org")
    login("pia@example.org")
    r = client.post("/account/settings", data={"display_name": "Pia K", "timezone": "Asia/Tokyo"})
    assert r.status_code == 302
    with app.app_context():
        user = db.session.get(User, uid)
        assert (user.display_name, user.timezone) == ("Pia K", "Asia/Tokyo")
    bad = client.post("/account/settings", data={"display_name": " ", "timezone": "Asia/Tokyo"})
    assert "Please fill this in." in text(bad)


def test_the_export_page_gives_everything_as_a_file(app, client, make_user, login):
    make_user("listener", email="lee@example.org", windows=[(2, "10:00", "11:00")])
    login("lee@example.org")
    assert "Download my data" in text(client.get("/account/export"))
    r = client.get("/account/export.json")
    assert r.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(r.get_data(as_text=True))
    assert data["user"]["email"] == "lee@example.org"
    assert data["consents"][0]["version"] == consent_text.VERSION
    assert data["availability"]["windows"] == [{"weekday": 2, "start": "10:00", "end": "11:00"}]


def test_closing_an_account_asks_for_the_password_and_says_what_happens(app, client, make_user):
    pair = make_pair(make_user)
    meeting_id = book(app, pair, future_start(days=3))
    client.post("/login", data={"email": "pia@example.org", "password": PASSWORD})
    page = text(client.get("/account/delete"))
    assert "Your 1 upcoming conversation will be cancelled" in page
    assert "with no reason" in page
    wrong = client.post("/account/delete", data={"password": "not my password"})
    assert "does not match" in text(wrong)
    with app.app_context():
        assert db.session.get(User, pair.practitioner).active
    r = client.post("/account/delete", data={"password": PASSWORD})
    assert r.headers["Location"].endswith("/account/closed")
    assert "Your account is closed" in text(client.get("/account/closed"))
    with app.app_context():
        assert not db.session.get(User, pair.practitioner).active
        assert db.session.get(Meeting, meeting_id).status == "cancelled"
        [told] = db.session.scalars(
            db.select(OutboxMessage)
            .where(OutboxMessage.meeting_id == meeting_id)
            .where(OutboxMessage.kind == "cancel")
            .where(OutboxMessage.recipient == "leo@example.org")
        ).all()
    assert "is cancelled" in told.text_body
    assert "Note:" not in told.text_body  # cancelled, without a reason


def test_demo_and_command_line_accounts_start_verified_and_consented(app, runner):
    from matching import demo

    runner.invoke(args=["create-coordinator", "chief@example.org"], input="a long enough secret\n")
    with app.app_context():
        assert demo.seed()
        db.session.commit()
        users = db.session.scalars(db.select(User)).all()
        assert users and all(u.email_verified_at is not None for u in users)
        assert not any(consent.needs_consent(u) for u in users)
