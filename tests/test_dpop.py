"""DPoP (RFC 9449) end to end: proofs at the token endpoint, bound tokens, codes and refresh
tokens, nonces, protected resources, metadata and introspection."""

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
from flask import Flask, jsonify
from helpers import add_routes, basic
from test_auth_code_grant import REDIRECT, VERIFIER, obtain_code

from flask_passport.jose import dpop as proofs
from flask_passport.jose import jwk as jwk_mod
from flask_passport.jose import jws
from flask_passport.jose.keys import public_jwk, thumbprint
from flask_passport.oauth2.pkce import s256
from flask_passport.resource.dpop import nonce_key
from flask_passport.settings import Settings

TOKEN_URL = "http://localhost/oauth/token"
JOBS_URL = "http://localhost/jobs"
ME_URL = "http://localhost/me"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Key:
    """A client's DPoP key pair and the proofs it signs."""

    def __init__(self, kind: str = "ES256") -> None:
        self.alg = kind
        if kind == "ES256":
            self.private: Any = ec.generate_private_key(ec.SECP256R1())
        elif kind in ("RS256", "PS256"):
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()
        self.jwk = public_jwk(self.private.public_key())
        self.jkt = thumbprint(self.jwk)

    def proof(self, method: str = "POST", url: str = TOKEN_URL, *, token: str | None = None,
              header: dict[str, Any] | None = None, **claims: Any) -> str:
        body: dict[str, Any] = {"jti": str(uuid.uuid4()), "htm": method, "htu": url,
                                "iat": int(time.time())}
        if token is not None:
            body["ath"] = proofs.access_token_hash(token)
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        head = {"typ": "dpop+jwt", "jwk": self.jwk, **(header or {})}
        if self.alg == "Ed25519":  # RFC 9864's name, which PyJWT does not emit: by hand
            head = {"alg": "Ed25519", **head}
            signing_input = unsigned(head, body)[:-1]
            return signing_input + "." + b64(self.private.sign(signing_input.encode()))
        return jwt.encode(body, self.private, algorithm=self.alg, headers=head)


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()),
                     b64(signature)])


def claims_now(**extra: Any) -> dict[str, Any]:
    return {"jti": str(uuid.uuid4()), "htm": "POST", "htu": TOKEN_URL, "iat": int(time.time()),
            **extra}


@pytest.fixture
def app(app: Flask) -> Flask:
    add_routes(app)
    return app


def cc_token(http: Any, created: Any, proof: str | None, **headers: str) -> Any:
    hdrs = basic(created.client.id, created.secret) | headers
    if proof is not None:
        hdrs["DPoP"] = proof
    return http.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=hdrs)


def token_rows(app: Flask) -> int:
    with app.app_context():
        model = app.extensions["passport"].models.AccessToken
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def dpop_headers(token: str, proof: str) -> dict[str, str]:
    return {"Authorization": f"DPoP {token}", "DPoP": proof}


# -- the token endpoint ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"])
def test_client_credentials_token_is_bound_to_the_proof_key(app: Flask, client: Any,
                                                            machine_client: Any,
                                                            kind: str) -> None:
    key = Key(kind)
    resp = cc_token(client, machine_client, key.proof())
    assert resp.status_code == 200, resp.json
    assert resp.json["token_type"] == "DPoP"
    claims = jwt.decode(resp.json["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key.jkt}  # RFC 9449 §6.1
    with app.app_context():
        row = db.session.get(app.extensions["passport"].models.AccessToken, claims["jti"])
        assert row.dpop_jkt == key.jkt
    token = resp.json["access_token"]
    ok = client.get("/jobs", headers=dpop_headers(token, key.proof("GET", JOBS_URL,
                                                                   token=token)))
    assert ok.status_code == 200, ok.json


def test_without_a_proof_the_token_stays_a_bearer_token(client: Any, machine_client: Any
                                                        ) -> None:
    resp = cc_token(client, machine_client, None)
    assert resp.json["token_type"] == "Bearer"
    assert "cnf" not in jwt.decode(resp.json["access_token"], options={"verify_signature": False})


def _bad_proofs() -> dict[str, Any]:
    key = Key()
    other_rsa = Key("RS256")
    private_jwk = dict(key.jwk, d=b64(key.private.private_numbers().private_value.to_bytes(32,
                                                                                       "big")))
    hs_secret = b"0" * 32
    hs_header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": b64(hs_secret)}}
    hs_claims = claims_now()
    hs_input = f"{b64(json.dumps(hs_header).encode())}.{b64(json.dumps(hs_claims).encode())}"
    hs = hs_input + "." + b64(hmac.new(hs_secret, hs_input.encode(), hashlib.sha256).digest())
    return {
        "wrong htm": key.proof(method="GET"),
        "wrong htu host": key.proof(url="http://evil.example/oauth/token"),
        "wrong htu path": key.proof(url="http://localhost/oauth/revoke"),
        "wrong htu scheme": key.proof(url="https://localhost/oauth/token"),
        "private key in jwk": key.proof(header={"jwk": private_jwk}),
        "alg none": unsigned({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk}, claims_now()),
        "HS256": hs,
        "typ JWT": key.proof(header={"typ": "JWT"}),
        "no jwk": jwt.encode(claims_now(), key.private, algorithm="ES256",
                             headers={"typ": "dpop+jwt"}),
        "RSA key as ES256": key.proof(header={"jwk": other_rsa.jwk}),
        "stale iat": key.proof(iat=int(time.time()) - 600),
        "future iat": key.proof(iat=int(time.time()) + 600),
        "string iat": key.proof(iat=str(int(time.time()))),
        "no jti": key.proof(jti=None),
        "long jti": key.proof(jti="j" * 257),
        "crit header": key.proof(header={"crit": ["exp"]}),
        "bad signature": key.proof()[:-4] + "AAAA",
        "not a JWT": "garbage",
        "oversized": "a" * 10_000,
    }


BAD_PROOFS = _bad_proofs()


@pytest.mark.parametrize("name", list(BAD_PROOFS))
def test_bad_proofs_are_refused_with_invalid_dpop_proof(app: Flask, client: Any,
                                                        machine_client: Any, name: str) -> None:
    resp = cc_token(client, machine_client, BAD_PROOFS[name])
    assert resp.status_code == 400, (name, resp.json)
    assert resp.json["error"] == "invalid_dpop_proof", resp.json
    assert resp.headers["Cache-Control"] == "no-store"
    assert token_rows(app) == 0  # nothing issued, nothing stored


def test_two_dpop_headers_are_refused(app: Flask, client: Any, machine_client: Any) -> None:
    key = Key()
    resp = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                       headers=[*basic(machine_client.client.id, machine_client.secret).items(),
                                ("DPoP", key.proof()), ("DPoP", key.proof())])
    assert resp.status_code == 400 and resp.json["error"] == "invalid_dpop_proof"
    assert token_rows(app) == 0


def test_htu_is_checked_against_the_issuer_not_the_host_header(client: Any,
                                                               machine_client: Any) -> None:
    key = Key()
    # A proof made for another server, replayed here with that server's Host header.
    evil = cc_token(client, machine_client, key.proof(url="http://evil.example/oauth/token"),
                    Host="evil.example")
    assert evil.status_code == 400 and evil.json["error"] == "invalid_dpop_proof"
    # htu normalisation (RFC 9449 §4.3): case of scheme and host, default port, no query.
    ok = cc_token(client, machine_client, key.proof(url="HTTP://LocalHost:80/oauth/token?x=1"),
                  Host="evil.example")
    assert ok.status_code == 200, ok.json


def test_a_replayed_proof_is_refused(app: Flask, client: Any, machine_client: Any) -> None:
    proof = Key().proof()
    assert cc_token(client, machine_client, proof).status_code == 200
    again = cc_token(client, machine_client, proof)
    assert again.status_code == 400 and again.json["error"] == "invalid_dpop_proof"
    assert "used already" in again.json["error_description"]
    assert token_rows(app) == 1


def test_a_proof_replayed_on_another_app_sharing_the_database_is_refused(
        app: Flask, app_config: dict[str, Any], machine_client: Any) -> None:
    other = make_app(app_config)
    proof = Key().proof()
    assert cc_token(app.test_client(), machine_client, proof).status_code == 200
    again = cc_token(other.test_client(), machine_client, proof)
    assert again.status_code == 400 and again.json["error"] == "invalid_dpop_proof"


def test_a_proof_replayed_across_processes_is_refused(app_config: dict[str, Any],
                                                      app: Flask, machine_client: Any) -> None:
    import requests
    from helpers import app_processes

    key = Key()
    with app_processes(app_config, 2) as ports:
        # Both processes are the same issuer (as a deployment behind one URL would be).
        proof = key.proof(url=TOKEN_URL)
        results = [requests.post(f"http://127.0.0.1:{port}/oauth/token",
                                 data={"grant_type": "client_credentials"},
                                 headers={**basic(machine_client.client.id,
                                                  machine_client.secret), "DPoP": proof},
                                 timeout=10) for port in ports]
    assert [r.status_code for r in results] == [200, 400]
    assert results[1].json()["error"] == "invalid_dpop_proof"


def test_a_dpop_bound_client_must_send_a_proof(app: Flask, client: Any) -> None:
    bound = new_client(app, "client_credentials", dpop_bound_access_tokens=True)
    refused = cc_token(client, bound, None)
    assert refused.status_code == 400 and refused.json["error"] == "invalid_dpop_proof"
    assert token_rows(app) == 0
    assert cc_token(client, bound, Key().proof()).json["token_type"] == "DPoP"


def test_dpop_required_refuses_requests_without_a_proof(app: Flask, client: Any,
                                                        machine_client: Any) -> None:
    app.config["PASSPORT_DPOP_REQUIRED"] = True
    app.extensions["passport"].reload_settings()
    refused = cc_token(client, machine_client, None)
    assert refused.status_code == 400 and refused.json["error"] == "invalid_dpop_proof"
    assert cc_token(client, machine_client, Key().proof()).status_code == 200


def test_dpop_off_ignores_the_header(app: Flask, client: Any, machine_client: Any) -> None:
    app.config["PASSPORT_DPOP"] = False
    app.extensions["passport"].reload_settings()
    resp = cc_token(client, machine_client, Key().proof())
    assert resp.status_code == 200 and resp.json["token_type"] == "Bearer"
    meta = client.get("/.well-known/oauth-authorization-server").json
    assert "dpop_signing_alg_values_supported" not in meta


# -- nonces (RFC 9449 §8, §9) ----------------------------------------------------------------


@pytest.fixture
def nonces(app: Flask) -> bytes:
    app.config["PASSPORT_DPOP_NONCE"] = True
    app.extensions["passport"].reload_settings()
    return nonce_key(app)


def test_the_token_endpoint_asks_for_a_nonce_and_takes_it(app: Flask, client: Any,
                                                          machine_client: Any,
                                                          nonces: bytes) -> None:
    key = Key()
    first = cc_token(client, machine_client, key.proof())
    assert first.status_code == 400 and first.json["error"] == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    assert token_rows(app) == 0
    wrong = cc_token(client, machine_client, key.proof(nonce="made-up"))
    assert wrong.status_code == 400 and wrong.json["error"] == "use_dpop_nonce"
    ok = cc_token(client, machine_client, key.proof(nonce=nonce))
    assert ok.status_code == 200 and ok.json["token_type"] == "DPoP"
    assert "DPoP-Nonce" not in ok.headers  # still current: nothing new to hand out


def test_a_rotated_nonce_works_once_more_and_the_new_one_is_handed_out(
        client: Any, machine_client: Any, nonces: bytes) -> None:
    window = int(time.time() // proofs.NONCE_WINDOW)
    previous = proofs._nonce_for(nonces, window - 1)
    ok = cc_token(client, machine_client, Key().proof(nonce=previous))
    assert ok.status_code == 200
    assert ok.headers["DPoP-Nonce"] == proofs.current_nonce(nonces)
    too_old = cc_token(client, machine_client, Key().proof(nonce=proofs._nonce_for(nonces,
                                                                                   window - 2)))
    assert too_old.status_code == 400 and too_old.json["error"] == "use_dpop_nonce"


def test_nonces_are_keyed_by_the_app_secret(app: Flask) -> None:
    other = Flask("other")
    other.secret_key = "another-secret"
    assert proofs.current_nonce(nonce_key(app)) != proofs.current_nonce(nonce_key(other))
    assert not proofs.nonce_valid(nonce_key(other), proofs.current_nonce(nonce_key(app)))


def test_a_resource_asks_for_a_nonce_with_a_dpop_challenge(app: Flask, client: Any,
                                                           machine_client: Any,
                                                           nonces: bytes) -> None:
    key = Key()
    nonce = proofs.current_nonce(nonces)
    token = cc_token(client, machine_client, key.proof(nonce=nonce)).json["access_token"]
    resp = client.get("/jobs", headers=dpop_headers(token, key.proof("GET", JOBS_URL,
                                                                     token=token)))
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith('DPoP realm="api", '
                                                       'error="use_dpop_nonce"')
    assert resp.headers["DPoP-Nonce"] == nonce
    ok = client.get("/jobs", headers=dpop_headers(token, key.proof("GET", JOBS_URL, token=token,
                                                                   nonce=nonce)))
    assert ok.status_code == 200


# -- protected resources (RFC 9449 §7) -------------------------------------------------------


@pytest.fixture
def bound(client: Any, machine_client: Any) -> tuple[Key, str]:
    key = Key()
    return key, cc_token(client, machine_client, key.proof()).json["access_token"]


def _assert_dpop_error(resp: Any, error: str) -> None:
    assert resp.status_code == 401, resp.json
    assert resp.json["error"] == error
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith("DPoP ") and f'error="{error}"' in challenge
    assert 'algs="ES256 RS256 PS256 EdDSA Ed25519"' in challenge


def test_a_bound_token_sent_as_bearer_is_refused(client: Any, bound: tuple[Key, str]) -> None:
    _, token = bound
    _assert_dpop_error(client.get("/jobs", headers={"Authorization": f"Bearer {token}"}),
                       "invalid_token")


def test_a_bound_token_is_useless_without_its_key(client: Any, bound: tuple[Key, str]) -> None:
    key, token = bound
    _assert_dpop_error(client.get("/jobs", headers={"Authorization": f"DPoP {token}"}),
                       "invalid_dpop_proof")
    thief = Key()
    _assert_dpop_error(client.get("/jobs", headers=dpop_headers(
        token, thief.proof("GET", JOBS_URL, token=token))), "invalid_token")
    assert client.get("/jobs", headers=dpop_headers(
        token, key.proof("GET", JOBS_URL, token=token))).status_code == 200


@pytest.mark.parametrize("case", ["no ath", "wrong ath", "wrong htm", "wrong htu", "replayed",
                                  "stale"])
def test_resource_proof_checks(client: Any, bound: tuple[Key, str], case: str) -> None:
    key, token = bound
    proof = {
        "no ath": key.proof("GET", JOBS_URL),
        "wrong ath": key.proof("GET", JOBS_URL, token=token + "x"),
        "wrong htm": key.proof("POST", JOBS_URL, token=token),
        "wrong htu": key.proof("GET", "http://localhost/status", token=token),
        "replayed": key.proof("GET", JOBS_URL, token=token),
        "stale": key.proof("GET", JOBS_URL, token=token, iat=int(time.time()) - 300),
    }[case]
    if case == "replayed":
        assert client.get("/jobs", headers=dpop_headers(token, proof)).status_code == 200
    _assert_dpop_error(client.get("/jobs", headers=dpop_headers(token, proof)),
                       "invalid_dpop_proof")


def test_an_unbound_token_sent_with_the_dpop_scheme_is_refused(client: Any,
                                                               machine_client: Any) -> None:
    token = cc_token(client, machine_client, None).json["access_token"]
    key = Key()
    _assert_dpop_error(client.get("/jobs", headers=dpop_headers(
        token, key.proof("GET", JOBS_URL, token=token))), "invalid_token")
    assert client.get("/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_scope_errors_of_a_dpop_request_use_the_dpop_challenge(client: Any,
                                                               bound: tuple[Key, str]) -> None:
    key, token = bound
    resp = client.get("/me", headers=dpop_headers(token, key.proof("GET", ME_URL, token=token)))
    assert resp.status_code == 401  # a client-credentials token on a user route
    assert resp.headers["WWW-Authenticate"].startswith("DPoP ")


def test_userinfo_refuses_a_bound_token_as_bearer(app: Flask, client: Any, user: Any,
                                                  authz_login: Any) -> None:
    created = new_client(app, "public", name="SPA")
    authz_login(client, user)
    key = Key()
    code = obtain_code(client, created, scope="openid", code_challenge=s256(VERIFIER),
                       code_challenge_method="S256")
    resp = _code_request(client, created, code, key.proof())
    assert resp.status_code == 200, resp.json
    token = resp.json["access_token"]
    as_bearer = client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert as_bearer.status_code == 401 and as_bearer.json["error"] == "invalid_token"
    url = "http://localhost/oauth/userinfo"
    ok = client.get("/oauth/userinfo", headers=dpop_headers(token, key.proof("GET", url,
                                                                             token=token)))
    assert ok.status_code == 200 and ok.json["sub"] == str(user.id)


# -- authorization codes (RFC 9449 §10) and refresh tokens (§5) ------------------------------


def _code_request(client: Any, created: Any, code: str, proof: str | None) -> Any:
    return client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": created.client.id, "code_verifier": VERIFIER},
        headers={"DPoP": proof} if proof else {})


def test_a_code_bound_by_dpop_jkt_needs_that_key(app: Flask, client: Any, user: Any,
                                                 authz_login: Any) -> None:
    created = new_client(app, "public", name="SPA")
    authz_login(client, user)
    key = Key()
    code = obtain_code(client, created, code_challenge=s256(VERIFIER),
                       code_challenge_method="S256", dpop_jkt=key.jkt)
    with app.app_context():
        model = app.extensions["passport"].models.AuthCode
        assert db.session.scalar(sa.select(model.dpop_jkt)) == key.jkt
    no_proof = _code_request(client, created, code, None)
    assert no_proof.status_code == 400 and no_proof.json["error"] == "invalid_dpop_proof"
    other = _code_request(client, created, code, Key().proof())
    assert other.status_code == 400 and other.json["error"] == "invalid_grant"
    assert token_rows(app) == 0  # the code was not used up by the refused attempts
    ok = _code_request(client, created, code, key.proof())
    assert ok.status_code == 200 and ok.json["token_type"] == "DPoP", ok.json


def test_a_malformed_dpop_jkt_is_refused_at_authorize(app: Flask, client: Any, user: Any,
                                                      authz_login: Any) -> None:
    created = new_client(app, "public", name="SPA")
    authz_login(client, user)
    resp = client.get("/oauth/authorize", query_string={
        "client_id": created.client.id, "redirect_uri": REDIRECT, "response_type": "code",
        "code_challenge": s256(VERIFIER), "code_challenge_method": "S256",
        "dpop_jkt": "not-a-thumbprint"})
    assert resp.status_code == 302
    assert "error=invalid_request" in resp.headers["Location"]


def _public_tokens(app: Flask, client: Any, user: Any, authz_login: Any, key: Key
                   ) -> tuple[Any, dict[str, Any]]:
    created = new_client(app, "public", name="SPA")
    authz_login(client, user)
    code = obtain_code(client, created, code_challenge=s256(VERIFIER),
                       code_challenge_method="S256")
    resp = _code_request(client, created, code, key.proof())
    assert resp.status_code == 200, resp.json
    return created, resp.json


def _refresh(client: Any, created: Any, refresh_token: str, proof: str | None) -> Any:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": created.client.id}
    if created.secret:
        data["client_secret"] = created.secret
    return client.post("/oauth/token", data=data, headers={"DPoP": proof} if proof else {})


def test_a_public_clients_refresh_token_is_bound(app: Flask, client: Any, user: Any,
                                                 authz_login: Any) -> None:
    key = Key()
    created, body = _public_tokens(app, client, user, authz_login, key)
    with app.app_context():
        model = app.extensions["passport"].models.RefreshToken
        assert db.session.scalar(sa.select(model.dpop_jkt)) == key.jkt
    no_proof = _refresh(client, created, body["refresh_token"], None)
    assert no_proof.status_code == 400 and no_proof.json["error"] == "invalid_dpop_proof"
    other = _refresh(client, created, body["refresh_token"], Key().proof())
    assert other.status_code == 400 and other.json["error"] == "invalid_grant"
    assert token_rows(app) == 1
    ok = _refresh(client, created, body["refresh_token"], key.proof())
    assert ok.status_code == 200 and ok.json["token_type"] == "DPoP", ok.json
    claims = jwt.decode(ok.json["access_token"], options={"verify_signature": False})
    assert claims["cnf"]["jkt"] == key.jkt


def test_a_confidential_clients_refresh_token_is_not_bound(app: Flask, client: Any, user: Any,
                                                           authz_login: Any,
                                                           authz_client: Any) -> None:
    authz_login(client, user)
    code = obtain_code(client, authz_client)
    key = Key()
    first = client.post("/oauth/token", headers={"DPoP": key.proof()}, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": authz_client.client.id, "client_secret": authz_client.secret})
    assert first.json["token_type"] == "DPoP"
    # RFC 9449 §5: the client's authentication binds its refresh token; a new key may be used.
    new_key = Key()
    ok = _refresh(client, authz_client, first.json["refresh_token"], new_key.proof())
    assert ok.status_code == 200
    claims = jwt.decode(ok.json["access_token"], options={"verify_signature": False})
    assert claims["cnf"]["jkt"] == new_key.jkt


# -- metadata, introspection, registration, CLI, settings ------------------------------------


def test_metadata_lists_the_proof_algorithms(client: Any) -> None:
    meta = client.get("/.well-known/oauth-authorization-server").json
    assert meta["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA",
                                                         "Ed25519"]


def test_introspection_reports_the_binding(app: Flask, client: Any, machine_client: Any) -> None:
    key = Key()
    token = cc_token(client, machine_client, key.proof()).json["access_token"]
    body = client.post("/oauth/introspect", data={"token": token},
                       headers=basic(machine_client.client.id, machine_client.secret)).json
    assert body["active"] is True and body["token_type"] == "DPoP"
    assert body["cnf"] == {"jkt": key.jkt}


def test_registration_and_cli_set_dpop_bound_access_tokens(app: Flask, client: Any) -> None:
    app.config["PASSPORT_REGISTRATION"] = "open"
    app.extensions["passport"].reload_settings()
    resp = client.post("/oauth/register", json={
        "client_name": "Bound", "redirect_uris": ["http://127.0.0.1/cb"],
        "token_endpoint_auth_method": "none", "dpop_bound_access_tokens": True})
    assert resp.status_code == 201, resp.json
    assert resp.json["dpop_bound_access_tokens"] is True
    bad = client.post("/oauth/register", json={
        "client_name": "Bound", "redirect_uris": ["http://127.0.0.1/cb"],
        "token_endpoint_auth_method": "none", "dpop_bound_access_tokens": "yes"})
    assert bad.status_code == 400 and bad.json["error"] == "invalid_client_metadata"
    result = app.test_cli_runner().invoke(args=["passport", "client", "--client", "--name", "M",
                                                "--dpop-bound", "--json"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        Client = app.extensions["passport"].models.Client
        made = db.session.get(Client, json.loads(result.output)["id"])
        assert made.dpop_bound_access_tokens is True
        registered = db.session.get(Client, resp.json["client_id"])
        assert registered.dpop_bound_access_tokens is True


@pytest.mark.parametrize("algs", ["none", "HS256", ["ES256", "HS512"], ""])
def test_the_algorithm_allow_list_takes_no_symmetric_or_none(algs: Any) -> None:
    with pytest.raises(ValueError, match="PASSPORT_DPOP_ALGS"):
        Settings.load({"PASSPORT_DPOP_ALGS": algs}, {}, instance_path="/tmp")


def test_settings_defaults() -> None:
    settings = Settings.load({}, {}, instance_path="/tmp")
    assert settings.dpop is True and settings.dpop_nonce is False
    assert settings.dpop_algs == ("ES256", "RS256", "PS256", "EdDSA", "Ed25519")
    assert settings.dpop_proof_lifetime == 60 and settings.dpop_required is False
    assert Settings.load({"PASSPORT_DPOP_ALGS": "ES256, EdDSA"}, {},
                         instance_path="/tmp").dpop_algs == ("ES256", "EdDSA")


# -- jose units ------------------------------------------------------------------------------


def test_an_ec_point_off_the_curve_is_refused() -> None:
    key = Key()
    bad = dict(key.jwk, y=b64((int.from_bytes(base64.urlsafe_b64decode(key.jwk["y"] + "=="),
                                               "big") ^ 1).to_bytes(32, "big")))
    with pytest.raises(jws.InvalidJWS) as exc:
        jws.verify_with_embedded_jwk(key.proof(header={"jwk": bad}), typ="dpop+jwt",
                                     algorithms=["ES256"])
    assert exc.value.reason == jws.BAD_KEY


def _rsa_jwk(n: int, e: int) -> dict[str, Any]:
    return {"kty": "RSA", "n": b64(n.to_bytes((n.bit_length() + 7) // 8, "big")),
            "e": b64(e.to_bytes((e.bit_length() + 7) // 8, "big"))}


@pytest.mark.parametrize("bits", [
    (3072, 3000),  # a 3000-bit exponent: ~55x the verification CPU of 65537
    (2048, 33),  # 2**32 + 1: just over the cap
    (8200, 17),  # a modulus over 8192 bits
    (1024, 17),  # a modulus under 2048 bits
])
def test_an_embedded_rsa_key_with_a_costly_or_weak_size_is_refused(bits: tuple[int, int]
                                                                   ) -> None:
    """The DPoP proof's own RSA jwk is held to the client JWKS rule (jwk.rsa_public_key):
    modulus 2048-8192 bits, odd exponent 3 <= e < 2**32, refused before any RSA operation."""
    n_bits, e_bits = bits
    n = (1 << (n_bits - 1)) | 0xABCDEF | 1
    e = (1 << (e_bits - 1)) | 1
    header = {"typ": "dpop+jwt", "alg": "RS256", "jwk": _rsa_jwk(n, e)}
    proof = unsigned(header, claims_now(), b"\x01" * (n_bits // 8))
    with pytest.raises(jws.InvalidJWS) as exc:
        jws.verify_with_embedded_jwk(proof, typ="dpop+jwt", algorithms=["RS256"],
                                     max_length=8192)
    assert exc.value.reason == jws.BAD_KEY
    with pytest.raises(jwk_mod.JWKError):
        jwk_mod.parse_jwk(_rsa_jwk(n, e))


def test_an_embedded_rsa_key_with_exponent_3_is_accepted() -> None:
    key = Key("RS256")
    key.private = rsa.generate_private_key(public_exponent=3, key_size=2048)
    key.jwk = public_jwk(key.private.public_key())
    assert jws.verify_with_embedded_jwk(key.proof(), typ="dpop+jwt", algorithms=["RS256"])


def test_an_algorithm_outside_the_allow_list_is_refused() -> None:
    key = Key("RS256")
    with pytest.raises(proofs.InvalidProof):
        proofs.verify_proof(key.proof(), method="POST", url=TOKEN_URL, algorithms=["ES256"],
                            lifetime=60)


def test_htu_normalisation() -> None:
    assert proofs.normalise_url("HTTPS://Example.COM:443/a%20b?q#f") == "https://example.com/a b"
    assert proofs.normalise_url("http://example.com:8080") == "http://example.com:8080/"
    assert proofs.normalise_url("ftp://example.com/") is None
    assert proofs.normalise_url("http://user@example.com/") is None


# -- a separate resource server --------------------------------------------------------------


def test_resource_server_verifies_dpop_bound_tokens(app: Flask, machine_client: Any) -> None:
    import requests
    from standards_support import live_server

    from flask_passport import client as client_route
    from flask_passport.resource.resource_server import ResourceServer

    with live_server(app) as base:
        service = Flask("orders_service")
        ResourceServer(service, issuer=base, audience=base, dpop_origin="https://api.example")

        @service.get("/jobs")
        @client_route("check-status")
        def jobs() -> Any:
            return jsonify(ok=True)

        http = service.test_client()
        key = Key()
        token = requests.post(base + "/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(machine_client.client.id, machine_client.secret),
                              headers={"DPoP": key.proof(url=base + "/oauth/token")},
                              timeout=10).json()["access_token"]
        url = "https://api.example/jobs"
        ok = http.get("/jobs", headers=dpop_headers(token, key.proof("GET", url, token=token)))
        assert ok.status_code == 200, ok.json
        as_bearer = http.get("/jobs", headers={"Authorization": f"Bearer {token}"})
        assert as_bearer.status_code == 401
        assert as_bearer.headers["WWW-Authenticate"].startswith("DPoP ")
        thief = http.get("/jobs", headers=dpop_headers(token, Key().proof("GET", url,
                                                                          token=token)))
        assert thief.status_code == 401 and thief.json["error"] == "invalid_token"


def test_check_findings(app_config: dict[str, Any]) -> None:
    from flask_passport.cli.checks import run_checks

    def ids(**config: Any) -> set[str]:
        checked = make_app({**app_config, "SECRET_KEY": "k" * 48, **config})
        with checked.app_context():
            return {f.id for f in run_checks(checked) if f.id.startswith("passport.")}

    assert not {"passport.E080", "passport.W080", "passport.W081",
                "passport.W082"} & ids()
    assert "passport.E080" in ids(PASSPORT_DPOP=False, PASSPORT_DPOP_REQUIRED=True)
    assert "passport.W080" in ids(PASSPORT_DPOP_NONCE=True, SECRET_KEY=None)
    assert "passport.W081" in ids(PASSPORT_REPLAY_STORE_URL="memory://")
    assert "passport.W082" in ids(PASSPORT_DPOP_PROOF_LIFETIME=3600)
    # With DPoP off, its weaker settings do not matter.
    assert "passport.W081" not in ids(PASSPORT_DPOP=False,
                                      PASSPORT_REPLAY_STORE_URL="memory://")


# -- an independent client (oauth4webapi) ----------------------------------------------------


@pytest.mark.parametrize("nonce", [False, True])
def test_oauth4webapi_dpop_client(authz_server: Any, nonce: bool) -> None:
    from helpers import js_client

    app = authz_server.app
    app.config["PASSPORT_DPOP_NONCE"] = nonce
    app.extensions["passport"].reload_settings()
    try:
        machine = authz_server.seed["clients"]["client_credentials"]
        result = js_client("dpop_flow.mjs", {
            "issuer": authz_server.base_url, "client_id": machine["id"],
            "client_secret": machine["secret"],
            "resource": authz_server.base_url + "/api/internal/jobs"})
    finally:
        app.config["PASSPORT_DPOP_NONCE"] = False
        app.extensions["passport"].reload_settings()
    assert result["token_type"] == "dpop"
    assert result["nonce_retried"] is nonce
    assert result["metadata_algs"] == ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"]
    assert result["resource"]["status"] == 200, result
    assert result["resource"]["body"]["client_id"] == machine["id"]
    # Useless without its key: as a Bearer token, or with another key's proofs.
    assert result["as_bearer"]["status"] == 401
    assert result["as_bearer"]["challenge"].startswith('DPoP realm="api", error="invalid_token"')
    assert result["other_key"]["status"] == 401
    assert result["other_key"]["challenge"] == "invalid_token"


def test_statements_of_a_dpop_request(app: Flask, client: Any, machine_client: Any) -> None:
    """A DPoP request costs the Bearer path's one token query plus the proof's single-use
    INSERT (the replay store's own connection); the Bearer path is unchanged."""
    from helpers import sql_statements

    key = Key()
    bound = cc_token(client, machine_client, key.proof()).json["access_token"]
    plain = cc_token(client, machine_client, None).json["access_token"]
    with app.app_context():
        engine = db.engine
    with sql_statements(engine) as statements:
        ok = client.get("/jobs", headers={"Authorization": f"Bearer {plain}"})
    assert ok.status_code == 200
    assert len(statements) == 1 and "oauth_access_tokens" in statements[0], statements
    proof = key.proof("GET", JOBS_URL, token=bound)
    with sql_statements(engine) as statements:
        ok = client.get("/jobs", headers=dpop_headers(bound, proof))
    assert ok.status_code == 200
    kinds = [s.split()[0].upper() for s in statements]
    assert kinds.count("SELECT") == 1 and kinds.count("INSERT") == 1, statements
    assert any("oauth_used_jtis" in s for s in statements)
