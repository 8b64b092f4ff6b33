"""Helpers shared by the standards tests (revocation, introspection, metadata, rotation...)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, jsonify
from werkzeug.serving import make_server

from flask_passport import client as client_route
from flask_passport import require_oauth, scope


def basic(client_id: str, secret: str | None) -> dict[str, str]:
    raw = f"{client_id}:{secret or ''}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def password_token(http: Any, pc: Any, user: Any, **extra: str) -> dict[str, Any]:
    resp = http.post("/oauth/token", data={
        "grant_type": "password", "client_id": pc.client.id, "client_secret": pc.secret,
        "username": user.email, "password": "secret-password", **extra,
    })
    assert resp.status_code == 200, resp.json
    return resp.json  # type: ignore[no-any-return]


def cc_token(http: Any, mc: Any, **extra: str) -> dict[str, Any]:
    resp = http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": mc.client.id,
        "client_secret": mc.secret, **extra,
    })
    assert resp.status_code == 200, resp.json
    return resp.json  # type: ignore[no-any-return]


def refresh(http: Any, pc: Any, refresh_token: str) -> Any:
    return http.post("/oauth/token", data={
        "grant_type": "refresh_token", "client_id": pc.client.id, "client_secret": pc.secret,
        "refresh_token": refresh_token,
    })


def add_routes(app: Flask) -> None:
    """Protected routes the tests call: a user route, a scope route and a client route."""

    @app.get("/t/me")
    @require_oauth()
    def me() -> Any:
        from flask_login import current_user

        return jsonify(id=str(current_user.get_id()))

    @app.get("/t/status")
    @scope("check-status")
    def status() -> Any:
        return jsonify(ok=True)

    @app.get("/t/jobs")
    @client_route("check-status")
    def jobs() -> Any:
        return jsonify(ok=True)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a loopback port in a thread; yields its base URL, which is also the
    app's issuer (as a deployment configures it: never taken from the Host header)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PASSPORT_ISSUER"] = base
    app.extensions["passport"].reload_settings()  # re-read the configuration
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        thread.join(timeout=10)
