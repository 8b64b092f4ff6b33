"""The example app as a web server should be: control characters refused at the login form,
framing refused on its pages, SQLite in WAL mode, and a random secret key kept per instance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import database_config
from flask import Flask

import example_app
from example_app.commands import seed_data


@pytest.fixture
def demo_on(backend: str, tmp_path: Any, pg_schema: str | None,
            private_key_pem: str) -> Iterator[Flask]:
    """The example app on ``backend`` (both backends, like the library's own tests)."""
    config = database_config(backend, tmp_path, pg_schema)
    config.update(PASSPORT_PRIVATE_KEY=private_key_pem, SERVER_NAME="127.0.0.1:5099",
                  SECRET_KEY="a-test-secret-key-that-is-long-enough-32")
    app = example_app.create_app(config)
    with app.app_context():
        seed = seed_data(5099)
    app.config["DEMO_SEED"] = seed
    yield app
    with app.app_context():
        example_app.db.session.remove()
        example_app.db.drop_all()
        example_app.db.engine.dispose()


def _login_form(client: Any) -> dict[str, str]:
    import re

    html = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*'
                      r'name="csrf_token"', html)
    assert match
    return {"csrf_token": match.group(1) or match.group(2)}


@pytest.mark.parametrize("field", ["email", "password"])
def test_nul_in_the_login_form_is_a_400_not_a_500(demo_on: Flask, field: str) -> None:
    seed = demo_on.config["DEMO_SEED"]
    client = demo_on.test_client()
    data = {**_login_form(client), "email": seed["user"]["email"],
            "password": seed["user"]["password"]}
    data[field] = data[field][:3] + "\x00" + data[field][3:]
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert "control characters" in response.get_data(as_text=True)
    ok = client.post("/login", data={**_login_form(client), "email": seed["user"]["email"],
                                     "password": seed["user"]["password"]})
    assert ok.status_code == 302
