"""Random secrets, their digests, and the signed JWT access tokens (RFC 9068)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from .keys import KeyLoadError, KeySet, SigningKey

#: Tokens larger than this are refused before any parsing (a DoS guard; ours are ~1 KiB).
MAX_TOKEN_LENGTH = 8192

#: Claims the server sets itself; a custom-claims hook cannot replace them.
RESERVED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "auth_time"}
)


_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_EC_ALGORITHMS: dict[str, tuple[type[hashes.HashAlgorithm], int]] = {
    "ES256": (hashes.SHA256, 32),
    "ES384": (hashes.SHA384, 48),
}


class InvalidToken(Exception):
    """The bearer string is not a token this server signed and still accepts."""


def new_id() -> str:
    """A new row id: a time-ordered UUID version 7 (RFC 9562 §5.7), used as client id, access
    token ``jti`` and refresh-token selector.

    48 bits of Unix milliseconds, then 74 random bits from :mod:`secrets`. Ids that grow with
    time are appended at the right edge of the primary-key index instead of landing on a random
    page of it, so issuing a token costs the same with a million rows in the table as with none
    (``bench/scale.py``). None of these ids is a secret (the ``jti`` travels in the JWT, whose
    ``iat`` already tells its time); the random part still makes them unguessable.
    """
    millis = time.time_ns() // 1_000_000
    random = secrets.randbits(74)
    value = ((millis & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | (random >> 62) << 64
             | 0b10 << 62 | random & (1 << 62) - 1)
    return str(uuid.UUID(int=value))


def new_secret(nbytes: int = 32) -> str:
    """A high-entropy URL-safe secret from :mod:`secrets` (never :mod:`random`)."""
    return secrets.token_urlsafe(nbytes)


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest; secrets are high-entropy, so a slow KDF adds cost without security."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secrets_equal(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time comparison: every secret comparison in the project goes through here."""
    if isinstance(a, str):
        a = a.encode("utf-8")
    if isinstance(b, str):
        b = b.encode("utf-8")
    return hmac.compare_digest(a, b)


def check_secret(presented: str, stored_hash: str | None) -> bool:
    """Whether ``presented`` hashes to ``stored_hash``, in constant time."""
    if not stored_hash or not presented:
        return False
    return secrets_equal(hash_secret(presented), stored_hash)


def split_token(value: str) -> tuple[str, str] | None:
    """Split a ``<selector>.<verifier>`` opaque token (refresh tokens, auth codes)."""
    if not value or len(value) > 512:
        return None
    selector, sep, verifier = value.partition(".")
    if not sep or not selector or not verifier:
        return None
    return selector, verifier


def make_opaque_token() -> tuple[str, str, str]:
    """A new opaque token: (selector used as row id, plain token to hand out, digest to store)."""
    selector = new_id()
    verifier = new_secret()
    return selector, f"{selector}.{verifier}", hash_secret(verifier)


def encode_access_token(
    keys: KeySet,
    *,
    jti: str,
    issuer: str | None,
    audience: str | list[str] | None,
    subject: str,
    client_id: str,
    scopes: list[str],
    issued_at: datetime,
    expires_at: datetime,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Sign an RFC 9068 access token with the current signing key."""
    claims: dict[str, Any] = dict(extra_claims or {})
    claims.update(
        {
            "sub": subject,
            "client_id": client_id,
            "jti": jti,
            "iat": int(issued_at.timestamp()),
            "nbf": int(issued_at.timestamp()),
            "exp": int(expires_at.timestamp()),
            "scope": " ".join(scopes),
        }
    )
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    key = keys.signing_key
    header = {"typ": "at+jwt", "alg": key.algorithm, "kid": key.kid}
    signing_input = _b64encode(_compact_json(header)) + "." + _b64encode(_compact_json(claims))
    signature = _sign(key, signing_input.encode("ascii"))
    return signing_input + "." + _b64encode(signature)


def _compact_json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sign(key: SigningKey, data: bytes) -> bytes:
    """A JWS signature (RFC 7518 §3) with the pre-parsed private key (PyJWT's result, less its
    per-call overhead)."""
    private_key = key.private_key
    if key.algorithm == "RS256" and isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if key.algorithm in _EC_ALGORITHMS and isinstance(private_key, ec.EllipticCurvePrivateKey):
        hash_cls, size = _EC_ALGORITHMS[key.algorithm]
        r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hash_cls())))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if key.algorithm == "EdDSA" and isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(data)
    raise KeyLoadError(f"Cannot sign with a {type(private_key).__name__} as {key.algorithm}.")


def _b64decode(segment: str) -> bytes:
    """Strict base64url (RFC 7515 §2): only the URL-safe alphabet, no padding, and canonical.

    Canonical: the decoder ignores the unused low bits of the last character, so without this
    check one signature has several spellings that all verify, i.e. several bearer strings for
    one token (distinct entries in the token cache, each needing its own eviction).
    """
    if not _B64URL.fullmatch(segment):
        raise InvalidToken("The access token is malformed.")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("The access token is malformed.") from exc
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != segment:
        raise InvalidToken("The access token is malformed.")
    return raw


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidToken("The access token is malformed.") from exc
    if not isinstance(value, dict):
        raise InvalidToken("The access token is malformed.")
    return value


def _verify_signature(key: SigningKey, signing_input: bytes, signature: bytes) -> bool:
    """Verify a JWS signature (RFC 7518 §3) with the pre-parsed public key of ``key``.

    The algorithm is ``key.algorithm`` (pinned to the key type), never the token's header.
    """
    public_key = key.public_key
    try:
        if key.algorithm == "RS256" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif key.algorithm in _EC_ALGORITHMS and isinstance(public_key, ec.EllipticCurvePublicKey):
            hash_cls, size = _EC_ALGORITHMS[key.algorithm]
            # RFC 7518 §3.4: the JWS signature is R || S, each exactly ``size`` octets.
            if len(signature) != 2 * size:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                       int.from_bytes(signature[size:], "big"))
            public_key.verify(der, signing_input, ec.ECDSA(hash_cls()))
        elif key.algorithm == "EdDSA" and isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, signing_input)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _int_claim(claims: Mapping[str, Any], name: str) -> int:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken("The access token is invalid.")
    return int(value)


def _check_claims(
    claims: dict[str, Any],
    *,
    issuer: str | None,
    audience: str | None,
    leeway: int,
    verify_exp: bool = True,
) -> None:
    """PyJWT's claim checks (RFC 7519 §4.1), with ``exp``, ``iat``, ``jti``, ``sub`` required."""
    for name in ("exp", "iat", "jti", "sub"):
        if claims.get(name) is None:
            raise InvalidToken("The access token is invalid.")
    now = time.time()
    if _int_claim(claims, "iat") > now + leeway:
        raise InvalidToken("The access token is invalid.")
    if "nbf" in claims and _int_claim(claims, "nbf") > now + leeway:
        raise InvalidToken("The access token is invalid.")
    # Revocation (RFC 7009) passes verify_exp=False so an expired token's refresh token can
    # still be revoked; ``exp`` must still be present and numeric.
    if _int_claim(claims, "exp") <= now - leeway and verify_exp:
        raise InvalidToken("The access token has expired.")
    if not isinstance(claims["sub"], str) or not isinstance(claims["jti"], str):
        raise InvalidToken("The access token is invalid.")
    if issuer is not None and claims.get("iss") != issuer:
        raise InvalidToken("The access token is invalid.")
    if audience is not None:
        aud = claims.get("aud")
        values = [aud] if isinstance(aud, str) else aud
        if (
            not values
            or not isinstance(values, list)
            or any(not isinstance(v, str) for v in values)
            or audience not in values
        ):
            raise InvalidToken("The access token is invalid.")


def decode_access_token(
    keys: KeySet,
    token: str,
    *,
    issuer: str | None = None,
    audience: str | None = None,
    leeway: int = 0,
    verify_exp: bool = True,
) -> dict[str, Any]:
    """Verify signature, ``kid``, algorithm, time claims (and ``iss``/``aud`` when configured).

    Fails closed: the algorithm comes from *our* key for the ``kid``, never from the token, so
    ``alg: none`` and HS256-with-the-public-key confusion are refused; any ``crit`` header or
    ``b64`` (RFC 7797) header is refused; tokens over :data:`MAX_TOKEN_LENGTH` are refused unread.

    The signature is checked with ``cryptography`` on the key parsed once at startup and the
    claims are checked here, keeping every check PyJWT's ``jwt.decode`` made (it cost ~4x the
    RSA verification itself): see ``tests/test_token_verification.py`` for the equivalence.
    """
    if not token or not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("The access token is malformed.")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("The access token is malformed.")
    header_b64, payload_b64, signature_b64 = parts
    header = _json_object(_b64decode(header_b64))
    if "crit" in header or "b64" in header:
        raise InvalidToken("The access token uses unsupported critical headers.")
    kid = header.get("kid")
    key = keys.verifying_key(kid) if isinstance(kid, str) else None
    if key is None or header.get("alg") != key.algorithm:
        raise InvalidToken("The access token was not signed by this server.")
    signature = _b64decode(signature_b64)
    # Check the payload's alphabet before it is used as signing input: a non-ASCII segment
    # must be refused as malformed, not fail while encoding.
    payload = _b64decode(payload_b64)
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    if not _verify_signature(key, signing_input, signature):
        raise InvalidToken("The access token is invalid.")
    claims = _json_object(payload)
    _check_claims(claims, issuer=issuer, audience=audience, leeway=leeway, verify_exp=verify_exp)
    return claims
