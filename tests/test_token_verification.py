"""The direct ``cryptography`` verification of access tokens accepts and refuses exactly what
PyJWT's ``jwt.decode`` (the previous implementation) did, for every key type."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from flask_passport.jose import keys as keys_mod
from flask_passport.jose.tokens import MAX_TOKEN_LENGTH, InvalidToken, decode_access_token

ISS = "https://issuer.example"


def _keyset(kind: str) -> keys_mod.KeySet:
    private = keys_mod.generate_private_key(kind)
    return keys_mod.KeySet(keys_mod.SigningKey.from_keys(private.public_key(), private))


KEYSETS = {kind: _keyset(kind) for kind in ("RSA", "ES256", "EdDSA")}


def _pyjwt_reference(ks: keys_mod.KeySet, token: str, issuer: str | None,
                     audience: str | None) -> bool:
    """The former implementation: header checks, then PyJWT with the key's algorithm."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return False
    if header.get("crit"):
        return False
    kid = header.get("kid")
    key = ks.verifying_key(kid) if isinstance(kid, str) else None
    if key is None or header.get("alg") != key.algorithm:
        return False
    options: dict[str, Any] = {"require": ["exp", "iat", "jti", "sub"]}
    if audience is None:
        options["verify_aud"] = False
    try:
        jwt.decode(token, key.public_key, algorithms=[key.algorithm], issuer=issuer,
                   audience=audience, options=options)
    except jwt.PyJWTError:
        return False
    return True


def _ours(ks: keys_mod.KeySet, token: str, issuer: str | None, audience: str | None) -> bool:
    try:
        decode_access_token(ks, token, issuer=issuer, audience=audience)
    except InvalidToken:
        return False
    return True


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(ks: keys_mod.KeySet, claims: dict[str, Any], **header: Any) -> str:
    key = ks.signing_key
    headers = {"kid": key.kid, "typ": "at+jwt", **header}
    alg = headers.pop("alg", key.algorithm)
    return jwt.encode(claims, key.private_key, algorithm=alg, headers=headers)


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": "1", "client_id": "c", "jti": "t1", "iat": now - 5,
                              "nbf": now - 5, "exp": now + 600, "scope": "a", "iss": ISS,
                              "aud": ISS}
    for name, value in changes.items():
        if value is ...:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _cases(ks: keys_mod.KeySet) -> list[tuple[str, str]]:
    now = int(time.time())
    good = _sign(ks, _claims())
    head, payload, sig = good.split(".")
    other = _sign(_keyset("RSA"), _claims())
    hs = jwt.encode(_claims(), "secret-secret-secret-secret-secret", algorithm="HS256",
                    headers={"kid": ks.signing_key.kid})
    none_head = _b64(json.dumps({"alg": "none", "kid": ks.signing_key.kid}).encode())
    none = none_head + "." + payload + "."
    cases = [
        ("valid", good),
        ("expired", _sign(ks, _claims(exp=now - 1))),
        ("iat future", _sign(ks, _claims(iat=now + 600))),
        ("nbf future", _sign(ks, _claims(nbf=now + 600))),
        ("no exp", _sign(ks, _claims(exp=...))),
        ("no iat", _sign(ks, _claims(iat=...))),
        ("no jti", _sign(ks, _claims(jti=...))),
        ("no sub", _sign(ks, _claims(sub=...))),
        ("sub int", _sign(ks, _claims(sub=5))),
        ("jti int", _sign(ks, _claims(jti=5))),
        ("exp str", _sign(ks, _claims(exp="soon"))),
        ("other iss", _sign(ks, _claims(iss="https://evil.example"))),
        ("no iss", _sign(ks, _claims(iss=...))),
        ("aud list", _sign(ks, _claims(aud=["x", ISS]))),
        ("aud other", _sign(ks, _claims(aud="https://api.other"))),
        ("no aud", _sign(ks, _claims(aud=...))),
        ("crit", _sign(ks, _claims(), crit=["exp"])),
        ("unknown kid", _sign(ks, _claims(), kid="nope")),
        ("other key same kid", other.replace(other.split(".")[0], head)),
        ("hs256 confusion", hs),
        ("alg none", none),
        ("tampered payload", head + "." + _b64(json.dumps(_claims(sub="2")).encode()) + "." + sig),
        ("tampered signature", head + "." + payload + "." + sig[:-4]
         + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")),
        ("two segments", head + "." + payload),
        ("four segments", good + ".x"),
        ("bad base64", head + "." + payload + "!." + sig),
        ("not json", _b64(b"nope") + "." + payload + "." + sig),
        ("header list", _b64(b"[1]") + "." + payload + "." + sig),
        ("oversized", good + "A" * MAX_TOKEN_LENGTH),
        ("empty", ""),
    ]
    return cases


@pytest.mark.parametrize("kind", list(KEYSETS))
@pytest.mark.parametrize("issuer,audience", [(None, None), (ISS, None), (ISS, ISS),
                                             (None, "https://api.other")])
def test_same_verdict_as_pyjwt(kind: str, issuer: str | None, audience: str | None) -> None:
    ks = KEYSETS[kind]
    verdicts = {name: (_ours(ks, token, issuer, audience),
                       _pyjwt_reference(ks, token, issuer, audience))
                for name, token in _cases(ks)}
    differing = {name: v for name, v in verdicts.items() if v[0] != v[1]}
    assert differing == {}
    assert verdicts["valid"] == (audience != "https://api.other",) * 2
    assert verdicts["tampered signature"] == (False, False)


def test_claims_are_returned() -> None:
    ks = KEYSETS["RSA"]
    claims = decode_access_token(ks, _sign(ks, _claims()), issuer=ISS)
    assert claims["sub"] == "1" and claims["jti"] == "t1"


@pytest.mark.parametrize("kind", list(KEYSETS))
def test_issued_tokens_verify_with_pyjwt(kind: str) -> None:
    """Tokens signed directly with ``cryptography`` are standard JWS that PyJWT accepts."""
    from datetime import UTC, datetime, timedelta

    from flask_passport.jose.tokens import encode_access_token

    ks = KEYSETS[kind]
    now = datetime.now(UTC)
    value = encode_access_token(ks, jti="j1", issuer=ISS, audience=ISS, subject="7",
                                client_id="c", scopes=["a", "b"], issued_at=now,
                                expires_at=now + timedelta(minutes=5), extra_claims={"x": 1})
    key = ks.signing_key
    claims = jwt.decode(value, key.public_key, algorithms=[key.algorithm], audience=ISS,
                        issuer=ISS)
    assert claims["sub"] == "7" and claims["scope"] == "a b" and claims["x"] == 1
    assert jwt.get_unverified_header(value) == {"typ": "at+jwt", "alg": key.algorithm,
                                                "kid": key.kid}
    assert decode_access_token(ks, value, issuer=ISS, audience=ISS)["jti"] == "j1"


@pytest.mark.parametrize("kind", ["RSA", "ES256", "EdDSA"])
def test_one_token_has_one_spelling(kind: str) -> None:
    """Base64 decoders ignore the unused low bits of a segment's last character; a token whose
    signature is re-spelt that way (same bytes, another string) is refused: one spelling per
    signature. (An ECDSA signature has a second valid form, s -> n - s; the token cache evicts
    every string it holds for a revoked token, so that one needs no rule here.)"""
    ks = KEYSETS[kind]
    token = _sign(ks, _claims())
    decode_access_token(ks, token, issuer=ISS)
    head, payload, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    unused_bits = {2: 4, 3: 2}[len(signature) % 4]  # 1 or 2 bytes in the last group
    last = alphabet.index(signature[-1])
    respelt = signature[:-1] + alphabet[last ^ ((1 << unused_bits) - 1)]
    assert base64.urlsafe_b64decode(respelt + "=" * (-len(respelt) % 4)) == \
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    with pytest.raises(InvalidToken, match="malformed"):
        decode_access_token(ks, f"{head}.{payload}.{respelt}", issuer=ISS)
