"""Sign-in limits protect accounts, not addresses: only failures count, one count for all."""

from __future__ import annotations

import pytest

from matching import create_app
from matching.extensions import db
from matching.models import AuditEvent, User
from tests.conftest import PASSWORD

HOSPITAL = {"REMOTE_ADDR": "192.0.2.10"}
ELSEWHERE = {"REMOTE_ADDR": "198.51.100.7"}


def _emails(app, ids):
    with app.app_context():
        return [db.session.get(User, uid).email for uid in ids]


def _login(client, email, password, env=HOSPITAL):
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base=env
    ).status_code


def _token(client, email, password, env=HOSPITAL):
    return client.post(
        "/api/v1/tokens", json={"email": email, "password": password}, environ_base=env
    ).status_code


def _audit(app, action=None):
    with app.app_context():
        query = db.select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return [(e.action, e.subject_id, e.address, e.data) for e in db.session.scalars(query)]


@pytest.mark.parametrize(
    "app_config", [{"LOGIN_RATE_LIMIT": "3 per minute", "LOGIN_ADDRESS_RATE_LIMIT": "5 per minute"}]
)
def test_thirty_colleagues_signing_in_from_one_address_are_never_limited(app, make_user):
    emails = _emails(app, [make_user("practitioner") for _ in range(30)])
    # A couple of typing slips among them, below the address's threshold.
    assert _login(app.test_client(), emails[0], "not my password") == 200
    assert _login(app.test_client(), emails[1], "not my password") == 200
    codes = [_login(app.test_client(), email, PASSWORD) for email in emails]
    assert codes == [302] * 30


@pytest.mark.parametrize("app_config", [{"LOGIN_RATE_LIMIT": "3 per minute"}])
def test_one_person_typing_wrong_locks_only_their_own_account(app, make_user):
    clumsy, colleague = _emails(app, [make_user("practitioner"), make_user("listener")])
    client = app.test_client()
    codes = [_login(client, clumsy, f"wrong guess {i}") for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert _login(client, clumsy, PASSWORD) == 429  # the account waits, even for the truth
    assert _login(app.test_client(), colleague, PASSWORD) == 302  # same address: fine
    assert _token(app.test_client(), colleague, PASSWORD) == 201


@pytest.mark.parametrize("app_config", [{"LOGIN_RATE_LIMIT": "3 per minute"}])
def test_pages_and_api_share_one_count_and_case_does_not_split_it(app, make_user):
    (email,) = _emails(app, [make_user("practitioner")])
    client = app.test_client()
    assert _login(client, email, "wrong one") == 200
    assert _token(client, email.upper(), "wrong two") == 401
    assert _login(client, f"  {email} ", "wrong three", env=ELSEWHERE) == 200
    assert _token(client, email, PASSWORD, env=ELSEWHERE) == 429
    assert _login(client, email, PASSWORD) == 429


@pytest.mark.parametrize(
    "app_config",
    [{"LOGIN_RATE_LIMIT": "50 per minute", "LOGIN_ADDRESS_RATE_LIMIT": "4 per minute"}],
)
def test_one_address_guessing_many_accounts_is_stopped(app, make_user):
    emails = _emails(app, [make_user("practitioner") for _ in range(6)])
    client = app.test_client()
    codes = [_token(client, email, "spray attempt") for email in emails[:4]]
    assert codes == [401] * 4
    assert _token(client, emails[4], PASSWORD) == 429
    assert _login(client, emails[5], PASSWORD) == 429
    assert _token(client, emails[4], PASSWORD, env=ELSEWHERE) == 201


@pytest.mark.parametrize("app_config", [{"LOGIN_RATE_LIMIT": "1 per minute"}])
def test_sign_ins_failures_and_refusals_are_audited_without_secrets(app, make_user):
    uid = make_user("practitioner")
    (email,) = _emails(app, [uid])
    client = app.test_client()
    assert _login(client, email, PASSWORD) == 302
    assert _login(app.test_client(), email, "a wrong password") == 200
    assert _token(app.test_client(), email, PASSWORD) == 429
    assert _login(app.test_client(), "nobody@example.org", "a wrong password") == 200
    rows = _audit(app)
    assert [(action, subject) for action, subject, _, _ in rows] == [
        ("signin.succeeded", uid),
        ("signin.failed", uid),
        ("signin.limited", uid),
        ("signin.failed", None),
    ]
    assert {address for _, _, address, _ in rows} == {"192.0.2.10"}
    assert rows[2][3] == {"scope": "account"}
    with app.app_context():
        text = " ".join(f"{e.summary} {e.data}" for e in db.session.scalars(db.select(AuditEvent)))
    assert "wrong" not in text and PASSWORD not in text and "nobody" not in text


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 0}])
def test_forwarded_headers_are_ignored_without_trusted_proxies(app, make_user):
    (email,) = _emails(app, [make_user("practitioner")])
    app.test_client().post(
        "/login",
        data={"email": email, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base=HOSPITAL,
    )
    assert [address for _, _, address, _ in _audit(app)] == ["192.0.2.10"]


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}])
def test_the_address_comes_from_the_trusted_proxy(app, make_user):
    (email,) = _emails(app, [make_user("practitioner")])
    app.test_client().post(
        "/login",
        data={"email": email, "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"},
        environ_base=HOSPITAL,
    )
    # Only the last hop, which the one trusted proxy added, counts.
    assert [address for _, _, address, _ in _audit(app)] == ["203.0.113.9"]


def _config(**extra):
    return {
        "TESTING": True,
        "SECRET_KEY": "k",
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@db.invalid/alongside",
    } | extra


def test_postgresql_with_per_process_limits_refuses_to_start_unless_chosen():
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        create_app(_config())
    assert create_app(_config(LOGIN_LIMITS_IN_MEMORY=True)).config["LOGIN_LIMITS_IN_MEMORY"]
    redis = create_app(_config(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0"))
    assert redis.config["RATELIMIT_STORAGE_URI"].startswith("redis://")


def test_the_environment_chooses_in_memory_limits_explicitly(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db.invalid/alongside")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("LOGIN_LIMITS_IN_MEMORY", raising=False)
    with pytest.raises(RuntimeError, match="LOGIN_LIMITS_IN_MEMORY"):
        create_app()
    monkeypatch.setenv("LOGIN_LIMITS_IN_MEMORY", "true")
    assert create_app().config["LOGIN_LIMITS_IN_MEMORY"] is True
