"""HasApiTokens: personal access tokens and the token of the current request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from conftest import User, db, new_client
from flask import Flask, jsonify
from flask_login import current_user
from helpers import bearer, password_token

from flask_passport import PersonalAccessClientMissing, require_oauth


def _user(user: Any) -> Any:
    return db.session.get(User, user.id)


def test_create_token(app: Flask, client: Any, user: Any, personal_client: Any) -> None:
    @app.get("/whoami")
    @require_oauth()
    def whoami() -> Any:
        return jsonify(email=current_user.email, can_place=current_user.token_can("place-orders"),
                       can_check=current_user.token_can("check-status"),
                       token=current_user.token().id)

    with app.app_context():
        result = _user(user).create_token("CLI token", ["place-orders"])
        assert result.token.name == "CLI token"
        assert result.token.scopes == ["place-orders"]
        assert result.token.user_id == str(user.id)
        assert result.token.client_id == personal_client.client.id
        lifetime = result.token.expires_at - result.token.created_at
        assert lifetime == timedelta(days=90)
        data = result.to_dict()
        assert data["accessToken"] == result.access_token and "secret" not in data["token"]
        token_id = result.token.id
    claims = jwt.decode(result.access_token, options={"verify_signature": False})
    assert claims["jti"] == token_id and claims["sub"] == str(user.id)
    resp = client.get("/whoami", headers=bearer(result.access_token))
    assert resp.status_code == 200
    assert resp.json == {"email": user.email, "can_place": True, "can_check": False,
                         "token": token_id}


def test_tokens_lists_the_users_tokens(app: Flask, user: Any, personal_client: Any,
                                       password_client: Any, client: Any) -> None:
    password_token(client, password_client, user)
    with app.app_context():
        u = _user(user)
        other = User(email="other@example.com", password_hash="x")
        db.session.add(other)
        db.session.commit()
        other.create_token("theirs", [])
        u.create_token("first", [])
        u.create_token("second", ["check-status"])
        names = [t.name for t in db.session.scalars(u.tokens)]
        assert sorted(names, key=str) == sorted([None, "first", "second"], key=str)
        assert len(names) == 3


def test_empty_scopes_give_no_scopes(app: Flask, user: Any, personal_client: Any) -> None:
    with app.app_context():
        assert _user(user).create_token("x").token.scopes == []


def test_unknown_scope_is_refused(app: Flask, user: Any, personal_client: Any) -> None:
    with app.app_context():
        with pytest.raises(ValueError, match="not defined"):
            _user(user).create_token("x", ["nope"])
        model = app.extensions["passport"].models.AccessToken
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def test_wildcard_scope(app: Flask, user: Any, personal_client: Any) -> None:
    with app.app_context():
        token = _user(user).create_token("all", ["*"]).token
        assert token.can("place-orders") and token.can("anything")


def test_no_personal_access_client_is_a_clear_error(app: Flask, user: Any) -> None:
    with app.app_context(), pytest.raises(PersonalAccessClientMissing,
                                          match="flask passport install"):
        _user(user).create_token("x", [])


def test_revoked_personal_client_is_not_used(app: Flask, user: Any, personal_client: Any) -> None:
    with app.app_context():
        model = app.extensions["passport"].models.Client
        db.session.execute(sa.update(model).values(revoked=True))
        db.session.commit()
        with pytest.raises(PersonalAccessClientMissing):
            _user(user).create_token("x", [])


def test_configured_personal_access_client(app: Flask, user: Any, passport: Any) -> None:
    chosen = new_client(app, "personal_access", name="chosen")
    new_client(app, "personal_access", name="newer")
    passport.personal_access_client_id(chosen.client.id)
    with app.app_context():
        assert _user(user).create_token("x").token.client_id == chosen.client.id


def test_token_outside_a_request_is_none(app: Flask, user: Any) -> None:
    with app.test_request_context():
        u = _user(user)
        assert u.token() is None
        assert u.token_can("check-status") is False


def test_personal_token_lifetime_setting(app: Flask, user: Any, personal_client: Any,
                                         passport: Any, client: Any) -> None:
    passport.personal_access_tokens_expire_in(timedelta(days=1))
    with app.app_context():
        token = _user(user).create_token("short").token
        assert token.expires_at - token.created_at == timedelta(days=1)
