"""Shared fixtures: a real app on a real SQLite file, and on PostgreSQL too when
``PASSPORT_TEST_DATABASE_URL`` is set (each test run gets its own PostgreSQL schema, so runs
never collide, and the schema is dropped afterwards)."""

from __future__ import annotations

import os
import uuid
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_login import LoginManager, UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from flask_passport import HasApiTokens, Passport
from flask_passport.jose import keys as keys_mod
from flask_passport.storage.clients import CreatedClient, create_client

PG_URL = os.environ.get("PASSPORT_TEST_DATABASE_URL")
PG_SCHEMA = f"passport_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class User(UserMixin, HasApiTokens, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))

    def set_password(self, password: str) -> None:
        # A cheap hash: tests check behaviour, not the KDF.
        self.password_hash = generate_password_hash(password, method="pbkdf2:sha256:1000")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


#: Every PostgreSQL engine a test connected with (apps made inside tests, not only fixtures').
_PG_ENGINES: weakref.WeakSet[sa.engine.Engine] = weakref.WeakSet()


@sa.event.listens_for(sa.engine.Engine, "engine_connect")
def _track_pg_engine(connection: sa.Connection) -> None:
    if connection.engine.dialect.name == "postgresql":
        _PG_ENGINES.add(connection.engine)


@pytest.fixture(autouse=True)
def _close_pg_connections() -> Iterator[None]:
    """Close the pooled PostgreSQL connections each test leaves behind. An app a test made and
    dropped takes its engine with it, and psycopg warns (an error here) when the garbage
    collector, at some later test, finds a connection still open. Disposing closes idle
    connections only; an engine still in use opens new ones."""
    yield
    for engine in list(_PG_ENGINES):
        engine.dispose()


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    return keys_mod.private_pem(keys_mod.generate_private_key("RSA", 2048)).decode()


def _backends() -> list[Any]:
    params: list[Any] = ["sqlite"]
    if PG_URL:
        params.append("postgresql")
    return params


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{PG_SCHEMA}"'))
    yield PG_SCHEMA
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def database_config(backend: str, tmp_path: Any, pg_schema: str | None) -> dict[str, Any]:
    """SQLAlchemy settings for a test database on ``backend``."""
    if backend == "sqlite":
        return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite'}"}
    return {
        "SQLALCHEMY_DATABASE_URI": PG_URL,
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "connect_args": {"options": f"-csearch_path={pg_schema}"},
        },
    }


def make_app(config: dict[str, Any], passport: Passport | None = None) -> Flask:
    """A small app with a User model, Flask-Login and Passport, like a user would write."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test-secret", TESTING=True, PASSPORT_PASSWORD_GRANT=True)
    app.config.update(config)
    db.init_app(app)
    login = LoginManager(app)

    @login.user_loader
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None

    passport = passport or Passport()
    passport.init_app(app, db=db, user_model=User)
    passport.tokens_can({"check-status": "Check order status", "place-orders": "Place orders"})
    passport.set_default_scope(["check-status"])
    return app


@pytest.fixture
def app_config(backend: str, tmp_path: Any, pg_schema: str | None, private_key_pem: str
               ) -> dict[str, Any]:
    config = database_config(backend, tmp_path, pg_schema)
    config["PASSPORT_PRIVATE_KEY"] = private_key_pem
    return config


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = make_app(app_config)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def passport(app: Flask) -> Passport:
    return app.extensions["passport"].passport  # type: ignore[no-any-return]


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def user(app: Flask) -> User:
    with app.app_context():
        u = User(email="taylor@example.com")
        u.set_password("secret-password")
        db.session.add(u)
        db.session.commit()
        db.session.refresh(u)
        db.session.expunge(u)
        return u


def new_client(app: Flask, kind: str, **kwargs: Any) -> CreatedClient:
    """Create and commit a client of ``kind``; returns it with its plain secret."""
    with app.app_context():
        models = app.extensions["passport"].models
        if kind in ("authorization_code", "public"):
            kwargs.setdefault("redirect_uris", ["https://app.example.com/callback"])
        created = create_client(db.session, models, name=kwargs.pop("name", f"{kind} client"),
                                kind=kind, **kwargs)
        db.session.commit()
        db.session.refresh(created.client)
        db.session.expunge(created.client)
        return created


@pytest.fixture
def machine_client(app: Flask) -> CreatedClient:
    return new_client(app, "client_credentials")


@pytest.fixture
def password_client(app: Flask) -> CreatedClient:
    return new_client(app, "password")


@pytest.fixture
def personal_client(app: Flask) -> CreatedClient:
    return new_client(app, "personal_access")


# -- authorization code flow ------------------------------------------------------


@pytest.fixture
def authz_login(app: Flask) -> Any:
    """Give ``app`` a login view (``/test-login``); returns ``authz_login(test_client, user)``."""
    from flask import request as flask_request
    from flask_login import login_user

    @app.route("/test-login", methods=["GET", "POST"])
    def test_login() -> Any:
        if flask_request.method == "POST":
            login_user(db.session.get(User, int(flask_request.form["user_id"])))
            return "signed in"
        return "login page"

    app.login_manager.login_view = "test_login"  # type: ignore[attr-defined]

    def do_login(test_client: Any, user: Any) -> None:
        assert test_client.post("/test-login", data={"user_id": str(user.id)}).status_code == 200

    return do_login


@pytest.fixture
def authz_client(app: Flask) -> CreatedClient:
    """A confidential authorization code client (redirect https://app.example.com/callback)."""
    return new_client(app, "authorization_code", name="Acme Reader")


@pytest.fixture
def authz_public_client(app: Flask) -> CreatedClient:
    """A public (PKCE) authorization code client."""
    return new_client(app, "public", name="Acme SPA")


class ExampleServer:
    """The example app served on loopback by werkzeug in a thread (for browser/Authlib tests)."""

    def __init__(self, app: Flask, port: int, seed: dict[str, Any]) -> None:
        self.app = app
        self.port = port
        self.seed = seed
        self.base_url = f"http://127.0.0.1:{port}"


def serve_example_app(tmp_dir: Any, private_key_pem: str, templates: str | None = None,
                      own_issuer: bool = True) -> Iterator[ExampleServer]:
    """Start the example app on a free loopback port with a temp SQLite DB; stop it after.
    Its PASSPORT_ISSUER is its own URL, unless ``own_issuer`` is false (the app's default)."""
    import socket
    import threading

    from jinja2 import ChoiceLoader, FileSystemLoader
    from werkzeug.serving import make_server

    import example_app
    from example_app.commands import seed_data

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_dir}/example.sqlite",
        "PASSPORT_PRIVATE_KEY": private_key_pem,
        "PASSPORT_KEY_PATH": str(tmp_dir),
    }
    if own_issuer:
        config["PASSPORT_ISSUER"] = f"http://127.0.0.1:{port}"
    app = example_app.create_app(config)
    if templates:
        app.jinja_loader = ChoiceLoader([FileSystemLoader(templates), app.jinja_loader])
    with app.app_context():
        seed = seed_data(port)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ExampleServer(app, port, seed)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            example_app.db.session.remove()
            example_app.db.engine.dispose()


@pytest.fixture(scope="module")
def authz_server(tmp_path_factory: pytest.TempPathFactory, private_key_pem: str
                   ) -> Iterator[ExampleServer]:
    yield from serve_example_app(tmp_path_factory.mktemp("example"), private_key_pem)


@pytest.fixture
def authz_make_client(app: Flask) -> Any:
    """``authz_make_client(kind, **kwargs)``: :func:`new_client` bound to ``app``."""
    return lambda kind, **kwargs: new_client(app, kind, **kwargs)


@pytest.fixture
def authz_serve_example(tmp_path: Any, private_key_pem: str) -> Iterator[Any]:
    """``authz_serve_example(templates=None)``: one more example-app server, stopped after."""
    started: list[Iterator[ExampleServer]] = []

    def start(templates: str | None = None) -> ExampleServer:
        folder = tmp_path / f"example{len(started)}"
        folder.mkdir()
        gen = serve_example_app(folder, private_key_pem, templates)
        started.append(gen)
        return next(gen)

    yield start
    for gen in started:
        next(gen, None)
