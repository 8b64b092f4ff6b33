"""use_client_model / use_token_model / use_refresh_token_model / use_auth_code_model with an
app's own subclasses (single-table inheritance adding columns to the oauth_* tables): extra
columns and an overridden ``skips_authorization`` work end to end, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import database_config
from flask import Flask, jsonify
from flask_login import LoginManager, UserMixin, current_user
from flask_sqlalchemy import SQLAlchemy
from management_helpers import login
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_passport import HasApiTokens, Passport, require_oauth


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
passport = Passport(db=db)


class Member(UserMixin, HasApiTokens, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255))
    password: Mapped[str] = mapped_column(sa.String(255), default="")

    def check_password(self, password: str) -> bool:
        return password == "pw"  # test only


class Client(passport.models.Client):  # type: ignore[misc,name-defined]
    """The app's client: a department, and IT's own apps skip the consent screen."""

    department: Mapped[str | None] = mapped_column(sa.String(50))

    def skips_authorization(self, user: Any, scopes: list[str]) -> bool:
        return self.department == "it"


class Token(passport.models.AccessToken):  # type: ignore[misc,name-defined]
    tenant: Mapped[str] = mapped_column(sa.String(20), default="acme")


class RefreshToken(passport.models.RefreshToken):  # type: ignore[misc,name-defined]
    issued_by: Mapped[str] = mapped_column(sa.String(20), default="override")


class AuthCode(passport.models.AuthCode):  # type: ignore[misc,name-defined]
    device: Mapped[str | None] = mapped_column(sa.String(50))


passport.use_client_model(Client)
passport.use_token_model(Token)
passport.use_refresh_token_model(RefreshToken)
passport.use_auth_code_model(AuthCode)


@pytest.fixture
def app(backend: str, tmp_path: Any, pg_schema: str | None, private_key_pem: str
        ) -> Iterator[Flask]:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="t", TESTING=True, PASSPORT_PASSWORD_GRANT=True,
                      PASSPORT_PRIVATE_KEY=private_key_pem,
                      **database_config(backend, tmp_path, pg_schema))
    db.init_app(app)
    lm = LoginManager(app)
    lm.user_loader(lambda uid: db.session.get(Member, int(uid)))
    passport.init_app(app, user_model=Member)
    passport.tokens_can({"read": "Read"})

    @app.get("/api/user")
    @require_oauth()
    def api_user() -> Any:
        return jsonify(id=current_user.id)

    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_models_are_the_apps_subclasses_on_the_same_tables() -> None:
    models = passport.models
    assert (models.Client, models.AccessToken, models.RefreshToken, models.AuthCode) == (
        Client, Token, RefreshToken, AuthCode)
    assert Client.__table__.name == "oauth_clients" and "department" in Client.__table__.c
    assert "tenant" in Token.__table__.c and "issued_by" in RefreshToken.__table__.c
    assert "device" in AuthCode.__table__.c


def test_overrides_end_to_end(app: Flask) -> None:
    with app.app_context():
        member = Member(email="m@example.com")
        db.session.add(member)
        db.session.commit()
        member_id = member.id
    web = app.test_client()
    h = login(web, member)
    created = web.post("/oauth/clients", headers=h,
                       json={"name": "IT portal", "redirect": "https://it.example/cb"}).json
    with app.app_context():
        row = db.session.get(passport.models.Client, created["id"])
        assert type(row) is Client
        assert row.skips_authorization(None, []) is False
        row.department = "it"
        db.session.commit()
    with app.app_context():
        row = db.session.scalars(sa.select(Client).where(Client.id == created["id"])).one()
        assert row.department == "it" and row.skips_authorization(None, ["read"]) is True
        # A password client of the app's class, then the whole token flow through it.
        from flask_passport.storage.clients import create_client

        pwc = create_client(db.session, passport.models, name="pw", kind="password")
        db.session.commit()
        assert type(pwc.client) is Client
        pwc_id = pwc.client.id
    api = app.test_client()
    grant = api.post("/oauth/token", data={
        "grant_type": "password", "client_id": pwc_id, "client_secret": pwc.secret,
        "username": "m@example.com", "password": "pw"}).json
    assert "access_token" in grant, grant
    auth = {"Authorization": f"Bearer {grant['access_token']}"}
    assert api.get("/api/user", headers=auth).json == {"id": member_id}
    refreshed = api.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
        "client_id": pwc_id, "client_secret": pwc.secret}).json
    assert "access_token" in refreshed, refreshed
    with app.app_context():
        tokens = db.session.scalars(sa.select(Token)).all()
        assert len(tokens) == 2 and all(type(t) is Token and t.tenant == "acme" for t in tokens)
        refresh_rows = db.session.scalars(sa.select(RefreshToken)).all()
        assert len(refresh_rows) == 2
        assert all(r.issued_by == "override" for r in refresh_rows)
    # The JSON APIs list and revoke through the overridden models.
    listing = web.get("/oauth/tokens").json
    assert len(listing) == 1 and listing[0]["client"]["id"] == pwc_id
    assert web.delete(f"/oauth/tokens/{listing[0]['id']}", headers=h).status_code == 204
    assert api.get("/api/user", headers={
        "Authorization": f"Bearer {refreshed['access_token']}"}).status_code == 401
    assert web.delete(f"/oauth/clients/{created['id']}", headers=h).status_code == 204
    assert web.get("/oauth/clients").json == []
