"""Register, sign in, sign out, password change, rate limit and CSRF on the pages."""

from __future__ import annotations

import re

import pytest
from werkzeug.exceptions import MethodNotAllowed

from matching.extensions import db
from matching.models import ApiToken, User
from tests.conftest import PASSWORD
from tests.support.accounts import link_in
from tests.support.accounts import mails_to as mails

NEW_PASSWORD = "a different long passphrase"


def form_for(role: str = "practitioner", **overrides) -> dict:
    return {
        "role": role,
        "display_name": "Ana",
        "email": "ana@example.org",
        "timezone": "Europe/Berlin",
        "password": "long enough password",
        "consent_version": "y",
    } | overrides


def users(app) -> list[User]:
    with app.app_context():
        return list(db.session.scalars(db.select(User).order_by(User.id)))


def email_of(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).email


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    if found is None:
        found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


# Registration -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["practitioner", "listener"])
def test_register_creates_the_account_signs_in_and_asks_for_the_profile(app, client, role):
    r = client.post("/register", data=form_for(role, email="Ana@Example.org"))

    assert r.status_code == 302
    assert r.headers["Location"].endswith("/check-email?why=register")
    [user] = users(app)
    assert (user.email, user.role, user.timezone) == ("ana@example.org", role, "Europe/Berlin")
    assert client.get(f"/{role}/").status_code == 302  # not signed in before confirming

    [mail] = mails(app, "ana@example.org")
    assert mail.kind == "verification"
    path, _ = link_in(mail)
    page = client.get(path)
    assert page.status_code == 200 and "Confirm and continue" in page.get_data(as_text=True)
    r = client.post(path)
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/{role}/profile")
    assert client.get(f"/{role}/").status_code == 200


def test_register_page_preselects_the_zone_from_the_query(client):
    html = client.get("/register?tz=America/New_York").get_data(as_text=True)
    assert re.search(r'<option selected value="America/New_York">', html)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password": "short pass"}, "Use at least 12 characters."),
        ({"password": ""}, "Use at least 12 characters."),
        ({"email": "not-an-email"}, "That does not look like an e-mail address."),
        ({"email": "ana@"}, "That does not look like an e-mail address."),
        ({"email": ""}, "Please fill this in."),
        ({"timezone": "Mars/Olympus"}, "Not a valid choice."),
        ({"timezone": "localtime"}, "Not a valid choice."),
        ({"timezone": "../x"}, "Not a valid choice."),
        ({"timezone": ""}, "Not a valid choice."),
        ({"display_name": "   "}, "Please fill this in."),
        ({"display_name": "x" * 81}, "Keep it under 80 characters."),
        ({"role": "coordinator"}, "Not a valid choice."),
        ({"role": ""}, "This field is required."),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_register_rejects_bad_input_with_a_message_and_creates_nothing(
    app, client, overrides, message
):
    r = client.post("/register", data=form_for(**overrides))

    assert r.status_code == 200
    assert message in r.get_data(as_text=True)
    assert 'class="error"' in r.get_data(as_text=True)
    assert users(app) == []


def test_register_reports_every_problem_at_once(app, client):
    r = client.post("/register", data=form_for(display_name="", password="short"))
    html = r.get_data(as_text=True)
    assert "Please fill this in." in html
    assert "Use at least 12 characters." in html
    assert users(app) == []


def test_register_with_a_taken_email_answers_alike_and_creates_nothing(app, client, make_user):
    make_user("listener", email="ana@example.org")

    taken = client.post("/register", data=form_for(email="ANA@example.org"))
    new = client.post("/register", data=form_for(email="bea@example.org"))

    assert (taken.status_code, taken.headers["Location"]) == (
        new.status_code,
        new.headers["Location"],
    )
    assert len(users(app)) == 2
    assert client.get("/practitioner/").status_code == 302  # not signed in
    [owner_mail] = mails(app, "ana@example.org")
    assert owner_mail.kind == "account_exists"
    assert "already has an account" in " ".join(owner_mail.text_body.split())


def test_register_keeps_what_was_typed_except_the_password(client):
    r = client.post("/register", data=form_for(password="short pass"))
    html = r.get_data(as_text=True)
    assert 'value="ana@example.org"' in html
    assert 'value="Ana"' in html
    assert "short pass" not in html


# Sign in and out ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "home"),
    [
        ("practitioner", "/practitioner/"),
        ("listener", "/listener/"),
        ("coordinator", "/coordinator/"),
    ],
)
def test_login_sends_each_role_to_its_home(app, client, make_user, login, role, home):
    uid = make_user(role)

    r = login(email_of(app, uid))

    assert r.status_code == 302
    assert r.headers["Location"] == home
    assert client.get(home).status_code == 200


def test_login_ignores_case_and_spaces_around_the_email(app, client, make_user):
    uid = make_user("practitioner", email="mira@example.org")
    r = client.post("/login", data={"email": "  Mira@Example.ORG ", "password": PASSWORD})
    assert r.status_code == 302
    assert client.get("/practitioner/").status_code == 200
    assert email_of(app, uid) == "mira@example.org"


def test_wrong_password_and_unknown_email_read_the_same(app, client, make_user):
    uid = make_user("practitioner")
    known = email_of(app, uid)
    unknown = "nobody@example.org"

    wrong = client.post("/login", data={"email": known, "password": "not the password!"})
    missing = client.post("/login", data={"email": unknown, "password": "not the password!"})

    assert wrong.status_code == missing.status_code == 200
    assert "do not match an account" in wrong.get_data(as_text=True)
    assert wrong.get_data(as_text=True).replace(known, "EMAIL") == missing.get_data(
        as_text=True
    ).replace(unknown, "EMAIL")
    assert client.get("/practitioner/").status_code == 302


def test_a_deactivated_account_cannot_sign_in(app, client, make_user, login):
    uid = make_user("listener")
    with app.app_context():
        db.session.get(User, uid).active = False
        db.session.commit()

    r = login(email_of(app, uid))

    assert r.status_code == 200
    assert "do not match an account" in r.get_data(as_text=True)


@pytest.mark.parametrize(
    ("target", "followed"),
    [
        ("/practitioner/", True),
        ("/practitioner/availability?x=1", True),
        ("https://evil.example/", False),
        ("//evil.example", False),
        ("/\\evil", False),
        ("\\\\evil.example", False),
        ("javascript:x", False),
        ("/\t/evil.example", False),
        ("http:evil.example", False),
    ],
)
def test_login_follows_next_only_to_local_paths(app, client, make_user, target, followed):
    uid = make_user("practitioner")

    r = client.post(
        "/login",
        query_string={"next": target},
        data={"email": email_of(app, uid), "password": PASSWORD},
    )

    assert r.status_code == 302
    assert r.headers["Location"] == (target if followed else "/practitioner/")


def test_anonymous_page_visit_comes_back_after_sign_in(app, client, make_user):
    uid = make_user("practitioner")

    r = client.get("/practitioner/availability")
    assert r.status_code == 302
    assert r.headers["Location"] == "/login?next=%2Fpractitioner%2Favailability"

    r = client.post(r.headers["Location"], data={"email": email_of(app, uid), "password": PASSWORD})
    assert r.headers["Location"] == "/practitioner/availability"


def test_logout_is_post_only(app, client, make_user, login):
    login(email_of(app, make_user("practitioner")))

    adapter = app.url_map.bind("alongside.test")
    with pytest.raises(MethodNotAllowed):  # so a link or an image tag cannot sign anyone out
        adapter.match("/logout", method="GET")
    assert client.get("/practitioner/").status_code == 200

    r = client.post("/logout")
    assert r.status_code == 302
    assert r.headers["Location"] == "/login"
    assert client.get("/practitioner/").status_code == 302


def test_get_logout_answers_405_with_an_allow_header(client):
    r = client.get("/logout")
    assert r.status_code == 405
    assert "POST" in r.headers["Allow"]
    assert "GET" not in r.headers["Allow"]


# Rate limit ---------------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"LOGIN_RATE_LIMIT": "3 per minute"}])
def test_hammering_login_gets_429(app, client, make_user):
    email = email_of(app, make_user("practitioner"))
    codes = [
        client.post("/login", data={"email": email, "password": f"guess number {i}"}).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 200]

    r = client.post("/login", data={"email": email, "password": PASSWORD})

    assert r.status_code == 429
    assert "Too many attempts" in r.get_data(as_text=True)
    assert "Traceback" not in r.get_data(as_text=True)
    assert client.get("/practitioner/").status_code == 302  # even the right password waits
    assert client.get("/login").status_code == 200  # the page itself still opens


# Password change ----------------------------------------------------------------------


def test_password_page_needs_a_signed_in_user(client):
    r = client.get("/account/password")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=")


def test_password_change_with_the_wrong_current_password_changes_nothing(
    app, client, make_user, login
):
    uid = make_user("listener")
    login(email_of(app, uid))

    r = client.post(
        "/account/password",
        data={
            "current_password": "not my password",
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )

    assert r.status_code == 200
    assert "does not match" in r.get_data(as_text=True)
    assert client.post("/logout").status_code == 302
    assert login(email_of(app, uid)).status_code == 302  # the old password still works


@pytest.mark.parametrize(
    ("new", "confirm", "message"),
    [
        ("too short", "too short", "Use at least 12 characters."),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "The two do not match."),
    ],
)
def test_password_change_rejects_a_weak_or_mistyped_new_password(
    app, client, make_user, login, new, confirm, message
):
    uid = make_user("practitioner")
    login(email_of(app, uid))

    r = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": new, "confirm": confirm},
    )

    assert r.status_code == 200
    assert message in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, uid).session_version == 0


def test_password_change_signs_out_other_sessions_and_revokes_tokens(app, make_user, api):
    uid = make_user("practitioner")
    email = email_of(app, uid)
    here, elsewhere = app.test_client(), app.test_client()
    for c in (here, elsewhere):
        assert c.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    token_client = api(uid)
    assert token_client.get("/api/v1/me").status_code == 200

    r = here.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert r.status_code == 302
    assert here.get("/practitioner/").status_code == 200  # this session carries on
    assert elsewhere.get("/practitioner/").status_code == 302  # the other one is signed out
    assert token_client.get("/api/v1/me").status_code == 401
    with app.app_context():
        tokens = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == uid)).all()
        assert tokens
        assert all(t.revoked_at is not None for t in tokens)
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": email, "password": PASSWORD}).status_code == 200
    assert fresh.post("/login", data={"email": email, "password": NEW_PASSWORD}).status_code == 302


# CSRF ---------------------------------------------------------------------------------


CSRF_ON = {"WTF_CSRF_ENABLED": True}


def sign_in_with_token(client, email: str) -> None:
    token = csrf_token(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302


@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_register_without_a_csrf_token_is_refused(app, client):
    r = client.post("/register", data=form_for())

    assert r.status_code == 400
    assert "This form has expired" in r.get_data(as_text=True)
    assert users(app) == []

    token = csrf_token(client.get("/register").get_data(as_text=True))
    assert client.post("/register", data=form_for(csrf_token=token)).status_code == 302
    assert len(users(app)) == 1


@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_login_without_a_csrf_token_is_refused(app, client, make_user):
    email = email_of(app, make_user("practitioner"))

    r = client.post("/login", data={"email": email, "password": PASSWORD})

    assert r.status_code == 400
    assert client.get("/practitioner/").status_code == 302


@pytest.mark.parametrize("app_config", [CSRF_ON])
def test_signed_in_forms_without_a_csrf_token_change_nothing(app, client, make_user):
    uid = make_user("practitioner", organization="Before")
    sign_in_with_token(client, email_of(app, uid))

    profile = client.post(
        "/practitioner/profile",
        data={
            "organization": "After",
            "field": "psychology",
            "languages": "en",
            "modalities": "video",
        },
    )
    password = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    logout = client.post("/logout")

    assert (profile.status_code, password.status_code, logout.status_code) == (400, 400, 400)
    with app.app_context():
        user = db.session.get(User, uid)
        assert user.practitioner_profile.organization == "Before"
        assert user.session_version == 0
    assert client.get("/practitioner/").status_code == 200  # still signed in

    token = csrf_token(client.get("/practitioner/profile").get_data(as_text=True))
    r = client.post(
        "/practitioner/profile",
        data={
            "organization": "After",
            "field": "psychology",
            "languages": "en",
            "modalities": "video",
            "csrf_token": token,
        },
    )
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(User, uid).practitioner_profile.organization == "After"
