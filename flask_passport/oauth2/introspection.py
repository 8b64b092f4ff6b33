"""The token introspection endpoint (RFC 7662).

Who may call it (§2.1, §4): any authenticated *confidential* client, about the tokens issued to
itself (what openid-client's ``tokenIntrospection`` and Authlib's ``introspect_token`` do); a
client whose ``grant_types`` contain ``"introspect"`` (:data:`INTROSPECT_PERMISSION`), i.e. a
resource server registered as a client (``flask passport client --resource-server`` or
``create_client(kind="resource_server")``), about any token. A token of another client is
``{"active": false}`` to the rest, exactly like an unknown one (§2.2: the answer must not tell a
client that a token it may not see exists). Bad credentials get 401; public clients, which
cannot authenticate, 401 too.

What it answers (§2.2): ``{"active": false}`` for anything expired, revoked (token or client),
unknown, of another issuer or not verifiable with our keys; otherwise ``active``, ``scope``,
``client_id``, ``sub``, ``exp``, ``iat``, ``nbf``, ``token_type``, ``iss``, ``aud``, ``jti``.
``token_type`` is ``"Bearer"`` for access tokens (``"DPoP"`` with ``cnf.jkt`` for DPoP-bound
ones, RFC 9449 §6.2) and ``"refresh_token"`` for refresh tokens.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ..scopes import format_scope
from .client_auth import authenticate_client
from .context import Context, TokenRequest
from .errors import (
    NO_STORE,
    OAuthError,
    OAuthResponse,
    invalid_client,
    invalid_request,
    temporarily_unavailable,
)
from .resource_indicators import audience as resource_audience
from .token_lookup import ACCESS_TOKEN, FoundToken, find_token, issued_to

#: The entry in a client's ``grant_types`` that lets it introspect tokens.
INTROSPECT_PERMISSION = "introspect"

INACTIVE: dict[str, Any] = {"active": False}


def introspect(ctx: Context, request: TokenRequest) -> OAuthResponse:
    """Handle one introspection request (read-only: nothing is written)."""
    try:
        client = authenticate_client(ctx, request)
        if not client.confidential:
            raise invalid_client("Only confidential clients may introspect tokens.",
                                 basic_attempted=request.authorization is not None)
        value = request.get("token")
        if not value:
            raise invalid_request("The token parameter is required.")
        found = find_token(ctx, value, request.get("token_type_hint"))
        if found is not None and not may_see(client, found):
            found = None
        body = describe(ctx, found)
    except OAuthError as exc:
        ctx.rollback()
        return exc.to_response()
    except SQLAlchemyError:
        ctx.rollback()
        return temporarily_unavailable(
            "The token could not be introspected now. Try again later.").to_response()
    ctx.rollback()  # end the read transaction
    return OAuthResponse(200, body, dict(NO_STORE))


def may_see(client: Any, found: FoundToken) -> bool:
    """Whether ``client`` may learn about the token: a resource server about any token, any
    other client about the tokens issued to itself."""
    return client.has_grant_type(INTROSPECT_PERMISSION) or issued_to(found, client)


def describe(ctx: Context, found: FoundToken | None) -> dict[str, Any]:
    """The RFC 7662 §2.2 response for a looked-up token."""
    if found is None:
        return dict(INACTIVE)
    now = ctx.now()
    access = found.access_row
    client = ctx.session.get(ctx.models.Client, access.client_id)
    if client is None or client.revoked or found.row.revoked or found.row.expires_at <= now:
        return dict(INACTIVE)
    public_id = getattr(client, "public_id", access.client_id)  # a document client's URL
    subject = access.user_id if access.user_id is not None else public_id
    body: dict[str, Any] = {
        "active": True,
        "scope": format_scope(access.scopes or ()),
        "client_id": public_id,
        "sub": subject,
        "exp": int(found.row.expires_at.timestamp()),
        "iat": int(found.row.created_at.timestamp()),
    }
    if found.kind == ACCESS_TOKEN:
        claims = found.claims or {}
        # RFC 9449 §6.2: a DPoP-bound token says so, with the key it is bound to.
        body.update(token_type="DPoP" if "cnf" in claims else "Bearer", jti=found.row.id)
        for name in ("iss", "aud", "nbf", "cnf"):
            if name in claims:
                body[name] = claims[name]
    else:
        body.update(token_type="refresh_token", jti=found.row.id)
        if getattr(found.row, "dpop_jkt", None):
            body["cnf"] = {"jkt": found.row.dpop_jkt}
        if ctx.issuer:
            body["iss"] = ctx.issuer
        # RFC 8707: a refresh token is for every resource of its grant.
        aud = resource_audience(getattr(found.row, "resources", None)) or ctx.audience
        if aud:
            body["aud"] = aud
    return body
