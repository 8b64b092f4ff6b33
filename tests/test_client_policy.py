"""Per-client policy: allowed scopes (invalid_scope, never a silent filter), per-client token
lifetimes, the grant types a client may use; and the custom-claims hook with reserved claims."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from conftest import db, new_client
from flask import Flask
from standards_support import cc_token, password_token, refresh


def test_scopes_outside_the_allow_list_are_refused(app: Flask, client: Any) -> None:
    limited = new_client(app, "client_credentials", allowed_scopes=["check-status"])
    resp = client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": limited.client.id,
        "client_secret": limited.secret, "scope": "check-status place-orders"})
    assert resp.status_code == 400 and resp.json["error"] == "invalid_scope"
    assert "place-orders" in resp.json["error_description"]
    assert cc_token(client, limited, scope="check-status")["scope"] == "check-status"
    star = client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": limited.client.id,
        "client_secret": limited.secret, "scope": "*"})
    assert star.status_code == 400 and star.json["error"] == "invalid_scope"


def test_refresh_respects_a_narrowed_allow_list(app: Flask, client: Any, user: Any) -> None:
    pc = new_client(app, "password")
    tok = password_token(client, pc, user, scope="check-status place-orders")
    with app.app_context():
        row = db.session.get(app.extensions["passport"].models.Client, pc.client.id)
        row.allowed_scopes = ["check-status"]
        db.session.commit()
    resp = refresh(client, pc, tok["refresh_token"])
    assert resp.status_code == 400 and resp.json["error"] == "invalid_scope"
    narrowed = client.post("/oauth/token", data={
        "grant_type": "refresh_token", "client_id": pc.client.id, "client_secret": pc.secret,
        "refresh_token": tok["refresh_token"], "scope": "check-status"})
    assert narrowed.status_code == 200 and narrowed.json["scope"] == "check-status"


def test_per_client_lifetimes(app: Flask, client: Any, user: Any) -> None:
    pc = new_client(app, "password", access_token_lifetime=120, refresh_token_lifetime=3600)
    tok = password_token(client, pc, user)
    assert tok["expires_in"] == 120
    claims = jwt.decode(tok["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120
    with app.app_context():
        RefreshToken = app.extensions["passport"].models.RefreshToken
        row = db.session.get(RefreshToken, tok["refresh_token"].split(".")[0])
        assert int((row.expires_at - row.created_at).total_seconds()) == 3600
    rotated = refresh(client, pc, tok["refresh_token"]).json
    assert rotated["expires_in"] == 120
    # Clients without their own lifetimes keep the configured defaults.
    default = new_client(app, "client_credentials")
    assert cc_token(client, default)["expires_in"] == 3600


def test_grant_types_are_per_client(app: Flask, client: Any, machine_client: Any,
                                    user: Any) -> None:
    resp = client.post("/oauth/token", data={
        "grant_type": "password", "client_id": machine_client.client.id,
        "client_secret": machine_client.secret, "username": user.email,
        "password": "secret-password"})
    assert resp.status_code == 400 and resp.json["error"] == "unauthorized_client"
    pc = new_client(app, "password", grant_types=["password"])  # no refresh_token grant
    tok = password_token(client, pc, user)
    resp = refresh(client, pc, tok["refresh_token"])
    assert resp.status_code == 400 and resp.json["error"] == "unauthorized_client"


def test_custom_claims_hook_cannot_touch_reserved_claims(app: Flask, client: Any, user: Any,
                                                         password_client: Any) -> None:
    passport = app.extensions["passport"].passport
    calls: list[dict[str, Any]] = []

    @passport.token_claims
    def claims(token: Any, client: Any, user: Any, grant_type: str) -> dict[str, Any]:
        calls.append({"grant_type": grant_type, "user": user})
        return {"roles": ["admin"] if user is not None else [], "sub": "someone-else",
                "iss": "https://evil.example", "scope": "*", "exp": 9999999999,
                "client_id": "other", "jti": "x"}

    try:
        tok = password_token(client, password_client, user)
    finally:
        passport._claims_callback = None
    decoded = jwt.decode(tok["access_token"], options={"verify_signature": False})
    assert decoded["roles"] == ["admin"]
    assert decoded["sub"] == str(user.id)
    assert decoded["iss"] == "http://localhost"
    assert decoded["scope"] == "check-status"
    assert decoded["client_id"] == password_client.client.id
    assert decoded["exp"] - decoded["iat"] == 3600
    assert calls[0]["grant_type"] == "password"


# Flask-Migrate's generated env.py still calls Flask-SQLAlchemy's deprecated get_engine().
@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")
def test_migration_adds_the_lifetime_columns(tmp_path: Path, app: Flask) -> None:
    """`flask db upgrade` (Flask-Migrate + Passport's branch) creates the new columns."""
    from flask import Flask as FlaskApp
    from flask_migrate import Migrate, init, upgrade
    from flask_sqlalchemy import SQLAlchemy

    from flask_passport import Passport

    # Alembic's fileConfig() disables every existing logger; give them back afterwards.
    enabled = [lg for lg in logging.Logger.manager.loggerDict.values()
               if isinstance(lg, logging.Logger) and not lg.disabled]
    other_db = SQLAlchemy()
    migrated = FlaskApp("migrated")
    migrated.config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'm.sqlite'}",
                           PASSPORT_PRIVATE_KEY=None)
    other_db.init_app(migrated)
    Migrate(migrated, other_db, directory=str(tmp_path / "migrations"))
    Passport(migrated, db=other_db)
    with migrated.app_context():
        init(directory=str(tmp_path / "migrations"))
        upgrade(directory=str(tmp_path / "migrations"), revision="passport@head")
        columns = {c["name"] for c in sa.inspect(other_db.engine).get_columns("oauth_clients")}
        other_db.engine.dispose()
    for lg in enabled:
        lg.disabled = False
    assert {"access_token_lifetime", "refresh_token_lifetime"} <= columns
