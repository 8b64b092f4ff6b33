"""Personal access tokens: issued by the app itself for a user (no HTTP round trip, no refresh)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..context import Context
from ..errors import invalid_scope
from ..issuer import IssuedToken, issue_token
from ..scope_policy import resolve_scopes

GRANT_TYPE = "personal_access"


def create_personal_token(
    ctx: Context, *, client: Any, user_id: str, name: str, scopes: Iterable[str], user: Any = None
) -> IssuedToken:
    """Issue a named token for ``user_id`` through the personal access ``client``.

    An empty scope list gives a token with no scopes (not the default scope), as in Passport.
    """
    names = list(scopes)
    if names:
        names = resolve_scopes(ctx, names, client, GRANT_TYPE)
    if not name or len(name) > 255:
        raise invalid_scope("A personal access token needs a name of at most 255 characters.")
    return issue_token(
        ctx,
        client=client,
        user_id=user_id,
        scopes=names,
        lifetime=ctx.settings.personal_access_token_lifetime,
        grant_type=GRANT_TYPE,
        name=name,
        user=user,
    )
