"""OAuth 2.0 Protected Resource Metadata (RFC 9728), free of Flask.

A protected resource publishes a JSON document at a well-known URL derived from its identifier
(§3.1) naming the authorization servers that issue its tokens, its scopes and how it takes
tokens; clients find that URL in the ``resource_metadata`` parameter of a 401's
``WWW-Authenticate`` challenge (§5.1). The identifier is also what the resource's tokens must
carry in ``aud`` (RFC 8707 §2, RFC 9068 §4).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ..settings import ProtectedResource

#: RFC 9728 §3: the well-known URI suffix registered for this document.
WELL_KNOWN = "/.well-known/oauth-protected-resource"
#: RFC 6750 §2.1: tokens are taken from the Authorization header only (no form body, no query).
BEARER_METHODS = ("header",)
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _is_loopback(host: str | None) -> bool:
    return host in _LOOPBACK or bool(host and host.startswith("127."))


def url_problem(uri: Any, what: str = "The resource") -> str | None:
    """Why ``uri`` cannot identify a protected resource or an authorization server, or ``None``.

    RFC 9728 §1.2: an ``https`` URL with a host and no fragment (``http`` is accepted for a
    loopback host, for development). A query is allowed by the RFC but not supported here: the
    well-known URL of §3.1 would then carry it, and no route can be matched on one.
    """
    if not isinstance(uri, str) or not uri:
        return f"{what} identifier must be a non-empty string."
    if len(uri) > 2048 or any(ord(c) < 0x21 or ord(c) == 0x7F for c in uri):
        return f"{what} identifier {uri!r} has spaces, control characters or is too long."
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return f"{what} identifier {uri!r} is not a URL."
    if parts.scheme not in ("https", "http") or not host:
        return f"{what} identifier {uri!r} must be an absolute https:// URL."
    if parts.scheme == "http" and not _is_loopback(host):
        return f"{what} identifier {uri!r} must use https (http only for a loopback host)."
    if "#" in uri:
        return f"{what} identifier {uri!r} must not have a fragment (RFC 9728 §1.2)."
    if "?" in uri:
        return f"{what} identifier {uri!r} has a query, which is not supported."
    if parts.username is not None or parts.password is not None:
        return f"{what} identifier {uri!r} must not carry credentials."
    return None


def check_resource(uri: Any) -> str:
    """``uri`` if it is a valid resource identifier; else :class:`ValueError`."""
    problem = url_problem(uri)
    if problem:
        raise ValueError(problem)
    return str(uri)


def well_known_path(resource: str) -> str:
    """RFC 9728 §3.1: the metadata path for ``resource``, the well-known suffix inserted between
    the host and the resource's path (the slash right after the host of an identifier without
    a path is dropped; a path keeps its own, as clients such as oauth4webapi keep it)."""
    path = urlsplit(resource).path
    return WELL_KNOWN + ("" if path == "/" else path)


def metadata_url(resource: str) -> str:
    """The absolute URL of ``resource``'s metadata document (RFC 9728 §3.1)."""
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{well_known_path(resource)}"


def build_resource_metadata(
    resource: str,
    *,
    authorization_servers: Iterable[str],
    scopes_supported: Iterable[str] | None = None,
    resource_name: str | None = None,
    resource_documentation: str | None = None,
    jwks_uri: str | None = None,
    resource_signing_alg_values_supported: Iterable[str] | None = None,
    bearer_methods_supported: Iterable[str] = BEARER_METHODS,
) -> dict[str, Any]:
    """The RFC 9728 §2 document for ``resource`` (:class:`ValueError` for a bad identifier).

    ``resource`` is returned exactly as given: §3.3 has clients refuse a document whose
    ``resource`` differs from the identifier they derived its URL from.
    """
    document: dict[str, Any] = {"resource": check_resource(resource)}
    servers = list(authorization_servers)
    for server in servers:
        problem = url_problem(server, "An authorization server")
        if problem:
            raise ValueError(problem)
    if servers:
        document["authorization_servers"] = servers
    if jwks_uri:
        document["jwks_uri"] = jwks_uri
    if scopes_supported is not None:
        document["scopes_supported"] = list(scopes_supported)
    document["bearer_methods_supported"] = list(bearer_methods_supported)
    if resource_signing_alg_values_supported and jwks_uri:
        # §2: signed responses need keys to verify them with.
        document["resource_signing_alg_values_supported"] = list(
            resource_signing_alg_values_supported)
    if resource_name:
        document["resource_name"] = resource_name
    if resource_documentation:
        document["resource_documentation"] = resource_documentation
    return document


def document_for(config: ProtectedResource, *, issuer: str | None,
                 scopes: Iterable[str] | None = None) -> dict[str, Any]:
    """The document of a configured resource: its authorization servers default to ``issuer``
    and its scopes to ``scopes`` (the scopes the server defines)."""
    servers = config.authorization_servers
    if servers is None:
        servers = (issuer,) if issuer else ()
    return build_resource_metadata(
        config.resource,
        authorization_servers=servers,
        scopes_supported=config.scopes if config.scopes is not None else scopes,
        resource_name=config.name,
        resource_documentation=config.documentation,
    )
