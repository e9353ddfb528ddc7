"""The OpenAPI description and the app's routes cannot drift apart."""

from __future__ import annotations

import re


def _api_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "{id}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    return routes


def _documented(doc) -> set[tuple[str, str]]:
    methods = {"get", "post", "put", "delete", "patch"}
    return {(m, path) for path, item in doc["paths"].items() for m in item if m in methods}


def test_openapi_matches_the_url_map(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    assert _documented(doc) == _api_routes(app)


def test_every_operation_documents_its_errors_and_answers(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            codes = set(op["responses"])
            assert any(code.startswith("2") for code in codes), (method, path)
            if "{id}" in path:
                assert "404" in codes, (method, path)
                assert any(p["name"] == "id" for p in item.get("parameters", [])), path
