"""Implicit grant (RFC 6749 §4.2): the access token goes straight into the redirect's fragment.

Off by default (RFC 9700 §2.1.2 deprecates it); ``passport.enable_implicit_grant()`` turns it on.
No refresh token is ever issued (RFC 6749 §4.2.2).
"""

from __future__ import annotations

from typing import Any

from ...scopes import format_scope
from ..context import Context
from ..issuer import issue_token

GRANT_TYPE = "implicit"


def issue(ctx: Context, client: Any, user: Any, user_id: str, scopes: list[str],
          resources: list[str] | None = None) -> dict[str, str]:
    """Issue the token (for ``resources``, RFC 8707, when given); return the fragment
    parameters (without ``state``)."""
    issued = issue_token(
        ctx,
        client=client,
        user_id=user_id,
        scopes=scopes,
        lifetime=ctx.settings.access_token_lifetime,
        grant_type=GRANT_TYPE,
        with_refresh=False,
        user=user,
        resources=resources,
    )
    return {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": str(issued.expires_in),
        "scope": format_scope(issued.scopes),
    }
