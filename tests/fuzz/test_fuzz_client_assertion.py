"""Fuzz: JWT client assertions (RFC 7523 §2.2) at ``POST /oauth/token``, ``/oauth/revoke`` and
``/oauth/introspect``.

Hypothesis builds an assertion for a ``private_key_jwt`` client (ES256 key ``k1``) or a
``client_secret_jwt`` client and mutates it: the header (``alg`` of every family, ``none``,
odd spellings and types; ``kid`` variants; ``crit`` / ``b64``), each claim (kept, dropped, or
any JSON value: numbers around the time limits, NaN and infinities, strings, lists, other
clients, the other accepted audiences), the signature (the right key, another key, HMAC keyed
with the public key or the other client's secret, none, garbage), the encoding (padding,
whitespace, segments) and the form (``client_assertion_type``, ``client_id``). Every accepted
assertion is sent once more, and must then be refused as a replay.

The oracle is written here, independently of the package: an assertion is good only when its
type is the JWT bearer URN, the header's ``alg`` is the client's method's and the signature is
by the client's key or secret, there is no ``crit`` / ``b64``, ``iss`` = ``sub`` = the client,
``aud`` is the issuer or the endpoint (an array: of those only), ``exp`` is a finite number in
the next hour, ``iat`` if present is in the last five minutes, ``nbf`` if present is past,
``jti`` is a non-empty string never used before, no authorization request claim
(``response_type``, ``redirect_uri``, ...: a request object is not an assertion), a header
``typ``, if any, is ``JWT`` or ``client-authentication+jwt`` (``application/`` optional, any
case), and a ``client_id`` parameter, if sent, is the client. A good
assertion must be accepted, anything else must be a 401 ``invalid_client``, never a 5xx.
Values within a few seconds of a time limit are left out (the clock moves).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from conftest import new_client
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fuzz_support import FuzzWorld, fuzz_settings, fuzz_world
from hypothesis import event, given
from hypothesis import strategies as st

from flask_passport.jose import keys as keys_mod

__all__ = ["fuzz_world"]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ISSUER = "http://localhost"
ENDPOINTS = {"/oauth/token": "http://localhost/oauth/token",
             "/oauth/revoke": "http://localhost/oauth/revoke",
             "/oauth/introspect": "http://localhost/oauth/introspect"}
KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
MARGIN = 10  # seconds kept clear of every time limit
DROP = object()
#: The client_secret_jwt secret is 64 characters: long enough for all three (RFC 7518 §3.2).
HMAC_ALGS = {"HS256", "HS384", "HS512"}
#: Header ``typ`` values tried, and those a client assertion may carry (RFC 8725 §3.11).
TYPS = ["JWT", "jwt", "client-authentication+jwt", "application/client-authentication+jwt",
        "oauth-authz-req+jwt", "application/oauth-authz-req+jwt", "dpop+jwt", "at+jwt", "", 1]
GOOD_TYPS = {"application/jwt", "application/client-authentication+jwt"}
#: Claims of a request object (RFC 9101); one in an assertion makes it bad.
REQUEST_CLAIMS = ["response_type", "redirect_uri", "scope", "state", "nonce", "code_challenge",
                  "request", "request_uri"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Clients:
    pk_id: str
    cs_id: str
    cs_secret: str


def _es256(key: Any, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _hs(secret: bytes, alg: str, data: bytes) -> bytes:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    return hmac.new(secret, data, digest.get(alg, hashlib.sha256)).digest()


def json_values(now: int) -> st.SearchStrategy[Any]:
    return st.one_of(
        # Offsets, not bounds around ``now``: a strategy's bounds must not change between runs.
        st.integers(-(10**6), 10**6).map(lambda delta: now + delta),
        st.sampled_from([-300, 0, 60, 3600]).map(lambda delta: now + delta),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([True, False, None, "", [], {}, "123", [ISSUER], ["x", ISSUER], [1],
                         10**400, -(10**400), 1e308, -1e308]),
        st.text(max_size=20),
    )


@st.composite
def assertions(draw: st.DrawFn, clients: Clients, path: str) -> tuple[dict[str, str], bool]:
    """A form with a (mutated) client assertion, and whether the oracle finds it good."""
    now = int(time.time())
    which = draw(st.sampled_from(["pk", "cs"]))
    cid = clients.pk_id if which == "pk" else clients.cs_id
    good_alg = "ES256" if which == "pk" else draw(st.sampled_from(["HS256", "HS384", "HS512"]))
    header: dict[str, Any] = {"alg": good_alg}
    if which == "pk" and draw(st.booleans()):
        header["kid"] = "k1"
    if draw(st.integers(0, 3)) == 0:
        header["alg"] = draw(st.one_of(st.sampled_from(
            ["RS256", "PS256", "ES256", "ES384", "EdDSA", "Ed25519", "HS256", "HS384", "HS512",
             "none",
             "None", "es256", ""]), st.none(), st.integers()))
    if draw(st.integers(0, 4)) == 0:
        header["kid"] = draw(st.sampled_from(["k1", "k2", "", None, 1, ["k1"]]))
    if draw(st.integers(0, 9)) == 0:
        header[draw(st.sampled_from(["crit", "b64"]))] = draw(st.sampled_from([["exp"], False]))
    if draw(st.integers(0, 4)) == 0:
        header["typ"] = draw(st.sampled_from(TYPS))
    jti = uuid.uuid4().hex
    claims: dict[str, Any] = {"iss": cid, "sub": cid, "aud": ISSUER, "exp": now + 60,
                              "iat": now, "jti": jti}
    claims["aud"] = draw(st.sampled_from([ISSUER, ENDPOINTS[path], ENDPOINTS["/oauth/token"],
                                          [ISSUER], [ISSUER, ENDPOINTS[path]],
                                          ["https://attacker.example", ISSUER]]))
    if draw(st.integers(0, 5)) == 0:
        claims[draw(st.sampled_from([*REQUEST_CLAIMS, "extension"]))] = "code"
    for name in draw(st.lists(st.sampled_from(["iss", "sub", "aud", "exp", "iat", "nbf", "jti"]),
                              max_size=3, unique=True)):
        claims[name] = draw(st.one_of(
            st.just(DROP), json_values(now),
            st.sampled_from([clients.pk_id, clients.cs_id, ISSUER, *ENDPOINTS.values()])))
    claims = {k: v for k, v in claims.items() if v is not DROP}
    signer = draw(st.sampled_from(["right"] * 6 + ["other key", "hmac public", "hmac other",
                                                   "none", "garbage"]))
    header_b64 = b64(json.dumps(header).encode())
    payload_b64 = b64(json.dumps(claims).encode())  # NaN and Infinity spelled as Python does
    signing_input = f"{header_b64}.{payload_b64}".encode()
    alg = header.get("alg")
    alg_name = alg if isinstance(alg, str) else ""
    if signer == "right" and which == "pk":
        signature = _es256(KEY, signing_input)
    elif signer == "right":
        signature = _hs(clients.cs_secret.encode(), alg_name, signing_input)
    elif signer == "other key":
        signature = _es256(OTHER_KEY, signing_input)
    elif signer == "hmac public":
        signature = _hs(keys_mod.public_pem(KEY), alg_name, signing_input)
    elif signer == "hmac other":
        signature = _hs(b"o" * 64, alg_name, signing_input)
    elif signer == "none":
        signature = b""
    else:
        signature = draw(st.binary(max_size=80))
    token = f"{header_b64}.{payload_b64}.{b64(signature)}"
    encoding = draw(st.sampled_from(["plain"] * 8 + ["padded", "space", "extra", "two", "huge"]))
    token = {"plain": token, "padded": token + "==", "space": " " + token,
             "extra": token + ".x", "two": token.rsplit(".", 1)[0],
             "huge": token + "A" * 9000}[encoding]
    assertion_type = draw(st.sampled_from([JWT_BEARER] * 8 + ["urn:other", ""]))
    form = {"client_assertion_type": assertion_type, "client_assertion": token}
    client_id = draw(st.sampled_from([None, None, None, cid, "other"]))
    if client_id is not None:
        form["client_id"] = client_id

    kid = header.get("kid", "k1")
    # A secret has no kid: any string kid is ignored for client_secret_jwt.
    kid_ok = isinstance(kid, str) and (which == "cs" or kid == "k1")
    good = (assertion_type == JWT_BEARER and encoding == "plain" and signer == "right"
            and header.get("alg") in ({"ES256"} if which == "pk" else HMAC_ALGS) and kid_ok
            and "crit" not in header and "b64" not in header and client_id in (None, cid)
            and _typ_good(header) and not set(REQUEST_CLAIMS) & claims.keys()
            and _claims_good(claims, cid, path, now))
    boundary = _near_limit(claims, now)
    event(f"good={good} boundary={boundary}")
    return form, (None if boundary else good)  # type: ignore[return-value]


def _number(value: Any) -> int | float | None:
    """A finite JSON number as it is (an int may be beyond float range), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _typ_good(header: dict[str, Any]) -> bool:
    if "typ" not in header:
        return True
    typ = header["typ"]
    if not isinstance(typ, str):
        return False
    typ = typ.lower()
    return (typ if "/" in typ else "application/" + typ) in GOOD_TYPS


def _claims_good(claims: dict[str, Any], cid: str, path: str, now: int) -> bool:
    aud = claims.get("aud")
    auds = [aud] if isinstance(aud, str) else aud
    accepted = {ISSUER, ENDPOINTS["/oauth/token"], ENDPOINTS[path]}
    # draft-ietf-oauth-rfc7523bis: every audience is us, none foreign beside us.
    if not (isinstance(auds, list) and auds and all(isinstance(a, str) for a in auds)
            and set(auds) <= accepted):
        return False
    exp = _number(claims.get("exp"))
    if claims.get("iss") != cid or claims.get("sub") != cid or exp is None:
        return False
    if not now < exp <= now + 3600:
        return False
    for name in ("iat", "nbf"):
        if name in claims:
            value = _number(claims[name])
            if value is None or value > now or (name == "iat" and value < now - 300):
                return False
    jti = claims.get("jti")
    return isinstance(jti, str) and 0 < len(jti) <= 256


def _near_limit(claims: dict[str, Any], now: int) -> bool:
    """Whether a time claim sits so close to a limit that the moving clock decides."""
    exp, iat, nbf = (_number(claims.get(n)) for n in ("exp", "iat", "nbf"))
    return ((exp is not None and (abs(exp - now) < MARGIN or abs(exp - now - 3600) < MARGIN))
            or (iat is not None and (now < iat < now + MARGIN
                                     or abs(iat - (now - 300)) < MARGIN))
            or (nbf is not None and now < nbf < now + MARGIN))


def test_fuzz_client_assertions(fuzz_world: FuzzWorld) -> None:
    world = fuzz_world
    app = world.app
    jwks = {"keys": [{**keys_mod.public_jwk(KEY.public_key()), "kid": "k1"}]}
    pk = new_client(app, "client_credentials", auth_method="private_key_jwt", jwks=jwks)
    cs = new_client(app, "client_credentials", auth_method="client_secret_jwt",
                    secret_key="test-secret")
    assert cs.secret is not None
    clients = Clients(pk.client.id, cs.client.id, cs.secret)
    token = world.client_tokens[0]

    @fuzz_settings(150)
    @given(data=st.data(), path=st.sampled_from(list(ENDPOINTS)))
    def run(data: st.DataObject, path: str) -> None:
        form, good = data.draw(assertions(clients, path))
        extra = {"grant_type": "client_credentials"} if path == "/oauth/token" \
            else {"token": token}
        response = world.send("POST", path, data={**extra, **form})
        body = response.get_json()
        if response.status_code == 200:
            assert good is not False, f"accepted an assertion the oracle refuses: {form!r}"
            claims = jwt.decode(form["client_assertion"], options={"verify_signature": False})
            if path == "/oauth/token":
                issued = jwt.decode(body["access_token"], options={"verify_signature": False})
                assert issued["client_id"] == claims["sub"]
            # RFC 7523 §3 item 7: the same assertion again is a replay.
            again = world.send("POST", path, data={**extra, **form})
            assert again.status_code == 401 and again.get_json()["error"] == "invalid_client"
        else:
            assert good is not True, f"refused a good assertion: {form!r} -> {body!r}"
            assert response.status_code == 401 and body["error"] == "invalid_client", body

    run()
