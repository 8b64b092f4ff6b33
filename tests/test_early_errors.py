"""Mistakes a newcomer makes fail early and clearly: decorators written without parentheses,
scopes given as a string, an empty token name."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import User, db
from flask import Flask, jsonify
from flask_login import current_user
from helpers import bearer, client_token, password_token

from flask_passport import client as client_route
from flask_passport import client_any, require_oauth, scope, scopes


def test_require_oauth_without_parentheses_works(app: Flask, client: Any, user: Any,
                                                  password_client: Any,
                                                  machine_client: Any) -> None:
    @app.get("/bare")
    @require_oauth
    def bare() -> Any:
        return jsonify(email=current_user.email)

    @app.get("/bare-client")
    @client_route
    def bare_client() -> Any:
        return jsonify(ok=True)

    assert client.get("/bare").status_code == 401  # protected, not open
    user_token = password_token(client, password_client, user).json["access_token"]
    assert client.get("/bare", headers=bearer(user_token)).json == {"email": user.email}
    machine = client_token(client, machine_client).json["access_token"]
    assert client.get("/bare", headers=bearer(machine)).status_code == 401  # still needs a user
    assert client.get("/bare-client").status_code == 401
    assert client.get("/bare-client", headers=bearer(machine)).json == {"ok": True}


@pytest.mark.parametrize("decorator", [require_oauth, scopes, scope, client_route, client_any])
def test_a_non_string_scope_fails_at_import_time(decorator: Any) -> None:
    with pytest.raises(TypeError, match=r"scope names as strings"):
        decorator(["check-status"])
    with pytest.raises(TypeError, match=r"scope names as strings"):
        decorator("check-status", None)
    with pytest.raises(TypeError, match=r"scope names as strings"):
        decorator("")


def test_create_token_refuses_a_string_of_scopes(app: Flask, user: Any,
                                                 personal_client: Any) -> None:
    with app.app_context():
        owner = db.session.get(User, user.id)
        with pytest.raises(TypeError, match=r"\['check-status'\] instead of 'check-status'"):
            owner.create_token("name", "check-status")
        with pytest.raises(ValueError, match="name is empty"):
            owner.create_token("", ["check-status"])
        with pytest.raises(ValueError, match="name is empty"):
            owner.create_token("   ", [])
        with pytest.raises(ValueError, match="255"):
            owner.create_token("x" * 256, [])
        with pytest.raises(ValueError, match="not defined"):
            owner.create_token("name", ["nope"])  # a real scope error is still one
        made = owner.create_token("name", (s for s in ["check-status"]))  # any iterable
        assert made.token.scopes == ["check-status"]
