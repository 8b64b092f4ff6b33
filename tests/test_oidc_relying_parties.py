"""Real OpenID Connect relying parties against the example app served on loopback:

- Authlib's Flask OpenID Connect client (discovery, code + PKCE + nonce, ID token validation
  with the JWKS: signature, iss, aud, exp, nonce, at_hash; userinfo), then RP-initiated logout;
- panva's ``openid-client`` for Node.js (v5, installed from the npm registry into
  tests/oidc_node/ at test time), running tests/oidc_node/rp.mjs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask import Flask, jsonify, request, session
from test_authlib_client import approve, signed_in_browser

NODE_DIR = Path(__file__).parent / "oidc_node"


@pytest.fixture(autouse=True)
def _loopback_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # The example server is plain HTTP on 127.0.0.1; Authlib refuses that unless told.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


def relying_party(server: Any) -> Flask:
    """A separate Flask app signing users in with Authlib's OpenID Connect client."""
    from authlib.integrations.flask_client import OAuth

    info = server.seed["oidc_client"]
    rp = Flask("relying_party")
    rp.config.update(SECRET_KEY="rp-secret", TESTING=True)
    oauth = OAuth(rp)
    oauth.register(
        "passport",
        client_id=info["id"],
        server_metadata_url=server.base_url + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256",
                       "token_endpoint_auth_method": "none"},
    )

    @rp.get("/login")
    def login() -> Any:
        extra = {"max_age": request.args["max_age"]} if "max_age" in request.args else {}
        return oauth.passport.authorize_redirect(info["redirect_uri"], **extra)

    @rp.get("/callback")
    def callback() -> Any:
        token = oauth.passport.authorize_access_token()  # validates the ID token
        userinfo = oauth.passport.userinfo(token=token)
        session["id_token"] = token["id_token"]
        return jsonify(id_claims=dict(token["userinfo"]), userinfo=dict(userinfo),
                       id_token=token["id_token"])

    return rp


def sign_in(server: Any, rp: Flask, browser: requests.Session, **login_args: str) -> Any:
    rp_http = rp.test_client()
    start = rp_http.get("/login?" + urlencode(login_args))
    assert start.status_code == 302
    location = approve(server, browser, start.headers["Location"])
    info = server.seed["oidc_client"]
    assert location.startswith(info["redirect_uri"] + "?"), location
    done = rp_http.get("/callback?" + urlsplit(location).query)
    assert done.status_code == 200, done.get_data(as_text=True)
    return done.json


def test_authlib_openid_client_end_to_end(authz_server: Any) -> None:
    server = authz_server
    rp = relying_party(server)
    browser = signed_in_browser(server)
    result = sign_in(server, rp, browser, max_age="600")
    claims, userinfo = result["id_claims"], result["userinfo"]
    assert claims["iss"] == server.base_url
    assert claims["aud"] == server.seed["oidc_client"]["id"]
    assert claims["sub"] == str(server.seed["user"]["id"]) == userinfo["sub"]
    assert claims["nonce"] and claims["at_hash"] and claims["auth_time"]
    assert userinfo["email"] == server.seed["user"]["email"]
    assert userinfo["name"] == "Demo User"

    # RP-initiated logout back to the registered URI, with state; the session is gone.
    info = server.seed["oidc_client"]
    resp = browser.get(server.base_url + "/oauth/logout", allow_redirects=False, timeout=10,
                       params={"id_token_hint": result["id_token"], "state": "rp-state",
                               "post_logout_redirect_uri": info["post_logout_redirect_uri"]})
    assert resp.status_code == 302
    assert resp.headers["Location"] == info["post_logout_redirect_uri"] + "?state=rp-state"
    check = browser.get(server.base_url + "/oauth/authorize", allow_redirects=False, timeout=10,
                        params={"client_id": info["id"], "redirect_uri": info["redirect_uri"],
                                "response_type": "code", "scope": "openid", "prompt": "none",
                                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                "code_challenge_method": "S256"})
    assert parse_qs(urlsplit(check.headers["Location"]).query)["error"] == ["login_required"]


def test_authlib_refuses_an_id_token_for_another_nonce(authz_server: Any) -> None:
    """The validation above is real: a nonce mismatch makes Authlib refuse the response."""
    server = authz_server
    rp = relying_party(server)
    browser = signed_in_browser(server)
    rp_http = rp.test_client()
    start = rp_http.get("/login")
    location = approve(server, browser, start.headers["Location"])
    with rp_http.session_transaction() as sess:
        for key, value in sess.items():
            if isinstance(value, dict) and "data" in value and "nonce" in value["data"]:
                value["data"]["nonce"] = "someone-elses-nonce"
                sess[key] = value
    # Authlib's InvalidClaimError (from a module that warns on import, so matched by message).
    with pytest.raises(Exception, match="nonce") as caught:
        rp_http.get("/callback?" + urlsplit(location).query)
    assert type(caught.value).__name__ == "InvalidClaimError"


def _npm_install() -> str | None:
    """Install openid-client@5 from the npm registry into tests/oidc_node (once); the reason
    to skip when that is impossible."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "Node.js and npm are not installed"
    if (NODE_DIR / "node_modules" / "openid-client" / "package.json").exists():
        return None
    proc = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_DIR, capture_output=True, text=True, timeout=300, check=False,
    )
    if proc.returncode != 0:
        return f"npm install failed (no registry access?): {proc.stderr.strip()[-300:]}"
    return None


def test_openid_client_for_node_end_to_end(authz_server: Any) -> None:
    reason = _npm_install()
    if reason:
        pytest.skip(reason)
    server = authz_server
    env = dict(os.environ, RP_CONFIG=json.dumps({
        "issuer": server.base_url,
        "client": server.seed["oidc_client"],
        "user": server.seed["user"],
    }))
    proc = subprocess.run(["node", "rp.mjs"], cwd=NODE_DIR, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ok"] is True
    assert result["claims"]["sub"] == str(server.seed["user"]["id"])
    assert result["userinfo"]["email"] == server.seed["user"]["email"]
    assert result["refreshed_sub"] == result["claims"]["sub"]
    assert result["logout_location"] == (server.seed["oidc_client"]["post_logout_redirect_uri"]
                                         + "?state=node-state")
    assert result["tampered_rejected"] is True
