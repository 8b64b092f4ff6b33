"""Personal access tokens: issued by the app itself for a user (no HTTP round trip, no refresh)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..context import Context
from ..issuer import IssuedToken, issue_token
from ..scope_policy import resolve_scopes
from ..text import is_plain_text

GRANT_TYPE = "personal_access"
MAX_NAME = 255


def check_arguments(name: Any, scopes: Iterable[str]) -> list[str]:
    """The scope list of a ``create_token(name, scopes)`` call, or a ``TypeError`` /
    ``ValueError`` saying what is wrong: a string is not split into one scope per character."""
    if isinstance(scopes, str):
        raise TypeError(f"scopes must be a list of scope names, not a string: write "
                        f"[{scopes[:64]!r}] instead of {scopes[:64]!r}.")
    names = list(scopes)
    wrong = [s for s in names if not isinstance(s, str)]
    if wrong:
        raise TypeError(f"scopes must be scope names (strings); got {wrong[0]!r}.")
    if not isinstance(name, str):
        raise TypeError(f"A token's name is a string; got {type(name).__name__}.")
    if not name.strip():
        raise ValueError("The token's name is empty: give it a name the user will recognise, "
                         "e.g. create_token(\"CLI\", [...]).")
    if len(name) > MAX_NAME:
        raise ValueError(f"The token's name is {len(name)} characters long; at most "
                         f"{MAX_NAME} are allowed.")
    if not is_plain_text(name):
        raise ValueError("The token's name may not contain control characters.")
    return names


def create_personal_token(
    ctx: Context, *, client: Any, user_id: str, name: str, scopes: Iterable[str], user: Any = None
) -> IssuedToken:
    """Issue a named token for ``user_id`` through the personal access ``client``.

    An empty scope list gives a token with no scopes (not the default scope), as in Passport.
    """
    names = check_arguments(name, scopes)
    if names:
        names = resolve_scopes(ctx, names, client, GRANT_TYPE)
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
