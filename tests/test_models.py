"""The oauth_* tables and the user ids they store: integers, UUIDs and other strings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import db as int_db
from conftest import new_client
from flask import Flask, jsonify
from flask_login import LoginManager, UserMixin, current_user
from flask_sqlalchemy import SQLAlchemy
from helpers import bearer, password_token, sql_statements
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from flask_passport import HasApiTokens, Passport, require_oauth
from flask_passport.storage.clients import create_client
from flask_passport.storage.models import UTCDateTime

# -- an app whose users have UUID string keys ------------------------------------------------


class UuidBase(DeclarativeBase):
    pass


uuid_db = SQLAlchemy(model_class=UuidBase)


class Member(UserMixin, HasApiTokens, uuid_db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "members"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True,
                                    default=lambda: str(uuid.uuid4()))
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


@pytest.fixture
def uuid_app(app_config: dict[str, Any], tmp_path: Any) -> Iterator[Flask]:
    app = Flask(__name__)
    config = dict(app_config)
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'uuid.sqlite'}"
    app.config.update(SECRET_KEY="x", TESTING=True, PASSPORT_PASSWORD_GRANT=True, **config)
    uuid_db.init_app(app)
    login = LoginManager(app)

    @login.user_loader
    def load(user_id: str) -> Member | None:
        return uuid_db.session.get(Member, user_id)

    passport = Passport(app, db=uuid_db, user_model=Member)
    passport.tokens_can({"read": "Read"})
    passport.set_default_scope("read")

    @app.get("/me")
    @require_oauth()
    def me() -> Any:
        return jsonify(id=current_user.id, can_read=current_user.token_can("read"))

    with app.app_context():
        uuid_db.create_all()
    yield app
    with app.app_context():
        uuid_db.session.remove()
        uuid_db.drop_all()
        uuid_db.engine.dispose()


def test_uuid_user_ids_end_to_end(uuid_app: Flask) -> None:
    with uuid_app.app_context():
        member = Member(email="m@example.com",
                        password_hash=generate_password_hash("pw", method="pbkdf2:sha256:1000"))
        uuid_db.session.add(member)
        models = uuid_app.extensions["passport"].models
        created = create_client(uuid_db.session, models, name="pw", kind="password")
        create_client(uuid_db.session, models, name="pat", kind="personal_access")
        uuid_db.session.commit()
        member_id = member.id
        pat = member.create_token("pat", ["read"]).access_token
        client_id, secret = created.client.id, created.secret
    http = uuid_app.test_client()
    resp = http.post("/oauth/token", data={"grant_type": "password", "client_id": client_id,
                                           "client_secret": secret, "username": "m@example.com",
                                           "password": "pw"})
    assert resp.status_code == 200, resp.json
    for token in (resp.json["access_token"], pat):
        me = http.get("/me", headers=bearer(token))
        assert me.status_code == 200
        assert me.json == {"id": member_id, "can_read": True}
    with uuid_app.app_context():
        rows = uuid_db.session.scalars(sa.select(models.AccessToken.user_id)).all()
        assert rows == [member_id, member_id]


def test_integer_user_ids_are_stored_as_strings(app: Flask, client: Any, password_client: Any,
                                                user: Any) -> None:
    password_token(client, password_client, user)
    with app.app_context():
        model = app.extensions["passport"].models.AccessToken
        (row,) = int_db.session.scalars(sa.select(model))
        assert row.user_id == str(user.id)


# -- tables and columns ---------------------------------------------------------------------------

def test_tables_live_in_the_apps_db(app: Flask) -> None:
    with app.app_context():
        names = set(sa.inspect(int_db.engine).get_table_names())
    assert {"oauth_clients", "oauth_access_tokens", "oauth_refresh_tokens",
            "oauth_auth_codes", "users"} <= names


def test_client_columns(app: Flask) -> None:
    created = new_client(app, "authorization_code",
                         redirect_uris=["https://a.example/cb", "https://b.example/cb"],
                         user_id="7", first_party=True)
    with app.app_context():
        model = app.extensions["passport"].models.Client
        row = int_db.session.get(model, created.client.id)
        assert str(uuid.UUID(row.id)) == row.id  # a UUID client id
        assert row.redirect_uris == ["https://a.example/cb", "https://b.example/cb"]
        assert row.grant_types == ["authorization_code", "refresh_token"]
        assert row.user_id == "7" and row.first_party is True and row.revoked is False
        assert row.confidential and row.has_grant_type("refresh_token")
        assert row.created_at.tzinfo is not None
        data = row.to_dict()
        assert "secret" not in data and "secret_hash" not in data
        assert data["redirect_uris"] == row.redirect_uris


def test_ids_are_unique_uuids(app: Flask) -> None:
    ids = {new_client(app, "client_credentials").client.id for _ in range(5)}
    assert len(ids) == 5


def test_utc_datetimes_round_trip(app: Flask, machine_client: Any) -> None:
    with app.app_context():
        model = app.extensions["passport"].models.AccessToken
        when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        row = model(id=str(uuid.uuid4()), client_id=machine_client.client.id, scopes=[],
                    revoked=False, expires_at=when)
        int_db.session.add(row)
        int_db.session.commit()
        int_db.session.expire_all()
        loaded = int_db.session.get(model, row.id)
        assert loaded.expires_at == when and loaded.expires_at.tzinfo is not None
        assert loaded.is_expired(when + timedelta(seconds=1))
        assert not loaded.is_expired(when - timedelta(seconds=1))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2030, 1, 1), sa.create_engine("sqlite://").dialect)


def test_token_can(app: Flask, machine_client: Any) -> None:
    with app.app_context():
        model = app.extensions["passport"].models.AccessToken
        token = model(scopes=["a"], user_id=None)
        assert token.can("a") and token.cant("b") and not token.has_user
        assert model(scopes=["*"]).can("anything")


def test_string_user_keys_are_joined_into_the_token_query(uuid_app: Flask) -> None:
    """String primary keys join without a cast: one statement for a protected request."""
    with uuid_app.app_context():
        member = Member(email="j@example.com", password_hash="x")
        uuid_db.session.add(member)
        create_client(uuid_db.session, uuid_app.extensions["passport"].models, name="pat",
                      kind="personal_access")
        uuid_db.session.commit()
        member_id = member.id
        pat = member.create_token("pat", ["read"]).access_token
        engine = uuid_db.engine
    http = uuid_app.test_client()
    http.get("/me", headers=bearer(pat))
    with sql_statements(engine) as statements:
        resp = http.get("/me", headers=bearer(pat))
    assert resp.status_code == 200 and resp.json["id"] == member_id
    assert len(statements) == 1, statements
    assert "LEFT OUTER JOIN members ON members.id = oauth_access_tokens.user_id" in statements[0]
