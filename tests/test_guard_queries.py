"""A protected request costs exactly one SQL statement: the token row joined with its client and
its user, whom the app's loader then finds in the session without a second query."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import db
from flask import Flask
from helpers import add_routes, bearer, client_token, password_token, sql_statements


def _count_statements(app: Flask, http: Any, path: str, token: str) -> tuple[int, list[str]]:
    with app.app_context():
        engine = db.engine
    with sql_statements(engine) as statements:
        resp = http.get(path, headers=bearer(token))
    assert resp.status_code == 200, resp.json
    return len(statements), statements


def test_user_route_costs_one_query(app: Flask, client: Any, password_client: Any, user: Any
                                    ) -> None:
    add_routes(app)
    token = password_token(client, password_client, user).json["access_token"]
    client.get("/me", headers=bearer(token))  # warm up: connection set-up is not per request
    count, statements = _count_statements(app, client, "/me", token)
    print(f"\nprotected user request: {count} statements")
    assert count == 1, statements
    # By the token's primary key (the jti), joined with the client and the user's primary key.
    assert "oauth_access_tokens.id =" in statements[0]
    assert "JOIN oauth_clients ON oauth_clients.id = oauth_access_tokens.client_id" in statements[0]
    assert "JOIN users ON users.id = " in statements[0]
    assert "CAST(oauth_access_tokens.user_id AS BIGINT)" in statements[0]


def test_the_apps_loader_still_decides(app: Flask, client: Any, password_client: Any, user: Any
                                       ) -> None:
    """The joined user is only a head start: a loader that refuses the user (say, deactivated)
    still turns the token away, and a loader's own user is the one the view sees."""
    add_routes(app)
    token = password_token(client, password_client, user).json["access_token"]
    calls: list[str] = []

    @app.login_manager.user_loader
    def refuse(user_id: str) -> None:
        calls.append(user_id)
        return None

    resp = client.get("/me", headers=bearer(token))
    assert resp.status_code == 401 and resp.json["error"] == "invalid_token"
    assert calls == [str(user.id)]

    class StandIn:  # a loader may return any user object
        id = 999
        email = "stand-in@example.com"
        is_authenticated = True

    app.login_manager.user_loader(lambda user_id: StandIn())
    resp = client.get("/me", headers=bearer(token))
    assert resp.status_code == 200 and resp.json["email"] == "stand-in@example.com"


def test_a_custom_get_id_means_no_join(app: Flask, client: Any, password_client: Any, user: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """When ``get_id()`` is the app's own, the stored id may not be the primary key: the token
    query leaves the user out and the loader queries as it likes (two statements)."""
    from conftest import User

    from flask_passport.resource import guard
    monkeypatch.setattr(guard, "_TOKEN_QUERIES", {})
    monkeypatch.setattr(User, "get_id", lambda self: str(self.id), raising=False)
    add_routes(app)
    token = password_token(client, password_client, user).json["access_token"]
    client.get("/me", headers=bearer(token))
    count, statements = _count_statements(app, client, "/me", token)
    assert count == 2, statements
    assert "users" not in statements[0] and "FROM users" in statements[1]


def test_client_route_costs_one_query(app: Flask, client: Any, machine_client: Any) -> None:
    add_routes(app)
    token = client_token(client, machine_client).json["access_token"]
    client.get("/jobs", headers=bearer(token))
    count, statements = _count_statements(app, client, "/jobs", token)
    assert count == 1, statements


def test_cost_does_not_grow_with_rows(app: Flask, client: Any, password_client: Any, user: Any
                                      ) -> None:
    add_routes(app)
    tokens = [password_token(client, password_client, user).json["access_token"]
              for _ in range(15)]
    client.get("/me", headers=bearer(tokens[0]))
    count, _ = _count_statements(app, client, "/me", tokens[-1])
    assert count == 1


def test_stacked_decorators_authenticate_once(app: Flask, client: Any, password_client: Any,
                                              user: Any) -> None:
    add_routes(app)
    token = password_token(client, password_client, user,
                           scope="check-status place-orders").json["access_token"]
    client.get("/orders", headers=bearer(token))
    count, statements = _count_statements(app, client, "/orders", token)
    assert count == 1, statements


def test_a_hand_written_user_id_is_a_401_not_a_database_error(
    app: Flask, client: Any, password_client: Any, user: Any
) -> None:
    """A token row whose user id is not a number (written by hand, say) joins no user: the
    loader decides (here: no such user, 401). PostgreSQL would raise on a plain cast."""
    add_routes(app)
    token = password_token(client, password_client, user).json["access_token"]
    with app.app_context():
        table = app.extensions["passport"].models.AccessToken.__table__
        db.session.execute(table.update().values(user_id="not-a-number"))
        db.session.commit()
    resp = client.get("/me", headers=bearer(token))
    assert resp.status_code == 401, resp.get_data(as_text=True)
    assert resp.json["error"] == "invalid_token"
