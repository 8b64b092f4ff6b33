"""Creating and finding clients: the library functions behind ``flask passport client`` and the
JSON API, callable from Python too."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..jose.keys import ID_TOKEN_ALGORITHMS
from ..oauth2.text import is_plain_text
from ..resources import resource_uri_problem
from .models import Models

#: The kinds of client ``flask passport client`` makes, and their grant types.
CLIENT_KINDS: dict[str, list[str]] = {
    "authorization_code": ["authorization_code", "refresh_token"],
    "public": ["authorization_code", "refresh_token"],
    "password": ["password", "refresh_token"],
    "client_credentials": ["client_credentials"],
    "personal_access": ["personal_access"],
    # A resource server that introspects tokens (RFC 7662) and gets no tokens itself.
    "resource_server": ["introspect"],
    # A public device client (RFC 8628): TVs, CLIs; polls the token endpoint, no secret.
    "device": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
}


class ClientError(ValueError):
    """Invalid client data; the message says what to fix."""


@dataclass
class CreatedClient:
    """A new client and its plain secret (``None`` for public clients): shown once, never stored."""

    client: Any
    secret: str | None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = self.client.to_dict()
        data["secret"] = self.secret
        return data


def normalize_redirect_uris(uris: Iterable[str] | str | None) -> list[str]:
    """Split comma lists and check each URI is absolute, fragment-free and has no userinfo."""
    if uris is None:
        return []
    items = [uris] if isinstance(uris, str) else list(uris)
    result: list[str] = []
    for item in items:
        for uri in item.split(","):
            uri = uri.strip()
            if not uri:
                continue
            validate_redirect_uri(uri)
            if uri not in result:
                result.append(uri)
    return result


def validate_redirect_uri(uri: str) -> None:
    if len(uri) > 2000:
        raise ClientError("A redirect URI may be at most 2000 characters long.")
    if not is_plain_text(uri):
        raise ClientError("A redirect URI may not contain control characters.")
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise ClientError(f"{uri!r} is not a valid URI.") from exc
    if not parts.scheme or (parts.scheme in ("http", "https") and not parts.netloc):
        raise ClientError(f"Redirect URI {uri!r} must be absolute (RFC 6749 §3.1.2).")
    if parts.fragment or "#" in uri:
        raise ClientError(f"Redirect URI {uri!r} must not contain a fragment (RFC 6749 §3.1.2).")
    if "@" in parts.netloc:
        raise ClientError(f"Redirect URI {uri!r} must not contain user information.")
    if parts.scheme.lower() in ("javascript", "data", "vbscript", "file"):
        raise ClientError(f"Redirect URI scheme {parts.scheme!r} is not allowed.")


def normalize_resources(uris: Iterable[str] | None) -> list[str] | None:
    """A client's ``allowed_resources``: absolute URIs without fragment (RFC 8707 §2), each
    once; ``None`` stays ``None`` (every registered resource)."""
    if uris is None:
        return None
    if isinstance(uris, str):
        raise ClientError("allowed_resources is a list of resource URIs, not a string.")
    result: list[str] = []
    for uri in uris:
        problem = resource_uri_problem(uri)
        if problem is not None:
            raise ClientError(problem)
        if uri not in result:
            result.append(uri)
    return result


def create_client(
    session: Session,
    models: Models,
    *,
    name: str,
    kind: str = "authorization_code",
    redirect_uris: Iterable[str] | str | None = None,
    user_id: str | None = None,
    first_party: bool = False,
    allowed_scopes: list[str] | None = None,
    grant_types: list[str] | None = None,
    access_token_lifetime: int | None = None,
    refresh_token_lifetime: int | None = None,
    post_logout_redirect_uris: Iterable[str] | str | None = None,
    id_token_signed_response_alg: str | None = None,
    allowed_resources: Iterable[str] | None = None,
) -> CreatedClient:
    """Create a client of ``kind`` (see :data:`CLIENT_KINDS`); the caller commits.
    ``allowed_resources`` (RFC 8707 resource URIs) limits the resources it may ask tokens
    for; ``None`` allows every registered one."""
    name = (name or "").strip()
    if not name or len(name) > 255 or not is_plain_text(name):
        raise ClientError("A client needs a name of at most 255 characters, without control "
                          "characters.")
    if kind not in CLIENT_KINDS:
        raise ClientError(f"Unknown client kind {kind!r}; use one of {', '.join(CLIENT_KINDS)}.")
    if id_token_signed_response_alg not in (None, *ID_TOKEN_ALGORITHMS):
        raise ClientError("id_token_signed_response_alg must be one of "
                          f"{', '.join(ID_TOKEN_ALGORITHMS)}.")
    uris = normalize_redirect_uris(redirect_uris)
    resources = normalize_resources(allowed_resources)
    grants = list(grant_types) if grant_types is not None else list(CLIENT_KINDS[kind])
    if "authorization_code" in grants and not uris:
        raise ClientError("An authorization code client needs at least one redirect URI.")
    client = models.Client(
        name=name,
        user_id=user_id,
        redirect_uris=uris,
        grant_types=grants,
        allowed_scopes=allowed_scopes,
        first_party=first_party,
        revoked=False,
        access_token_lifetime=access_token_lifetime,
        refresh_token_lifetime=refresh_token_lifetime,
        post_logout_redirect_uris=normalize_redirect_uris(post_logout_redirect_uris) or None,
    )
    if id_token_signed_response_alg is not None:  # a replaced model may lack the column
        client.id_token_signed_response_alg = id_token_signed_response_alg
    if resources is not None:
        client.allowed_resources = resources
    # Public (SPA, mobile, CLI) and personal access clients have no secret: personal tokens
    # are issued in-process and never authenticate the client over HTTP.
    secret = None if kind in ("public", "personal_access", "device") else client.set_secret()
    session.add(client)
    session.flush()
    return CreatedClient(client, secret)


def find_personal_access_client(session: Session, models: Models, client_id: str | None) -> Any:
    """The configured personal access client, else the newest one ``install`` created."""
    Client = models.Client
    if client_id:
        client = session.get(Client, client_id)
        if client is not None and not client.revoked and client.personal_access_client:
            return client
        return None
    candidates = session.scalars(
        sa.select(Client)
        .where(Client.user_id.is_(None), Client.revoked.is_(False))
        .order_by(Client.created_at.desc())
    )
    for client in candidates:
        if client.personal_access_client:
            return client
    return None
