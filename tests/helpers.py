"""Small helpers shared by the test modules: token requests and bearer headers."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, jsonify
from flask_login import current_user

from flask_passport import client as client_route
from flask_passport import current_token, require_oauth, scope, scopes

PASSWORD = "secret-password"


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post_token(http: Any, data: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return http.post("/oauth/token", data=data, headers=headers or {})


def password_token(http: Any, created: Any, user: Any, **extra: Any) -> Any:
    data = {"grant_type": "password", "client_id": created.client.id,
            "client_secret": created.secret, "username": user.email, "password": PASSWORD}
    data.update(extra)
    return post_token(http, data)


def client_token(http: Any, created: Any, **extra: Any) -> Any:
    data = {"grant_type": "client_credentials", "client_id": created.client.id,
            "client_secret": created.secret}
    data.update(extra)
    return post_token(http, data)


def refresh(http: Any, created: Any, refresh_token: str, **extra: Any) -> Any:
    data = {"grant_type": "refresh_token", "client_id": created.client.id,
            "client_secret": created.secret, "refresh_token": refresh_token}
    data.update(extra)
    return post_token(http, data)


def add_routes(app: Flask) -> None:
    """The protected routes the guard tests call."""

    @app.get("/me")
    @require_oauth()
    def me() -> Any:
        return jsonify(id=current_user.id, email=current_user.email,
                       token=current_token.id if current_token else None)

    @app.get("/orders")
    @require_oauth()
    @scopes("check-status", "place-orders")
    def orders() -> Any:
        return jsonify(ok=True)

    @app.get("/status")
    @scope("check-status", "place-orders")
    def status() -> Any:
        return jsonify(ok=True, user_id=current_token.user_id)

    @app.get("/jobs")
    @client_route("check-status")
    def jobs() -> Any:
        return jsonify(ok=True, client_id=current_token.client_id)

    @app.post("/logout")
    @require_oauth()
    def logout() -> Any:
        assert current_token is not None
        current_token.revoke()
        return jsonify(ok=True)

    @app.get("/place")
    @require_oauth("place-orders")
    def place() -> Any:
        return jsonify(ok=True)


@contextmanager
def app_processes(config: dict[str, Any], count: int = 2, *, routes: bool = False
                  ) -> Iterator[list[int]]:
    """``count`` apps made by ``conftest.make_app(config)``, each in its own process
    (``tests/app_server.py``) on a loopback port; yields the ports, stops them after."""
    env = {**os.environ, "PASSPORT_TEST_APP_CONFIG": json.dumps(config)}
    if routes:
        env["PASSPORT_TEST_ROUTES"] = "1"
    here = Path(__file__).parent
    procs = [subprocess.Popen([sys.executable, str(here / "app_server.py"), "60"],
                              stdout=subprocess.PIPE, env=env, cwd=str(here.parent), text=True)
             for _ in range(count)]
    try:
        yield [int(p.stdout.readline().strip()) for p in procs]  # type: ignore[union-attr]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
            p.stdout.close()  # type: ignore[union-attr]


@contextmanager
def sql_statements(engine: Any) -> Iterator[list[str]]:
    """Every SQL statement run on ``engine`` inside the block, in order."""
    import sqlalchemy as sa

    seen: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


JS_CLIENTS = Path(__file__).parent / "js_clients"


def js_client(script: str, config: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """Run tests/js_clients/<script> (an independent JavaScript client: oauth4webapi, jose or
    the MCP TypeScript SDK) with ``config`` as JSON in ``JS_CONFIG``; return the JSON object it
    prints last. Skips (saying why) when Node.js or the npm packages cannot be had."""
    import shutil

    import pytest

    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are not installed")
    if not (JS_CLIENTS / "node_modules" / "oauth4webapi" / "package.json").exists():
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=JS_CLIENTS, capture_output=True, text=True, timeout=300,
                              check=False)
        if proc.returncode != 0:
            pytest.skip(f"npm install failed (no registry access?): {proc.stderr[-300:]}")
    env = dict(os.environ, JS_CONFIG=json.dumps(config))
    proc = subprocess.run(["node", script], cwd=JS_CLIENTS, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr
    result: dict[str, Any] = json.loads(lines[-1])
    return result
