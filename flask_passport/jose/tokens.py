"""Random secrets, their digests, and the RFC 9068 access tokens (signed and verified by
:mod:`flask_passport.jose.jws`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from . import jws
from .jws import MAX_TOKEN_LENGTH as MAX_TOKEN_LENGTH  # re-exported: the guard's size cap
from .keys import KeySet

#: Claims the server sets itself; a custom-claims hook cannot replace them.
RESERVED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "auth_time", "cnf"}
)


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
    dpop_jkt: str | None = None,
) -> str:
    """Sign an RFC 9068 access token (``typ: at+jwt``) with the current signing key; with
    ``dpop_jkt``, bound to that DPoP key by ``cnf.jkt`` (RFC 9449 §6.1)."""
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
    if dpop_jkt:
        claims["cnf"] = {"jkt": dpop_jkt}
    return jws.sign(claims, keys.signing_key, typ="at+jwt")


_MESSAGES = {
    jws.MALFORMED: "The access token is malformed.",
    jws.CRITICAL: "The access token uses unsupported critical headers.",
    jws.UNKNOWN_KEY: "The access token was not signed by this server.",
    jws.EXPIRED: "The access token has expired.",
}


def decode_access_token(
    keys: KeySet,
    token: str,
    *,
    issuer: str | None = None,
    audience: str | None = None,
    leeway: int = 0,
    verify_exp: bool = True,
) -> dict[str, Any]:
    """Verify an access token with one of our access-token keys (current or retired, never the
    ID-token key): :func:`flask_passport.jose.jws.verify` with ``exp``, ``iat``, ``jti`` and
    ``sub`` required, and ``iss`` / ``aud`` when configured.

    Fails closed (:class:`InvalidToken`): the algorithm comes from our key for the ``kid``,
    never from the token; ``crit`` and ``b64`` headers are refused; tokens over
    :data:`MAX_TOKEN_LENGTH` are refused unread.
    """
    try:
        return jws.verify(token, keys.verifying_key, issuer=issuer, audience=audience,
                          leeway=leeway, verify_exp=verify_exp)
    except jws.InvalidJWS as exc:
        raise InvalidToken(_MESSAGES.get(exc.reason, "The access token is invalid.")) from None
