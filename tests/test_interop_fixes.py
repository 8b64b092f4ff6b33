"""Interop fixes found with real clients (oauth4webapi, openid-client, Authlib, the MCP SDK)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask

import example_app
from example_app.commands import seed_data

ISSUER = "http://127.0.0.1:5099"
VERIFIER = "v" * 50


@pytest.fixture
def demo(tmp_path: Any, private_key_pem: str) -> Iterator[Flask]:
    app = example_app.create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'example.sqlite'}",
        "PASSPORT_KEY_PATH": str(tmp_path / "keys"),
        "SERVER_NAME": "127.0.0.1:5099",
        "PASSPORT_ISSUER": ISSUER,
    })
    (tmp_path / "keys").mkdir()
    yield app
    with app.app_context():
        example_app.db.session.remove()
        example_app.db.engine.dispose()


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))


def sign_in(client: Any, email: str, password: str) -> None:
    fields = hidden_fields(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"csrf_token": fields["csrf_token"], "email": email,
                                       "password": password})
    assert resp.status_code == 302


# -- the app's own protected resource is a registered resource (RFC 9728 + RFC 8707) ------------

@pytest.mark.parametrize("resource", [ISSUER, ISSUER + "/", "HTTP://127.0.0.1:5099/"])
def test_client_credentials_for_the_protected_resource(demo: Flask, resource: str) -> None:
    with demo.app_context():
        seed = seed_data(5099)
    machine = seed["clients"]["client_credentials"]
    http = demo.test_client()
    resp = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                           "resource": resource, "scope": "check-status"},
                     auth=(machine["id"], machine["secret"]))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    token = resp.json["access_token"]
    assert claims(token)["aud"] == ISSUER  # the registered form
    api = http.get("/api/internal/jobs", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200, api.get_data(as_text=True)
    # Another resource is still unknown.
    other = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                            "resource": "https://other.example/api"},
                      auth=(machine["id"], machine["secret"]))
    assert other.status_code == 400 and other.json["error"] == "invalid_target"


def test_code_flow_for_the_protected_resource(demo: Flask) -> None:
    with demo.app_context():
        seed = seed_data(5099)
    conf = seed["clients"]["confidential"]
    http = demo.test_client()
    sign_in(http, seed["user"]["email"], seed["user"]["password"])
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
    page = http.get("/oauth/authorize?" + urlencode({
        "client_id": conf["id"], "redirect_uri": conf["redirect_uri"], "response_type": "code",
        "scope": "openid check-status", "state": "st", "code_challenge": challenge,
        "code_challenge_method": "S256", "resource": ISSUER}))
    assert page.status_code == 200, page.headers.get("Location")
    resp = http.post("/oauth/authorize", data=hidden_fields(page.get_data(as_text=True))
                     | {"approve": "Authorize"})
    assert resp.status_code == 302
    code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    token = http.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": conf["redirect_uri"],
        "code_verifier": VERIFIER, "resource": ISSUER}, auth=(conf["id"], conf["secret"]))
    assert token.status_code == 200, token.get_data(as_text=True)
    access = token.json["access_token"]
    assert claims(access)["aud"] == ISSUER
    api = http.get("/api/status", headers={"Authorization": f"Bearer {access}"})
    assert api.status_code == 200, api.get_data(as_text=True)
    # The app's own resource allows every scope the app serves, OpenID Connect's too.
    info = http.get("/oauth/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert info.status_code == 200 and info.json["sub"] == str(seed["user"]["id"])


def test_explicit_registration_wins_over_the_protected_resource(tmp_path: Any) -> None:
    app = example_app.create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'other.sqlite'}",
        "PASSPORT_ISSUER": ISSUER,
        "PASSPORT_RESOURCES": [{"uri": ISSUER, "name": "Mine", "scopes": None}]})
    with app.app_context():
        resources = {r.uri: r for r in example_app.passport.resources()}
        assert resources[ISSUER].name == "Mine" and resources[ISSUER].scopes is None
        example_app.db.engine.dispose()


# -- CORS for browser-based clients -------------------------------------------------------------

CORS_ROUTES = [("/.well-known/oauth-authorization-server", "GET"),
               ("/.well-known/openid-configuration", "GET"),
               ("/.well-known/jwks.json", "GET"),
               ("/oauth/token", "POST"), ("/oauth/revoke", "POST"),
               ("/oauth/userinfo", "GET"), ("/oauth/par", "POST"),
               ("/oauth/device/code", "POST"), ("/oauth/register", "POST")]


@pytest.mark.parametrize("path,method", CORS_ROUTES)
def test_browser_endpoints_answer_cors(demo: Flask, path: str, method: str) -> None:
    http = demo.test_client()
    origin = {"Origin": "https://spa.example"}
    pre = http.options(path, headers={**origin, "Access-Control-Request-Method": method,
                                      "Access-Control-Request-Headers": "authorization, dpop"})
    assert pre.status_code in (200, 204)
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert method in pre.headers["Access-Control-Allow-Methods"]
    assert {"Authorization", "Content-Type", "DPoP"} <= {
        h.strip() for h in pre.headers["Access-Control-Allow-Headers"].split(",")}
    assert "Access-Control-Allow-Credentials" not in pre.headers
    actual = http.open(path, method=method, headers=origin)  # an error answer is readable too
    assert actual.headers["Access-Control-Allow-Origin"] == "*"
    assert "DPoP-Nonce" in actual.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in actual.headers


@pytest.mark.parametrize("path,method", [("/oauth/authorize", "GET"), ("/oauth/authorize", "POST"),
                                         ("/oauth/introspect", "POST"),
                                         ("/oauth/personal-access-tokens", "GET"),
                                         ("/oauth/clients", "GET"),
                                         ("/oauth/token/refresh", "POST"),
                                         ("/login", "GET")])
def test_session_routes_get_no_cors(demo: Flask, path: str, method: str) -> None:
    http = demo.test_client()
    origin = {"Origin": "https://evil.example"}
    pre = http.options(path, headers={**origin, "Access-Control-Request-Method": method})
    actual = http.open(path, method=method, headers=origin)
    for resp in (pre, actual):
        assert "Access-Control-Allow-Origin" not in resp.headers


# -- RFC 6750 §3.1: no error code without credentials --------------------------------------------

@pytest.mark.parametrize("path", ["/api/user", "/oauth/userinfo"])
def test_no_token_gets_no_error_code(demo: Flask, path: str) -> None:
    with demo.app_context():
        seed_data(5099)  # and the keys
    resp = demo.test_client().get(path)
    assert resp.status_code == 401
    assert "error=" not in resp.headers["WWW-Authenticate"]
    assert "error" not in resp.json and resp.json["error_description"]
    bad = demo.test_client().get(path, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json["error"] == "invalid_token"


def test_oauth4webapi_ed25519_dpop_for_the_protected_resource(authz_server: Any) -> None:
    """An independent client: oauth4webapi signs its Ed25519 DPoP proofs with alg Ed25519."""
    from helpers import js_client

    machine = authz_server.seed["clients"]["client_credentials"]
    result = js_client("fixc_ed25519.mjs", {
        "issuer": authz_server.base_url, "client_id": machine["id"],
        "client_secret": machine["secret"], "api": authz_server.base_url + "/api/internal/jobs"})
    assert result["proof_algs"] and set(result["proof_algs"]) == {"Ed25519"}, result
    assert result["token_type"] == "dpop" and result["aud"] == authz_server.base_url, result
    assert result["api_status"] == 200, result
