"""The reference: a minimal Authlib (1.x) Flask authorization server with RFC 9068 JWT access
tokens and a jti row, written the way Authlib's docs and example server do it.

Same stack as ours: Flask, Flask-SQLAlchemy, gunicorn with 2 sync workers, the same database.
Keys are imported once (not per request). Grants: client credentials, password, refresh (with
rotation). ``GET /api/user`` verifies the JWT (Authlib's JWTBearerTokenValidator), checks the
token row by ``jti`` (revoked?) and loads the user, like ours.

Environment: ``DATABASE_URL``, ``BENCH_PRIVATE_KEY`` (PEM), ``BENCH_ISSUER``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
import uuid
from typing import Any

import sqlalchemy as sa
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.integrations.sqla_oauth2 import OAuth2ClientMixin
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator, JWTBearerTokenValidator
from flask import Flask, jsonify
from flask_sqlalchemy import SQLAlchemy
from joserfc.jwk import import_key
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.security import check_password_hash


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class AUser(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "authlib_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))

    def get_user_id(self) -> int:
        return self.id


class AClient(db.Model, OAuth2ClientMixin):  # type: ignore[name-defined,misc]
    __tablename__ = "authlib_clients"
    id: Mapped[int] = mapped_column(primary_key=True)


class AToken(db.Model):  # type: ignore[name-defined,misc]
    """The jti row: revocable, and the refresh token (plain, indexed, as in Authlib's example)."""

    __tablename__ = "authlib_tokens"
    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(48), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.Integer)
    scope: Mapped[str] = mapped_column(sa.Text, default="")
    refresh_token: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    issued_at: Mapped[int] = mapped_column(sa.Integer)
    expires_in: Mapped[int] = mapped_column(sa.Integer)
    revoked: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    def is_refresh_token_active(self) -> bool:
        return not self.revoked and self.issued_at + 14 * 86400 > time.time()

    def get_scope(self) -> str:
        return self.scope

    def check_client(self, client: Any) -> bool:
        return self.client_id == client.get_client_id()


def _jti_of(jwt_value: str) -> str:
    payload = jwt_value.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


def _private_key() -> Any:
    """The signing key as a joserfc key object (Authlib 1.9's RFC 9068 code uses joserfc)."""
    return import_key(os.environ["BENCH_PRIVATE_KEY"], os.environ.get("BENCH_KEY_TYPE", "RSA"))


ALG = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}


class Generator(JWTBearerTokenGenerator):
    def __init__(self, issuer: str, key: Any) -> None:
        super().__init__(issuer=issuer, alg=ALG[key.key_type],
                         refresh_token_generator=lambda **_: secrets.token_urlsafe(32))
        self._key = key

    def get_jwks(self) -> Any:
        return self._key

    def get_audiences(self, client: Any, user: Any, scope: str) -> str:
        return str(self.issuer)

    def get_jti(self, client: Any, grant_type: str, user: Any, scope: str) -> str:
        return str(uuid.uuid4())


class Validator(JWTBearerTokenValidator):
    def __init__(self, issuer: str, key: Any) -> None:
        super().__init__(issuer=issuer, resource_server=issuer)
        self._public = import_key(key.as_dict(private=False), key.key_type)

    def get_jwks(self) -> Any:
        return self._public

    def validate_token(self, token: Any, scopes: Any, request: Any, **kwargs: Any) -> None:
        super().validate_token(token, scopes, request, **kwargs)
        row = db.session.execute(
            sa.select(AToken.revoked).where(AToken.jti == token["jti"])
        ).one_or_none()
        if row is None or row.revoked:
            from authlib.oauth2.rfc6750 import InvalidTokenError

            raise InvalidTokenError()


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def authenticate_user(self, username: str, password: str) -> Any:
        user = db.session.scalars(sa.select(AUser).where(AUser.email == username)).first()
        if user is not None and check_password_hash(user.password_hash, password):
            return user
        return None


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Any:
        row = db.session.scalars(
            sa.select(AToken).where(AToken.refresh_token == refresh_token)
        ).first()
        if row is not None and row.is_refresh_token_active():
            return row
        return None

    def authenticate_user(self, credential: Any) -> Any:
        return db.session.get(AUser, credential.user_id)

    def revoke_old_credential(self, credential: Any) -> None:
        credential.revoked = True
        db.session.add(credential)
        db.session.commit()


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    db.init_app(app)
    issuer = os.environ.get("BENCH_ISSUER", "http://127.0.0.1")
    keys = _private_key()

    def query_client(client_id: str) -> Any:
        return db.session.scalars(sa.select(AClient).where(AClient.client_id == client_id)).first()

    def save_token(token: dict[str, Any], request: Any) -> None:
        user = request.user
        db.session.add(AToken(
            jti=_jti_of(token["access_token"]),
            client_id=request.client.client_id,
            user_id=user.id if user else None,
            scope=token.get("scope", ""),
            refresh_token=token.get("refresh_token"),
            issued_at=int(time.time()),
            expires_in=int(token["expires_in"]),
        ))
        db.session.commit()

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_token_generator("default", Generator(issuer, keys))
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(PasswordGrant)
    server.register_grant(RefreshTokenGrant)
    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(Validator(issuer, keys))

    @app.post("/oauth/token")
    def issue_token() -> Any:
        return server.create_token_response()

    @app.get("/api/user")
    @require_oauth("check-status")
    def api_user() -> Any:
        user = db.session.get(AUser, int(current_token["sub"]))
        if user is None:
            return jsonify(error="invalid_token"), 401
        return jsonify(id=user.id, email=user.email)

    return app
