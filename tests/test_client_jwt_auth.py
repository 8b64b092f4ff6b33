"""JWT client authentication (RFC 7523 §2.2, OpenID Connect Core §9): ``private_key_jwt`` and
``client_secret_jwt`` at the token, revocation and introspection endpoints, and how such
clients are made (CLI, library, dynamic registration). Assertions are signed with PyJWT."""

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
import sqlalchemy as sa
from conftest import db, make_app, new_client
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from document_server import DocumentServer, document_server
from flask import Flask

from flask_passport.jose import jwk as jwk_mod
from flask_passport.jose import keys as keys_mod
from flask_passport.jose import secret_box
from flask_passport.oauth2.client_auth import JWT_BEARER, assertion_audiences
from flask_passport.storage.clients import ClientError

__all__ = ["document_server"]  # a fixture, imported to be used

ISSUER = "http://localhost"
TOKEN_URL = "http://localhost/oauth/token"
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_KEYS: dict[str, Any] = {
    "RS256": RSA_KEY,
    "PS256": RSA_KEY,
    "ES256": ec.generate_private_key(ec.SECP256R1()),
    "ES384": ec.generate_private_key(ec.SECP384R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate(),
}


def public_jwk(private_key: Any, kid: str, **extra: Any) -> dict[str, Any]:
    return {**keys_mod.public_jwk(private_key.public_key()), "kid": kid, "use": "sig", **extra}


def client_jwks() -> dict[str, Any]:
    return {"keys": [public_jwk(RSA_KEY, "rsa-1"),
                     public_jwk(PRIVATE_KEYS["ES256"], "ec-256"),
                     public_jwk(PRIVATE_KEYS["ES384"], "ec-384"),
                     public_jwk(PRIVATE_KEYS["EdDSA"], "ed-1")]}


KIDS = {"RS256": "rsa-1", "PS256": "rsa-1", "ES256": "ec-256", "ES384": "ec-384",
        "EdDSA": "ed-1"}


def claims_for(client_id: str, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": ISSUER, "exp": now + 60,
              "iat": now, "jti": uuid.uuid4().hex}
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def signed(client_id: str, alg: str = "RS256", key: Any = None, kid: str | None = "default",
           **over: Any) -> str:
    """A client assertion signed with ``key`` (default: the registered key for ``alg``)."""
    headers = {"kid": KIDS.get(alg) if kid == "default" else kid} if kid else {}
    if headers.get("kid") is None:
        headers = {}
    return jwt.encode(claims_for(client_id, **over), key if key is not None
                      else PRIVATE_KEYS[alg], algorithm=alg, headers=headers)


def hs(client_id: str, secret: str, alg: str = "HS256", **over: Any) -> str:
    return jwt.encode(claims_for(client_id, **over), secret, algorithm=alg)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_hs256(secret: str, header: dict[str, Any], payload_json: str) -> str:
    """An HS256 JWS over any payload text (PyJWT will not write NaN)."""
    signing_input = b64(json.dumps(header).encode()) + "." + b64(payload_json.encode())
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(mac)


def form(assertion: str, **extra: str) -> dict[str, str]:
    return {"client_assertion_type": JWT_BEARER, "client_assertion": assertion, **extra}


def cc(http: Any, assertion: str, **extra: str) -> Any:
    return http.post("/oauth/token", data={"grant_type": "client_credentials",
                                            **form(assertion, **extra)})


def assert_invalid_client(resp: Any) -> None:
    assert resp.status_code == 401, (resp.status_code, resp.get_data(as_text=True))
    assert resp.json["error"] == "invalid_client"
    assert resp.json.get("error_description") == "Client authentication failed."


@pytest.fixture
def pkjwt(app: Flask) -> Any:
    return new_client(app, "client_credentials", auth_method="private_key_jwt",
                      jwks=client_jwks())


@pytest.fixture
def csjwt(app: Flask) -> Any:
    return new_client(app, "client_credentials", auth_method="client_secret_jwt",
                      secret_key="test-secret")


# -- happy paths -------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "ES384", "EdDSA"])
def test_private_key_jwt_gets_a_token_with_every_algorithm(client: Any, pkjwt: Any,
                                                           alg: str) -> None:
    resp = cc(client, signed(pkjwt.client.id, alg))
    assert resp.status_code == 200, resp.json
    claims = jwt.decode(resp.json["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == pkjwt.client.id
    assert pkjwt.secret is None


def ed25519_signed(client_id: str, **over: Any) -> str:
    """An assertion with RFC 9864's ``alg: Ed25519`` (what oauth4webapi sends), which PyJWT
    does not emit: built by hand."""
    header = b64(json.dumps({"alg": "Ed25519", "kid": "ed-1"}).encode())
    payload = b64(json.dumps(claims_for(client_id, **over)).encode())
    signing_input = f"{header}.{payload}"
    return signing_input + "." + b64(PRIVATE_KEYS["EdDSA"].sign(signing_input.encode()))


def test_private_key_jwt_accepts_the_fully_specified_ed25519_alg(client: Any,
                                                                 pkjwt: Any) -> None:
    resp = cc(client, ed25519_signed(pkjwt.client.id))
    assert resp.status_code == 200, resp.json
    forged = ed25519_signed(pkjwt.client.id)
    assert_invalid_client(cc(client, forged[:-4] + ("AAAA" if forged[-4:] != "AAAA" else "BBBB")))


def test_private_key_jwt_without_kid_tries_the_keys_of_that_algorithm(client: Any,
                                                                      pkjwt: Any) -> None:
    assert cc(client, signed(pkjwt.client.id, "ES256", kid=None)).status_code == 200


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_client_secret_jwt_gets_a_token(client: Any, csjwt: Any, alg: str) -> None:
    resp = cc(client, hs(csjwt.client.id, csjwt.secret, alg), client_id=csjwt.client.id)
    assert resp.status_code == 200, resp.json


@pytest.mark.parametrize("aud", [ISSUER, TOKEN_URL, [ISSUER], [ISSUER, TOKEN_URL]])
def test_audience_is_the_issuer_or_the_token_endpoint(client: Any, pkjwt: Any, aud: Any) -> None:
    assert cc(client, signed(pkjwt.client.id, aud=aud)).status_code == 200


def test_revocation_and_introspection_accept_assertions(client: Any, pkjwt: Any,
                                                        csjwt: Any) -> None:
    token = cc(client, signed(pkjwt.client.id)).json["access_token"]
    # Introspection: the endpoint's own URL is an accepted audience there.
    resp = client.post("/oauth/introspect", data={"token": token, **form(
        signed(pkjwt.client.id, aud="http://localhost/oauth/introspect"))})
    assert resp.status_code == 200 and resp.json["active"] is True, resp.json
    resp = client.post("/oauth/revoke", data={"token": token, **form(
        signed(pkjwt.client.id, aud="http://localhost/oauth/revoke"))})
    assert resp.status_code == 200, resp.json
    resp = client.post("/oauth/introspect", data={"token": token, **form(
        signed(pkjwt.client.id))})
    assert resp.json["active"] is False
    # client_secret_jwt at both endpoints too.
    token = cc(client, hs(csjwt.client.id, csjwt.secret)).json["access_token"]
    resp = client.post("/oauth/introspect", data={"token": token, **form(
        hs(csjwt.client.id, csjwt.secret))})
    assert resp.json["active"] is True
    resp = client.post("/oauth/revoke", data={"token": token, **form(
        hs(csjwt.client.id, csjwt.secret))})
    assert resp.status_code == 200


def test_accepted_audiences_are_the_issuer_and_the_given_urls() -> None:
    assert assertion_audiences(ISSUER, (TOKEN_URL,)) == {ISSUER, TOKEN_URL}


# -- refusals ----------------------------------------------------------------------------------


def _alg_none(client_id: str) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims_for(client_id)).encode())}."


BAD_ASSERTIONS: dict[str, Any] = {
    "wrong aud": lambda c: signed(c, aud="https://other.example"),
    "revocation url at the token endpoint": lambda c: signed(
        c, aud="http://localhost/oauth/revoke"),
    "aud not a string": lambda c: signed(c, aud=7),
    # draft-ietf-oauth-rfc7523bis: every audience must be us, none foreign beside us.
    "foreign audience beside the issuer": lambda c: signed(
        c, aud=["https://attacker.example", ISSUER]),
    "foreign audience beside the token endpoint": lambda c: signed(
        c, aud=[TOKEN_URL, "https://attacker.example"]),
    "empty aud array": lambda c: signed(c, aud=[]),
    # RFC 8725 §3.11-3.12: a request object (RFC 9101) is not a client assertion.
    "request object typ": lambda c: jwt.encode(
        claims_for(c), RSA_KEY, algorithm="RS256",
        headers={"kid": "rsa-1", "typ": "oauth-authz-req+jwt"}),
    "request object typ with application/": lambda c: jwt.encode(
        claims_for(c), RSA_KEY, algorithm="RS256",
        headers={"kid": "rsa-1", "typ": "application/OAUTH-AUTHZ-REQ+JWT"}),
    "another explicit typ": lambda c: jwt.encode(
        claims_for(c), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1", "typ": "at+jwt"}),
    "typ not a string": lambda c: jwt.encode(
        claims_for(c), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1", "typ": 1}),
    "response_type claim": lambda c: signed(c, response_type="code"),
    "redirect_uri claim": lambda c: signed(c, redirect_uri="https://app.example.com/callback"),
    "scope claim": lambda c: signed(c, scope="check-status"),
    "code_challenge claim": lambda c: signed(c, code_challenge="x" * 43),
    "expired": lambda c: signed(c, exp=int(time.time()) - 10),
    "exp too far ahead": lambda c: signed(c, exp=int(time.time()) + 3700),
    "no exp": lambda c: signed(c, exp=None),
    "exp a string": lambda c: signed(c, exp=str(int(time.time()) + 60)),
    "iat too old": lambda c: signed(c, iat=int(time.time()) - 600),
    "iat in the future": lambda c: signed(c, iat=int(time.time()) + 600),
    "no jti": lambda c: signed(c, jti=None),
    "jti not a string": lambda c: signed(c, jti=12),
    "empty jti": lambda c: signed(c, jti=""),
    "iss differs": lambda c: signed(c, iss="someone-else"),
    "sub differs": lambda c: signed(c, sub="someone-else"),
    "unregistered key": lambda c: signed(c, key=OTHER_RSA_KEY),
    "unknown kid": lambda c: signed(c, kid="nope"),
    "kid of another key": lambda c: signed(c, "ES256", kid="rsa-1"),
    "alg none": _alg_none,
    "HS256 keyed with the public key": lambda c: raw_hs256(
        keys_mod.public_pem(RSA_KEY).decode(), {"alg": "HS256", "kid": "rsa-1"},
        json.dumps(claims_for(c))),
    "malformed": lambda c: "not.a.jwt",
    "two segments": lambda c: signed(c).rsplit(".", 1)[0],
    "garbage": lambda c: "\u00e9" * 20,
    "crit header": lambda c: jwt.encode(claims_for(c), RSA_KEY, algorithm="RS256",
                                        headers={"kid": "rsa-1", "crit": ["exp"]}),
    "oversized": lambda c: signed(c, pad="x" * 9000),
}


@pytest.mark.parametrize("case", list(BAD_ASSERTIONS))
def test_bad_private_key_jwt_assertions_are_invalid_client(client: Any, pkjwt: Any,
                                                           case: str) -> None:
    assert_invalid_client(cc(client, BAD_ASSERTIONS[case](pkjwt.client.id)))


def test_the_checks_above_fail_without_the_mutation(client: Any, pkjwt: Any) -> None:
    """The baseline of the refusals: the same helper, unmutated, is accepted."""
    assert cc(client, signed(pkjwt.client.id)).status_code == 200


def test_replayed_jti_is_refused(client: Any, pkjwt: Any) -> None:
    assertion = signed(pkjwt.client.id)
    assert cc(client, assertion).status_code == 200
    assert_invalid_client(cc(client, assertion))


@pytest.mark.parametrize("typ", ["JWT", "jwt", "client-authentication+jwt",
                                 "application/client-authentication+jwt"])
def test_untyped_and_client_authentication_typs_are_accepted(client: Any, pkjwt: Any,
                                                             typ: str) -> None:
    assertion = jwt.encode(claims_for(pkjwt.client.id), RSA_KEY, algorithm="RS256",
                           headers={"kid": "rsa-1", "typ": typ})
    assert cc(client, assertion).status_code == 200


def test_a_request_object_is_no_client_assertion(app: Flask, client: Any) -> None:
    """RFC 9101 §10.8 / RFC 8725 §3.12: a request object, signed by the client with its key
    for the issuer and carrying sub = client_id, travels the front channel (browser history,
    logs); replayed as ``client_assertion`` it must not authenticate the client."""
    created = new_client(app, "authorization_code", auth_method="private_key_jwt",
                         jwks=client_jwks())
    cid = created.client.id
    request_claims = {**claims_for(cid), "client_id": cid, "response_type": "code",
                      "redirect_uri": "https://app.example.com/callback",
                      "scope": "check-status", "state": "s", "code_challenge": "c" * 43,
                      "code_challenge_method": "S256"}
    for headers in ({"kid": "rsa-1"}, {"kid": "rsa-1", "typ": "oauth-authz-req+jwt"}):
        obj = jwt.encode(request_claims, RSA_KEY, algorithm="RS256", headers=headers)
        assert_invalid_client(client.post("/oauth/par", data=form(
            obj, response_type="code", redirect_uri="https://app.example.com/callback",
            code_challenge="c" * 43, code_challenge_method="S256")))
        assert_invalid_client(client.post("/oauth/token", data={
            "grant_type": "authorization_code", "code": "x.y",
            "redirect_uri": "https://app.example.com/callback", **form(obj)}))
    # The control: an assertion of the same client and key is accepted there.
    resp = client.post("/oauth/par", data=form(
        signed(cid), response_type="code", redirect_uri="https://app.example.com/callback",
        code_challenge="c" * 43, code_challenge_method="S256"))
    assert resp.status_code == 201, resp.get_data(as_text=True)


def test_a_jti_is_remembered_until_exp_plus_leeway(app: Flask, client: Any,
                                                   pkjwt: Any) -> None:
    """RFC 7523 §3 item 7: an assertion is accepted until exp + leeway, so its jti must be
    remembered that long (it was forgotten at exp: replayable for the whole leeway)."""
    app.config["PASSPORT_LEEWAY"] = 30
    app.extensions["passport"].reload_settings()
    for exp in (int(time.time()) - 5, time.time() - 4.5):
        assertion = signed(pkjwt.client.id, exp=exp, iat=None)
        assert cc(client, assertion).status_code == 200
        assert_invalid_client(cc(client, assertion))
        assert_invalid_client(cc(client, assertion))


def test_a_jti_is_per_client(client: Any, pkjwt: Any, app: Flask) -> None:
    other = new_client(app, "client_credentials", auth_method="private_key_jwt",
                       jwks=client_jwks())
    assert cc(client, signed(pkjwt.client.id, jti="same")).status_code == 200
    assert cc(client, signed(other.client.id, jti="same")).status_code == 200


def test_non_finite_exp_is_refused(client: Any, csjwt: Any) -> None:
    cid = csjwt.client.id
    for exp in ("NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400, "-1" + "0" * 400):
        payload = (f'{{"iss":"{cid}","sub":"{cid}","aud":"{ISSUER}","exp":{exp},'
                   f'"jti":"{uuid.uuid4().hex}"}}')
        assertion = raw_hs256(csjwt.secret, {"alg": "HS256"}, payload)
        assert_invalid_client(cc(client, assertion))


def test_mismatched_client_id_parameter(client: Any, pkjwt: Any, csjwt: Any) -> None:
    assert_invalid_client(cc(client, signed(pkjwt.client.id), client_id=csjwt.client.id))
    assert cc(client, signed(pkjwt.client.id), client_id=pkjwt.client.id).status_code == 200


def test_hs256_with_a_private_key_jwt_client(client: Any, pkjwt: Any, csjwt: Any) -> None:
    # Whatever the secret: a private_key_jwt client has none, and HMAC is not its method.
    assert_invalid_client(cc(client, hs(pkjwt.client.id, csjwt.secret)))


def test_rs256_for_a_client_secret_jwt_client(client: Any, csjwt: Any) -> None:
    assert_invalid_client(cc(client, signed(csjwt.client.id)))


def test_hs256_with_a_wrong_secret(client: Any, csjwt: Any) -> None:
    assert_invalid_client(cc(client, hs(csjwt.client.id, "w" * 40)))


def test_an_hmac_key_is_at_least_as_long_as_the_hash() -> None:
    # RFC 7518 §3.2: a key shorter than the hash output is not an HS384/HS512 key.
    assert jwk_mod.hmac_key("x" * 43).algorithms == ("HS256",)
    assert jwk_mod.hmac_key("x" * 64).algorithms == ("HS256", "HS384", "HS512")


def test_the_registered_method_is_the_only_one(client: Any, pkjwt: Any, csjwt: Any,
                                               machine_client: Any) -> None:
    # A client_secret_jwt client cannot send its secret itself.
    resp = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                             "client_id": csjwt.client.id,
                                             "client_secret": csjwt.secret})
    assert_invalid_client(resp)
    # A private_key_jwt client cannot pass as a public client.
    resp = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                             "client_id": pkjwt.client.id})
    assert_invalid_client(resp)
    # A secret client cannot sign an assertion with its secret.
    assert_invalid_client(cc(client, hs(machine_client.client.id, machine_client.secret)))


def test_two_methods_at_once_is_invalid_request(client: Any, csjwt: Any) -> None:
    resp = cc(client, hs(csjwt.client.id, csjwt.secret), client_secret=csjwt.secret)
    assert resp.status_code == 400 and resp.json["error"] == "invalid_request"


@pytest.mark.parametrize("data", [
    {"client_assertion": "x.y.z"},
    {"client_assertion_type": JWT_BEARER},
    {"client_assertion_type": "urn:other", "client_assertion": "a.b.c"},
])
def test_incomplete_assertion_parameters(client: Any, data: dict[str, str]) -> None:
    resp = client.post("/oauth/token", data={"grant_type": "client_credentials", **data})
    assert_invalid_client(resp)


def test_revoked_client_is_refused(client: Any, app: Flask, pkjwt: Any) -> None:
    with app.app_context():
        row = db.session.get(app.extensions["passport"].models.Client, pkjwt.client.id)
        row.revoked = True
        db.session.commit()
    assert_invalid_client(cc(client, signed(pkjwt.client.id)))


def test_methods_can_be_switched_off(app_config: dict[str, Any], app: Flask) -> None:
    off = make_app({**app_config, "PASSPORT_CLIENT_AUTH_METHODS": ["client_secret_basic"]})
    created = new_client(off, "client_credentials", auth_method="private_key_jwt",
                         jwks=client_jwks())
    assert_invalid_client(cc(off.test_client(), signed(created.client.id)))


def test_setting_refuses_unknown_methods(app_config: dict[str, Any], app: Flask) -> None:
    with pytest.raises(ValueError, match="PASSPORT_CLIENT_AUTH_METHODS"):
        make_app({**app_config, "PASSPORT_CLIENT_AUTH_METHODS": ["tls_client_auth"]})


def test_a_failed_assertion_spends_nothing(client: Any, app: Flask, pkjwt: Any) -> None:
    """The jti of a refused assertion is not remembered: the genuine one still works."""
    assert_invalid_client(cc(client, signed(pkjwt.client.id, aud="https://x", jti="j-1")))
    assert cc(client, signed(pkjwt.client.id, jti="j-1")).status_code == 200


# -- the encrypted secret --------------------------------------------------------------------


def test_only_client_secret_jwt_clients_keep_an_encrypted_secret(
        app: Flask, csjwt: Any, pkjwt: Any, machine_client: Any) -> None:
    with app.app_context():
        Client = app.extensions["passport"].models.Client
        rows = {c.id: c for c in db.session.scalars(sa.select(Client))}
    stored = rows[csjwt.client.id].secret_encrypted
    assert stored and csjwt.secret not in stored and stored.startswith("v1.")
    assert secret_box.open_("test-secret", csjwt.client.id, stored) == csjwt.secret
    assert rows[pkjwt.client.id].secret_encrypted is None
    assert rows[pkjwt.client.id].secret_hash is None
    assert rows[machine_client.client.id].secret_encrypted is None


def test_secret_box_binds_the_client_and_the_key() -> None:
    stored = secret_box.seal("k1", "client-a", "s3cret")
    assert secret_box.open_("k1", "client-a", stored) == "s3cret"
    # A changed character in the middle of the ciphertext (the last ones may carry unused
    # base64 bits, so changing them can leave the bytes as they were).
    middle = len(stored) // 2
    tampered = stored[:middle] + ("B" if stored[middle] == "A" else "A") + stored[middle + 1:]
    for key, cid, text in (("k2", "client-a", stored), ("k1", "client-b", stored),
                           ("k1", "client-a", tampered), ("k1", "client-a", "x")):
        with pytest.raises(secret_box.SecretBoxError):
            secret_box.open_(key, cid, text)
    with pytest.raises(secret_box.SecretBoxError):
        secret_box.seal(None, "client-a", "s3cret")


def test_a_changed_secret_key_fails_closed(app_config: dict[str, Any], app: Flask,
                                           csjwt: Any) -> None:
    other = make_app({**app_config, "PASSPORT_CLIENT_SECRET_KEY": "another-key"})
    assert_invalid_client(cc(other.test_client(), hs(csjwt.client.id, csjwt.secret)))


def test_passport_client_secret_key_is_used_before_secret_key(app_config: dict[str, Any],
                                                              app: Flask) -> None:
    keyed = make_app({**app_config, "PASSPORT_CLIENT_SECRET_KEY": "dedicated"})
    created = new_client(keyed, "client_credentials", auth_method="client_secret_jwt",
                         secret_key="dedicated")
    assert cc(keyed.test_client(), hs(created.client.id, created.secret)).status_code == 200
    assert_invalid_client(cc(app.test_client(), hs(created.client.id, created.secret)))


# -- making clients --------------------------------------------------------------------------


@pytest.mark.parametrize("member", PRIVATE_MEMBERS)
def test_a_private_key_in_the_jwks_is_refused(app: Flask, member: str) -> None:
    full = jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY, as_dict=True)
    jwks = {"keys": [{"kty": "RSA", "n": full["n"], "e": full["e"], member: full[member]}]}
    with pytest.raises(ClientError, match="private"):
        new_client(app, "client_credentials", auth_method="private_key_jwt", jwks=jwks)


def test_private_key_jwt_needs_keys_and_a_confidential_kind(app: Flask) -> None:
    with pytest.raises(ClientError):
        new_client(app, "client_credentials", auth_method="private_key_jwt")
    with pytest.raises(ClientError):
        new_client(app, "public", auth_method="private_key_jwt", jwks=client_jwks())
    with pytest.raises(ClientError):
        new_client(app, "client_credentials", jwks=client_jwks())
    with pytest.raises(ClientError, match="SECRET_KEY"):
        new_client(app, "client_credentials", auth_method="client_secret_jwt")


def _weak_rsa() -> dict[str, Any]:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return {**keys_mod.public_jwk(weak.public_key()), "kid": "weak"}


def _off_curve() -> dict[str, Any]:
    jwk = public_jwk(PRIVATE_KEYS["ES256"], "ec")
    y = bytearray(base64.urlsafe_b64decode(jwk["y"] + "=="))
    y[-1] ^= 1
    return {**jwk, "y": b64(bytes(y))}


@pytest.mark.parametrize("jwks", [
    {"keys": [_weak_rsa()]},
    {"keys": [_off_curve()]},
    {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
    {"keys": [{"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"}]},
    {"keys": [{"kty": "OKP", "crv": "X25519", "x": b64(b"x" * 32)}]},
    {"keys": [public_jwk(RSA_KEY, "a"), public_jwk(OTHER_RSA_KEY, "a")]},
    {"keys": [public_jwk(RSA_KEY, "a", alg="ES256")]},
    {"keys": [public_jwk(RSA_KEY, "a", alg="HS256")]},
    {"keys": [public_jwk(RSA_KEY, "a", use="enc")]},
    {"keys": [public_jwk(RSA_KEY, "a", key_ops=["encrypt"])]},
    {"keys": []},
    {"keys": [public_jwk(RSA_KEY, str(i)) for i in range(11)]},
    {"keys": "nope"},
    [],
])
def test_unusable_jwks_are_refused(jwks: Any) -> None:
    with pytest.raises(jwk_mod.JWKError):
        jwk_mod.parse_jwks(jwks)


def test_jwk_alg_and_use_are_respected(client: Any, app: Flask) -> None:
    keys = jwk_mod.parse_jwks({"keys": [public_jwk(RSA_KEY, "r", alg="PS256"),
                                        public_jwk(OTHER_RSA_KEY, "e", use="enc")]})
    assert [(k.kid, k.algorithms) for k in keys] == [("r", ("PS256",))]
    created = new_client(app, "client_credentials", auth_method="private_key_jwt",
                         jwks={"keys": [public_jwk(RSA_KEY, "r", alg="PS256")]})
    assert_invalid_client(cc(client, signed(created.client.id, "RS256", kid="r")))
    assert cc(client, signed(created.client.id, "PS256", kid="r")).status_code == 200


def test_cli_creates_jwt_clients(app: Flask, tmp_path: Any) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(client_jwks()))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["passport", "client", "--client", "--name", "svc", "--json",
                                 "--auth-method", "private_key_jwt", "--jwks", str(path)])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["secret"] is None
    assert cc(app.test_client(), signed(created["id"])).status_code == 200
    result = runner.invoke(args=["passport", "client", "--client", "--name", "svc2", "--json",
                                 "--auth-method", "client_secret_jwt"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert cc(app.test_client(), hs(created["id"], created["secret"])).status_code == 200
    bad = tmp_path / "private.json"
    full = jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY, as_dict=True)
    bad.write_text(json.dumps({"keys": [full]}))
    result = runner.invoke(args=["passport", "client", "--client", "--name", "svc3",
                                 "--auth-method", "private_key_jwt", "--jwks", str(bad)])
    assert result.exit_code != 0 and "private" in result.output
    result = runner.invoke(args=["passport", "client", "--client", "--name", "svc4", "--json",
                                 "--auth-method", "private_key_jwt", "--jwks-uri",
                                 "https://client.example/jwks"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["passport", "client", "--client", "--name", "svc5",
                                 "--auth-method", "private_key_jwt", "--jwks-uri",
                                 "http://client.example/jwks"])
    assert result.exit_code != 0 and "https" in result.output


# -- dynamic registration --------------------------------------------------------------------

INITIAL_TOKEN = "initial-access-token-for-jwt-tests-0123"


@pytest.fixture
def reg_app(app_config: dict[str, Any], app: Flask) -> Flask:
    return make_app({**app_config, "PASSPORT_REGISTRATION": "token",
                     "PASSPORT_REGISTRATION_INITIAL_TOKENS": [
                         hashlib.sha256(INITIAL_TOKEN.encode()).hexdigest()]})


def register(http: Any, body: dict[str, Any]) -> Any:
    return http.post("/oauth/register", json=body,
                     headers={"Authorization": f"Bearer {INITIAL_TOKEN}"})


def test_registration_of_a_private_key_jwt_client(reg_app: Flask) -> None:
    http = reg_app.test_client()
    resp = register(http, {"client_name": "svc", "grant_types": ["client_credentials"],
                           "token_endpoint_auth_method": "private_key_jwt",
                           "jwks": client_jwks()})
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["jwks"] == client_jwks()
    assert cc(http, signed(body["client_id"])).status_code == 200
    # RFC 7592 read gives the same metadata back.
    read = http.get(body["registration_client_uri"].replace("http://localhost", ""),
                    headers={"Authorization": f"Bearer {body['registration_access_token']}"})
    assert read.json["jwks"] == client_jwks()


def test_registered_signing_alg_is_the_only_one_accepted(reg_app: Flask) -> None:
    http = reg_app.test_client()
    resp = register(http, {"client_name": "svc", "grant_types": ["client_credentials"],
                           "token_endpoint_auth_method": "private_key_jwt",
                           "token_endpoint_auth_signing_alg": "ES256", "jwks": client_jwks()})
    assert resp.status_code == 201, resp.json
    client_id = resp.json["client_id"]
    assert resp.json["token_endpoint_auth_signing_alg"] == "ES256"
    assert cc(http, signed(client_id, "ES256")).status_code == 200
    assert_invalid_client(cc(http, signed(client_id, "RS256")))  # a registered key, another alg


@pytest.mark.parametrize("method,alg", [("private_key_jwt", "HS256"),
                                        ("private_key_jwt", "none"),
                                        ("private_key_jwt", "ES512"),
                                        ("client_secret_jwt", "RS256"),
                                        ("client_secret_basic", "RS256")])
def test_a_signing_alg_that_does_not_fit_is_refused(reg_app: Flask, method: str,
                                                    alg: str) -> None:
    body: dict[str, Any] = {"client_name": "svc", "grant_types": ["client_credentials"],
                            "token_endpoint_auth_method": method,
                            "token_endpoint_auth_signing_alg": alg}
    if method == "private_key_jwt":
        body["jwks"] = client_jwks()
    resp = register(reg_app.test_client(), body)
    assert resp.status_code == 400 and resp.json["error"] == "invalid_client_metadata", resp.json


def test_registration_of_a_client_secret_jwt_client(reg_app: Flask) -> None:
    http = reg_app.test_client()
    resp = register(http, {"client_name": "svc", "grant_types": ["client_credentials"],
                           "token_endpoint_auth_method": "client_secret_jwt"})
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert cc(http, hs(body["client_id"], body["client_secret"])).status_code == 200
    resp = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                           "client_id": body["client_id"],
                                           "client_secret": body["client_secret"]})
    assert_invalid_client(resp)


@pytest.mark.parametrize("extra", [
    {"token_endpoint_auth_method": "private_key_jwt"},
    {"token_endpoint_auth_method": "private_key_jwt", "jwks": client_jwks(),
     "jwks_uri": "https://client.example/jwks"},
    {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://client.example/j"},
    {"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://u@client.example/"},
    {"token_endpoint_auth_method": "client_secret_jwt", "jwks_uri": "https://client.example/"},
    {"token_endpoint_auth_method": "private_key_jwt",
     "jwks": {"keys": [jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY, as_dict=True)]}},
    {"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [_weak_rsa()]}},
    {"token_endpoint_auth_method": "private_key_jwt", "jwks": "not an object"},
    {"token_endpoint_auth_method": "client_secret_basic", "jwks": client_jwks()},
])
def test_registration_refuses_bad_key_metadata(reg_app: Flask, extra: dict[str, Any]) -> None:
    http = reg_app.test_client()
    resp = register(http, {"client_name": "svc", "grant_types": ["client_credentials"],
                           **extra})
    assert resp.status_code == 400, resp.json
    assert resp.json["error"] == "invalid_client_metadata"
    with reg_app.app_context():
        Client = reg_app.extensions["passport"].models.Client
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Client)) == 0


# -- jwks_uri ----------------------------------------------------------------------------------


@pytest.fixture
def uri_app(app_config: dict[str, Any], app: Flask) -> Flask:
    # The document server listens on loopback: development mode of outbound.py.
    return make_app({**app_config, "PASSPORT_OUTBOUND_ALLOW_PRIVATE": True})


def test_jwks_uri_keys_and_rotation(uri_app: Flask, document_server: DocumentServer) -> None:
    url = document_server.serve(f"/jwks-{uuid.uuid4().hex}",
                                {"keys": [public_jwk(RSA_KEY, "rsa-1")]},
                                headers={"Cache-Control": "max-age=3600"})
    path = url.split(str(document_server.port), 1)[1]
    created = new_client(uri_app, "client_credentials", auth_method="private_key_jwt",
                         jwks_uri=url)
    http = uri_app.test_client()
    cid = created.client.id
    assert cc(http, signed(cid)).status_code == 200
    assert cc(http, signed(cid)).status_code == 200
    assert document_server.hits[path] == 1  # cached
    # The client rotates to a new key: one fresh fetch follows it.
    document_server.serve(path, {"keys": [public_jwk(OTHER_RSA_KEY, "rsa-2")]})
    assert cc(http, signed(cid, key=OTHER_RSA_KEY, kid="rsa-2")).status_code == 200
    assert document_server.hits[path] == 2
    # Unknown kids do not make the server fetch on every request (rate limit per URL).
    for _ in range(3):
        assert_invalid_client(cc(http, signed(cid, kid="rsa-9")))
    assert document_server.hits[path] == 2
    # The old key is gone from the set now in use.
    assert_invalid_client(cc(http, signed(cid, kid="rsa-1")))


def test_a_jwks_uri_document_with_a_private_key_is_refused(
        uri_app: Flask, document_server: DocumentServer) -> None:
    full = jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY, as_dict=True)
    url = document_server.serve(f"/jwks-{uuid.uuid4().hex}", {"keys": [{**full, "kid": "k"}]})
    created = new_client(uri_app, "client_credentials", auth_method="private_key_jwt",
                         jwks_uri=url)
    assert_invalid_client(cc(uri_app.test_client(), signed(created.client.id, kid="k")))


def test_jwks_uri_on_a_private_address_is_not_fetched(app: Flask,
                                                      document_server: DocumentServer) -> None:
    path = f"/jwks-{uuid.uuid4().hex}"
    url = document_server.serve(path, {"keys": [public_jwk(RSA_KEY, "rsa-1")]})
    created = new_client(app, "client_credentials", auth_method="private_key_jwt",
                         jwks_uri=url)
    assert_invalid_client(cc(app.test_client(), signed(created.client.id)))
    assert path not in document_server.hits


def test_registration_with_a_jwks_uri(reg_app: Flask) -> None:
    resp = register(reg_app.test_client(), {
        "client_name": "svc", "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": "https://client.example/jwks.json"})
    assert resp.status_code == 201, resp.json
    assert resp.json["jwks_uri"] == "https://client.example/jwks.json"
    assert "client_secret" not in resp.json


def test_regenerating_a_client_secret_jwt_secret_reseals_it(app: Flask, client: Any,
                                                           user: Any) -> None:
    """The old secret must stop signing assertions: the sealed copy follows the new secret."""
    from management_helpers import login

    created = new_client(app, "client_credentials", auth_method="client_secret_jwt",
                         secret_key="test-secret", user_id=str(user.id))
    keyed = new_client(app, "client_credentials", auth_method="private_key_jwt",
                       jwks=client_jwks(), user_id=str(user.id))
    headers = login(client, user)
    resp = client.post(f"/oauth/clients/{created.client.id}/secret", headers=headers)
    assert resp.status_code == 200, resp.json
    new_secret = resp.json["secret"]
    assert len(new_secret) == 64
    assert_invalid_client(cc(client, hs(created.client.id, created.secret)))
    assert cc(client, hs(created.client.id, new_secret)).status_code == 200
    # A key client has no secret to regenerate.
    resp = client.post(f"/oauth/clients/{keyed.client.id}/secret", headers=headers)
    assert resp.status_code == 422
