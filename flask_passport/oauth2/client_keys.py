"""The keys a client signs its assertions with (RFC 7523 §2.2, OpenID Connect Core §9).

* ``private_key_jwt``: the public keys of the client's registered ``jwks`` (a JWK Set stored
  by value, RFC 7591 §2);
* ``client_secret_jwt``: its secret, decrypted from ``secret_encrypted``
  (:mod:`~flask_passport.jose.secret_box`), as an HMAC key.

A registered JWKS is parsed once per distinct text and kept in a small LRU cache: the text is
the cache key, so a changed registration is never served stale.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..jose import secret_box
from ..jose.jwk import ClientKey, JWKError, hmac_key, loads_jwks, parse_jwks

PRIVATE_KEY_JWT = "private_key_jwt"
CLIENT_SECRET_JWT = "client_secret_jwt"
JWT_METHODS = (PRIVATE_KEY_JWT, CLIENT_SECRET_JWT)


class NoClientKeys(Exception):
    """The client has no usable key for its method (nothing registered, or undecryptable)."""


@lru_cache(maxsize=256)
def _parsed(jwks_text: str) -> tuple[ClientKey, ...]:
    return tuple(parse_jwks(loads_jwks(jwks_text)))


def registered_keys(client: Any) -> tuple[ClientKey, ...]:
    """The public keys of a ``private_key_jwt`` client's registered ``jwks``."""
    text = getattr(client, "jwks", None)
    if not text:
        raise NoClientKeys()
    try:
        return _parsed(text)
    except JWKError:
        # Validated when registered; a row edited by hand since fails closed.
        raise NoClientKeys() from None


def secret_key(client: Any, master_key: str | bytes | None) -> ClientKey:
    """The HMAC key of a ``client_secret_jwt`` client: its secret, decrypted."""
    stored = getattr(client, "secret_encrypted", None)
    if not stored:
        raise NoClientKeys()
    try:
        return hmac_key(secret_box.open_(master_key, client.id, stored))
    except secret_box.SecretBoxError:
        raise NoClientKeys() from None
