"""The passport tables (``oauth_*``) as SQLAlchemy 2 mixins, and the default models built on the
application's own ``db``.

The models live on the app's ``db.Model`` so that tokens share the app's session, transaction and
migrations. Because ``db`` only exists in the app, the default classes are built by
:func:`build_models` (once per ``db``). An app extends one by subclassing it (extra columns
are added to the same table) or replaces it with its own class made from the mixin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from ..jose import tokens

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Grant types a client can be given (``oauth_clients.grant_types``).
GRANT_TYPES = (
    "authorization_code",
    "client_credentials",
    "password",
    "refresh_token",
    "personal_access",
    "implicit",
    "urn:ietf:params:oauth:grant-type:device_code",
)

_USER_ID = sa.String(255)  # Flask-Login's get_id() string: integer, UUID or any string keys
_ID = sa.String(36)


class ClientMixin:
    """Columns and behaviour of ``oauth_clients``."""

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=tokens.new_id)
    user_id: Mapped[str | None] = mapped_column(_USER_ID, index=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    secret_hash: Mapped[str | None] = mapped_column(sa.String(64))
    redirect_uris: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: Scopes this client may ask for; ``None`` allows every defined scope.
    allowed_scopes: Mapped[list[str] | None] = mapped_column(sa.JSON)
    first_party: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    revoked: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: Per-client lifetimes in seconds; ``None`` uses the grant's configured lifetime.
    access_token_lifetime: Mapped[int | None] = mapped_column(sa.Integer)
    refresh_token_lifetime: Mapped[int | None] = mapped_column(sa.Integer)
    #: OpenID Connect RP-Initiated Logout: where /oauth/logout may send the user afterwards
    #: (exact match, like redirect URIs); ``None`` or empty allows none.
    post_logout_redirect_uris: Mapped[list[str] | None] = mapped_column(sa.JSON)
    #: OpenID Connect Dynamic Client Registration §2: the algorithm of this client's ID
    #: tokens (RS256, ES256, ES384 or EdDSA); ``None`` is RS256.
    id_token_signed_response_alg: Mapped[str | None] = mapped_column(sa.String(16))
    #: RFC 7591: the client registered itself at the registration endpoint.
    registered: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    #: RFC 7592: SHA-256 digest of the registration access token (never the token itself).
    registration_token_hash: Mapped[str | None] = mapped_column(sa.String(64))
    #: RFC 7591 §2 metadata kept only to be returned (client_uri, contacts, auth method, ...).
    registration_metadata: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: RFC 9126 §6: this client's authorization requests must be pushed (``/oauth/par``).
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(
        sa.Boolean, default=False, server_default=sa.false())
    #: RFC 7591 §2 / OpenID Connect Core §9: how this client authenticates at the token,
    #: revocation and introspection endpoints. ``None``: ``client_secret_basic`` or
    #: ``client_secret_post`` when it has a secret, else ``none``.
    token_endpoint_auth_method: Mapped[str | None] = mapped_column(sa.String(32))
    #: ``private_key_jwt``: the client's public keys, a JWK Set as JSON text (RFC 7591 §2).
    jwks: Mapped[str | None] = mapped_column(sa.Text)
    #: ``private_key_jwt``: where the client publishes its JWK Set instead.
    jwks_uri: Mapped[str | None] = mapped_column(sa.Text)
    #: ``client_secret_jwt`` only: the secret, AES-GCM encrypted (jose/secret_box.py), since an
    #: HMAC needs the key itself. Every other client keeps only ``secret_hash``.
    secret_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    #: RFC 9449 §5.2: every token request of this client must carry a DPoP proof.
    dpop_bound_access_tokens: Mapped[bool] = mapped_column(sa.Boolean, default=False,
                                                           server_default=sa.false())

    @property
    def confidential(self) -> bool:
        """A confidential client has a secret or (``private_key_jwt``) a registered key pair; a
        public one (SPA, mobile, CLI) has neither."""
        method = getattr(self, "token_endpoint_auth_method", None)
        return self.secret_hash is not None or method == "private_key_jwt"

    @property
    def personal_access_client(self) -> bool:
        return "personal_access" in (self.grant_types or ())

    @property
    def password_client(self) -> bool:
        return "password" in (self.grant_types or ())

    def has_grant_type(self, grant_type: str) -> bool:
        return grant_type in (self.grant_types or ())

    def set_secret(self, nbytes: int = 32) -> str:
        """Give the client a new secret; returns the plain value, which is never stored."""
        plain = tokens.new_secret(nbytes)
        self.secret_hash = tokens.hash_secret(plain)
        return plain

    def check_secret(self, secret: str) -> bool:
        return tokens.check_secret(secret, self.secret_hash)

    @property
    def auth_method(self) -> str:
        """The client authentication method this client must use (RFC 7591 §2 names)."""
        method = getattr(self, "token_endpoint_auth_method", None)
        if method:
            return str(method)
        return "client_secret_basic" if self.confidential else "none"

    def skips_authorization(self, user: Any, scopes: list[str]) -> bool:
        """Whether the consent screen is skipped; override for your own policy."""
        return bool(self.first_party)

    def to_dict(self) -> dict[str, Any]:
        """The JSON API shape; never includes the secret or its digest."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "name": self.name,
            "redirect_uris": list(self.redirect_uris or ()),
            "grant_types": list(self.grant_types or ()),
            "confidential": self.confidential,
            "first_party": bool(self.first_party),
            "revoked": bool(self.revoked),
            "registered": bool(getattr(self, "registered", False)),
            "dpop_bound_access_tokens": bool(getattr(self, "dpop_bound_access_tokens", False)),
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


class TokenScopes:
    """What a token may do, the same for a token row and a verified bearer token: ``*`` (the
    SPA cookie's scope) grants every scope."""

    if TYPE_CHECKING:  # declared by the model or dataclass using this (not mapped from here)
        user_id: str | None
        scopes: list[str]

    @property
    def has_user(self) -> bool:
        """False for client-credentials tokens, which must never stand for a user."""
        return self.user_id is not None

    def can(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes

    def cant(self, scope: str) -> bool:
        return not self.can(scope)


class AccessTokenMixin(TokenScopes):
    """Columns and behaviour of ``oauth_access_tokens``; ``id`` is the JWT's ``jti``."""

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=tokens.new_id)
    user_id: Mapped[str | None] = mapped_column(_USER_ID, index=True)
    client_id: Mapped[str] = mapped_column(
        _ID, sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(sa.String(255))
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    revoked: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: RFC 9449: the RFC 7638 thumbprint of the DPoP key this token is bound to, if any.
    dpop_jkt: Mapped[str | None] = mapped_column(sa.String(64))

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or utcnow())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "client_id": self.client_id,
            "name": self.name,
            "scopes": list(self.scopes or ()),
            "revoked": bool(self.revoked),
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


class RefreshTokenMixin:
    """Columns of ``oauth_refresh_tokens``: the token is ``<id>.<verifier>``, only a digest kept."""

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=tokens.new_id)
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    access_token_id: Mapped[str] = mapped_column(
        _ID, sa.ForeignKey("oauth_access_tokens.id", ondelete="CASCADE"), index=True
    )
    #: Every refresh token descended from one grant shares a family; reuse revokes the family.
    family_id: Mapped[str] = mapped_column(_ID, index=True)
    revoked: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: Set when the token was exchanged (rotated), as opposed to revoked by a user or admin.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: RFC 9449 §5: the DPoP key thumbprint a public client's refresh token is bound to.
    dpop_jkt: Mapped[str | None] = mapped_column(sa.String(64))


class AuthCodeMixin:
    """Columns of ``oauth_auth_codes``: single-use codes bound to what was approved."""

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=tokens.new_id)
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[str] = mapped_column(_USER_ID, index=True)
    client_id: Mapped[str] = mapped_column(
        _ID, sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    redirect_uri: Mapped[str | None] = mapped_column(sa.Text)
    #: Whether the authorization request carried ``redirect_uri`` (RFC 6749 §4.1.3).
    redirect_uri_sent: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    code_challenge: Mapped[str | None] = mapped_column(sa.String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(sa.String(10))
    nonce: Mapped[str | None] = mapped_column(sa.Text)
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: The access token the code was exchanged for, revoked if the code is replayed (indexed:
    #: a refreshed OpenID Connect ID token reads the original ``auth_time`` through it).
    access_token_id: Mapped[str | None] = mapped_column(_ID, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: RFC 9449 §10: the ``dpop_jkt`` of the authorization request; redeeming needs that key.
    dpop_jkt: Mapped[str | None] = mapped_column(sa.String(64))


class DeviceCodeMixin:
    """Columns of ``oauth_device_codes`` (RFC 8628): one device authorization request.

    The device code is ``<id>.<verifier>`` and only the verifier's digest is kept; the user code
    is short (RFC 8628 §6.1), so it is looked up by its digest and is unique among rows. The
    ``user_id`` is set when a signed-in user enters the code, and only that user can approve or
    deny it (RFC 8628 §3.3). ``status``: ``pending``, ``approved``, ``denied`` or ``consumed``.
    """

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=tokens.new_id)
    device_code_hash: Mapped[str] = mapped_column(sa.String(64))
    user_code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        _ID, sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    user_id: Mapped[str | None] = mapped_column(_USER_ID, index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    #: Seconds the device must wait between polls; raised by 5 on every ``slow_down``.
    interval: Mapped[int] = mapped_column(sa.Integer, default=5)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The access token the approved code was exchanged for.
    access_token_id: Mapped[str | None] = mapped_column(_ID)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PendingAuthorizationMixin:
    """Columns of ``oauth_pending_authorizations``: a consent page shown and not yet answered.

    What the user is asked to approve (the validated authorization request, or the device
    code's row) is kept here, bound to the user, never in the browser. The page's form names
    the row with ``<id>.<verifier>``; only the verifier's digest is kept, and answering deletes
    the row with one conditional ``DELETE``, so a replayed form or cookie finds nothing.
    """

    id: Mapped[str] = mapped_column(_ID, primary_key=True, default=tokens.new_id)
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    #: ``authorize`` (the consent page) or ``device`` (the device verification page).
    kind: Mapped[str] = mapped_column(sa.String(16))
    user_id: Mapped[str] = mapped_column(_USER_ID, index=True)
    client_id: Mapped[str] = mapped_column(
        _ID, sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    request: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PushedAuthorizationMixin:
    """Columns of ``oauth_pushed_authorizations``: authorization requests pushed to
    ``/oauth/par`` (RFC 9126) and not used yet.

    The id is the SHA-256 digest of the reference the client got in its ``request_uri``, never
    the reference itself; the row is deleted by the one conditional ``DELETE`` that uses it.
    """

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        _ID, sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    #: The authorization parameters, validated when pushed and again when used.
    request: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class UsedJtiMixin:
    """Columns of ``oauth_used_jtis``: single-use values seen, until they expire
    (:mod:`flask_passport.storage.replay`). The id is a digest, never the value itself."""

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


@dataclass
class Models:
    """The model classes in use for one ``db``."""

    Client: Any
    AccessToken: Any
    RefreshToken: Any
    AuthCode: Any
    DeviceCode: Any = None
    PendingAuthorization: Any = None
    UsedJti: Any = None
    PushedAuthorization: Any = None


def build_models(db: SQLAlchemy) -> Models:
    """Build (once per ``db``) the default models on ``db.Model``."""
    cached = db.metadata.info.get("flask_passport.storage.models")
    if cached is not None:
        return cached  # type: ignore[no-any-return]

    base = db.Model

    class OAuthClient(ClientMixin, base):  # type: ignore[valid-type,misc]
        __tablename__ = "oauth_clients"

    class OAuthAccessToken(AccessTokenMixin, base):  # type: ignore[valid-type,misc]
        __tablename__ = "oauth_access_tokens"
        client = relationship(OAuthClient, lazy="select")

    class OAuthRefreshToken(RefreshTokenMixin, base):  # type: ignore[valid-type,misc]
        __tablename__ = "oauth_refresh_tokens"
        access_token = relationship(OAuthAccessToken, lazy="select")

    class OAuthAuthCode(AuthCodeMixin, base):  # type: ignore[valid-type,misc]
        __tablename__ = "oauth_auth_codes"
        client = relationship(OAuthClient, lazy="select")

    class OAuthDeviceCode(DeviceCodeMixin, base):  # type: ignore[valid-type,misc]
        __tablename__ = "oauth_device_codes"
        client = relationship(OAuthClient, lazy="select")

    class OAuthPendingAuthorization(PendingAuthorizationMixin, base):  # type: ignore[valid-type,misc]
        __tablename__ = "oauth_pending_authorizations"

    class OAuthUsedJti(UsedJtiMixin, base):  # type: ignore[valid-type,misc]
        __tablename__ = "oauth_used_jtis"

    class OAuthPushedAuthorization(PushedAuthorizationMixin, base):  # type: ignore[valid-type,misc]
        __tablename__ = "oauth_pushed_authorizations"

    models = Models(OAuthClient, OAuthAccessToken, OAuthRefreshToken, OAuthAuthCode,
                    OAuthDeviceCode, OAuthPendingAuthorization, OAuthUsedJti,
                    OAuthPushedAuthorization)
    db.metadata.info["flask_passport.storage.models"] = models
    return models
