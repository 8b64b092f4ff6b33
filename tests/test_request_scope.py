"""The verified token and the user it made current belong to one request, not to the app
context (``g``), which a test or a worker may keep across several requests."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask_login import current_user
from standards_support import add_routes, bearer, password_token

from flask_passport import current_token


def test_a_later_request_in_the_same_app_context_is_not_authenticated(
    app: Flask, client: Any, password_client: Any, user: Any
) -> None:
    add_routes(app)

    @app.get("/t/who")
    def who() -> Any:  # unprotected: what a request without a token sees
        return jsonify(user=current_user.is_authenticated,
                       token=current_token.id if current_token else None)

    token = password_token(client, password_client, user)["access_token"]
    with app.app_context():
        http = app.test_client()
        assert http.get("/t/me", headers=bearer(token)).status_code == 200
        resp = http.get("/t/me")
        assert resp.status_code == 401, resp.json
        assert http.get("/t/who").json == {"user": False, "token": None}
