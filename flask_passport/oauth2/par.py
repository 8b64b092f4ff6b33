"""Pushed authorization requests (RFC 9126): ``POST /oauth/par`` and the ``request_uri`` it
answers with.

* §2.1: the client authenticates exactly as at the token endpoint
  (:func:`~.client_auth.authenticate_client`: confidential clients with their secret, public
  ones with their ``client_id``) and sends every authorization parameter in the form body;
  they are checked by the very rules of ``/oauth/authorize``
  (:func:`~.authorization.validate_request`), so a request that would fail there fails here,
  before the user's browser is involved. ``request_uri`` inside is refused; a ``request``
  object (RFC 9101) is verified and its parameters are what is pushed.
* §2.2: the request is stored server-side and named by
  ``urn:ietf:params:oauth:request_uri:<reference>``; only the SHA-256 digest of the reference
  is stored, so the table does not hold usable references. It lives ``PASSPORT_PAR_LIFETIME``
  seconds.
* §2.3: errors are the token endpoint's JSON (``invalid_client`` 401, the authorization
  endpoint's codes with 400).
* §4: :func:`take` uses a reference once, with one conditional ``DELETE``: of two uses,
  concurrent or not, exactly one finds the row. Nothing here commits but :func:`push`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from .authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    expand_request_object,
    validate_request,
)
from .client_auth import authenticate_client
from .context import Context, TokenRequest
from .errors import NO_STORE, OAuthError, OAuthResponse, invalid_request
from .throttle import count_client

log = logging.getLogger("flask_passport")

#: RFC 9126 §2.2: the URN prefix of every request_uri this server issues.
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
#: The random part of a request_uri issued here (``secrets.token_urlsafe(32)``: 43 characters).
_REFERENCE = re.compile(r"[A-Za-z0-9_-]{32,64}")
#: Client authentication parameters: they authenticate the push, they are not the request.
_AUTH_PARAMS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


def is_pushed(request_uri: str) -> bool:
    """Whether ``request_uri`` has the form of one issued here (not necessarily a live one)."""
    return request_uri.startswith(REQUEST_URI_PREFIX)


def _digest(request_uri: str) -> str | None:
    """The stored key of ``request_uri``, or ``None`` if it cannot be one of ours (checked
    before any query, so oversized or malformed input never reaches the database)."""
    reference = request_uri.removeprefix(REQUEST_URI_PREFIX)
    if reference == request_uri or not _REFERENCE.fullmatch(reference):
        return None
    return hashlib.sha256(reference.encode("ascii")).hexdigest()


def push(ctx: Context, request: TokenRequest) -> OAuthResponse:
    """Handle one pushed authorization request and commit: 201 with the ``request_uri``."""
    try:
        body = _push(ctx, request)
        ctx.commit()
    except OAuthError as exc:
        ctx.rollback()
        return exc.to_response()
    except SQLAlchemyError:
        ctx.rollback()
        log.exception("Database error while storing a pushed authorization request")
        return OAuthError("temporarily_unavailable", "The authorization server could not "
                          "complete the request. Try again later.", status=503).to_response()
    return OAuthResponse(201, body, dict(NO_STORE))


def _push(ctx: Context, request: TokenRequest) -> dict[str, Any]:
    client = authenticate_client(ctx, request)
    count_client(ctx, client)
    if "request_uri" in request.params:
        # RFC 9126 §2.1: a pushed request cannot itself point elsewhere.
        raise invalid_request("The request_uri parameter cannot be pushed.")
    params = {k: v for k, v in request.params.items() if k not in _AUTH_PARAMS}
    # With HTTP Basic the body may omit client_id; the request is the authenticated client's.
    params["client_id"] = client.id
    try:
        # RFC 9126 §3: a request object is verified here, and what is stored is its
        # parameters (its jti is spent now, so the stored request never holds it again).
        params, _ = expand_request_object(ctx, params, set())
        validate_request(ctx, params.items(), pushed=True)
    except (AuthorizationPageError, AuthorizationRedirectError) as exc:
        # §2.3: the authorization endpoint's error codes, in the token endpoint's shape.
        raise OAuthError(exc.error, exc.description) from None
    return store(ctx, client.id, params)


def store(ctx: Context, client_id: str, params: dict[str, str]) -> dict[str, Any]:
    """Keep validated ``params`` of ``client_id`` under a new reference; return the §2.2
    response body. Also used to push a request again (the consent page's account switch)."""
    Pushed = ctx.models.PushedAuthorization
    now = ctx.now()
    lifetime = ctx.settings.par_lifetime
    # Keep the table small: this client's expired requests go when it pushes another.
    ctx.session.execute(
        sa.delete(Pushed).where(Pushed.client_id == client_id, Pushed.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    reference = secrets.token_urlsafe(32)
    request_uri = REQUEST_URI_PREFIX + reference
    ctx.session.add(Pushed(id=_digest(request_uri), client_id=client_id, request=params,
                           created_at=now, expires_at=now + timedelta(seconds=lifetime)))
    return {"request_uri": request_uri, "expires_in": lifetime}


def take(ctx: Context, client_id: str, request_uri: str) -> dict[str, str] | None:
    """Use the pushed request ``request_uri`` of ``client_id`` once: its parameters, or
    ``None`` when it is unknown, expired, another client's or already used (RFC 9126 §4)."""
    digest = _digest(request_uri)
    if digest is None or len(client_id) > 64 or "\x00" in client_id:
        return None
    Pushed = ctx.models.PushedAuthorization
    live = sa.and_(Pushed.id == digest, Pushed.client_id == client_id,
                   Pushed.expires_at > ctx.now())
    stored = ctx.session.execute(sa.select(Pushed.request).where(live)).scalar()
    if stored is None:
        return None
    # The conditional DELETE is the single use: of two concurrent uses one deletes the row,
    # the other deletes nothing and is refused.
    deleted = cast("sa.CursorResult[Any]", ctx.session.execute(
        sa.delete(Pushed).where(live).execution_options(synchronize_session=False)))
    if deleted.rowcount != 1:
        return None
    return {str(k): str(v) for k, v in dict(stored).items()}
