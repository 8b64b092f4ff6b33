"""An app without a Flask-Login user_loader: the guard loads the user by primary key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import User, db
from flask import Flask, jsonify
from helpers import bearer, password_token, sql_statements

from flask_passport import Passport, current_token, require_oauth


@pytest.fixture
def bare_app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="x", TESTING=True, PASSPORT_PASSWORD_GRANT=True, **app_config)
    db.init_app(app)
    passport = Passport(app, db=db, user_model=User)
    passport.tokens_can({"check-status": "Check"})
    passport.set_default_scope(["check-status"])

    @app.get("/me")
    @require_oauth()
    def me() -> Any:
        return jsonify(user_id=current_token.user_id if current_token else None)

    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_integer_user_loaded_without_user_loader(bare_app: Flask) -> None:
    from conftest import new_client

    with bare_app.app_context():
        u = User(email="bare@example.com")
        u.set_password("secret-password")
        db.session.add(u)
        db.session.commit()
        db.session.refresh(u)
        db.session.expunge(u)
    pc = new_client(bare_app, "password")
    http = bare_app.test_client()
    token = password_token(http, pc, u).json["access_token"]
    resp = http.get("/me", headers=bearer(token))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json == {"user_id": str(u.id)}


def test_the_default_loader_finds_the_joined_user(bare_app: Flask) -> None:
    """Without a user_loader the id string becomes the integer key, so the user the token query
    joined is found in the session: one statement per protected request."""
    from conftest import new_client

    with bare_app.app_context():
        u = User(email="one@example.com")
        u.set_password("secret-password")
        db.session.add(u)
        db.session.commit()
        db.session.refresh(u)
        db.session.expunge(u)
        engine = db.engine
    http = bare_app.test_client()
    token = password_token(http, new_client(bare_app, "password"), u).json["access_token"]
    http.get("/me", headers=bearer(token))
    with sql_statements(engine) as statements:
        resp = http.get("/me", headers=bearer(token))
    assert resp.status_code == 200 and resp.json == {"user_id": str(u.id)}
    assert len(statements) == 1, statements
    with bare_app.app_context():
        state = bare_app.extensions["passport"]
        assert state.load_user("not-a-number") is None  # never a 500 from int()
