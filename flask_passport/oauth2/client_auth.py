"""Client authentication at the token endpoint (RFC 6749 §2.3.1): HTTP Basic or body parameters."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from ..jose import tokens
from . import client_metadata_document
from .context import Context, TokenRequest
from .errors import OAuthError, invalid_client, invalid_request
from .rows import get_by_id
from .text import is_plain_text


@dataclass
class ClientCredentials:
    client_id: str
    client_secret: str | None
    basic: bool


def read_credentials(request: TokenRequest) -> ClientCredentials | None:
    """The credentials the client presented; exactly one method may be used."""
    header = request.authorization
    body_id = request.get("client_id")
    body_secret = request.get("client_secret")
    if header and header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise invalid_client("The Basic authorization header is malformed.",
                                 basic_attempted=True) from exc
        raw_id, sep, raw_secret = decoded.partition(":")
        if not sep or not raw_id:
            raise invalid_client("The Basic authorization header is malformed.",
                                 basic_attempted=True)
        if body_secret:
            raise invalid_request("Use one client authentication method, not two.")
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if not is_plain_text(client_id) or not is_plain_text(secret):
            # RFC 6749 §2.3.1: both are VSCHAR; a control character can match no client.
            raise invalid_client("The Basic authorization header is malformed.",
                                 basic_attempted=True)
        if body_id and not tokens.secrets_equal(body_id, client_id):
            raise invalid_request("client_id in the body does not match the Basic header.")
        return ClientCredentials(client_id, secret, basic=True)
    if body_id:
        return ClientCredentials(body_id, body_secret, basic=False)
    return None


def authenticate_client(ctx: Context, request: TokenRequest, *, required: bool = True) -> Any:
    """Return the authenticated client row, or raise ``invalid_client``.

    Confidential clients must prove their secret (compared as a digest, in constant time);
    public clients identify themselves by id and must not send a secret.
    """
    creds = read_credentials(request)
    if creds is None:
        raise invalid_client("Client authentication failed: no client credentials were given.",
                             basic_attempted=False)
    failed = invalid_client("Client authentication failed.", basic_attempted=creds.basic)
    if client_metadata_document.enabled_for(ctx, creds.client_id):
        return _document_client(ctx, creds)
    if len(creds.client_id) > 64:
        raise failed
    client = get_by_id(ctx.session, ctx.models.Client, creds.client_id)
    if client is not None and getattr(client, "metadata_document_url", None):
        client = None  # a document client is known by its URL only
    if client is None or client.revoked:
        # Hash anyway so a missing client costs the same as a wrong secret.
        tokens.check_secret(creds.client_secret or "x", tokens.hash_secret("x" * 8))
        raise failed
    if client.confidential:
        if not creds.client_secret or not client.check_secret(creds.client_secret):
            raise failed
    elif creds.client_secret:
        raise failed
    return client


def _document_client(ctx: Context, creds: ClientCredentials) -> Any:
    """A client ID metadata document client: public, so it must send no secret."""
    try:
        client = client_metadata_document.resolve(ctx, creds.client_id)
    except OAuthError as exc:
        raise invalid_client(exc.description, basic_attempted=creds.basic) from None
    if creds.client_secret:
        raise invalid_client("A client ID metadata document client is public: it sends no "
                             "client_secret.", basic_attempted=creds.basic)
    return client
