"""End-to-end smoke: the three HTTP grants and a protected route, on every backend."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify

from flask_passport import require_oauth, scope


def _routes(app: Flask) -> None:
    @app.get("/me")
    @require_oauth()
    def me() -> Any:
        from flask_login import current_user

        return jsonify(email=current_user.email)

    @app.get("/status")
    @scope("check-status")
    def status() -> Any:
        return jsonify(ok=True)


def test_client_credentials_then_protected_route(app: Flask, client: Any, machine_client: Any
                                                  ) -> None:
    _routes(app)
    resp = client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": machine_client.client.id,
        "client_secret": machine_client.secret,
    })
    assert resp.status_code == 200, resp.json
    token = resp.json["access_token"]
    assert resp.json["scope"] == "check-status"
    assert client.get("/status", headers={"Authorization": f"Bearer {token}"}).json == {"ok": True}
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_password_grant_user_route(app: Flask, client: Any, password_client: Any, user: Any
                                   ) -> None:
    _routes(app)
    resp = client.post("/oauth/token", data={
        "grant_type": "password", "client_id": password_client.client.id,
        "client_secret": password_client.secret, "username": user.email,
        "password": "secret-password",
    })
    assert resp.status_code == 200, resp.json
    me = client.get("/me", headers={"Authorization": f"Bearer {resp.json['access_token']}"})
    assert me.json == {"email": user.email}
