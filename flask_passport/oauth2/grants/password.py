"""Resource owner password credentials grant (RFC 6749 §4.3).

Off by default, as in Passport 12+ and per RFC 9700 §2.4 (the client sees the password); enable it
with ``passport.enable_password_grant()`` only for first-party clients you trust.
"""

from __future__ import annotations

from typing import Any

from ..context import Context, TokenRequest
from ..errors import invalid_grant, invalid_request, unsupported_grant_type
from ..issuer import issue_token
from ..resource_indicators import for_new_grant
from ..scope_policy import resolve_scopes
from ..throttle import begin_password_attempt, password_succeeded

GRANT_TYPE = "password"


def handle(ctx: Context, request: TokenRequest, client: Any) -> dict[str, Any]:
    if not ctx.settings.password_grant:
        raise unsupported_grant_type(
            "The password grant is disabled. Prefer the authorization code grant with PKCE."
        )
    username = request.get("username")
    password = request.get("password")
    if not username or not password:
        raise invalid_request("The username and password parameters are required.")
    scopes = resolve_scopes(ctx, request.get("scope"), client, GRANT_TYPE)
    resources, scopes = for_new_grant(ctx.resources, client, request.resources, scopes,
                                      explicit=request.get("scope") is not None)
    # Counted before the check (RFC 6749 §4.3.2), so parallel guesses cannot all be evaluated
    # while the failures are still uncounted; known and unknown usernames count alike.
    begin_password_attempt(ctx, username)
    user = ctx.find_user(username)
    # check_password runs even for an unknown user, so timing does not reveal which usernames exist.
    if not ctx.check_password(user, password) or user is None:
        raise invalid_grant("The user credentials were incorrect.")
    password_succeeded(ctx, username)
    issued = issue_token(
        ctx,
        client=client,
        user_id=ctx.user_id_of(user),
        scopes=scopes,
        lifetime=ctx.settings.access_token_lifetime,
        grant_type=GRANT_TYPE,
        with_refresh=True,
        user=user,
        resources=resources,
    )
    return issued.to_response_body()
