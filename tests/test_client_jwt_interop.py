"""Independent clients authenticating with JWT assertions (RFC 7523 §2.2) against the example
server: Authlib's ``PrivateKeyJWT`` and ``ClientSecretJWT`` (client_credentials tokens), and
oauth4webapi's ``PrivateKeyJwt`` (token, introspection and revocation)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from helpers import js_client

from flask_passport.jose import keys as keys_mod
from flask_passport.storage.clients import create_client


@pytest.fixture(autouse=True)
def _loopback_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # The example server is plain HTTP on 127.0.0.1; Authlib refuses that unless told.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


def make_client(server: Any, **kwargs: Any) -> Any:
    """A client_credentials client created in the running example app."""
    import example_app

    with server.app.app_context():
        state = server.app.extensions["passport"]
        created = create_client(example_app.db.session, state.models, name="jwt client",
                                kind="client_credentials",
                                secret_key=server.app.config["SECRET_KEY"], **kwargs)
        example_app.db.session.commit()
        return {"id": created.client.id, "secret": created.secret}


def public_jwks(private_key: Any, kid: str) -> dict[str, Any]:
    return {"keys": [{**keys_mod.public_jwk(private_key.public_key()), "kid": kid}]}


def test_authlib_private_key_jwt(authz_server: Any) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info = make_client(authz_server, auth_method="private_key_jwt",
                       jwks=public_jwks(private_key, "authlib-1"))
    token_url = authz_server.base_url + "/oauth/token"
    session = OAuth2Session(info["id"], keys_mod.private_pem(private_key).decode(),
                            token_endpoint_auth_method="private_key_jwt")
    session.register_client_auth_method(PrivateKeyJWT(token_url,
                                                      headers={"kid": "authlib-1"}))
    token = session.fetch_token(token_url, grant_type="client_credentials",
                                scope="check-status")
    assert token["token_type"] == "Bearer"
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == info["id"]
    # One Authlib assertion sent twice: the second is a replay (RFC 7523 §3 item 7).
    auth = SimpleNamespace(client_id=info["id"],
                           client_secret=keys_mod.private_pem(private_key).decode())
    assertion = PrivateKeyJWT(token_url).sign(auth, token_url)
    data = {"grant_type": "client_credentials", "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    assert requests.post(token_url, data=data, timeout=10).status_code == 200
    again = requests.post(token_url, data=data, timeout=10)
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"


def test_authlib_client_secret_jwt(authz_server: Any) -> None:
    info = make_client(authz_server, auth_method="client_secret_jwt")
    token_url = authz_server.base_url + "/oauth/token"
    session = OAuth2Session(info["id"], info["secret"],
                            token_endpoint_auth_method="client_secret_jwt")
    session.register_client_auth_method(ClientSecretJWT(token_url))
    token = session.fetch_token(token_url, grant_type="client_credentials",
                                scope="check-status")
    assert token["token_type"] == "Bearer"
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == info["id"]


def test_oauth4webapi_private_key_jwt(authz_server: Any) -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    info = make_client(authz_server, auth_method="private_key_jwt",
                       jwks=public_jwks(private_key, "o4w-1"))
    private_jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private_key)),
                   "alg": "ES256", "kid": "o4w-1"}
    result = js_client("cjwt_private_key_jwt.mjs", {
        "issuer": authz_server.base_url, "client_id": info["id"],
        "private_jwk": private_jwk, "scope": "check-status"})
    assert result["token_type"].lower() == "bearer"
    assert result["active"] is True and result["introspected_client_id"] == info["id"]
    assert result["active_after_revocation"] is False
    assert "private_key_jwt" in result["auth_methods"]
