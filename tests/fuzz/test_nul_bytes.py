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
    from flask_passport.csrf import SESSION_KEY

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
