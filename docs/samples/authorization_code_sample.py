"""The authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636), driven through the Flask
test client as a browser would: sign in, consent, code, exchange; plus a replayed code, a denial,
``prompt=none`` and the implicit grant."""

from __future__ import annotations

import base64
import hashlib
import secrets
import tempfile
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from flask import Flask
from flask.testing import FlaskClient

from flask_passport import create_client
from helpers import add_user, hidden, installed_app, sign_in
from myapp import db, passport

CALLBACK = "https://partner.example/callback"


def redirect_params(location: str, part: str = "query") -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(getattr(urlsplit(location), part)).items()}


def consent_flow(app: Flask, client_id: str) -> dict[str, Any]:
    browser = app.test_client()
    # [authorize-request]
    # The partner app: a fresh state and PKCE pair per sign-in, kept in its own session.
    state = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = "/oauth/authorize?" + urlencode({
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "place-orders check-status",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    })
    # [/authorize-request]
    # [consent]
    answer = browser.get(url)  # signed out: off to login_view, with next=<this URL>
    assert answer.status_code == 302 and answer.location.startswith("/login?next=")
    back = sign_in(browser, answer.location)
    assert back.startswith("/oauth/authorize?")
    page = browser.get(back)  # the consent page
    assert page.status_code == 200 and "Partner web app" in page.get_data(as_text=True)
    assert page.headers["X-Frame-Options"] == "DENY"
    approved = browser.post("/oauth/authorize", data={
        "csrf_token": hidden(page.get_data(as_text=True), "csrf_token"),
        "auth_token": hidden(page.get_data(as_text=True), "auth_token"),
        "approve": "Authorize",
    })
    assert approved.status_code == 302 and approved.location.startswith(CALLBACK + "?")
    params = redirect_params(approved.location)
    assert params["state"] == state  # the partner checks state before using the code
    # [/consent]
    return {"browser": browser, "code": params["code"], "verifier": verifier}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp, PASSPORT_RATELIMIT_ENABLED=False)
        add_user(app, "taylor@example.com", "my-password")
        with app.app_context():
            created = create_client(db.session, passport.models, name="Partner web app",
                                    redirect_uris=[CALLBACK])
            db.session.commit()
            client_id, client_secret = created.client.id, created.secret
        assert client_secret is not None

        flow = consent_flow(app, client_id)
        code, verifier = flow["code"], flow["verifier"]
        partner = app.test_client()  # the partner's server, not the browser
        # [exchange]
        answer = partner.post("/oauth/token", data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,  # the same as in the authorization request
            "client_id": client_id,
            "client_secret": client_secret,  # a public client omits it
            "code_verifier": verifier,
        })
        tokens = answer.json
        # {"token_type": "Bearer", "expires_in": 3600, "access_token": "eyJ...",
        #  "refresh_token": "...", "scope": "place-orders check-status"}
        me = partner.get("/api/user",
                         headers={"Authorization": f"Bearer {tokens['access_token']}"})
        # [/exchange]
        assert answer.status_code == 200, tokens
        assert tokens["token_type"] == "Bearer" and tokens["refresh_token"]
        assert set(tokens["scope"].split()) == {"place-orders", "check-status"}
        assert me.json == {"id": 1, "email": "taylor@example.com"}

        # [replay]
        again = partner.post("/oauth/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "client_id": client_id, "client_secret": client_secret, "code_verifier": verifier})
        assert again.status_code == 400 and again.json["error"] == "invalid_grant"
        # ... and the tokens the first exchange issued are revoked (RFC 6749 §4.1.2).
        me = partner.get("/api/user",
                         headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert me.status_code == 401
        # [/replay]

        # A second sign-in: a wrong verifier fails with invalid_grant.
        flow = consent_flow(app, client_id)
        wrong = partner.post("/oauth/token", data={
            "grant_type": "authorization_code", "code": flow["code"], "redirect_uri": CALLBACK,
            "client_id": client_id, "client_secret": client_secret,
            "code_verifier": secrets.token_urlsafe(64)})
        assert wrong.status_code == 400 and wrong.json["error"] == "invalid_grant", wrong.json
        browser: FlaskClient = flow["browser"]

        # [prompt-none]
        # The user is signed in but holds no live token for this client (the replay revoked
        # it): prompt=none must not show a page, so it answers consent_required at once.
        silent = browser.get("/oauth/authorize?" + urlencode({
            "client_id": client_id, "redirect_uri": CALLBACK, "response_type": "code",
            "scope": "check-status", "state": "s1", "prompt": "none"}))
        assert redirect_params(silent.location) == {
            "error": "consent_required", "error_description": "The user has not approved this "
            "client yet.", "state": "s1", "iss": "http://localhost:5000"}
        # [/prompt-none]

        # [deny]
        page = browser.get("/oauth/authorize?" + urlencode({
            "client_id": client_id, "redirect_uri": CALLBACK, "response_type": "code",
            "scope": "check-status", "state": "s2"})).get_data(as_text=True)
        denied = browser.post("/oauth/authorize", data={
            "csrf_token": hidden(page, "csrf_token"), "auth_token": hidden(page, "auth_token"),
            "deny": "Cancel"})
        assert redirect_params(denied.location)["error"] == "access_denied"
        # [/deny]

        # [bad-redirect]
        # An unregistered redirect URI never redirects: an HTML error page, status 400.
        evil = browser.get("/oauth/authorize?" + urlencode({
            "client_id": client_id, "redirect_uri": "https://evil.example/callback",
            "response_type": "code"}))
        assert evil.status_code == 400 and "Location" not in evil.headers
        # [/bad-redirect]

        # [implicit]
        passport.enable_implicit_grant()  # off by default
        page = browser.get("/oauth/authorize?" + urlencode({
            "client_id": client_id, "redirect_uri": CALLBACK, "response_type": "token",
            "scope": "check-status", "state": "s3"})).get_data(as_text=True)
        answer = browser.post("/oauth/authorize", data={
            "csrf_token": hidden(page, "csrf_token"), "auth_token": hidden(page, "auth_token"),
            "approve": "Authorize"})
        fragment = redirect_params(answer.location, "fragment")
        # https://partner.example/callback#access_token=eyJ...&token_type=Bearer
        #     &expires_in=3600&scope=check-status&state=s3   (never a refresh token)
        # [/implicit]
        assert fragment["token_type"] == "Bearer" and fragment["state"] == "s3"
        assert "refresh_token" not in fragment and "?" not in answer.location
        status = partner.get("/api/status",
                             headers={"Authorization": f"Bearer {fragment['access_token']}"})
        assert status.status_code == 200
        passport.enable_implicit_grant(False)
    print("authorization code OK")


if __name__ == "__main__":
    main()
