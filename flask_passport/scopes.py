"""Scopes: the named permissions a token can carry, and the registry that defines them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: The scope a password or client-credentials request uses to ask for every defined scope.
WILDCARD = "*"

#: The OpenID Connect scopes (OIDC Core §5.4) and the descriptions the consent screen shows;
#: here, below both ``settings`` (which validates ``PASSPORT_OIDC_SCOPES``) and ``oauth2.oidc``.
OIDC_SCOPE_DESCRIPTIONS: dict[str, str] = {
    "openid": "Sign you in and know who you are",
    "profile": "See your basic profile (name, picture, locale)",
    "email": "See your email address",
    "address": "See your postal address",
    "phone": "See your phone number",
}


@dataclass(frozen=True)
class Scope:
    """A scope as the JSON API and the consent screen show it."""

    id: str
    description: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "description": self.description}


def parse_scope(value: str | None) -> list[str]:
    """Split an RFC 6749 §3.3 ``scope`` parameter into a de-duplicated, ordered list."""
    if not value:
        return []
    seen: dict[str, None] = {}
    for item in value.split(" "):
        if item:
            seen[item] = None
    return list(seen)


def format_scope(scopes: Iterable[str]) -> str:
    return " ".join(scopes)


def is_valid_scope_token(name: str) -> bool:
    """RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )."""
    return bool(name) and all(
        c == "\x21" or "\x23" <= c <= "\x5b" or "\x5d" <= c <= "\x7e" for c in name
    )


class ScopeRegistry:
    """The scopes an application defines (``tokens_can``) and its default scope."""

    def __init__(self) -> None:
        self._scopes: dict[str, str] = {}
        self._default: list[str] = []

    def define(self, scopes: dict[str, str]) -> None:
        for name in scopes:
            if not is_valid_scope_token(name) or name == WILDCARD:
                raise ValueError(f"{name!r} is not a valid scope name (RFC 6749 §3.3)")
        self._scopes.update(scopes)

    def set_default(self, scopes: Iterable[str] | str) -> None:
        names = parse_scope(scopes) if isinstance(scopes, str) else list(scopes)
        self._default = names

    @property
    def default(self) -> list[str]:
        return list(self._default)

    def ids(self) -> list[str]:
        return list(self._scopes)

    def all(self) -> list[Scope]:
        return [Scope(k, v) for k, v in self._scopes.items()]

    def has(self, name: str) -> bool:
        return name in self._scopes

    def find(self, names: Iterable[str]) -> list[Scope]:
        """The defined scopes among ``names``, in the order given (unknown names are dropped)."""
        return [Scope(n, self._scopes[n]) for n in names if n in self._scopes]
