"""The pytest plugin's ``acting_as`` / ``acting_as_client`` fixtures in a test module of your own.

Run as a script, it runs itself under pytest (the plugin is registered by the package's
``pytest11`` entry point, so nothing needs importing).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from helpers import add_user, installed_app
from myapp import User, db


# [plugin]
@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:  # the plugin finds your app through this fixture
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp, TESTING=True)  # acting_as needs a testing app
        add_user(app, "taylor@example.com", "my-password")
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def user(app: Flask) -> User:
    with app.app_context():
        return db.session.get(User, 1)


def test_user_can_see_orders(client, user, acting_as) -> None:
    acting_as(user, ["check-status", "place-orders"])  # until the test ends
    assert client.get("/api/orders").status_code == 200


def test_missing_scope_is_refused(client, user, acting_as) -> None:
    acting_as(user, ["check-status"])
    assert client.get("/api/orders").status_code == 403


def test_machine_client(client, acting_as_client) -> None:
    acting_as_client("billing-service", ["check-status"])
    assert client.get("/api/internal/jobs").json["client_id"] == "billing-service"
    assert client.get("/api/user").status_code == 401  # no user behind a client token


def test_nothing_leaks_between_tests(client) -> None:
    assert client.get("/api/orders").status_code == 401
# [/plugin]


if __name__ == "__main__":
    # An empty config (-c) so this checkout's pytest settings do not apply; -W error as in
    # the project's own suite; unrelated installed plugins left out to start faster.
    unrelated = ["no:cacheprovider", "no:schemathesis", "no:hypothesispytest", "no:benchmark"]
    code = pytest.main([__file__, "-q", "-c", os.devnull, *(f"-p{p}" for p in unrelated),
                        "-W", "error", "-W", "ignore:'get_engine' is deprecated",
                        # This script imported flask_passport before pytest could rewrite it.
                        "-W", "ignore::pytest.PytestAssertRewriteWarning"])
    if code != 0:
        sys.exit(int(code))
    print("plugin OK")
