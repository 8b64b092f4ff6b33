"""NUL characters in parameters, on both backends: a 4xx, never the 503/500 that PostgreSQL's
refusal of NUL in text used to cause (SQLite stores NUL, so the SQLite-only fuzz missed it)."""

from __future__ import annotations

import json
from typing import Any

from conftest import new_client
from flask import Flask


def test_nul_in_oauth_parameters_is_a_client_error(app: Flask, client: Any, user: Any) -> None:
    app.config["PASSPORT_RATELIMIT_ENABLED"] = False
    mc = new_client(app, "client_credentials")
    pc = new_client(app, "password")
    rs = new_client(app, "resource_server")
    authz = new_client(app, "authorization_code")
    auth = {"client_id": mc.client.id, "client_secret": mc.secret or ""}
    cases: list[tuple[str, dict[str, str]]] = [
        ("/oauth/token", {"grant_type": "client_credentials", "client_id": "a\x00b",
                          "client_secret": "x"}),
        ("/oauth/token", {"grant_type": "refresh_token", "refresh_token": "a\x00b.c", **auth}),
        ("/oauth/token", {"grant_type": "password", "client_id": pc.client.id,
                          "client_secret": pc.secret or "", "username": "t\x00@example.com",
                          "password": "secret-password"}),
        ("/oauth/revoke", {"token": "a\x00b.c", **auth}),
        ("/oauth/introspect", {"token": "a\x00b.c", "client_id": rs.client.id,
                               "client_secret": rs.secret or ""}),
    ]
    for path, form in cases:
        response = client.post(path, data=form)
        assert response.status_code == 400, (path, response.status_code, response.get_json())
        assert response.get_json()["error"] == "invalid_request"

    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
    response = client.get("/oauth/authorize", query_string={
        "client_id": "a\x00", "response_type": "code"})
    assert response.status_code == 400
    response = client.get("/oauth/authorize", query_string={
        "client_id": authz.client.id, "response_type": "code", "nonce": "n\x00",
        "redirect_uri": "https://app.example.com/callback"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://app.example.com/callback?")
    assert "error=invalid_request" in response.headers["Location"]


def test_nul_in_management_ids_is_404(app: Flask, client: Any, user: Any) -> None:
    from flask_passport.web.csrf import SESSION_KEY

    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess[SESSION_KEY] = "c" * 43
    headers = {"X-CSRF-Token": "c" * 43, "Content-Type": "application/json"}
    body = json.dumps({"name": "App", "redirect_uris": ["https://ok.example/cb"]})
    assert client.put("/oauth/clients/a%00b", data=body, headers=headers).status_code == 404
    assert client.delete("/oauth/clients/a%00b", headers=headers).status_code == 404
    assert client.post("/oauth/clients/a%00b/secret", headers=headers).status_code == 404
    assert client.delete("/oauth/tokens/a%00b", headers=headers).status_code == 404
    assert client.delete("/oauth/personal-access-tokens/a%00b",
                         headers=headers).status_code == 404


def _basic(client_id: str, secret: str) -> dict[str, str]:
    import base64

    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def test_control_characters_in_basic_credentials_are_invalid_client(app: Flask,
                                                                    client: Any) -> None:
    app.config["PASSPORT_RATELIMIT_ENABLED"] = False
    mc = new_client(app, "client_credentials")
    for client_id, secret in [("a\x00b", "x"), (mc.client.id, "s\x00"), ("a%00b", "x"),
                              (mc.client.id + "\x01", mc.secret or ""), ("a\nb", "x")]:
        response = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers=_basic(client_id, secret))
        assert response.status_code == 401, (client_id, response.status_code)
        assert response.get_json()["error"] == "invalid_client"
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    ok = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                     headers=_basic(mc.client.id, mc.secret or ""))
    assert ok.status_code == 200


def test_control_characters_in_form_parameters_are_invalid_request(app: Flask, client: Any,
                                                                   user: Any) -> None:
    app.config["PASSPORT_RATELIMIT_ENABLED"] = False
    mc = new_client(app, "client_credentials")
    pc = new_client(app, "password")
    for bad in ("a\x01b", "a\nb", "a\x7fb", "a\x85b"):
        response = client.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": bad, "client_secret": "x"})
        assert response.status_code == 400, (bad, response.status_code)
        assert response.get_json()["error"] == "invalid_request"
        assert "control character" in response.get_json()["error_description"]
    password = {"grant_type": "password", "client_id": pc.client.id,
                "client_secret": pc.secret or "", "username": "taylor@example.com"}
    refused = client.post("/oauth/token", data={**password, "password": "secret\n-password"})
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_request"
    # RFC 6749 A.16: TAB is the one control character a password may hold; it reaches the
    # password check (and is wrong here) instead of being refused as malformed.
    tab = client.post("/oauth/token", data={**password, "password": "secret\t-password"})
    assert tab.status_code == 400 and tab.get_json()["error"] == "invalid_grant"
    ok = client.post("/oauth/token", data={**password, "password": "secret-password"})
    assert ok.status_code == 200
    assert client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": mc.client.id,
        "client_secret": mc.secret or ""}).status_code == 200


def test_nul_in_the_device_code_form_is_a_form_error(app: Flask, client: Any,
                                                      user: Any) -> None:
    from flask_passport.web.csrf import SESSION_KEY

    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess[SESSION_KEY] = "c" * 43
    response = client.post("/oauth/device", data={"csrf_token": "c" * 43,
                                                  "user_code": "BCDF\x00GHJK"})
    assert response.status_code == 400


def test_nul_in_json_api_bodies_is_422(app: Flask, client: Any, user: Any) -> None:
    from flask_passport.web.csrf import SESSION_KEY

    new_client(app, "personal_access")
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess[SESSION_KEY] = "c" * 43
    headers = {"X-CSRF-Token": "c" * 43}
    for path, body in [("/oauth/personal-access-tokens", {"name": "a\x00b"}),
                       ("/oauth/personal-access-tokens", {"name": "ok", "scopes": ["a\x00"]}),
                       ("/oauth/clients", {"name": "a\x00", "redirect_uris": ["https://a.b/c"]}),
                       ("/oauth/clients", {"name": "A", "redirect_uris": ["https://a.b/\x00"]})]:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 422, (path, body, response.status_code)


def test_nul_in_the_logout_client_id_is_an_error_page(app: Flask, client: Any) -> None:
    """RP-initiated logout looks the client up: a NUL is an unknown client, not a 503."""
    response = client.get("/oauth/logout", query_string={"client_id": "a\x00b"})
    assert response.status_code == 400, response.status_code
    assert "unknown" in response.get_data(as_text=True)
