"""SQL statement counts of the hot paths, so a regression (an extra query, a second flush or
commit, an N+1) fails CI. Not timed: counts are exact on every backend.

Budget (see bench/README.md):
- protected request: the token row joined with its client and its user = 1 statement (the
  app's loader finds the user in the session); with
  the token cache on, a hit reads nothing (0 statements, or the user alone without
  PASSPORT_TOKEN_CACHE_USERS);
- client credentials: client + access-token INSERT = 2, one commit;
- password: client + user + access-token INSERT + refresh-token INSERT = 4, one commit;
- refresh: client + refresh row (joined) + rotation UPDATE + one UPDATE revoking the old access
  token + 2 INSERTs = 6, one commit;
- personal access token: the personal client + access-token INSERT = 2, one commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, jsonify

from flask_passport import require_oauth, scopes


class Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.commits = 0


@contextmanager
def counting(app: Flask) -> Iterator[Counter]:
    """Count every SQL statement and commit on the app's engine."""
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
    counter = Counter()

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counter.statements.append(statement.split(None, 1)[0].upper())

    def on_commit(conn: Any) -> None:
        counter.commits += 1

    sa.event.listen(engine, "before_cursor_execute", on_execute)
    sa.event.listen(engine, "commit", on_commit)
    try:
        yield counter
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)
        sa.event.remove(engine, "commit", on_commit)


def _routes(app: Flask) -> None:
    @app.get("/qc/me")
    @require_oauth()
    @scopes("check-status")
    def me() -> Any:
        from flask_login import current_user

        return jsonify(email=current_user.email)


def _token(client: Any, **data: str) -> dict[str, Any]:
    resp = client.post("/oauth/token", data=data)
    assert resp.status_code == 200, resp.json
    return resp.json  # type: ignore[no-any-return]


def test_protected_request_is_one_statement(app: Flask, client: Any, password_client: Any,
                                             user: Any) -> None:
    _routes(app)
    body = _token(client, grant_type="password", client_id=password_client.client.id,
                  client_secret=password_client.secret or "", username=user.email,
                  password="secret-password")
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    client.get("/qc/me", headers=headers)  # warm caches (keys, compiled statements)
    with counting(app) as counter:
        resp = client.get("/qc/me", headers=headers)
    assert resp.status_code == 200
    assert counter.statements == ["SELECT"]
    assert counter.commits == 0


@pytest.mark.parametrize(("cache_users", "expected"), [(True, []), (False, ["SELECT"])])
def test_token_cache_skips_the_token_query(app: Flask, client: Any, password_client: Any,
                                           user: Any, cache_users: bool, expected: list[str]
                                           ) -> None:
    """A cache hit reads nothing (the user comes from the entry), or only the user when
    PASSPORT_TOKEN_CACHE_USERS is off."""
    app.config["PASSPORT_TOKEN_CACHE_TTL"] = 30
    app.config["PASSPORT_TOKEN_CACHE_USERS"] = cache_users
    app.extensions["passport"].passport.reload_settings(app)
    _routes(app)
    body = _token(client, grant_type="password", client_id=password_client.client.id,
                  client_secret=password_client.secret or "", username=user.email,
                  password="secret-password")
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/qc/me", headers=headers).status_code == 200
    with counting(app) as counter:
        resp = client.get("/qc/me", headers=headers)
    assert resp.status_code == 200 and resp.json == {"email": user.email}
    assert counter.statements == expected


def test_client_credentials_grant(app: Flask, client: Any, machine_client: Any) -> None:
    data = {"grant_type": "client_credentials", "client_id": machine_client.client.id,
            "client_secret": machine_client.secret or ""}
    _token(client, **data)
    with counting(app) as counter:
        _token(client, **data)
    assert counter.statements == ["SELECT", "INSERT"]
    assert counter.commits == 1


def test_password_grant(app: Flask, client: Any, password_client: Any, user: Any) -> None:
    data = {"grant_type": "password", "client_id": password_client.client.id,
            "client_secret": password_client.secret or "", "username": user.email,
            "password": "secret-password"}
    _token(client, **data)
    with counting(app) as counter:
        _token(client, **data)
    assert counter.statements == ["SELECT", "SELECT", "INSERT", "INSERT"]
    assert counter.commits == 1


def test_refresh_grant(app: Flask, client: Any, password_client: Any, user: Any) -> None:
    creds = {"client_id": password_client.client.id,
             "client_secret": password_client.secret or ""}
    body = _token(client, grant_type="password", username=user.email,
                  password="secret-password", **creds)
    body = _token(client, grant_type="refresh_token", refresh_token=body["refresh_token"], **creds)
    with counting(app) as counter:
        _token(client, grant_type="refresh_token", refresh_token=body["refresh_token"], **creds)
    # client, refresh row (joined with its access token), rotate, revoke the old access
    # token, insert the new access and refresh tokens.
    assert counter.statements == ["SELECT", "SELECT", "UPDATE", "UPDATE", "INSERT", "INSERT"]
    assert counter.commits == 1


@pytest.mark.usefixtures("personal_client")
def test_personal_access_token(app: Flask, user: Any) -> None:
    db = app.extensions["sqlalchemy"]
    user_model = app.extensions["passport"].user_model
    with app.app_context():
        me = db.session.get(user_model, user.id)
        me.create_token("warm-up", ["check-status"])
    with counting(app) as counter, app.app_context():
        me = db.session.get(user_model, user.id)
        counter.statements.clear()
        me.create_token("counted", ["check-status"])
    assert counter.statements == ["SELECT", "INSERT"]
    assert counter.commits == 1
