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


def test_missing_tables_on_the_token_endpoint_are_logged_once(
        app: Flask, client: Any, machine_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with app.app_context():
        db.session.remove()
        for table in ("oauth_refresh_tokens", "oauth_access_tokens"):
            db.metadata.tables[table].drop(db.engine)
    caplog.set_level(logging.INFO, logger="flask_passport")
    for _ in range(3):
        response = client_token(client, machine_client)
        assert response.status_code == 503  # retry once the tables exist
        assert response.get_json()["error"] == "temporarily_unavailable"
        assert "oauth_" not in response.get_data(as_text=True)  # no schema detail to clients
    records = [r for r in caplog.records if r.name == "flask_passport"]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].levelno == logging.ERROR and records[0].exc_info is None
    message = records[0].getMessage()
    assert "configuration error" in message and "flask db upgrade" in message
    assert "oauth_access_tokens" in message
    with app.app_context():
        db.create_all()
    assert client_token(client, machine_client).status_code == 200
