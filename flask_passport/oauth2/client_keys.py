"""The keys a client signs its assertions with (RFC 7523 §2.2, OpenID Connect Core §9).

* ``private_key_jwt``: the public keys of the client's registered ``jwks`` (a JWK Set stored
  by value, RFC 7591 §2), or of the JWK Set at its ``jwks_uri``, fetched with
  :mod:`flask_passport.outbound` (https only, public addresses only, size and time capped) and
  cached per app for the document's ``max-age`` (clamped). An assertion naming a ``kid`` the
  cached set lacks makes one fresh fetch, at most once per :data:`REFETCH_INTERVAL` per URL,
  so a client can rotate keys without waiting for the cache and cannot make the server fetch
  on every request;
* ``client_secret_jwt``: its secret, decrypted from ``secret_encrypted``
  (:mod:`~flask_passport.jose.secret_box`), as an HMAC key.

A registered JWKS is parsed once per distinct text and kept in a small LRU cache: the text is
the cache key, so a changed registration is never served stale.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from ..jose import secret_box
from ..jose.jwk import MAX_JWKS_LENGTH, ClientKey, JWKError, hmac_key, loads_jwks, parse_jwks
from ..outbound import FetchError
from .context import Context

#: Seconds between two fresh fetches of one ``jwks_uri`` triggered by an unknown ``kid``.
REFETCH_INTERVAL = 60.0
#: The time a ``jwks_uri`` fetch may take in all (it happens inside a token request).
FETCH_TIMEOUT = 5.0
_refetched: OrderedDict[str, float] = OrderedDict()
_refetched_lock = threading.Lock()

PRIVATE_KEY_JWT = "private_key_jwt"
CLIENT_SECRET_JWT = "client_secret_jwt"
JWT_METHODS = (PRIVATE_KEY_JWT, CLIENT_SECRET_JWT)


def seals_secret(method: str | None) -> bool:
    """Whether clients authenticating with ``method`` keep an encrypted copy of their secret:
    ``client_secret_jwt`` only (an HMAC needs the key itself, jose/secret_box.py)."""
    return method == CLIENT_SECRET_JWT


def credential_kind(method: str | None) -> str:
    """What a client of ``method`` holds: ``none``, ``secret`` (basic or post, one family
    here), ``secret_jwt`` (a secret the server also keeps encrypted) or ``key`` (a key pair
    whose public half is registered). A registered client may not move between kinds."""
    if seals_secret(method):
        return "secret_jwt"
    if method == PRIVATE_KEY_JWT:
        return "key"
    return "none" if method in (None, "none") else "secret"


class NoClientKeys(Exception):
    """The client has no usable key for its method (nothing registered, or undecryptable)."""


@lru_cache(maxsize=256)
def _parsed(jwks_text: str) -> tuple[ClientKey, ...]:
    return tuple(parse_jwks(loads_jwks(jwks_text)))


def registered_keys(ctx: Context, client: Any, *, refresh: bool = False
                    ) -> tuple[ClientKey, ...]:
    """The public keys of a ``private_key_jwt`` client: its registered ``jwks``, else the set
    at its ``jwks_uri`` (``refresh``: fetched afresh, see :func:`may_refresh`)."""
    text = getattr(client, "jwks", None)
    if text:
        try:
            return _parsed(text)
        except JWKError:
            # Validated when registered; a row edited by hand since fails closed.
            raise NoClientKeys() from None
    url = getattr(client, "jwks_uri", None)
    if not url or ctx.fetch_json is None:
        raise NoClientKeys()
    if refresh and ctx.forget_fetched is not None:
        ctx.forget_fetched(url)
    try:
        document = ctx.fetch_json(url, max_bytes=MAX_JWKS_LENGTH, timeout=FETCH_TIMEOUT)
        return tuple(parse_jwks(document))
    except (FetchError, JWKError):
        raise NoClientKeys() from None


def may_refresh(client: Any) -> bool:
    """Whether an unknown ``kid`` may trigger a fresh fetch of the client's ``jwks_uri`` now
    (and if so, counts it): at most one per :data:`REFETCH_INTERVAL` per URL in this process."""
    url = getattr(client, "jwks_uri", None)
    if not url or getattr(client, "jwks", None):
        return False
    now = time.monotonic()
    with _refetched_lock:
        last = _refetched.get(url)
        if last is not None and now - last < REFETCH_INTERVAL:
            return False
        _refetched[url] = now
        _refetched.move_to_end(url)
        while len(_refetched) > 1000:
            _refetched.popitem(last=False)
    return True


def secret_key(client: Any, master_key: str | bytes | None) -> ClientKey:
    """The HMAC key of a ``client_secret_jwt`` client: its secret, decrypted."""
    stored = getattr(client, "secret_encrypted", None)
    if not stored:
        raise NoClientKeys()
    try:
        return hmac_key(secret_box.open_(master_key, client.id, stored))
    except secret_box.SecretBoxError:
        raise NoClientKeys() from None
