"""response_type=token (RFC 6749 §4.2): off by default; when on, the token is in the fragment."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from conftest import new_client
from flask import Flask, jsonify

from flask_passport import require_oauth

REDIRECT = "https://app.example.com/callback"


@pytest.fixture
def signed_in(app: Flask, client: Any, authz_login: Any, user: Any) -> Any:
    @app.get("/me")
    @require_oauth()
    def me() -> Any:
        from flask_login import current_user

        return jsonify(email=current_user.email)

    authz_login(client, user)
    return client


def token_params(created: Any, **extra: Any) -> str:
    params = {"client_id": created.client.id, "redirect_uri": REDIRECT, "response_type": "token",
              "scope": "check-status", "state": "st-1"}
    params.update(extra)
    return "/oauth/authorize?" + urlencode(params)


def test_off_by_default(signed_in: Any, authz_client: Any) -> None:
    resp = signed_in.get(token_params(authz_client))
    location = urlsplit(resp.headers["Location"])
    assert resp.status_code == 302 and not location.fragment
    query = parse_qs(location.query)
    assert query["error"] == ["unsupported_response_type"]
    assert query["state"] == ["st-1"]


def test_enabled_puts_the_token_in_the_fragment(app: Flask, signed_in: Any,
                                                authz_public_client: Any) -> None:
    app.extensions["passport"].passport.enable_implicit_grant()
    try:
        page = signed_in.get(token_params(authz_public_client))
        assert page.status_code == 200
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                                 page.get_data(as_text=True)))
        resp = signed_in.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
        location = urlsplit(resp.headers["Location"])
        assert resp.status_code == 302
        assert location._replace(fragment="").geturl() == REDIRECT
        assert not location.query
        frag = {k: v[0] for k, v in parse_qs(location.fragment).items()}
        assert set(frag) == {"access_token", "token_type", "expires_in", "scope", "state",
                             "iss"}
        assert frag["iss"] == "http://localhost"  # RFC 9207, in the fragment too
        assert frag["token_type"] == "Bearer" and frag["expires_in"] == "3600"
        assert frag["scope"] == "check-status" and frag["state"] == "st-1"
        me = signed_in.get("/me", headers={"Authorization": f"Bearer {frag['access_token']}"})
        assert me.json == {"email": "taylor@example.com"}
    finally:
        app.extensions["passport"].passport.enable_implicit_grant(False)


def test_enabled_errors_go_in_the_fragment(app: Flask, signed_in: Any, authz_client: Any) -> None:
    app.extensions["passport"].passport.enable_implicit_grant()
    try:
        resp = signed_in.get(token_params(authz_client, scope="nope"))
        location = urlsplit(resp.headers["Location"])
        frag = parse_qs(location.fragment)
        assert frag["error"] == ["invalid_scope"] and frag["state"] == ["st-1"]
        page = signed_in.get(token_params(authz_client))
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                                 page.get_data(as_text=True)))
        denied = signed_in.post("/oauth/authorize", data=fields | {"deny": "Cancel"})
        assert parse_qs(urlsplit(denied.headers["Location"]).fragment)["error"] == [
            "access_denied"]
    finally:
        app.extensions["passport"].passport.enable_implicit_grant(False)


def test_client_credentials_client_cannot_use_it(app: Flask, signed_in: Any,
                                                 machine_client: Any) -> None:
    app.extensions["passport"].passport.enable_implicit_grant()
    try:
        resp = signed_in.get(token_params(machine_client))
        assert resp.status_code == 400 and "Location" not in resp.headers
    finally:
        app.extensions["passport"].passport.enable_implicit_grant(False)


@pytest.mark.parametrize("how", ["client", "server"])
def test_no_bearer_token_for_a_client_that_must_use_dpop(app: Flask, signed_in: Any,
                                                          how: str) -> None:
    # RFC 9449 §5.2: such a client's access tokens must be DPoP-bound, and the implicit grant
    # cannot carry a proof, so response_type=token is refused (in the fragment) before consent.
    created = new_client(app, "public", name="Bound SPA",
                         dpop_bound_access_tokens=how == "client")
    if how == "server":
        app.config["PASSPORT_DPOP_REQUIRED"] = True
        app.extensions["passport"].reload_settings()
    app.extensions["passport"].passport.enable_implicit_grant()
    try:
        resp = signed_in.get(token_params(created))
        location = urlsplit(resp.headers["Location"])
        assert resp.status_code == 302 and not location.query
        frag = parse_qs(location.fragment)
        assert frag["error"] == ["unauthorized_client"] and frag["state"] == ["st-1"]
        assert "DPoP" in frag["error_description"][0] and "access_token" not in frag
        # response_type=code stays open to it (with PKCE, then DPoP at the token endpoint).
        code = signed_in.get(token_params(
            created, response_type="code", code_challenge_method="S256",
            code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"))
        assert code.status_code == 200
    finally:
        app.extensions["passport"].passport.enable_implicit_grant(False)
