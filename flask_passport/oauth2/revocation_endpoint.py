"""The token revocation endpoint (RFC 7009).

* §2.1: the client authenticates (confidential clients with their secret, public clients with
  their id); ``token`` is required, ``token_type_hint`` only orders the search.
* §2.1: a client may revoke only tokens issued to it. A token of another client, an unknown or
  already-revoked token all get the same 200, so the endpoint does not reveal which tokens exist.
* §2.1: revoking a refresh token revokes every token of the same grant (its rotation family and
  their access tokens); revoking an access token revokes the refresh token issued with it.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from .client_auth import authenticate_client
from .context import Context, TokenRequest
from .errors import NO_STORE, OAuthError, OAuthResponse, invalid_request, temporarily_unavailable
from .revocation import revoke_access_tokens, revoke_family
from .token_lookup import REFRESH_TOKEN, find_token, issued_to


def revoke(ctx: Context, request: TokenRequest) -> OAuthResponse:
    """Handle one revocation request and commit; always 200 once the client is authenticated."""
    try:
        client = authenticate_client(ctx, request)
        value = request.get("token")
        if not value:
            raise invalid_request("The token parameter is required.")
        found = find_token(ctx, value, request.get("token_type_hint"), verify_exp=False)
        if found is not None and issued_to(found, client):
            # The shared revocation functions cascade and send the signals.
            if found.kind == REFRESH_TOKEN:
                revoke_family(ctx, found.row.family_id, "revoked")
            else:
                revoke_access_tokens(ctx, [found.row.id], "revoked")
        ctx.commit()
    except OAuthError as exc:
        ctx.rollback()
        return exc.to_response()
    except SQLAlchemyError:
        ctx.rollback()
        # RFC 7009 §2.2.1: 503 tells the client to retry later.
        return temporarily_unavailable("The token could not be revoked now. Try again later.",
                                       headers={"Retry-After": "5"}).to_response()
    return OAuthResponse(200, {}, dict(NO_STORE))
