"""Interoperability with real clients over a real loopback server: PyJWT's PyJWKClient against
the live JWKS, and Authlib's OAuth2 client for revocation (RFC 7009) and introspection (RFC 7662).
"""

from __future__ import annotations

from typing import Any

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session
from conftest import new_client
from flask import Flask
from standards_support import add_routes, bearer, live_server


def test_pyjwkclient_verifies_tokens_against_live_jwks(app: Flask, password_client: Any,
                                                       user: Any) -> None:
    with live_server(app) as base:
        meta = requests.get(base + "/.well-known/oauth-authorization-server", timeout=10).json()
        resp = requests.post(meta["token_endpoint"], data={
            "grant_type": "password", "username": user.email, "password": "secret-password",
        }, auth=(password_client.client.id, password_client.secret), timeout=10)
        token = resp.json()["access_token"]
        jwks_client = jwt.PyJWKClient(meta["jwks_uri"])
        signing_key = jwks_client.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, signing_key.key, algorithms=["RS256"], issuer=meta["issuer"],
                            audience=meta["issuer"])
    assert claims["sub"] == str(user.id)
    assert claims["client_id"] == password_client.client.id


def test_authlib_client_revokes_and_introspects(app: Flask, password_client: Any,
                                                user: Any) -> None:
    add_routes(app)
    rs = new_client(app, "resource_server")
    with live_server(app) as base:
        session = OAuth2Session(password_client.client.id, password_client.secret,
                                token_endpoint_auth_method="client_secret_basic")
        token = session.fetch_token(base + "/oauth/token", grant_type="password",
                                    username=user.email, password="secret-password")
        resource = OAuth2Session(rs.client.id, rs.secret,
                                 token_endpoint_auth_method="client_secret_post")
        active = resource.introspect_token(base + "/oauth/introspect",
                                           token=token["access_token"])
        assert active.status_code == 200 and active.json()["active"] is True
        assert active.json()["client_id"] == password_client.client.id
        refresh_info = resource.introspect_token(base + "/oauth/introspect",
                                                 token=token["refresh_token"],
                                                 token_type_hint="refresh_token")
        assert refresh_info.json()["token_type"] == "refresh_token"
        revoked = session.revoke_token(base + "/oauth/revoke", token=token["refresh_token"],
                                       token_type_hint="refresh_token")
        assert revoked.status_code == 200
        after = resource.introspect_token(base + "/oauth/introspect",
                                          token=token["access_token"])
        assert after.json() == {"active": False}
        me = requests.get(base + "/t/me", headers=bearer(token["access_token"]), timeout=10)
        assert me.status_code == 401
