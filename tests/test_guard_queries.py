"""A protected request costs exactly one SQL statement for the token plus one user load."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from conftest import db
from flask import Flask
from helpers import add_routes, bearer, client_token, password_token


def _count_statements(app: Flask, http: Any, path: str, token: str) -> tuple[int, list[str]]:
    statements: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        resp = http.get(path, headers=bearer(token))
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert resp.status_code == 200, resp.json
    return len(statements), statements


def test_user_route_costs_one_token_query_and_one_user_load(
    app: Flask, client: Any, password_client: Any, user: Any
) -> None:
    add_routes(app)
    token = password_token(client, password_client, user).json["access_token"]
    client.get("/me", headers=bearer(token))  # warm up: connection set-up is not per request
    count, statements = _count_statements(app, client, "/me", token)
    print(f"\nprotected user request: {count} statements")
    assert count == 2, statements
    assert "oauth_access_tokens" in statements[0] and "users" not in statements[0]
    assert "FROM users" in statements[1]
    # The token lookup is by primary key (the jti), so it is indexed.
    assert "oauth_access_tokens.id =" in statements[0]


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
    assert count == 2


def test_stacked_decorators_authenticate_once(app: Flask, client: Any, password_client: Any,
                                              user: Any) -> None:
    add_routes(app)
    token = password_token(client, password_client, user,
                           scope="check-status place-orders").json["access_token"]
    client.get("/orders", headers=bearer(token))
    count, statements = _count_statements(app, client, "/orders", token)
    assert count == 2, statements
