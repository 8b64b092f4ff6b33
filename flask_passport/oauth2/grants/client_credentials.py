"""Client credentials grant (RFC 6749 §4.4): a machine-to-machine token with no user."""

from __future__ import annotations

from typing import Any

from ..context import Context, TokenRequest
from ..errors import unauthorized_client
from ..issuer import issue_token
from ..resource_indicators import for_new_grant
from ..scope_policy import resolve_scopes

GRANT_TYPE = "client_credentials"


def handle(ctx: Context, request: TokenRequest, client: Any) -> dict[str, Any]:
    if not client.confidential:
        raise unauthorized_client("Public clients cannot use the client credentials grant.")
    scopes = resolve_scopes(ctx, request.get("scope"), client, GRANT_TYPE)
    resources, scopes = for_new_grant(ctx.resources, client, request.resources, scopes,
                                      explicit=request.get("scope") is not None)
    # RFC 6749 §4.4.3: no refresh token; the client can always ask again.
    issued = issue_token(
        ctx,
        client=client,
        user_id=None,
        scopes=scopes,
        lifetime=ctx.settings.client_credentials_token_lifetime,
        grant_type=GRANT_TYPE,
        resources=resources,
    )
    return issued.to_response_body()
