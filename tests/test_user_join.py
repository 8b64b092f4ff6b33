"""When the token query may bring the user along (``guard._user_join``): only when the stored id
is provably the user's primary key in text, and in a form the primary-key index can serve."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_passport.resource.guard import _user_join


class Base(DeclarativeBase):
    pass


class OtherBase(DeclarativeBase):
    pass


tokens = sa.Table("oauth_access_tokens", Base.metadata,
                  sa.Column("id", sa.String(64), primary_key=True),
                  sa.Column("user_id", sa.String(255)))


class IntUser(UserMixin, Base):
    __tablename__ = "int_users"
    id: Mapped[int] = mapped_column(primary_key=True)


class BigUser(UserMixin, Base):
    __tablename__ = "big_users"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)


class StrUser(UserMixin, Base):
    __tablename__ = "str_users"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)


class UuidUser(UserMixin, Base):
    __tablename__ = "uuid_users"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)


class OwnGetId(UserMixin, Base):
    __tablename__ = "own_get_id_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    alternative_id: Mapped[str] = mapped_column(sa.String(64))

    def get_id(self) -> str:
        return self.alternative_id


class NoMixin(Base):
    __tablename__ = "no_mixin_users"
    id: Mapped[int] = mapped_column(primary_key=True)


class Composite(UserMixin, Base):
    __tablename__ = "composite_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[int] = mapped_column(primary_key=True)


class KeyedOtherwise(UserMixin, Base):
    __tablename__ = "keyed_users"
    user_no: Mapped[int] = mapped_column("id", primary_key=True)


class Elsewhere(UserMixin, OtherBase):
    __tablename__ = "elsewhere_users"
    id: Mapped[int] = mapped_column(primary_key=True)


class NotMapped(UserMixin):
    id = 1


def sql(clause: object, dialect: str = "sqlite") -> str:
    from sqlalchemy.dialects import postgresql, sqlite

    compiler = {"sqlite": sqlite.dialect(paramstyle="named"), "postgresql": postgresql.dialect()}
    return str(clause.compile(dialect=compiler[dialect]))  # type: ignore[attr-defined]


def test_integer_keys_cast_the_tokens_side() -> None:
    # The cast is on the token's column, so the user's primary-key index still finds the row.
    # SQLite and MySQL cast a non-number to 0 (no user); PostgreSQL would raise, so there only
    # a string of digits is cast.
    for model, table in ((IntUser, "int_users"), (BigUser, "big_users")):
        assert sql(_user_join(model, tokens)) == \
            f"{table}.id = CAST(oauth_access_tokens.user_id AS BIGINT)"
        assert sql(_user_join(model, tokens, dialect="postgresql"), "postgresql") == (
            f"{table}.id = CASE WHEN (oauth_access_tokens.user_id ~ %(user_id_1)s::VARCHAR) "
            "THEN CAST(oauth_access_tokens.user_id AS BIGINT) END")


def test_integer_keys_on_an_unknown_database_are_not_joined() -> None:
    # How would it cast? The loader queries instead; string keys need no cast and still join.
    assert _user_join(IntUser, tokens, dialect="mssql") is None
    assert sql(_user_join(StrUser, tokens, dialect="mssql")) == \
        "str_users.id = oauth_access_tokens.user_id"


@pytest.mark.parametrize(("user_id", "key"), [
    ("42", 42), ("-7", -7), ("1_0", None), (" 5", None), ("5 ", None), ("\u0663", None),
    ("abc", None), ("", None),
])
def test_the_default_loader_takes_only_get_id_strings(user_id: str, key: int | None) -> None:
    from flask_passport.extension import _primary_key_value

    assert _primary_key_value(IntUser, user_id) == key
    assert _primary_key_value(StrUser, user_id) == user_id


def test_string_keys_compare_as_they_are() -> None:
    assert sql(_user_join(StrUser, tokens)) == "str_users.id = oauth_access_tokens.user_id"


@pytest.mark.parametrize("model", [
    None,
    UuidUser,        # str(uuid) has dashes; a Uuid column may store 32 hex digits
    OwnGetId,        # the stored id is the app's get_id(), not the primary key
    NoMixin,         # no Flask-Login get_id at all
    Composite,       # two key columns
    KeyedOtherwise,  # get_id() reads self.id, which is not the key
    Elsewhere,       # another metadata: maybe another database
    NotMapped,
])
def test_no_join_when_the_stored_id_may_not_be_the_key(model: object) -> None:
    assert _user_join(model, tokens) is None


# -- end to end: a user model that is a single-table-inheritance subclass ---------------------

from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

from flask import Flask, jsonify  # noqa: E402
from flask_login import LoginManager  # noqa: E402
from flask_sqlalchemy import SQLAlchemy  # noqa: E402
from helpers import bearer, sql_statements  # noqa: E402

from flask_passport import (  # noqa: E402
    HasApiTokens,
    Passport,
    client,
    current_token,
    require_oauth,
)
from flask_passport.storage.clients import create_client  # noqa: E402


class StiBase(DeclarativeBase):
    pass


sti_db = SQLAlchemy(model_class=StiBase)


class Person(UserMixin, HasApiTokens, sti_db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "sti_people"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    email: Mapped[str] = mapped_column(sa.String(255))
    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "person"}


class Customer(Person):
    __mapper_args__ = {"polymorphic_identity": "customer"}


@pytest.fixture
def sti_app(app_config: dict[str, Any], tmp_path: Any) -> Iterator[Flask]:
    yield from serve_sti_app(app_config, tmp_path, Customer)


def serve_sti_app(app_config: dict[str, Any], tmp_path: Any, user_model: Any
                  ) -> Iterator[Flask]:
    """An app on ``sti_db`` whose Passport has ``user_model``; its tables dropped after."""
    app = Flask(__name__)
    config = dict(app_config)
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'sti.sqlite'}"
    app.config.update(SECRET_KEY="x", TESTING=True, **config)
    sti_db.init_app(app)
    login = LoginManager(app)

    @login.user_loader
    def load(user_id: str) -> Customer | None:
        return sti_db.session.get(Customer, int(user_id))

    passport = Passport(app, db=sti_db, user_model=user_model)
    passport.tokens_can({"read": "Read"})
    passport.set_default_scope("read")

    @app.get("/me")
    @require_oauth()
    def me() -> Any:
        from flask_login import current_user

        return jsonify(email=current_user.email)

    @app.get("/machine")
    @client("read")
    def machine() -> Any:
        return jsonify(client_id=current_token.client_id if current_token else None)

    with app.app_context():
        sti_db.create_all()
    yield app
    with app.app_context():
        sti_db.session.remove()
        sti_db.drop_all()
        sti_db.engine.dispose()


def test_single_table_inheritance_user_model(sti_app: Flask) -> None:
    """The subclass's discriminator goes in the join's ON clause: a client token (no user)
    still finds its row, and a customer's token finds the customer, in one statement."""
    with sti_app.app_context():
        models = sti_app.extensions["passport"].models
        customer = Customer(email="c@example.com")
        sti_db.session.add(customer)
        create_client(sti_db.session, models, name="pat", kind="personal_access")
        machine = create_client(sti_db.session, models, name="m", kind="client_credentials")
        sti_db.session.commit()
        machine_id, machine_secret, customer_id = machine.client.id, machine.secret, customer.id
    http = sti_app.test_client()
    resp = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                            "client_id": machine_id,
                                            "client_secret": machine_secret, "scope": "read"})
    assert resp.status_code == 200, resp.json
    machine_token = resp.json["access_token"]
    assert http.get("/machine", headers=bearer(machine_token)).status_code == 200
    with sti_app.app_context():
        customer = sti_db.session.get(Customer, customer_id)
        pat = customer.create_token("pat", ["read"])
        engine = sti_db.engine
    with sql_statements(engine) as statements:
        resp = http.get("/me", headers=bearer(pat.access_token))
    assert resp.status_code == 200 and resp.json == {"email": "c@example.com"}
    assert len(statements) == 1, statements
    assert "sti_people.kind IN" in statements[0].split("WHERE")[0]  # in ON, not in WHERE
