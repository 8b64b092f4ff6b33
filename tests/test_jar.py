"""JWT-secured authorization requests (RFC 9101): the ``request`` parameter at /oauth/authorize
and at /oauth/par, signed with a key of the client's registered JWK Set."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from flask import Flask
from test_authorize import REDIRECT, form_fields, get_authorize, redirect_query, update_client
from test_par import basic, pushed_uri, use

ISSUER = "http://localhost"


def _jwk(public_key: Any, kid: str) -> dict[str, Any]:
    if isinstance(public_key, rsa.RSAPublicKey):
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public_key))
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        data = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))
    else:
        data = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public_key))
    return data | {"kid": kid}


@pytest.fixture(scope="module")
def client_keys() -> dict[str, Any]:
    return {"RS256": rsa.generate_private_key(65537, 2048),
            "PS256": rsa.generate_private_key(65537, 2048),
            "ES256": ec.generate_private_key(ec.SECP256R1()),
            "EdDSA": ed25519.Ed25519PrivateKey.generate()}


@pytest.fixture
def jar_client(app: Flask, authz_client: Any, client_keys: dict[str, Any]) -> Any:
    """The confidential code client with a registered JWK Set (one key per algorithm)."""
    jwks = {"keys": [_jwk(key.public_key(), alg) for alg, key in client_keys.items()]}
    update_client(app, authz_client.client.id, jwks=json.dumps(jwks))
    return authz_client


def request_object(created: Any, key: Any, alg: str = "RS256", *, kid: str | None = None,
                   **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": created.client.id, "aud": ISSUER, "client_id": created.client.id,
        "exp": now + 60, "iat": now, "nbf": now, "jti": str(uuid.uuid4()),
        "response_type": "code", "redirect_uri": REDIRECT, "scope": "check-status place-orders",
        "state": "signed-state"}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid or alg})


def authorize_with(client: Any, created: Any, obj: str, **outer: Any) -> Any:
    return get_authorize(client, client_id=created.client.id, request=obj, **outer)


def assert_refused(resp: Any, needle: str = "") -> None:
    assert resp.status_code == 400 and "Location" not in resp.headers, resp.status_code
    text = resp.get_data(as_text=True)
    assert "invalid_request_object" in text and needle in text, text


# -- accepted ----------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_a_signed_request_object_is_the_request(client: Any, authz_login: Any, user: Any,
                                                jar_client: Any, client_keys: dict[str, Any],
                                                alg: str) -> None:
    authz_login(client, user)
    obj = request_object(jar_client, client_keys[alg], alg)
    # RFC 9101 §6.3: the outer parameters (but client_id) are ignored.
    page = authorize_with(client, jar_client, obj, scope="check-status", state="outer",
                          redirect_uri="https://evil.example/cb", response_type="token")
    assert page.status_code == 200, page.get_data(as_text=True)
    assert "Place orders" in page.get_data(as_text=True)
    fields = form_fields(page.get_data(as_text=True)) | {"approve": "Authorize"}
    query = redirect_query(client.post("/oauth/authorize", data=fields))
    assert query["state"] == "signed-state" and query["code"]


def test_a_request_object_pushed_to_par(app: Flask, client: Any, authz_login: Any, user: Any,
                                        jar_client: Any, client_keys: dict[str, Any]) -> None:
    obj = request_object(jar_client, client_keys["ES256"], "ES256", state="pushed-jar")
    resp = client.post("/oauth/par", data={"request": obj, "scope": "ignored"},
                       headers=basic(jar_client))
    assert resp.status_code == 201, resp.get_json()
    with app.app_context():
        state = app.extensions["passport"]
        [row] = state.db.session.query(state.models.PushedAuthorization).all()
        # What is stored is the object's parameters, not the object (its jti is spent).
        assert "request" not in row.request and row.request["state"] == "pushed-jar"
    authz_login(client, user)
    page = use(client, jar_client, resp.get_json()["request_uri"])
    assert page.status_code == 200
    fields = form_fields(page.get_data(as_text=True)) | {"approve": "Authorize"}
    assert redirect_query(client.post("/oauth/authorize", data=fields))["state"] == "pushed-jar"


def test_metadata_advertises_request_objects(client: Any) -> None:
    meta = client.get("/.well-known/oauth-authorization-server").get_json()
    assert meta["request_parameter_supported"] is True
    assert meta["request_uri_parameter_supported"] is False
    assert {"RS256", "PS256", "ES256", "EdDSA"} <= set(
        meta["request_object_signing_alg_values_supported"])
    assert "none" not in meta["request_object_signing_alg_values_supported"]
    assert not any(a.startswith("HS") for a in meta["request_object_signing_alg_values_supported"])


# -- refused -----------------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _unsigned(claims: dict[str, Any]) -> str:
    return _b64({"alg": "none"}) + "." + _b64(claims) + "."


def test_alg_none_is_refused(client: Any, jar_client: Any) -> None:
    now = int(time.time())
    obj = _unsigned({"iss": jar_client.client.id, "aud": ISSUER, "exp": now + 60,
                     "jti": "j1", "client_id": jar_client.client.id, "response_type": "code"})
    assert_refused(authorize_with(client, jar_client, obj))


def test_hs256_with_the_client_secret_is_refused(client: Any, jar_client: Any) -> None:
    obj = request_object(jar_client, jar_client.secret.encode() * 2, "HS256", kid="RS256")
    assert_refused(authorize_with(client, jar_client, obj))


def test_hs256_with_the_public_key_as_secret_is_refused(client: Any, jar_client: Any,
                                                        client_keys: dict[str, Any]) -> None:
    """The classic confusion: the RSA public key's JWK text used as an HMAC secret."""
    secret = json.dumps(_jwk(client_keys["RS256"].public_key(), "RS256")).encode()
    genuine = request_object(jar_client, client_keys["RS256"])
    header, payload, _ = genuine.split(".")
    header = _b64({"alg": "HS256", "kid": "RS256"})
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert_refused(authorize_with(client, jar_client, forged))


def test_a_key_not_registered_is_refused(client: Any, jar_client: Any) -> None:
    stranger = rsa.generate_private_key(65537, 2048)
    assert_refused(authorize_with(client, jar_client, request_object(jar_client, stranger)))


def test_a_client_without_keys_cannot_send_request_objects(
        app: Flask, client: Any, authz_client: Any, client_keys: dict[str, Any]) -> None:
    obj = request_object(authz_client, client_keys["RS256"])
    assert_refused(authorize_with(client, authz_client, obj), "no registered keys")


@pytest.mark.parametrize("overrides", [
    {"aud": "https://other.example"},
    {"iss": "someone-else"},
    {"client_id": "someone-else"},
    {"exp": None},
    {"jti": None},
    {"exp": int(time.time()) - 10},
    {"exp": int(time.time()) + 3600},
    {"nbf": int(time.time()) + 600},
    {"iat": int(time.time()) + 600},
    {"iat": int(time.time()) - 3600},
    {"request": "nested"},
    {"request_uri": "urn:ietf:params:oauth:request_uri:" + "a" * 43},
    {"scope": ["check-status"]},
    {"prompt": True},
])
def test_bad_claims_are_refused(client: Any, jar_client: Any, client_keys: dict[str, Any],
                                overrides: dict[str, Any]) -> None:
    obj = request_object(jar_client, client_keys["RS256"], **overrides)
    assert_refused(authorize_with(client, jar_client, obj))


def test_the_outer_client_id_must_be_the_objects(app: Flask, client: Any, jar_client: Any,
                                                 client_keys: dict[str, Any]) -> None:
    from conftest import new_client

    other = new_client(app, "authorization_code", name="Other")
    obj = request_object(jar_client, client_keys["RS256"])
    # Verified with the other client's (absent) keys, never the object's claimed issuer's.
    assert_refused(authorize_with(client, other, obj))


def test_a_replayed_request_object_is_refused(client: Any, authz_login: Any, user: Any,
                                              jar_client: Any,
                                              client_keys: dict[str, Any]) -> None:
    authz_login(client, user)
    obj = request_object(jar_client, client_keys["RS256"])
    assert authorize_with(client, jar_client, obj).status_code == 200
    assert_refused(authorize_with(client, jar_client, obj), "already used")


def test_a_request_object_used_at_par_cannot_be_replayed_at_authorize(
        client: Any, jar_client: Any, client_keys: dict[str, Any]) -> None:
    obj = request_object(jar_client, client_keys["RS256"])
    assert client.post("/oauth/par", data={"request": obj},
                       headers=basic(jar_client)).status_code == 201
    assert_refused(authorize_with(client, jar_client, obj), "already used")


def test_bad_request_objects_at_par_are_json(app: Flask, client: Any, jar_client: Any,
                                             client_keys: dict[str, Any]) -> None:
    obj = request_object(jar_client, client_keys["RS256"], aud="https://other.example")
    resp = client.post("/oauth/par", data={"request": obj}, headers=basic(jar_client))
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_request_object"
    nested = request_object(jar_client, client_keys["RS256"],
                            request_uri="urn:ietf:params:oauth:request_uri:" + "a" * 43)
    resp = client.post("/oauth/par", data={"request": nested}, headers=basic(jar_client))
    assert resp.get_json()["error"] == "invalid_request_object"


def test_par_required_refuses_a_request_object_sent_directly(
        app: Flask, client: Any, authz_login: Any, user: Any, jar_client: Any,
        client_keys: dict[str, Any]) -> None:
    update_client(app, jar_client.client.id, require_pushed_authorization_requests=True)
    authz_login(client, user)
    obj = request_object(jar_client, client_keys["RS256"])
    query = redirect_query(authorize_with(client, jar_client, obj))
    assert query["error"] == "invalid_request"
    assert use(client, jar_client, pushed_uri(client, jar_client)).status_code == 200


def test_request_and_request_uri_together_are_refused(client: Any, jar_client: Any,
                                                      client_keys: dict[str, Any]) -> None:
    obj = request_object(jar_client, client_keys["RS256"])
    resp = authorize_with(client, jar_client, obj, request_uri="https://x.example/r")
    assert resp.status_code == 400 and "Location" not in resp.headers


# -- an independent client: oauth4webapi's issueRequestObject pushed to /oauth/par -------------


def test_oauth4webapi_pushes_a_request_object(authz_server: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from helpers import js_client
    from test_authlib_client import approve, signed_in_browser

    server = authz_server
    info = server.seed["clients"]["confidential"]
    key = ec.generate_private_key(ec.SECP256R1())
    jwks = {"keys": [_jwk(key.public_key(), "js-es256") | {"alg": "ES256", "use": "sig"}]}
    with server.app.app_context():
        state = server.app.extensions["passport"]
        row = state.db.session.get(state.models.Client, info["id"])
        row.jwks = json.dumps(jwks)
        state.db.session.commit()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    config = {"issuer": server.base_url, "client_id": info["id"], "client_secret": info["secret"],
              "redirect_uri": info["redirect_uri"], "scope": "check-status",
              "request_object_key": pem, "kid": "js-es256"}
    pushed = js_client("par_flow.mjs", config | {"step": "push"})
    assert pushed["status"] == 201 and pushed["request_object"] is True
    callback = approve(server, signed_in_browser(server), pushed["authorization_url"])
    assert callback.startswith(info["redirect_uri"] + "?")
    token = js_client("par_flow.mjs", config | {
        "step": "exchange", "callback": callback, "code_verifier": pushed["code_verifier"],
        "state": pushed["state"]})
    assert token["has_access_token"] and token["scope"] == "check-status"
