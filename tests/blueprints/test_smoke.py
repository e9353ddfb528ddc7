def test_register_and_me(api):
    anon = api()
    r = anon.post(
        "/api/v1/users",
        json={
            "email": "Ana@Example.org",
            "password": "long enough password",
            "role": "practitioner",
            "display_name": "Ana",
            "timezone": "Europe/Berlin",
        },
    )
    assert r.status_code == 201, r.json
    assert r.json["email"] == "ana@example.org"
    r = anon.post(
        "/api/v1/tokens", json={"email": "ana@example.org", "password": "long enough password"}
    )
    assert r.status_code == 201
