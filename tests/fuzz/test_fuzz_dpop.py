"""Fuzz: DPoP proofs (RFC 9449) at the token endpoint and on a protected route.

Each proof is built from one header, claims and signature variant, the real one or a mutation:
``alg: none``, ``HS256`` with a symmetric ``jwk``, private members in the ``jwk``, another
key's ``jwk``, a point off the curve, wrong ``typ``, ``crit``, wrong ``htm``/``htu``, stale,
future or non-numeric ``iat``, missing or oversized ``jti``, wrong ``ath``, non-ASCII and
garbage segments, plus arbitrary header strings.

The oracle: the token endpoint answers 200 (a ``DPoP`` token bound to our key) only for an
all-real proof, and 400 ``invalid_dpop_proof`` for everything else; the protected route
answers 200 only for an all-real proof of the bound token's key. Never a 5xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fuzz_support import FuzzWorld, b64url, fuzz_settings, fuzz_world, unverified_claims
from hypothesis import given
from hypothesis import strategies as st

from flask_passport.jose.dpop import access_token_hash
from flask_passport.jose.keys import public_jwk, thumbprint

__all__ = ["fuzz_world"]

_KEY = ec.generate_private_key(ec.SECP256R1())
_JWK = public_jwk(_KEY.public_key())
_JKT = thumbprint(_JWK)
_OTHER = ec.generate_private_key(ec.SECP256R1())
_OTHER_JWK = public_jwk(_OTHER.public_key())

TOKEN_URL = "http://localhost/oauth/token"
ROUTE_URL = "http://localhost/fuzz/me"

HEADERS = st.sampled_from([
    "real", "alg_none", "hs256_oct", "private_d", "other_jwk", "off_curve", "no_jwk",
    "jwk_string", "typ_jwt", "no_typ", "crit", "rs256_with_ec", "es384", "not_json",
    "non_ascii",
])
CLAIMS = st.sampled_from([
    "real", "htm", "htu_host", "htu_path", "htu_scheme", "stale", "future", "iat_string",
    "iat_nan", "no_jti", "jti_huge", "jti_int", "ath_wrong", "no_ath", "not_json", "json_list",
])
SIGNATURES = st.sampled_from(["real", "empty", "other_key", "random", "bad_b64", "truncated"])
# Any bytes a WSGI server hands over (latin-1, PEP 3333), minus the line breaks HTTP forbids.
header_text = st.binary(max_size=96).map(
    lambda b: b.decode("latin-1").replace("\r", "").replace("\n", ""))


def _header(kind: str) -> Any:
    base = {"typ": "dpop+jwt", "alg": "ES256", "jwk": _JWK}
    y = int.from_bytes(jwt.utils.base64url_decode(_JWK["y"]), "big") ^ 1
    return {
        "real": base,
        "alg_none": {**base, "alg": "none"},
        "hs256_oct": {**base, "alg": "HS256", "jwk": {"kty": "oct", "k": b64url(b"k" * 32)}},
        "private_d": {**base, "jwk": {**_JWK, "d": b64url(b"\x01" * 32)}},
        "other_jwk": {**base, "jwk": _OTHER_JWK},
        "off_curve": {**base, "jwk": {**_JWK, "y": b64url(y.to_bytes(32, "big"))}},
        "no_jwk": {"typ": "dpop+jwt", "alg": "ES256"},
        "jwk_string": {**base, "jwk": json.dumps(_JWK)},
        "typ_jwt": {**base, "typ": "JWT"},
        "no_typ": {"alg": "ES256", "jwk": _JWK},
        "crit": {**base, "crit": ["htu"]},
        "rs256_with_ec": {**base, "alg": "RS256"},
        "es384": {**base, "alg": "ES384"},
        "not_json": "{not json",
        "non_ascii": {**base, "typ": "dpop+jwt\u00e9"},
    }[kind]


def _claims(kind: str, method: str, url: str, token: str | None) -> Any:
    now = int(time.time())
    base: dict[str, Any] = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": now}
    if token is not None:
        base["ath"] = access_token_hash(token)
    changes: dict[str, Any] = {
        "real": {}, "htm": {"htm": "PUT"}, "htu_host": {"htu": url.replace("localhost", "evil")},
        "htu_path": {"htu": url + "x"}, "htu_scheme": {"htu": url.replace("http:", "https:")},
        "stale": {"iat": now - 3600}, "future": {"iat": now + 3600},
        "iat_string": {"iat": str(now)}, "no_jti": {"jti": None}, "jti_huge": {"jti": "j" * 300},
        "jti_int": {"jti": 7}, "ath_wrong": {"ath": access_token_hash("another")},
        "no_ath": {"ath": None},
    }
    if kind == "not_json":
        return "[not json"
    if kind == "json_list":
        return [1, 2]
    if kind == "iat_nan":
        return json.dumps({**base, "iat": 0}).replace('"iat": 0', '"iat": NaN')
    merged = {**base, **changes[kind]}
    return {k: v for k, v in merged.items() if v is not None}


def _segment(value: Any) -> str:
    raw = value if isinstance(value, str) else json.dumps(value)
    return b64url(raw.encode("utf-8"))


def _sign(key: Any, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def build(header: str, claims: str, signature: str, method: str, url: str,
          token: str | None, noise: bytes) -> str:
    signing_input = f"{_segment(_header(header))}.{_segment(_claims(claims, method, url, token))}"
    data = signing_input.encode()
    sig = {
        "real": lambda: b64url(_sign(_KEY, data)),
        "empty": lambda: "",
        "other_key": lambda: b64url(_sign(_OTHER, data)),
        "random": lambda: b64url(noise or b"\x00"),
        "bad_b64": lambda: "*not*base64*",
        "truncated": lambda: b64url(_sign(_KEY, data))[:-3],
    }[signature]()
    if header == "hs256_oct":  # a correct HMAC under the jwk's "k": still never accepted
        sig = b64url(hmac.new(b"k" * 32, data, hashlib.sha256).digest())
    return f"{signing_input}.{sig}"


def _all_real(*kinds: str) -> bool:
    return all(kind == "real" for kind in kinds)


def test_token_endpoint_proofs(fuzz_world: FuzzWorld) -> None:
    world = fuzz_world
    auth = {"grant_type": "client_credentials", "client_id": world.machine.client.id,
            "client_secret": world.machine.secret or ""}

    @fuzz_settings(150)
    @given(header=HEADERS, claims=CLAIMS, signature=SIGNATURES, noise=st.binary(max_size=64),
           raw=st.one_of(st.none(), header_text))
    def run(header: str, claims: str, signature: str, noise: bytes, raw: str | None) -> None:
        proof = raw if raw is not None else build(header, claims, signature, "POST", TOKEN_URL,
                                                  None, noise)
        response = world.send("POST", "/oauth/token", data=auth, headers={"DPoP": proof})
        body = response.get_json()
        if raw is None and _all_real(header, claims, signature):
            assert response.status_code == 200, body
            assert body["token_type"] == "DPoP"
            assert unverified_claims(body["access_token"])["cnf"] == {"jkt": _JKT}
        else:  # an empty DPoP header too: a header was sent, and it is no proof
            assert response.status_code == 400, (header, claims, signature, raw, body)
            assert body["error"] in ("invalid_dpop_proof", "invalid_request"), body

    run()


def test_protected_route_proofs(fuzz_world: FuzzWorld) -> None:
    world = fuzz_world
    auth = {"grant_type": "password", "client_id": world.password.client.id,
            "client_secret": world.password.secret or "", "username": "taylor@example.com",
            "password": "secret-password"}
    proof = build("real", "real", "real", "POST", TOKEN_URL, None, b"")
    token = world.send("POST", "/oauth/token", data=auth,
                       headers={"DPoP": proof}).get_json()["access_token"]
    schemes = st.sampled_from(["DPoP ", "dpop ", "Bearer ", "DPoP  ", "DPoP"])

    @fuzz_settings(150)
    @given(header=HEADERS, claims=CLAIMS, signature=SIGNATURES, noise=st.binary(max_size=64),
           scheme=schemes, method=st.sampled_from(["GET", "GET", "POST"]),
           raw=st.one_of(st.none(), st.none(), header_text))
    def run(header: str, claims: str, signature: str, noise: bytes, scheme: str, method: str,
            raw: str | None) -> None:
        proof = raw if raw is not None else build(header, claims, signature, method, ROUTE_URL,
                                                  token, noise)
        headers = {"Authorization": scheme + token, "DPoP": proof}
        response = world.send("GET", "/fuzz/me", headers=headers)
        if (raw is None and _all_real(header, claims, signature) and method == "GET"
                and scheme.strip().lower() == "dpop" and scheme[-1] == " "):
            assert response.status_code == 200, response.get_json()
        else:
            assert response.status_code in (400, 401), (header, claims, signature, raw)
            if response.status_code == 401:
                assert response.headers["WWW-Authenticate"].startswith(("DPoP ", "Bearer ")), \
                    response.headers["WWW-Authenticate"]

    run()
