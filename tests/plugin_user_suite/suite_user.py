from __future__ import annotations

from typing import Any

from shop import passport


def test_me_needs_a_token(client: Any) -> None:
    assert client.get("/api/me").status_code == 401


def test_me_as_customer(client: Any, customer: Any, acting_as: Any) -> None:
    acting_as(customer)
    assert client.get("/api/me").json == {"email": "ann@example.com"}


def test_place_order_with_scope(client: Any, customer: Any, acting_as: Any) -> None:
    acting_as(customer, ["place-orders"])
    resp = client.post("/api/orders")
    assert resp.status_code == 201 and resp.json["by"] == "ann@example.com"


def test_place_order_without_scope_is_403(client: Any, customer: Any, acting_as: Any) -> None:
    acting_as(customer, ["check-status"])
    resp = client.post("/api/orders")
    assert resp.status_code == 403
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]


def test_fixture_is_undone_after_each_test(client: Any) -> None:
    assert client.get("/api/me").status_code == 401


def test_machine_client(client: Any, acting_as_client: Any) -> None:
    acting_as_client("billing-service", ["check-status"])
    assert client.get("/internal/status").json == {"client_id": "billing-service"}
    assert client.get("/api/me").status_code == 401  # a client token is not a user


def test_context_manager_form(app: Any, client: Any, customer: Any) -> None:
    with passport.acting_as(customer, ["place-orders"]):
        assert client.post("/api/orders").status_code == 201
    assert client.post("/api/orders").status_code == 401
    with app.app_context(), passport.acting_as_client(scopes=["check-status"]):
        assert client.get("/internal/status").status_code == 200
    assert client.get("/internal/status").status_code == 401
