"""Registered resources (RFC 8707): the protected APIs a token may be audience-bound to.

A client names one with the ``resource`` parameter; the token's ``aud`` is then that URI. Only
registered resources can be named (``PASSPORT_RESOURCES`` or ``passport.add_resource``), so a
client cannot make the server mint tokens for an arbitrary audience.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .scopes import is_valid_scope_token

#: RFC 8707 §2 (and this server's cap): a resource URI longer than this is refused.
MAX_RESOURCE_URI_LENGTH = 2048

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def resource_uri_problem(uri: Any) -> str | None:
    """Why ``uri`` cannot be a resource indicator (RFC 8707 §2: an absolute URI, RFC 3986
    §4.3, without a fragment), or ``None`` when it can. The message is safe to show a client."""
    if not isinstance(uri, str) or not uri:
        return "A resource must be a non-empty string."
    if len(uri) > MAX_RESOURCE_URI_LENGTH:
        return f"A resource URI may be at most {MAX_RESOURCE_URI_LENGTH} characters long."
    # No control characters (NUL cannot be stored) and no spaces (not URI characters).
    if any(ch <= " " or ch == "\x7f" for ch in uri) or not uri.isprintable():
        return "A resource URI may not contain spaces or control characters."
    if "#" in uri:
        return "A resource URI must not contain a fragment (RFC 8707 §2)."
    scheme, colon, rest = uri.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme) or not rest:
        return "A resource must be an absolute URI (RFC 8707 §2)."
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "A resource must be an absolute URI (RFC 8707 §2)."
    if parts.scheme.lower() in ("http", "https") and not parts.hostname:
        return "A resource must be an absolute URI with a host (RFC 8707 §2)."
    return None


@dataclass(frozen=True)
class Resource:
    """A protected resource clients may ask tokens for.

    ``uri`` is the token's ``aud``; ``name`` is what the consent screen shows; ``scopes`` are
    the scope ids meaningful at this resource (``None``: any defined scope).
    """

    uri: str
    name: str
    scopes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        problem = resource_uri_problem(self.uri)
        if problem is not None:
            raise ValueError(f"Resource {str(self.uri)[:80]!r}: {problem}")
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"Resource {self.uri!r} needs a name (shown on the consent screen).")
        if self.scopes is not None:
            if isinstance(self.scopes, str):
                raise ValueError(f"Resource {self.uri!r}: scopes must be a list of scope ids, "
                                 "not a string.")
            scopes = tuple(self.scopes)
            for scope in scopes:
                if not isinstance(scope, str) or not is_valid_scope_token(scope):
                    raise ValueError(f"Resource {self.uri!r}: {scope!r} is not a scope id.")
            object.__setattr__(self, "scopes", scopes)

    def allows_scope(self, scope: str) -> bool:
        """Whether a token for this resource may carry ``scope``."""
        return self.scopes is None or scope in self.scopes

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "name": self.name,
                "scopes": None if self.scopes is None else list(self.scopes)}


def resource_from_config(item: Any) -> Resource:
    """One ``PASSPORT_RESOURCES`` entry: a :class:`Resource` or a dict ``{uri, name, scopes}``."""
    if isinstance(item, Resource):
        return item
    if not isinstance(item, Mapping):
        raise ValueError("PASSPORT_RESOURCES holds dicts {'uri': ..., 'name': ..., 'scopes': "
                         f"[...] or None}}, not {type(item).__name__}.")
    unknown = set(item) - {"uri", "name", "scopes"}
    if unknown:
        raise ValueError(f"PASSPORT_RESOURCES: unknown key {sorted(unknown)[0]!r} (use uri, "
                         "name and scopes).")
    scopes = item.get("scopes")
    if isinstance(scopes, str):
        raise ValueError(f"PASSPORT_RESOURCES: the scopes of {item.get('uri')!r} are a list of "
                         "scope ids, not a string.")
    return Resource(uri=item.get("uri"), name=item.get("name"),  # type: ignore[arg-type]
                    scopes=None if scopes is None else tuple(scopes))


def resources_from_config(value: Any) -> tuple[Resource, ...]:
    """``PASSPORT_RESOURCES``, validated at load: entries with distinct URIs."""
    if not value:
        return ()
    if isinstance(value, str | Mapping) or not isinstance(value, Iterable):
        raise ValueError("PASSPORT_RESOURCES must be a list of dicts {'uri', 'name', 'scopes'}.")
    result: list[Resource] = []
    seen: set[str] = set()
    for item in value:
        resource = resource_from_config(item)
        if resource.uri in seen:
            raise ValueError(f"PASSPORT_RESOURCES lists {resource.uri!r} twice.")
        seen.add(resource.uri)
        result.append(resource)
    return tuple(result)


def unique_resource_uris(values: Iterable[Any]) -> list[str]:
    """``values`` checked as resource URIs and de-duplicated in order; :class:`ValueError`
    with :func:`resource_uri_problem`'s message for the first bad one."""
    result: list[str] = []
    for value in values:
        problem = resource_uri_problem(value)
        if problem is not None:
            raise ValueError(problem)
        if value not in result:
            result.append(value)
    return result


def merge_resources(configured: Iterable[Resource], added: Iterable[Resource],
                    protected: Iterable[Any] = ()) -> dict[str, Resource]:
    """The registered resources by URI: the app's configuration, then ``add_resource`` ones
    (which replace a configured resource of the same URI), then each protected resource
    (``PASSPORT_PROTECTED_RESOURCE``, RFC 9728) not registered explicitly.

    A protected resource is published in metadata and is the tokens' default ``aud``, so a
    client naming it with ``resource`` (RFC 8707; the MCP SDK always does) must be able to:
    it counts as registered, with its ``name`` (else its identifier) and ``scopes``. The
    first one is this app itself, whose own routes (userinfo among them) serve every scope it
    defines: it allows any scope (its ``scopes_supported`` stays a hint, RFC 9728 §2). One
    that is not a valid resource URI is left out (``flask passport check`` reports it)."""
    merged = {r.uri: r for r in configured}
    merged.update((r.uri, r) for r in added)
    for index, item in enumerate(protected):
        uri = getattr(item, "resource", None)
        if not isinstance(uri, str) or uri in merged:
            continue
        try:
            merged[uri] = Resource(uri=uri, name=getattr(item, "name", None) or uri,
                                   scopes=None if index == 0 else getattr(item, "scopes", None))
        except ValueError:
            continue
    return merged
