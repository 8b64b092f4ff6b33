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
* RFC 9449 §10.1: a ``DPoP`` header is verified as at the token endpoint (``htu`` is this
  endpoint's URL) and its key's thumbprint is stored as the request's ``dpop_jkt``, binding
  the code; a ``dpop_jkt`` naming another key is ``invalid_dpop_proof``.
* The stored ``client_id`` is the one the client uses (a client ID metadata document
  client's URL, :attr:`Client.public_id`), which the ``client_id`` at ``/oauth/authorize``
  must repeat.
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
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..jose.tokens import secrets_equal
from . import dpop
from .authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    expand_request_object,
    validate_request,
)
from .client_auth import authenticate_client
from .context import MAX_PARAM_LENGTH, Context, TokenRequest
from .errors import NO_STORE, OAuthError, OAuthResponse, invalid_request, temporarily_unavailable
from .resource_indicators import PARAMETER as RESOURCE
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
        return temporarily_unavailable().to_response()
    # A rotated DPoP nonce goes out with the answer (RFC 9449 §8.2).
    return OAuthResponse(201, body, {**NO_STORE, **ctx.response_headers})


def _push(ctx: Context, request: TokenRequest) -> dict[str, Any]:
    client = authenticate_client(ctx, request)
    count_client(ctx, client)
    if "request_uri" in request.params:
        # RFC 9126 §2.1: a pushed request cannot itself point elsewhere.
        raise invalid_request("The request_uri parameter cannot be pushed.")
    # RFC 9449 §10.1: a DPoP proof here is checked as at the token endpoint, and binds the
    # code to its key just as dpop_jkt does.
    proof_jkt = dpop.check_par_request(ctx, request)
    params = {k: v for k, v in request.params.items() if k not in _AUTH_PARAMS}
    # With HTTP Basic the body may omit client_id; the request is the authenticated client's,
    # named as the client names itself (a client ID metadata document client by its URL: its
    # row id is never accepted in its place at /oauth/authorize).
    params["client_id"] = client.public_id
    try:
        # RFC 9126 §3: a request object is verified here, and what is stored is its
        # parameters (its jti is spent now, so the stored request never holds it again).
        params, _, resources = expand_request_object(ctx, params, set(), list(request.resources))
        if proof_jkt is not None:
            given = params.get("dpop_jkt")
            # RFC 9449 §10.1: with both, the request MUST be rejected if dpop_jkt does not
            # match the thumbprint of the proof's key.
            if given is not None and not secrets_equal(given, proof_jkt):
                raise dpop.invalid_dpop_proof("The dpop_jkt parameter does not match the key "
                                              "of the DPoP proof (RFC 9449 §10.1).")
            params["dpop_jkt"] = proof_jkt
        items = [*params.items(), *((RESOURCE, uri) for uri in resources)]
        validate_request(ctx, items, pushed=True)
    except (AuthorizationPageError, AuthorizationRedirectError) as exc:
        # §2.3: the authorization endpoint's error codes, in the token endpoint's shape.
        raise OAuthError(exc.error, exc.description) from None
    return store(ctx, client, stored_form(items))


def stored_form(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Authorization parameters as a pushed request keeps them: one value each, but every
    ``resource`` in a list (RFC 8707 §2: the one parameter that may repeat)."""
    params: dict[str, Any] = {}
    for key, value in items:
        if key == RESOURCE:
            params.setdefault(RESOURCE, []).append(value)
        else:
            params.setdefault(key, value)
    return params


def as_items(stored: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The parameters of a kept pushed request (:func:`stored_form`) as request items."""
    items: list[tuple[str, str]] = []
    for key, value in stored.items():
        if key == RESOURCE and isinstance(value, list):
            items.extend((RESOURCE, str(uri)) for uri in value)
        else:
            items.append((str(key), str(value)))
    return items


def store(ctx: Context, client: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Keep validated ``params`` of ``client`` under a new reference; return the §2.2
    response body. Also used to push a request again (the consent page's account switch).
    ``params["client_id"]`` is the client's public id, what :func:`take` is given."""
    Pushed = ctx.models.PushedAuthorization
    now = ctx.now()
    lifetime = ctx.settings.par_lifetime
    # Keep the table small: this client's expired requests go when it pushes another.
    ctx.session.execute(
        sa.delete(Pushed).where(Pushed.client_id == client.id, Pushed.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    reference = secrets.token_urlsafe(32)
    request_uri = REQUEST_URI_PREFIX + reference
    ctx.session.add(Pushed(id=_digest(request_uri), client_id=client.id, request=params,
                           created_at=now, expires_at=now + timedelta(seconds=lifetime)))
    return {"request_uri": request_uri, "expires_in": lifetime}


def take(ctx: Context, client_id: str, request_uri: str) -> dict[str, Any] | None:
    """Use the pushed request ``request_uri`` of ``client_id`` (the id the client uses: a
    document client's URL) once: its parameters, or ``None`` when it is unknown, expired,
    another client's or already used (RFC 9126 §4)."""
    digest = _digest(request_uri)
    if digest is None or not client_id or len(client_id) > MAX_PARAM_LENGTH \
            or "\x00" in client_id:
        return None
    Pushed = ctx.models.PushedAuthorization
    live = sa.and_(Pushed.id == digest, Pushed.expires_at > ctx.now())
    row = ctx.session.execute(sa.select(Pushed.client_id, Pushed.request).where(live)).first()
    if row is None:
        return None
    stored = as_stored(row.request)
    # The pushed parameters name the client as it names itself (set by _push after
    # authenticating it): another client's request_uri is refused and stays unused.
    if stored.get("client_id") != client_id:
        return None
    # The conditional DELETE is the single use: of two concurrent uses one deletes the row,
    # the other deletes nothing and is refused.
    deleted = cast("sa.CursorResult[Any]", ctx.session.execute(
        sa.delete(Pushed).where(live, Pushed.client_id == row.client_id)
        .execution_options(synchronize_session=False)))
    if deleted.rowcount != 1:
        return None
    return stored


def as_stored(stored: Any) -> dict[str, Any]:
    """A kept pushed request read back: strings, and ``resource``'s list of strings."""
    return {str(k): [str(uri) for uri in v] if k == RESOURCE and isinstance(v, list) else str(v)
            for k, v in dict(stored).items()}
