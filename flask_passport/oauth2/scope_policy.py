"""Which scopes a token gets: RFC 6749 §3.3 validation, the default scope, ``*`` and narrowing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..scopes import WILDCARD, parse_scope
from .context import Context
from .errors import invalid_scope

#: Grants that may ask for ``*`` (every scope), as in Passport.
WILDCARD_GRANTS = frozenset({"password", "client_credentials", "personal_access"})


def resolve_scopes(
    ctx: Context, requested: str | Iterable[str] | None, client: Any, grant_type: str
) -> list[str]:
    """Validate the requested scopes for ``client``; none requested means the default scope."""
    names = parse_scope(requested) if isinstance(requested, str | None) else list(requested)
    if not names:
        names = ctx.scopes.default
    for name in names:
        if name == WILDCARD:
            if grant_type not in WILDCARD_GRANTS:
                raise invalid_scope("The '*' scope is only available to the password, client "
                                    "credentials and personal access grants.")
            if len(names) > 1:
                raise invalid_scope("The '*' scope cannot be combined with other scopes.")
        elif not ctx.scopes.has(name):
            raise invalid_scope(f"The requested scope {name[:64]!r} is not defined.")
    check_allowed_scopes(names, client, "This client may not request the scope")
    return names


def check_allowed_scopes(names: list[str], client: Any,
                         refusal: str = "This client may no longer use the scope") -> None:
    """The client's allow-list (``allowed_scopes``; ``None`` allows every scope) holds for every
    grant, refresh included, so narrowing it also binds tokens issued before. ``*`` passes only
    if listed itself; a named scope outside the list is reported before it."""
    allowed = getattr(client, "allowed_scopes", None)
    if allowed is None:
        return
    outside = sorted((n for n in names if n not in allowed), key=lambda n: n == WILDCARD)
    if outside:
        raise invalid_scope(f"{refusal} {outside[0][:64]!r}.")


def narrow_scopes(ctx: Context, requested: str | None, original: list[str]) -> list[str]:
    """A refresh may keep or narrow the original scopes, never widen them (RFC 6749 §6)."""
    names = parse_scope(requested)
    if not names:
        return list(original)
    if WILDCARD in original:
        for name in names:
            if name != WILDCARD and not ctx.scopes.has(name):
                raise invalid_scope(f"The requested scope {name[:64]!r} is not defined.")
        return names
    wider = [n for n in names if n not in original]
    if wider:
        raise invalid_scope(f"The scope {wider[0][:64]!r} was not granted originally.")
    return names
