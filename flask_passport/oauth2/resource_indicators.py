"""Resource indicators (RFC 8707): which protected resources a token is for (its ``aud``).

One helper per rule, each raising the RFC's error:

* :func:`parse` (§2): each ``resource`` value an absolute URI without a fragment; at most
  :data:`MAX_RESOURCES` of them, each at most :data:`MAX_RESOURCE_LENGTH` characters, no control
  characters: ``invalid_target`` otherwise, before anything touches the database.
* :func:`check_allowed` (§2): each one registered on this server and allowed for the client
  (``allowed_resources``; ``None`` allows every registered resource): ``invalid_target``.
* :func:`narrow` (§2.2): at the token endpoint, a grant approved earlier (a code, a device
  code, a refresh token) may be narrowed to some of its resources, never widened.
* :func:`scopes_for` : a scope requested for resources none of which allows it is
  ``invalid_scope``; scopes not asked for in this request (defaults, or those of the grant)
  are kept only where a resource allows them.
* :func:`audience` : the token's ``aud``: the URI for one resource, the list for several.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..resources import (
    MAX_RESOURCE_URI_LENGTH,
    Resource,
    unique_resource_uris,
)
from ..scopes import WILDCARD
from .errors import OAuthError, invalid_scope

#: How many ``resource`` values one request may carry.
MAX_RESOURCES = 10
#: The longest ``resource`` value accepted.
MAX_RESOURCE_LENGTH = MAX_RESOURCE_URI_LENGTH
PARAMETER = "resource"


def invalid_target(description: str) -> OAuthError:
    """RFC 8707 §2: the requested resource is invalid, unknown or not allowed."""
    return OAuthError("invalid_target", description)


def parse(values: Sequence[str]) -> list[str]:
    """The ``resource`` values of one request, checked and de-duplicated in order."""
    if len(values) > MAX_RESOURCES:
        raise invalid_target(f"At most {MAX_RESOURCES} resource parameters may be sent.")
    try:
        return unique_resource_uris(values)
    except ValueError as exc:
        raise invalid_target(str(exc)) from None


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _normal_form(uri: str) -> str:
    """RFC 3986 §6.2.2-§6.2.3: scheme and host case-insensitive, the scheme's default port
    and an empty ``http(s)`` path (``/``) implied, so equivalent spellings compare equal."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return uri
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return uri
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        return uri  # userinfo: never equivalent to a registered resource
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{netloc}{parts.path or '/'}{query}"


def registered_form(registered: Mapping[str, Resource], uri: str) -> str:
    """The registered URI ``uri`` is an equivalent spelling of (``http://host:80`` for
    ``http://host/``), else ``uri`` itself: tokens name the resource as registered."""
    if uri in registered:
        return uri
    normal = _normal_form(uri)
    return next((known for known in registered if _normal_form(known) == normal), uri)


def check_allowed(registered: Mapping[str, Resource], client: Any,
                  uris: Iterable[str]) -> list[Resource]:
    """The registered resources named by ``uris``, each allowed for ``client``; checked at
    every grant (refresh included), so narrowing a client's list also binds earlier grants."""
    allowed = getattr(client, "allowed_resources", None)
    result: list[Resource] = []
    for uri in uris:
        uri = registered_form(registered, uri)
        resource = registered.get(uri)
        if resource is None:
            raise invalid_target(f"The resource {uri[:128]!r} is not known to this server.")
        if allowed is not None and uri not in allowed:
            raise invalid_target(f"This client may not request the resource {uri[:128]!r}.")
        result.append(resource)
    return result


def _dedupe(uris: Iterable[str]) -> list[str]:
    result: list[str] = []
    for uri in uris:
        if uri not in result:
            result.append(uri)
    return result


def _dedupe_resources(resources: list[Resource]) -> list[Resource]:
    """Two spellings of one resource name it once."""
    return list({r.uri: r for r in resources}.values())


def requested(registered: Mapping[str, Resource], client: Any,
              values: Sequence[str]) -> list[Resource]:
    """:func:`parse` then :func:`check_allowed`: the resources a new grant asks for."""
    return check_allowed(registered, client, parse(values))


def narrow(requested_uris: list[str], granted: Sequence[str] | None) -> list[str]:
    """RFC 8707 §2.2: the resources of a token made from an earlier grant: those asked for
    now if each was granted, else all granted ones; never one the grant did not include."""
    granted_list = list(granted or ())
    if not requested_uris:
        return granted_list
    wider = [uri for uri in requested_uris if uri not in granted_list]
    if wider:
        raise invalid_target(f"The resource {wider[0][:128]!r} was not part of the original "
                             "grant.")
    return requested_uris


def scopes_for(resources: Sequence[Resource], scopes: list[str], *, explicit: bool
               ) -> list[str]:
    """The scopes of a token for ``resources``. ``explicit``: the request named ``scopes``
    itself, so one that none of the resources allows is ``invalid_scope``; otherwise (the
    default scope, or the scopes of an earlier grant) such scopes are left out. ``*`` stands
    only where a resource allows any scope; an implicit ``*`` otherwise becomes every scope the
    resources allow."""
    if not resources:
        return scopes
    if any(r.scopes is None for r in resources):
        return scopes
    allowed: list[str] = []
    for resource in resources:
        allowed.extend(s for s in resource.scopes or () if s not in allowed)
    result: list[str] = []
    for scope in scopes:
        if scope in allowed:
            result.append(scope)
        elif explicit:
            raise invalid_scope(f"The scope {scope[:64]!r} is not available at the requested "
                                "resource(s).")
        elif scope == WILDCARD:
            result.extend(s for s in allowed if s not in result)
    return result


def audience(uris: Sequence[str] | None) -> str | list[str] | None:
    """RFC 9068 §3 ``aud``: the one resource as a string, several as a list, none: ``None``."""
    if not uris:
        return None
    return uris[0] if len(uris) == 1 else list(uris)


def for_new_grant(registered: Mapping[str, Resource], client: Any, values: Sequence[str],
                  scopes: list[str], *, explicit: bool) -> tuple[list[str] | None, list[str]]:
    """A grant made in this request (client credentials, password, a device or authorization
    request): the resource URIs it is for (``None``: none named) and its scopes."""
    resources = _dedupe_resources(requested(registered, client, values))
    return [r.uri for r in resources] or None, scopes_for(resources, scopes, explicit=explicit)


def for_earlier_grant(registered: Mapping[str, Resource], client: Any, values: Sequence[str],
                      granted: Sequence[str] | None, scopes: list[str], *, explicit: bool
                      ) -> tuple[list[str] | None, list[str]]:
    """A token from a grant approved earlier (code, device code, refresh token): the grant's
    resources, narrowed to those asked for now, each still registered and allowed for the
    client; and its scopes for them."""
    uris = narrow(_dedupe(registered_form(registered, u) for u in parse(values)), granted)
    resources = check_allowed(registered, client, uris)
    return uris or None, scopes_for(resources, scopes, explicit=explicit)
