"""OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document).

With ``PASSPORT_CLIENT_ID_METADATA_DOCUMENTS`` on, a ``client_id`` that is an ``https`` URL names
a public client described by the JSON document at that URL (what the MCP authorization spec
prefers over dynamic registration). :func:`resolve` checks the URL (§3), fetches the document
through :mod:`flask_passport.outbound` (5 KiB, 5 seconds, no redirects, public addresses only),
validates it (§4: its ``client_id`` is the URL exactly; the rest like RFC 7591 metadata, through
:func:`~.registration.validate` in its open mode) and keeps it as a client row keyed by
``metadata_document_url``, so codes and tokens keep their foreign keys. The row is the cache: it
is used until ``metadata_document_expires_at`` (the response's ``Cache-Control: max-age``,
clamped to [:data:`MIN_TTL`, :data:`MAX_TTL`]), then the document is fetched again.

Every refusal is an :class:`~.errors.OAuthError` (``invalid_request`` for a malformed URL,
``invalid_client`` for a document that cannot be used), raised before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..jose import tokens
from ..outbound import FetchError, FetchResult, check_host
from . import registration
from .context import Context
from .errors import OAuthError
from .text import is_plain_text

#: The draft's limits on what a server fetches: a small document, quickly.
MAX_DOCUMENT_BYTES = 5 * 1024
FETCH_TIMEOUT = 5.0
MAX_URL_LENGTH = 2048
#: Bounds on how long a fetched document is trusted: a floor so a document cannot make every
#: request fetch it again (``no-store`` still does), a ceiling so a changed one is seen.
MIN_TTL = 60
MAX_TTL = 24 * 3600
#: Grant types a document client may have: it is public, so nothing that needs a secret.
DOCUMENT_GRANTS = ("authorization_code", "refresh_token")


def looks_like_url(client_id: str) -> bool:
    """Whether ``client_id`` is meant as a document URL (other ids never contain ``://``)."""
    return client_id[:8].lower().startswith(("https://", "http://"))


def enabled_for(ctx: Context, client_id: str) -> bool:
    """Whether ``client_id`` is to be resolved as a client ID metadata document."""
    return bool(ctx.settings.client_id_metadata_documents) and looks_like_url(client_id)


def bad_url(description: str) -> OAuthError:
    return OAuthError("invalid_request", f"The client_id URL is not valid: {description}")


def unusable(description: str) -> OAuthError:
    return OAuthError("invalid_client", f"The client metadata document cannot be used: "
                      f"{description}", status=401)


def check_url(url: str, *, allow_private: bool) -> str:
    """§3: ``https`` (``http`` only to loopback in development), a host, a path without dot
    segments, no userinfo, no fragment, no query (the draft's SHOULD NOT, kept strict here: the
    URL is an identifier compared as a string), at most 2048 characters."""
    if len(url) > MAX_URL_LENGTH:
        raise bad_url(f"it is longer than {MAX_URL_LENGTH} characters.")
    if not is_plain_text(url) or any(c.isspace() for c in url):
        raise bad_url("it contains whitespace or control characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise bad_url("it cannot be parsed.") from None
    if "#" in url:
        raise bad_url("it must not contain a fragment.")
    if "?" in url:
        raise bad_url("it must not contain a query.")
    if "@" in parts.netloc:
        raise bad_url("it must not contain userinfo.")
    try:
        check_host(parts.hostname or "")
    except FetchError as exc:
        raise bad_url(exc.reason) from None
    scheme = parts.scheme.lower()
    loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if scheme != "https" and not (scheme == "http" and allow_private and loopback):
        raise bad_url("it must use https.")
    if len(parts.path) < 2:
        raise bad_url("it must have a path (https://host/path).")
    if any(unquote(seg) in (".", "..") for seg in parts.path.split("/")):
        raise bad_url("it must not contain . or .. path segments.")
    return url


def _auth_method(document: Mapping[str, Any]) -> None:
    """§4.1: a document client is public; a secret cannot be published in a document."""
    if "client_secret" in document or "client_secret_expires_at" in document:
        raise unusable("it must not contain a client_secret (anyone can read it).")
    method = document.get("token_endpoint_auth_method", "none")
    if method == "private_key_jwt":
        raise unusable("token_endpoint_auth_method private_key_jwt is not supported by this "
                       "server yet; use none (a public client with PKCE).")
    if isinstance(method, str) and method.startswith("client_secret"):
        raise unusable(f"token_endpoint_auth_method {method} needs a shared secret, which a "
                       "public document cannot hold; use none.")
    if method != "none":
        raise unusable("token_endpoint_auth_method must be none.")


def validate_document(ctx: Context, url: str, document: Mapping[str, Any]
                      ) -> registration.Metadata:
    """§4: the document names this URL as its ``client_id``, is a public client, and its RFC
    7591 metadata passes the same rules as an open dynamic registration."""
    if document.get("client_id") != url:
        raise unusable("its client_id is not the URL it was fetched from.")
    _auth_method(document)
    if not document.get("redirect_uris"):
        raise unusable("it has no redirect_uris.")
    grants = document.get("grant_types", ["authorization_code"])
    if not isinstance(grants, list) or not all(g in DOCUMENT_GRANTS for g in grants):
        raise unusable(f"grant_types may only hold {' and '.join(DOCUMENT_GRANTS)}.")
    try:
        metadata = registration.validate(ctx, document, open_mode=True)
    except OAuthError as exc:
        raise unusable(exc.description) from None
    if "client_name" not in document:  # the default would hide who the client is
        metadata = registration.Metadata(
            client_name=urlsplit(url).netloc, redirect_uris=metadata.redirect_uris,
            grant_types=metadata.grant_types, auth_method=metadata.auth_method,
            scopes=metadata.scopes, extra=metadata.extra)
    return metadata


def ttl_for(max_age: float) -> int:
    """Seconds the copied metadata is trusted for a response's ``max-age`` (-1: not said)."""
    if max_age == 0:
        return 0
    if max_age < 0:
        return MIN_TTL
    return int(min(max(max_age, MIN_TTL), MAX_TTL))


def find(ctx: Context, url: str) -> Any:
    """The document client row for ``url`` (no fetch), or ``None``."""
    if len(url) > MAX_URL_LENGTH or "\x00" in url:
        return None
    Client = ctx.models.Client
    return ctx.session.scalars(
        sa.select(Client).where(Client.metadata_document_url == url)).first()


def _fetch(ctx: Context, url: str) -> FetchResult:
    if ctx.fetch_document is None:
        raise unusable("this server cannot fetch documents.")
    try:
        return ctx.fetch_document(url, MAX_DOCUMENT_BYTES, FETCH_TIMEOUT)
    except FetchError as exc:
        raise unusable(exc.reason) from None


def _save(ctx: Context, client: Any, url: str, metadata: registration.Metadata,
          ttl: int) -> Any:
    """Create or refresh the row; a row another request created meanwhile is refreshed."""
    now = ctx.now()
    if client is None:
        client = ctx.models.Client(
            id=tokens.new_id(), name=metadata.client_name, user_id=None, first_party=False,
            revoked=False, registered=True, created_at=now, updated_at=now,
            metadata_document_url=url)
        registration.store_metadata(client, metadata)
        client.metadata_document_expires_at = now + timedelta(seconds=ttl)
        try:
            with ctx.session.begin_nested():  # a savepoint: losing a race keeps the request
                ctx.session.add(client)
        except IntegrityError:
            client = find(ctx, url)
            if client is None or client.revoked:
                raise unusable("the client is unknown or has been revoked.") from None
        else:
            return client
    registration.store_metadata(client, metadata)
    client.metadata_document_expires_at = now + timedelta(seconds=ttl)
    client.updated_at = now
    return client


def resolve(ctx: Context, client_id: str) -> Any:
    """The client row for the document at ``client_id``, fetched again once expired.

    A revoked row refuses its URL (an administrator blocked it) until it is purged.
    """
    url = check_url(client_id, allow_private=ctx.settings.outbound_allow_private)
    client = find(ctx, url)
    if client is not None and client.revoked:
        raise unusable("the client has been revoked.")
    expires = None if client is None else client.metadata_document_expires_at
    if client is not None and expires is not None and expires > ctx.now():
        return client
    result = _fetch(ctx, url)
    metadata = validate_document(ctx, url, result.document)
    return _save(ctx, client, url, metadata, ttl_for(result.max_age))


def host_of(client: Any) -> str | None:
    """The host (and port) of a document client's URL, what its consent page names first:
    in its ASCII (IDNA) form, the name that was resolved and fetched (:func:`check_host`), so
    a homoglyph like ``https://\u0430pple.com`` (Cyrillic a) shows as ``xn--pple-43d.com``."""
    url = getattr(client, "metadata_document_url", None)
    if not isinstance(url, str) or not url:
        return None
    parts = urlsplit(url)
    try:
        host = check_host(parts.hostname or "")
        port = parts.port
    except (FetchError, ValueError):
        return parts.netloc.encode("ascii", "backslashreplace").decode("ascii")
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port is not None else host


def by_client_id(ctx: Context, client_id: str) -> Any:
    """The client ``client_id`` names, for lookups that must not fetch (a pending consent, a
    logout): a document URL by its row, else a row ``id`` that is not a document client's
    (a document client is known by its URL only)."""
    if looks_like_url(client_id):
        return find(ctx, client_id) if ctx.settings.client_id_metadata_documents else None
    if len(client_id) > 64 or "\x00" in client_id:
        return None
    client = ctx.session.get(ctx.models.Client, client_id)
    if client is not None and getattr(client, "metadata_document_url", None):
        return None
    return client
