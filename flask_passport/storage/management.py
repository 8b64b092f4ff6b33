"""Managing a user's clients and tokens: the library functions behind the JSON APIs
(``/oauth/clients``, ``/oauth/personal-access-tokens``, ``/oauth/tokens``), callable from Python.

Every query goes through ``ctx.models`` so an app's own models (``use_client_model`` …) are used.
Nothing here commits; the caller commits through :meth:`Context.commit`, which then sends the
signals the work queued.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ..jose import secret_box, tokens
from ..jose.jwk import HMAC_SECRET_BYTES
from ..oauth2.client_keys import credential_kind, seals_secret
from ..oauth2.context import Context
from ..oauth2.errors import OAuthError
from ..oauth2.grants.personal_access import create_personal_token
from ..oauth2.issuer import IssuedToken
from ..oauth2.revocation import revoke_access_tokens
from ..oauth2.text import is_plain_text
from .clients import (
    ClientError,
    CreatedClient,
    create_client,
    find_personal_access_client,
)

MAX_NAME = 255


class ValidationError(ValueError):
    """Invalid input: ``errors`` maps each field to its messages (the API's 422 body)."""

    def __init__(self, errors: dict[str, list[str]], message: str = "The given data was invalid."
                 ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "errors": self.errors}


class NotFound(LookupError):
    """The row does not exist, or is not the user's (both look the same to the caller)."""


# -- validation ------------------------------------------------------------------------------


def _check_name(value: Any, errors: dict[str, list[str]]) -> str:
    if not isinstance(value, str) or not value.strip():
        errors.setdefault("name", []).append("The name field is required.")
        return ""
    name: str = value.strip()
    if not is_plain_text(name):
        errors.setdefault("name", []).append("The name may not contain control characters.")
    if len(name) > MAX_NAME:
        errors.setdefault("name", []).append(
            f"The name may not be longer than {MAX_NAME} characters."
        )
    return name


def _check_redirects(value: Any, errors: dict[str, list[str]], *, required: bool) -> list[str]:
    """A list of URIs or a comma-separated string; every URI absolute, no fragment, no userinfo."""
    if value is None or value == "" or value == []:
        if required:
            errors.setdefault("redirect_uris", []).append(
                "At least one redirect URI is required."
            )
        return []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [part for v in value for part in v.split(",")]
    else:
        errors.setdefault("redirect_uris", []).append(
            "The redirect URIs must be a list of strings or a comma-separated string."
        )
        return []
    from .clients import validate_redirect_uri

    uris: list[str] = []
    for item in items:
        uri = item.strip()
        if not uri:
            continue
        try:
            validate_redirect_uri(uri)
        except ClientError as exc:
            errors.setdefault("redirect_uris", []).append(str(exc))
            continue
        if uri not in uris:
            uris.append(uri)
    if required and not uris and "redirect_uris" not in errors:
        errors.setdefault("redirect_uris", []).append("At least one redirect URI is required.")
    if len(uris) > 20:
        errors.setdefault("redirect_uris", []).append("A client may have at most 20 redirect URIs.")
    return uris


def _redirects_of(data: dict[str, Any]) -> Any:
    """``redirect_uris`` (list) or Passport's ``redirect`` (comma list)."""
    return data["redirect_uris"] if "redirect_uris" in data else data.get("redirect")


# -- clients ---------------------------------------------------------------------------------


def _user_clients(ctx: Context, user_id: str) -> sa.Select[Any]:
    Client = ctx.models.Client
    return sa.select(Client).where(Client.user_id == user_id, Client.revoked.is_(False))


def list_clients(ctx: Context, user_id: str) -> list[Any]:
    """The user's clients (not deleted), oldest first."""
    Client = ctx.models.Client
    return list(ctx.session.scalars(_user_clients(ctx, user_id).order_by(Client.created_at)))


def find_client(ctx: Context, user_id: str, client_id: str) -> Any:
    """The user's client ``client_id``, or :class:`NotFound` (also for another user's client)."""
    Client = ctx.models.Client
    if not isinstance(client_id, str) or len(client_id) > 64 or not is_plain_text(client_id):
        raise NotFound(client_id)
    client = ctx.session.scalars(_user_clients(ctx, user_id).where(Client.id == client_id)).first()
    if client is None:
        raise NotFound(client_id)
    return client


def create_user_client(ctx: Context, user_id: str, data: dict[str, Any]) -> CreatedClient:
    """A new authorization-code client owned by the user; ``confidential: false`` makes a public
    (PKCE) client without a secret. The plain secret is in the result, and nowhere else."""
    errors: dict[str, list[str]] = {}
    name = _check_name(data.get("name"), errors)
    uris = _check_redirects(_redirects_of(data), errors, required=True)
    confidential = data.get("confidential", True)
    if not isinstance(confidential, bool):
        errors.setdefault("confidential", []).append(
            "The confidential field must be true or false."
        )
    if errors:
        raise ValidationError(errors)
    kind = "authorization_code" if confidential else "public"
    return create_client(ctx.session, ctx.models, name=name, kind=kind, redirect_uris=uris,
                         user_id=user_id)


def update_client(ctx: Context, user_id: str, client_id: str, data: dict[str, Any]) -> Any:
    """Change the name and redirect URIs of the user's client."""
    client = find_client(ctx, user_id, client_id)
    errors: dict[str, list[str]] = {}
    name = _check_name(data.get("name"), errors)
    uris = _check_redirects(_redirects_of(data), errors,
                            required=client.has_grant_type("authorization_code"))
    if errors:
        raise ValidationError(errors)
    client.name = name
    client.redirect_uris = uris
    client.updated_at = ctx.now()
    ctx.session.flush()
    return client


def regenerate_secret(ctx: Context, user_id: str, client_id: str) -> CreatedClient:
    """Give the user's confidential client a new secret (the old one stops working at once)."""
    client = find_client(ctx, user_id, client_id)
    kind = credential_kind(client.auth_method)
    if kind not in ("secret", "secret_jwt"):
        raise ValidationError({"secret": ["This client has no secret to regenerate (a public "
                                          "client, or one that authenticates with a key)."]})
    if seals_secret(client.auth_method):
        # The sealed copy must follow, else the old secret would still sign assertions.
        plain = tokens.new_secret(HMAC_SECRET_BYTES)
        try:
            sealed = secret_box.seal(ctx.secret_box_key, client.id, plain)
        except secret_box.SecretBoxError as exc:
            raise ValidationError({"secret": [str(exc)]}) from None
        client.secret_hash, client.secret_encrypted = tokens.hash_secret(plain), sealed
    else:
        plain = client.set_secret()
    client.updated_at = ctx.now()
    ctx.session.flush()
    return CreatedClient(client, plain)


def delete_client(ctx: Context, user_id: str, client_id: str) -> None:
    """Delete (revoke) the user's client and revoke every token and code it holds."""
    client = find_client(ctx, user_id, client_id)
    revoke_client(ctx, client)


def revoke_client(ctx: Context, client: Any) -> int:
    """Mark ``client`` revoked and revoke its access tokens (and their refresh tokens) and codes.

    The rows stay (tokens reference the client); a revoked client is hidden and refused everywhere.
    """
    AccessToken, AuthCode = ctx.models.AccessToken, ctx.models.AuthCode
    client.revoked = True
    client.updated_at = ctx.now()
    ids = list(ctx.session.scalars(
        sa.select(AccessToken.id).where(AccessToken.client_id == client.id,
                                        AccessToken.revoked.is_(False))
    ))
    count = revoke_access_tokens(ctx, ids, "client_deleted")
    ctx.session.execute(
        sa.update(AuthCode)
        .where(AuthCode.client_id == client.id, AuthCode.revoked.is_(False))
        .values(revoked=True)
        .execution_options(synchronize_session=False)
    )
    ctx.session.flush()
    return count


# -- personal access tokens ------------------------------------------------------------------


def _live_user_tokens(ctx: Context, user_id: str) -> list[tuple[Any, Any]]:
    """The user's unrevoked access tokens with their (unrevoked) clients, newest first."""
    AccessToken, Client = ctx.models.AccessToken, ctx.models.Client
    rows = ctx.session.execute(
        sa.select(AccessToken, Client)
        .join(Client, Client.id == AccessToken.client_id)
        .where(AccessToken.user_id == user_id, AccessToken.revoked.is_(False),
               Client.revoked.is_(False))
        .order_by(AccessToken.created_at.desc())
    ).all()
    return [(row[0], row[1]) for row in rows]


def list_personal_tokens(ctx: Context, user_id: str) -> list[Any]:
    """The user's personal access tokens that are neither revoked nor expired."""
    now = ctx.now()
    return [token for token, client in _live_user_tokens(ctx, user_id)
            if client.personal_access_client and token.expires_at > now]


def create_personal_access_token(ctx: Context, user_id: str, data: dict[str, Any],
                                 *, user: Any = None) -> IssuedToken:
    """Validate ``name`` and ``scopes``, then issue a personal access token for the user."""
    errors: dict[str, list[str]] = {}
    name = _check_name(data.get("name"), errors)
    scopes = data.get("scopes", [])
    if scopes is None:
        scopes = []
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        errors.setdefault("scopes", []).append("The scopes must be a list of scope names.")
        scopes = []
    unknown = [s for s in scopes if not ctx.scopes.has(s)]
    if unknown:
        errors.setdefault("scopes", []).append(
            "Unknown scope: " + ", ".join(sorted(set(unknown))[:10]) + "."
        )
    if errors:
        raise ValidationError(errors)
    client = find_personal_access_client(ctx.session, ctx.models,
                                         ctx.settings.personal_access_client_id)
    if client is None:
        raise ValidationError(
            {"name": ["Personal access tokens are not set up on this server yet."]},
            "No personal access client exists; the administrator should run "
            "`flask passport install`.",
        )
    try:
        return create_personal_token(ctx, client=client, user_id=user_id, name=name,
                                     scopes=scopes, user=user)
    except OAuthError as exc:
        raise ValidationError({"scopes": [exc.description]}) from None


def revoke_personal_token(ctx: Context, user_id: str, token_id: str) -> None:
    """Revoke one of the user's personal access tokens."""
    for token, client in _live_user_tokens(ctx, user_id):
        if token.id == token_id and client.personal_access_client:
            revoke_access_tokens(ctx, [token.id], "user_revoked")
            return
    raise NotFound(token_id)


# -- authorized applications -----------------------------------------------------------------


def list_authorized_tokens(ctx: Context, user_id: str) -> list[tuple[Any, Any]]:
    """``(token, client)`` for each live token the user granted to an application (not personal
    tokens). An expired access token still counts while a live refresh token can renew it."""
    RefreshToken = ctx.models.RefreshToken
    now = ctx.now()
    pairs = [(t, c) for t, c in _live_user_tokens(ctx, user_id) if not c.personal_access_client]
    expired = [t.id for t, _ in pairs if t.expires_at <= now]
    renewable: set[str] = set()
    if expired:
        renewable = set(ctx.session.scalars(
            sa.select(RefreshToken.access_token_id).where(
                RefreshToken.access_token_id.in_(expired), RefreshToken.revoked.is_(False),
                RefreshToken.expires_at > now,
            )
        ))
    return [(t, c) for t, c in pairs if t.expires_at > now or t.id in renewable]


def revoke_authorized_token(ctx: Context, user_id: str, token_id: str) -> None:
    """Revoke a token the user granted to an application, and its refresh tokens."""
    for token, client in _live_user_tokens(ctx, user_id):
        if token.id == token_id and not client.personal_access_client:
            revoke_access_tokens(ctx, [token.id], "user_revoked")
            return
    raise NotFound(token_id)


def token_with_client(token: Any, client: Any) -> dict[str, Any]:
    """The API shape of an authorized token: the token and the client's id and name."""
    data: dict[str, Any] = token.to_dict()
    data["client"] = {"id": client.id, "name": client.name,
                      "registered": bool(getattr(client, "registered", False))}
    return data


def scope_dicts(ctx: Context, ids: Iterable[str] | None = None) -> list[dict[str, str]]:
    scopes = ctx.scopes.all() if ids is None else ctx.scopes.find(ids)
    return [s.to_dict() for s in scopes]
