"""OpenID Connect: the claims hook, an OIDC client, the code flow with a nonce, the ID token
checked as a relying party checks it, userinfo, and RP-initiated logout."""

from __future__ import annotations

import re
import tempfile
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from flask import Flask
from flask_login import login_user

from helpers import add_user, installed_app
from myapp import User, db, passport


# [claims]
@passport.oidc_claims
def oidc_claims(user: User, scopes: list[str]) -> dict[str, Any]:
    """The claims /oauth/userinfo may return; Passport keeps those of the granted scopes."""
    return {
        "email": user.email,
        "email_verified": True,
        "name": user.email.split("@")[0].title(),   # profile
        "locale": "en-GB",                          # profile
    }
# [/claims]


def register_client(app: Flask) -> tuple[str, str]:
    with app.app_context():
        # [client]
        from flask_passport import create_client

        created = create_client(
            db.session, passport.models, name="Sign in with Example",
            redirect_uris=["https://rp.example.com/callback"],
            post_logout_redirect_uris=["https://rp.example.com/signed-out"],
        )
        db.session.commit()
        # [/client]
        return created.client.id, str(created.secret)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp, PASSPORT_RATELIMIT_ENABLED=False)
        user_id = add_user(app, "taylor@example.com", "my-password")

        @app.post("/sample-login")
        def sample_login() -> str:
            login_user(db.session.get(User, user_id))
            return "ok"

        client_id, secret = register_client(app)
        browser = app.test_client()
        browser.post("/sample-login")
        # [flow]
        page = browser.get("/oauth/authorize?" + urlencode({
            "client_id": client_id, "redirect_uri": "https://rp.example.com/callback",
            "response_type": "code", "scope": "openid email profile",
            "state": "af0ifjsldkj", "nonce": "n-0S6_WzA2Mj", "max_age": "3600"}))
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text))
        approved = browser.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
        code = parse_qs(urlsplit(approved.headers["Location"]).query)["code"][0]
        tokens = browser.post("/oauth/token", data={
            "grant_type": "authorization_code", "code": code, "client_id": client_id,
            "client_secret": secret, "redirect_uri": "https://rp.example.com/callback"}).json

        # What a relying party does: keys from discovery, then verify the ID token.
        config = browser.get("/.well-known/openid-configuration").json
        jwks = browser.get(urlsplit(config["jwks_uri"]).path).json
        kid = jwt.get_unverified_header(tokens["id_token"])["kid"]
        key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid))
        id_token = jwt.decode(tokens["id_token"], key.key, algorithms=[key.algorithm_name],
                              audience=client_id, issuer=config["issuer"])
        assert id_token["nonce"] == "n-0S6_WzA2Mj" and id_token["sub"] == str(user_id)

        claims = browser.get("/oauth/userinfo", headers={
            "Authorization": f"Bearer {tokens['access_token']}"}).json
        assert claims == {"sub": str(user_id), "email": "taylor@example.com",
                          "email_verified": True, "name": "Taylor", "locale": "en-GB"}

        logout = browser.get("/oauth/logout?" + urlencode({
            "id_token_hint": tokens["id_token"], "state": "bye",
            "post_logout_redirect_uri": "https://rp.example.com/signed-out"}))
        assert logout.headers["Location"] == "https://rp.example.com/signed-out?state=bye"
        # [/flow]
        assert config["end_session_endpoint"].endswith("/oauth/logout")
    print("oidc OK")


if __name__ == "__main__":
    main()
