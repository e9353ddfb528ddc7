"""Every route, swept: no one gets in without signing in, and roles stay in their lane."""

from __future__ import annotations

import re

import pytest

from matching import create_app

PUBLIC = {
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/register"),
    ("POST", "/register"),
    ("POST", "/logout"),
    ("GET", "/static/<path:filename>"),
    ("POST", "/api/v1/users"),
    ("POST", "/api/v1/tokens"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/calendar/<token>.ics"),
    ("GET", "/check-email"),
    ("GET", "/verify/<token>"),
    ("POST", "/verify/<token>"),
    ("GET", "/password-reset"),
    ("POST", "/password-reset"),
    ("GET", "/reset/<token>"),
    ("POST", "/reset/<token>"),
    ("GET", "/account/closed"),
    ("GET", "/api/v1/consent"),
    ("POST", "/api/v1/users/verify"),
    ("POST", "/api/v1/password-resets"),
    ("POST", "/api/v1/password-resets/confirm"),
}


def _routes():
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule


def _concrete(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: "1" if "id" in m.group(1) else "x", rule)


ROUTES = sorted(_routes())


def test_public_list_names_only_existing_routes():
    assert set(PUBLIC) <= set(ROUTES)


@pytest.mark.parametrize(("method", "rule"), [r for r in ROUTES if r not in PUBLIC])
def test_anonymous_is_turned_away(client, method, rule):
    response = client.open(_concrete(rule), method=method)
    if rule.startswith("/api/"):
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthenticated"
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


ROLE_PREFIXES = {
    "practitioner": ("/listener/", "/coordinator/"),
    "listener": ("/practitioner/", "/coordinator/"),
    "coordinator": ("/practitioner/", "/listener/"),
}


@pytest.mark.parametrize("role", sorted(ROLE_PREFIXES))
def test_pages_of_other_roles_are_forbidden(client, make_user, login, role):
    make_user(role, email=f"{role}@example.org")
    assert login(f"{role}@example.org").status_code == 302
    checked = 0
    for method, rule in ROUTES:
        if rule.startswith(ROLE_PREFIXES[role]):
            assert client.open(_concrete(rule), method=method).status_code == 403, rule
            checked += 1
    assert checked >= 5


COORDINATOR_API = [
    (m, r)
    for m, r in ROUTES
    if r.startswith(("/api/v1/listeners", "/api/v1/rounds", "/api/v1/proposals"))
    or (m, r) == ("GET", "/api/v1/requests")
]


@pytest.mark.parametrize("role", ["practitioner", "listener"])
def test_coordinator_api_is_forbidden_to_others(api, make_user, role):
    client = api(make_user(role))
    assert COORDINATOR_API
    for method, rule in COORDINATOR_API:
        response = client.client.open(
            _concrete(rule), method=method, headers=client._headers(None), json={}
        )
        assert response.status_code == 403, rule


def test_unknown_paths_are_calm_404s(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert b"Traceback" not in page.data
    api = client.get("/api/v1/nothing")
    assert api.status_code == 404
    assert api.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_405_json(client):
    response = client.get("/api/v1/users")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
