"""Random secrets, their digests, and the signed JWT access tokens (RFC 9068)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jwt

from .keys import KeySet

#: Tokens larger than this are refused before any parsing (a DoS guard; ours are ~1 KiB).
MAX_TOKEN_LENGTH = 8192

#: Claims the server sets itself; a custom-claims hook cannot replace them.
RESERVED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "auth_time"}
)


def new_id() -> str:
    """A random row id (UUID4), used as client id and as access token ``jti``."""
    return str(uuid.uuid4())


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
    return jwt.encode(
        claims,
        key.private_key,
        algorithm=key.algorithm,
        headers={"kid": key.kid, "typ": "at+jwt"},
    )


class InvalidToken(Exception):
    """The bearer string is not a token this server signed and still accepts."""


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
    ``alg: none`` and HS256-with-the-public-key confusion are refused.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("The access token is malformed.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("The access token is malformed.") from exc
    if header.get("crit"):
        raise InvalidToken("The access token uses unsupported critical headers.")
    kid = header.get("kid")
    key = keys.verifying_key(kid) if isinstance(kid, str) else None
    if key is None or header.get("alg") != key.algorithm:
        raise InvalidToken("The access token was not signed by this server.")
    options: dict[str, Any] = {"require": ["exp", "iat", "jti", "sub"]}
    if audience is None:
        options["verify_aud"] = False
    if not verify_exp:
        # Revocation (RFC 7009) accepts an expired token so its refresh token can be revoked.
        options["verify_exp"] = False
    try:
        return jwt.decode(
            token,
            key.public_key,
            algorithms=[key.algorithm],
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            options=options,
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("The access token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("The access token is invalid.") from exc
