"""Fuzz: arbitrary bearer strings against a ``require_oauth`` route, introspection and revocation.

Oversized JWTs, bad base64, ``alg: none``, ``crit`` headers, wrong or odd ``kid`` values, HS256
signed with the public key (key confusion), non-ASCII characters in any segment, tokens of
another kind (client credentials on a user route), revoked tokens, and mutations of real tokens.

The oracle: a protected route answers 200 only for a token that PyJWT itself verifies with our
public key (RS256) and whose ``jti`` is a live user token we issued; everything else is 400, 401
or 403. Introspection answers ``active: true`` only for live tokens we issued; revocation by a
client that owns none of them never kills them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from fuzz_support import FuzzWorld, b64url, fuzz_settings, fuzz_world, unverified_claims
from hypothesis import given
from hypothesis import strategies as st

from flask_passport.jose import keys as keys_mod
from flask_passport.jose.tokens import MAX_TOKEN_LENGTH

__all__ = ["fuzz_world"]

_OTHER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_OTHER_EC = ec.generate_private_key(ec.SECP256R1())

# Characters a real server hands us for a UTF-8 header: bytes decoded as latin-1 (WSGI, PEP 3333).
header_text = st.binary(max_size=64).map(lambda b: b.decode("latin-1"))
any_text = st.text(max_size=64)
non_ascii = st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x10FFFF,
                                           exclude_categories=("Cs",)), min_size=1, max_size=8)
b64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
b64ish = st.text(alphabet=b64_alphabet + "+/=. \t%", max_size=80)


def _real(world: FuzzWorld) -> dict[str, Any]:
    state = world.app.extensions["passport"]
    with world.app.app_context():
        key = state.keys().signing_key
    return {"kid": key.kid, "alg": key.algorithm, "private": key.private_key,
            "public_pem": keys_mod.public_pem(key.public_key)}


HEADERS = st.sampled_from([
    "real", "alg_none", "alg_None", "hs256", "crit", "crit_empty", "wrong_kid", "no_kid",
    "kid_int", "kid_list", "kid_dict", "kid_unicode", "kid_huge", "rs512", "es256", "jku",
    "embedded_jwk", "typ_jwt", "not_json", "json_list", "b64_garbage", "non_ascii_segment",
])
PAYLOADS = st.sampled_from([
    "user", "client", "revoked", "unknown_jti", "jti_int", "jti_huge", "no_exp", "exp_string",
    "expired", "future_nbf", "no_sub", "other_user", "not_json", "json_list", "non_ascii",
    "huge",
])
SIGNATURES = st.sampled_from([
    "real", "empty", "other_rsa", "hmac_public_pem", "random", "non_ascii", "bad_b64",
    "es256_other",
])


def _header(kind: str, real: dict[str, Any], draw_text: str) -> str:
    base = {"alg": real["alg"], "kid": real["kid"], "typ": "at+jwt"}
    variants: dict[str, Any] = {
        "real": base,
        "alg_none": {**base, "alg": "none"},
        "alg_None": {**base, "alg": "None"},
        "hs256": {**base, "alg": "HS256"},
        "crit": {**base, "crit": ["exp"]},
        "crit_empty": {**base, "crit": []},
        "wrong_kid": {**base, "kid": "not-our-key"},
        "no_kid": {"alg": real["alg"], "typ": "at+jwt"},
        "kid_int": {**base, "kid": 7},
        "kid_list": {**base, "kid": [real["kid"]]},
        "kid_dict": {**base, "kid": {"kid": real["kid"]}},
        "kid_unicode": {**base, "kid": real["kid"] + draw_text},
        "kid_huge": {**base, "kid": "k" * 5000},
        "rs512": {**base, "alg": "RS512"},
        "es256": {**base, "alg": "ES256"},
        "jku": {**base, "jku": "https://attacker.example/jwks.json"},
        "embedded_jwk": {**base, "jwk": {"kty": "oct", "k": b64url(b"secret")}},
        "typ_jwt": {**base, "typ": "JWT"},
    }
    if kind in variants:
        return b64url(json.dumps(variants[kind]).encode())
    if kind == "not_json":
        return b64url(b"{not json" + draw_text.encode("utf-8", "surrogatepass"))
    if kind == "json_list":
        return b64url(b"[1, 2]")
    if kind == "b64_garbage":
        return "e30" + "=+/" + draw_text
    return b64url(json.dumps(base).encode())[:-2] + draw_text  # non_ascii_segment


def _payload(kind: str, world: FuzzWorld, draw_text: str) -> str:
    user = unverified_claims(world.user_tokens[0])
    variants: dict[str, Any] = {
        "user": user,
        "client": unverified_claims(world.client_tokens[0]),
        "revoked": unverified_claims(world.revoked_tokens[0]),
        "unknown_jti": {**user, "jti": "00000000-0000-4000-8000-000000000000"},
        "jti_int": {**user, "jti": 12},
        "jti_huge": {**user, "jti": "j" * 3000},
        "no_exp": {k: v for k, v in user.items() if k != "exp"},
        "exp_string": {**user, "exp": "tomorrow"},
        "expired": {**user, "exp": 1000},
        "future_nbf": {**user, "nbf": user["exp"] + 10_000},
        "no_sub": {k: v for k, v in user.items() if k != "sub"},
        "other_user": {**user, "sub": str(world.other_user_id)},
        "huge": {**user, "pad": "p" * 9000},
    }
    if kind in variants:
        return b64url(json.dumps(variants[kind]).encode())
    if kind == "not_json":
        return b64url(b"\xff\xfe" + draw_text.encode("utf-8", "surrogatepass"))
    if kind == "json_list":
        return b64url(b"[]")
    return b64url(json.dumps(user).encode())[:-3] + draw_text  # non_ascii


def _signature(kind: str, signing_input: str, real: dict[str, Any], draw_text: str) -> str:
    data = signing_input.encode("utf-8", "surrogatepass")
    if kind == "real":
        return b64url(real["private"].sign(data, padding.PKCS1v15(), hashes.SHA256()))
    if kind == "other_rsa":
        return b64url(_OTHER_RSA.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    if kind == "hmac_public_pem":  # algorithm confusion: HS256 keyed with our public key
        return b64url(hmac.new(real["public_pem"], data, hashlib.sha256).digest())
    if kind == "es256_other":
        return b64url(_OTHER_EC.sign(data, ec.ECDSA(hashes.SHA256())))
    if kind == "random":
        return b64url(hashlib.sha512(data).digest() * 4)
    if kind == "non_ascii":
        return b64url(b"sig") + draw_text
    if kind == "bad_b64":
        return "a=b+c/d" + draw_text
    return ""


@st.composite
def crafted_jwts(draw: st.DrawFn, world: FuzzWorld, real: dict[str, Any]) -> str:
    """A JWS compact serialization built from a header, payload and signature variant."""
    text = draw(st.one_of(non_ascii, any_text))
    header = _header(draw(HEADERS), real, text)
    payload = _payload(draw(PAYLOADS), world, text)
    signature = _signature(draw(SIGNATURES), f"{header}.{payload}", real, text)
    parts = [header, payload, signature]
    extra = draw(st.sampled_from(["", "", "", "four", "two", "lead_space", "oversized"]))
    if extra == "four":
        parts.append(b64url(b"x"))
    elif extra == "two":
        parts = parts[:2]
    token = ".".join(parts)
    if extra == "lead_space":
        token = " " + token + " "
    elif extra == "oversized":
        token = token + "A" * (MAX_TOKEN_LENGTH + 1 - len(token))
    return token


@st.composite
def mutated_tokens(draw: st.DrawFn, world: FuzzWorld) -> str:
    """A real token with one character replaced, inserted or removed, or a segment swapped."""
    token = draw(st.sampled_from(world.user_tokens + world.client_tokens + world.revoked_tokens))
    how = draw(st.sampled_from(["replace", "insert", "delete", "swap_payload", "append"]))
    if how == "swap_payload":
        donor = draw(st.sampled_from(world.client_tokens + world.user_tokens))
        h, _, s = token.split(".")
        return ".".join([h, donor.split(".")[1], s])
    if how == "append":
        return token + draw(st.one_of(st.sampled_from(["=", "==", ".", "\u00e9", "\x00"]),
                                      any_text))
    index = draw(st.integers(0, len(token) - 1))
    char = draw(st.one_of(st.sampled_from([*b64_alphabet, ".", "=", "\u00fc"]), non_ascii))
    if how == "replace":
        return token[:index] + char + token[index + 1:]
    if how == "insert":
        return token[:index] + char + token[index:]
    return token[:index] + token[index + 1:]


def bearer_strings(world: FuzzWorld, real: dict[str, Any]) -> st.SearchStrategy[str]:
    return st.one_of(
        crafted_jwts(world, real),
        crafted_jwts(world, real),
        mutated_tokens(world),
        st.builds(lambda a, b, c: f"{a}.{b}.{c}", b64ish, b64ish, b64ish),
        any_text,
        st.text(min_size=MAX_TOKEN_LENGTH - 2, max_size=MAX_TOKEN_LENGTH + 2,
                alphabet=b64_alphabet + "."),
        st.sampled_from(world.user_tokens + world.client_tokens + world.revoked_tokens),
    )


def _verified_jti(world: FuzzWorld, real: dict[str, Any], token: str) -> str | None:
    """The independent oracle: PyJWT with our public key, RS256 only."""
    try:
        claims = jwt.decode(token, serialization.load_pem_public_key(real["public_pem"]),
                            algorithms=["RS256"], options={"verify_aud": False})
    except (jwt.PyJWTError, ValueError, UnicodeError):
        return None
    return claims.get("jti") if isinstance(claims.get("jti"), str) else None


def _jtis(tokens: list[str]) -> set[str]:
    return {unverified_claims(t)["jti"] for t in tokens}


def _as_header(value: str) -> str:
    """What WSGI hands the app for this header: its UTF-8 bytes decoded as latin-1 (HTTP cannot
    carry a line break inside a header, so those are dropped)."""
    value = value.replace("\r", "").replace("\n", "")
    return value.encode("utf-8", "surrogatepass").decode("latin-1")


def test_bearer_strings_never_authenticate_wrongly(fuzz_world: FuzzWorld) -> None:
    world = fuzz_world
    real = _real(world)
    live_user = _jtis(world.user_tokens)
    live_any = live_user | _jtis(world.client_tokens)
    resource = {"client_id": world.resource.client.id,
                "client_secret": world.resource.secret or ""}
    stranger = {"client_id": world.machine2.client.id,
                "client_secret": world.machine2.secret or ""}
    schemes = st.sampled_from(["Bearer ", "bearer ", "BEARER ", "Bearer  ", "Bearer\t", "Basic ",
                               "Bearer", "Token ", ""])

    @fuzz_settings(120)
    @given(token=bearer_strings(world, real), scheme=schemes, hint=st.sampled_from(
        [None, "access_token", "refresh_token", "\u00e9t\u00e9", ""]),
        duplicate=st.sampled_from([None, None, None, None, "genuine", "junk"]))
    def run(token: str, scheme: str, hint: str | None, duplicate: str | None) -> None:
        verified = _verified_jti(world, real, token.strip())
        headers = [("Authorization", _as_header(scheme + token))]
        if duplicate:  # a second Authorization header never makes a bad first one good
            second = world.user_tokens[1] if duplicate == "genuine" else "x.y.z"
            headers.append(("Authorization", f"Bearer {second}"))

        response = world.send("GET", "/fuzz/me", headers=headers)
        if response.status_code == 200:
            assert scheme.strip().lower() == "bearer"
            assert verified in live_user, f"accepted a token the oracle refuses: {token!r}"
            assert response.get_json() == {"id": str(world.user_id)}
        else:
            assert response.status_code in (400, 401, 403), response.status_code
            if scheme == "Bearer " and token.strip():
                assert response.status_code == 401
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
            # Liveness: an untouched live user token (sent once) is never refused.
            assert not (token in world.user_tokens and scheme.strip().lower() == "bearer"
                        and scheme[-1] == " " and not duplicate), response.get_json()

        form = {"token": token, **resource}
        if hint is not None:
            form["token_type_hint"] = hint
        response = world.send("POST", "/oauth/introspect", data=form)
        assert response.status_code in (200, 400), response.status_code
        if response.status_code == 200 and response.get_json()["active"]:
            assert response.get_json()["jti"] in live_any | set(world.refresh_tokens)  \
                or response.get_json()["token_type"] == "refresh_token"
            assert response.get_json()["token_type"] != "Bearer" or verified in live_any

        response = world.send("POST", "/oauth/revoke", data={**form, **stranger})
        assert response.status_code in (200, 400), response.status_code

    run()
    # Revocation by a client that owns none of the tokens never revoked any of them.
    for token in world.user_tokens:
        response = world.send("GET", "/fuzz/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.get_json()
    for token in world.revoked_tokens + world.client_tokens:
        response = world.send("GET", "/fuzz/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, response.get_json()


def test_non_ascii_in_any_segment_is_refused(fuzz_world: FuzzWorld) -> None:
    """A deterministic companion of the fuzz: one non-ASCII character in the header, payload or
    signature segment of a real token is a 401 (header) and an inactive token or a 400
    (introspection), never an encoding error on the way to the signature check."""
    world = fuzz_world
    token = world.user_tokens[0]
    resource = {"client_id": world.resource.client.id,
                "client_secret": world.resource.secret or ""}
    for segment in range(3):
        for char in ("\u00e9", "\u4e2d", "\U0001f600", "\x00"):
            parts = token.split(".")
            parts[segment] = parts[segment][:5] + char + parts[segment][5:]
            bad = ".".join(parts)
            response = world.send("GET", "/fuzz/me",
                                  headers={"Authorization": _as_header("Bearer " + bad)})
            assert response.status_code == 401, (segment, char, response.get_json())
            response = world.send("POST", "/oauth/introspect", data={"token": bad, **resource})
            if char == "\x00":  # NUL in any parameter is invalid_request
                assert response.status_code == 400, response.get_json()
            else:
                assert response.status_code == 200 and response.get_json() == {"active": False}
