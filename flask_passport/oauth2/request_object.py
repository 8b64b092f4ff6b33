"""JWT-secured authorization requests (RFC 9101): the ``request`` parameter.

A request object is a JWT signed by the client with a key of its registered JWK Set
(:func:`~.client_keys.registered_keys`); it is accepted at ``/oauth/authorize`` and at
``/oauth/par`` alike, and its claims *replace* the request's parameters (§6.3: only
``client_id`` is read from outside, and must be the same).

* §6.1-§6.2: an asymmetric signature (:data:`~flask_passport.jose.jwk.ASYMMETRIC_ALGORITHMS`);
  ``none`` and HMAC algorithms are refused, and so is a key of another type than its alg.
* §4, §10.2: ``iss`` is the client, ``aud`` the issuer; ``exp`` is required and at most
  :data:`MAX_LIFETIME` ahead, ``iat``/``nbf`` not in the future, ``iat`` not older than
  :data:`MAX_AGE`; ``jti`` is required and used once (the shared replay store).
* §5: ``request`` and ``request_uri`` may not be nested inside.

Every failure is :class:`InvalidRequestObject` (``invalid_request_object``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from ..jose import jws
from ..jose.jwk import ASYMMETRIC_ALGORITHMS
from .client_keys import NoClientKeys, may_refresh, registered_keys
from .context import MAX_PARAM_LENGTH, Context

#: The signing algorithms of request objects (advertised in the metadata).
ALGORITHMS = ASYMMETRIC_ALGORITHMS
#: The claims every request object carries here (RFC 9101 §4 and §10.2; ``jti`` makes it
#: single-use, ``exp`` bounds how long its ``jti`` is remembered).
REQUIRED_CLAIMS = ("iss", "aud", "exp", "jti", "client_id")
#: A request object may not be valid longer than this ahead (seconds).
MAX_LIFETIME = 600
#: A request object issued longer ago than this is refused (seconds).
MAX_AGE = 600
#: JWT claims that describe the object, not the authorization request (RFC 7519 §4.1).
JWT_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nbf", "jti", "sub"})
#: The replay-store namespace of request object ``jti`` values, one per client.
REPLAY_NAMESPACE = "request-object:"


class InvalidRequestObject(Exception):
    """RFC 9101 §6.2 ``invalid_request_object``; the message says why, without secrets."""


def parameters(ctx: Context, client: Any, request_object: str, client_id: str | None
               ) -> dict[str, str]:
    """The authorization parameters of ``client``'s verified ``request_object``; the ``jti``
    is spent only once every check has passed."""
    try:
        claims = _verified(ctx, client, request_object)
    except NoClientKeys:
        raise InvalidRequestObject("The client has no registered keys (jwks or jwks_uri) to "
                                   "verify a request object with.") from None
    except jws.InvalidJWS as exc:
        raise InvalidRequestObject(f"The request object could not be verified ({exc}).") \
            from None
    _check_claims(ctx, client, claims, client_id)
    params = _parameters(claims)
    if ctx.replay is None:
        # Fail closed: without a replay store a jti cannot be single-use.
        raise InvalidRequestObject("Request objects cannot be checked for replay here.")
    expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
    if not ctx.replay.use_once(REPLAY_NAMESPACE + client.id, claims["jti"], expires_at):
        raise InvalidRequestObject("The request object was already used (jti).")
    return params


def _verified(ctx: Context, client: Any, request_object: str) -> dict[str, Any]:
    """The claims of ``request_object`` signed with one of ``client``'s registered keys."""

    def verify(keys: Any) -> dict[str, Any]:
        return jws.verify_client_jws(request_object, keys, algorithms=ALGORITHMS,
                                     audiences=(ctx.issuer,), require=REQUIRED_CLAIMS,
                                     leeway=ctx.settings.leeway)

    try:
        return verify(registered_keys(ctx, client))
    except jws.InvalidJWS as exc:
        # Key rotation: a kid the (cached) jwks_uri set lacks gets one fresh fetch, as for
        # client assertions.
        if exc.reason != jws.UNKNOWN_KEY or not may_refresh(client):
            raise
        return verify(registered_keys(ctx, client, refresh=True))


def _check_claims(ctx: Context, client: Any, claims: dict[str, Any],
                  client_id: str | None) -> None:
    """§4-§5: who issued it and for whom, its lifetime and its ``jti``."""
    leeway = ctx.settings.leeway
    now = time.time()
    if claims["iss"] != client.id or claims["client_id"] != client.id or client_id != client.id:
        raise InvalidRequestObject("The request object's iss and client_id must be the "
                                   "client_id of the request.")
    if float(claims["exp"]) > now + MAX_LIFETIME + leeway:
        raise InvalidRequestObject(f"The request object's exp is more than {MAX_LIFETIME} "
                                   "seconds ahead.")
    if "iat" in claims and float(claims["iat"]) < now - MAX_AGE - leeway:
        raise InvalidRequestObject("The request object is too old (iat).")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise InvalidRequestObject("The request object's jti must be a non-empty string.")


def _parameters(claims: dict[str, Any]) -> dict[str, str]:
    """The claims as authorization parameters: strings (integers such as ``max_age`` as their
    decimal text); nested request objects and anything else are refused."""
    params: dict[str, str] = {}
    for name, value in claims.items():
        if name in JWT_CLAIMS:
            continue
        if name in ("request", "request_uri"):
            raise InvalidRequestObject(f"A request object may not contain {name}.")
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or len(value) > MAX_PARAM_LENGTH or len(name) > 64:
            raise InvalidRequestObject(f"The request object's {name[:32]!r} claim is not a "
                                       "short string.")
        params[name] = value
    return params
