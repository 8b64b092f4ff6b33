"""Creating and finding clients: the library functions behind ``flask passport client`` and the
JSON API, callable from Python too."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..jose import secret_box, tokens
from ..jose.jwk import HMAC_SECRET_BYTES, JWKError, loads_jwks
from ..jose.keys import ID_TOKEN_ALGORITHMS
from ..oauth2.client_keys import seals_secret
from ..oauth2.text import is_display_name, is_plain_text
from ..resources import unique_resource_uris
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


#: ``token_endpoint_auth_method`` values of a client with credentials (RFC 7591 §2, OpenID
#: Connect Core §9); public kinds are ``none``.
CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt",
                             "client_secret_jwt")
#: Kinds of client with no secret.
PUBLIC_KINDS = ("public", "personal_access", "device")


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
    try:
        return unique_resource_uris(uris)
    except ValueError as exc:
        raise ClientError(str(exc)) from None


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
    dpop_bound_access_tokens: bool = False,
    require_pushed_authorization_requests: bool = False,
    auth_method: str | None = None,
    jwks: str | Mapping[str, object] | None = None,
    jwks_uri: str | None = None,
    secret_key: str | bytes | None = None,
) -> CreatedClient:
    """Create a client of ``kind`` (see :data:`CLIENT_KINDS`); the caller commits.

    ``allowed_resources`` (RFC 8707 resource URIs) limits the resources it may ask tokens
    for; ``None`` allows every registered one. ``dpop_bound_access_tokens``: every token
    request needs a DPoP proof (RFC 9449 §5.2). ``auth_method`` (a confidential kind only):
    ``private_key_jwt`` needs the client's public ``jwks`` (a JWK Set, JSON text or object) or
    its ``jwks_uri``, and gets no secret; ``client_secret_jwt`` gets a secret that is also
    stored encrypted with ``secret_key`` (jose/secret_box.py).
    """
    name = _checked_name_and_kind(name, kind, id_token_signed_response_alg)
    jwks_text = _check_auth_method(kind, auth_method, jwks, jwks_uri)
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
    if dpop_bound_access_tokens:  # RFC 9449 §5.2: every token request needs a DPoP proof
        client.dpop_bound_access_tokens = True
    # RFC 9126 §6. Set after construction: a replaced model may lack the column.
    client.require_pushed_authorization_requests = require_pushed_authorization_requests
    secret = _set_credentials(client, kind, auth_method, jwks_text, jwks_uri, secret_key)
    session.add(client)
    session.flush()
    return CreatedClient(client, secret)


def _checked_name_and_kind(name: str, kind: str, id_token_alg: str | None) -> str:
    """The stripped client name, once the name, kind and ID token algorithm are valid."""
    name = (name or "").strip()
    # Bidirectional controls too: the name is shown on the consent page (text.BIDI_CONTROLS).
    if not name or len(name) > 255 or not is_display_name(name):
        raise ClientError("A client needs a name of at most 255 characters, without control "
                          "or bidirectional control characters.")
    if kind not in CLIENT_KINDS:
        raise ClientError(f"Unknown client kind {kind!r}; use one of {', '.join(CLIENT_KINDS)}.")
    if id_token_alg not in (None, *ID_TOKEN_ALGORITHMS):
        raise ClientError("id_token_signed_response_alg must be one of "
                          f"{', '.join(ID_TOKEN_ALGORITHMS)}.")
    return name


def _set_credentials(client: Any, kind: str, auth_method: str | None, jwks_text: str | None,
                     jwks_uri: str | None, secret_key: str | bytes | None) -> str | None:
    """Give ``client`` its credential: the new plain secret (returned once), or none."""
    # Public (SPA, mobile, CLI) and personal access clients have no secret: personal tokens
    # are issued in-process and never authenticate the client over HTTP.
    secret = None if kind in PUBLIC_KINDS or auth_method == "private_key_jwt" \
        else client.set_secret(HMAC_SECRET_BYTES if seals_secret(auth_method) else 32)
    if auth_method is not None:
        client.token_endpoint_auth_method = auth_method
        client.jwks = jwks_text
        client.jwks_uri = jwks_uri
    if seals_secret(auth_method) and secret is not None:
        # Sealed before anything reaches the session: no key, no half-made client.
        client.id = client.id or tokens.new_id()
        try:
            client.secret_encrypted = secret_box.seal(secret_key, client.id, secret)
        except secret_box.SecretBoxError as exc:
            raise ClientError(str(exc)) from None
    return secret


def validate_jwks_uri(uri: str) -> None:
    """A ``jwks_uri`` (RFC 7591 §2): an absolute https URL (http only on a loopback host, for
    development; outbound.py refuses those unless PASSPORT_OUTBOUND_ALLOW_PRIVATE is on)."""
    if not isinstance(uri, str) or not 0 < len(uri) <= 2000 or not is_plain_text(uri) \
            or " " in uri:
        raise ClientError("jwks_uri must be a URL of at most 2000 characters.")
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
    except ValueError:
        raise ClientError("jwks_uri is not a valid URL.") from None
    loopback = host in ("127.0.0.1", "::1", "localhost")
    if not (parts.scheme == "https" or (parts.scheme == "http" and loopback)) or not host \
            or "@" in parts.netloc or parts.fragment:
        raise ClientError("jwks_uri must be an https URL without user information or "
                          "fragment.")


def _check_auth_method(kind: str, auth_method: str | None,
                       jwks: str | Mapping[str, object] | None,
                       jwks_uri: str | None = None) -> str | None:
    """The JSON text of ``jwks`` when ``auth_method`` is private_key_jwt; errors otherwise."""
    if auth_method is None:
        if jwks is not None or jwks_uri is not None:
            raise ClientError("jwks and jwks_uri are for the private_key_jwt auth method.")
        return None
    if auth_method not in CONFIDENTIAL_AUTH_METHODS or kind in PUBLIC_KINDS:
        raise ClientError("The auth method must be one of "
                          f"{', '.join(CONFIDENTIAL_AUTH_METHODS)}, for a confidential client.")
    if auth_method != "private_key_jwt":
        if jwks is not None or jwks_uri is not None:
            raise ClientError("jwks and jwks_uri are for the private_key_jwt auth method.")
        return None
    if (jwks is None) == (jwks_uri is None):
        raise ClientError("A private_key_jwt client needs its public keys: a JWKS or a "
                          "jwks_uri (one of them).")
    if jwks_uri is not None:
        validate_jwks_uri(jwks_uri)
        return None
    try:
        text = jwks if isinstance(jwks, str) else json.dumps(jwks, allow_nan=False)
        return json.dumps(loads_jwks(text), separators=(",", ":"))
    except (JWKError, ValueError, TypeError) as exc:
        message = str(exc) if isinstance(exc, JWKError) else "not a JWK Set."
        raise ClientError(f"jwks: {message}") from None


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
