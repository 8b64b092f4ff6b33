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


@pytest.mark.parametrize("path", ["/login", "/dashboard", "/"])
def test_example_pages_refuse_framing(demo_on: Flask, path: str) -> None:
    client = demo_on.test_client()
    if path == "/dashboard":
        seed = demo_on.config["DEMO_SEED"]
        client.post("/login", data={**_login_form(client), "email": seed["user"]["email"],
                                    "password": seed["user"]["password"]})
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_passport_pages_keep_their_own_policy(demo_on: Flask) -> None:
    """The example's default does not replace a policy a page already set."""
    response = demo_on.test_client().get("/oauth/authorize?client_id=nope")
    assert response.headers.getlist("Content-Security-Policy") == [
        response.headers["Content-Security-Policy"]]
    assert response.headers.getlist("X-Frame-Options") == ["DENY"]


# -- the secret key ------------------------------------------------------------------------------

def test_secret_key_is_generated_0600_and_reused(tmp_path: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import stat

    from example_app.web_server import SECRET_KEY_FILE, secret_key

    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = secret_key(str(tmp_path))
    path = tmp_path / SECRET_KEY_FILE
    assert len(first) >= 32 and path.read_text().strip() == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secret_key(str(tmp_path)) == first  # the next start reuses it
    other = tmp_path / "other"
    other.mkdir()
    assert secret_key(str(other)) != first  # each instance has its own
    monkeypatch.setenv("SECRET_KEY", "from-the-environment-" + "x" * 20)
    assert secret_key(str(tmp_path)) == "from-the-environment-" + "x" * 20
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(SECRET_KEY_FILE)] == [
        SECRET_KEY_FILE]  # no temporary file left behind


def test_workers_starting_together_agree_on_one_key(tmp_path: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from example_app.web_server import secret_key

    monkeypatch.delenv("SECRET_KEY", raising=False)
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: secret_key(str(tmp_path)), range(32)))
    assert len(keys) == 1


def test_create_app_without_secret_key_uses_the_instance_key(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from example_app.web_server import SECRET_KEY_FILE

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path))
    app = example_app.create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    key = app.config["SECRET_KEY"]
    assert key not in ("dev-only-change-me", "dev") and len(key) >= 32
    assert (tmp_path / SECRET_KEY_FILE).read_text().strip() == key
    again = example_app.create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert again.config["SECRET_KEY"] == key


# -- SQLite as a web server needs it ---------------------------------------------------------------

def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Any) -> None:
    import sqlalchemy as sa

    app = example_app.create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'wal.sqlite'}",
        "SECRET_KEY": "k" * 40})
    with app.app_context():
        for _ in range(2):  # every pooled connection, not only the first
            with example_app.db.engine.connect() as conn:
                assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
                assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() == 5000
                assert conn.execute(sa.text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        example_app.db.engine.dispose()
    assert (tmp_path / "wal.sqlite-wal").exists() or (tmp_path / "wal.sqlite").exists()


def test_database_url_selects_postgresql(monkeypatch: pytest.MonkeyPatch,
                                         pg_schema: str | None, tmp_path: Any) -> None:
    """``DATABASE_URL`` still selects PostgreSQL, which gets no SQLite pragma."""
    from conftest import PG_URL

    if not PG_URL:
        pytest.skip("PASSPORT_TEST_DATABASE_URL is not set")
    import sqlalchemy as sa

    monkeypatch.setenv("DATABASE_URL", PG_URL)
    app = example_app.create_app({
        "SECRET_KEY": "k" * 40, "PASSPORT_KEY_PATH": str(tmp_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={pg_schema}"}}})
    with app.app_context():
        assert example_app.db.engine.dialect.name == "postgresql"
        with example_app.db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        example_app.db.engine.dispose()
