"""The testing helpers: ``passport.acting_as`` / ``acting_as_client`` (call, ``with``, fixture),
and a user's own suite run through the pytest plugin in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify
from flask_login import current_user

from flask_passport import client as client_route
from flask_passport import require_oauth, scopes

ROOT = Path(__file__).resolve().parents[1]
SUITE = Path(__file__).resolve().parent / "plugin_user_suite"


def _routes(app: Flask) -> None:
    @app.get("/me")
    @require_oauth()
    @scopes("place-orders")
    def me() -> Any:
        return jsonify(email=current_user.email)

    @app.get("/jobs")
    @client_route()
    def jobs() -> Any:
        return jsonify(ok=True)


def test_acting_as_call_stop_and_with(app: Flask, passport: Any, client: Any, user: Any) -> None:
    _routes(app)
    acting = passport.acting_as(user, ["place-orders"])
    assert client.get("/me").json == {"email": user.email}
    acting.stop()
    assert client.get("/me").status_code == 401
    with passport.acting_as(user, ["check-status"]) as token:
        assert token.scopes == ["check-status"] and token.transient
        assert client.get("/me").status_code == 403
    assert client.get("/me").status_code == 401


def test_acting_as_client_is_not_a_user(app: Flask, passport: Any, client: Any,
                                        machine_client: Any) -> None:
    _routes(app)
    with passport.acting_as_client(machine_client.client, ["place-orders"]) as token:
        assert token.client_id == machine_client.client.id and token.user_id is None
        assert client.get("/jobs").json == {"ok": True}
        assert client.get("/me").status_code == 401


def test_fixtures_from_the_plugin(app: Flask, client: Any, user: Any, acting_as: Any,
                                  acting_as_client: Any) -> None:
    _routes(app)
    acting_as(user, ["place-orders"])
    assert client.get("/me").status_code == 200
    acting_as_client(None, [])
    assert client.get("/me").status_code == 401
    assert client.get("/jobs").status_code == 200


def test_the_acting_token_is_inert_outside_a_testing_app(app: Flask, passport: Any, client: Any,
                                                          user: Any) -> None:
    """A production request never authenticates through the testing hook: an acting token is
    ignored once the app is not testing, and acting_as refuses to start on such an app."""
    _routes(app)
    acting = passport.acting_as(user, ["place-orders"])
    assert client.get("/me").status_code == 200
    app.testing = False
    try:
        assert client.get("/me").status_code == 401  # the header is all that counts
        with pytest.raises(RuntimeError, match="testing app"):
            passport.acting_as(user, ["place-orders"])
    finally:
        app.testing = True
        acting.stop()
    assert client.get("/me").status_code == 401


def test_a_users_suite_runs_through_the_plugin(tmp_path: Path) -> None:
    shutil.copy(SUITE / "shop.py", tmp_path / "shop.py")
    shutil.copy(SUITE / "conftest_user.py", tmp_path / "conftest.py")
    shutil.copy(SUITE / "suite_user.py", tmp_path / "test_shop.py")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    env.pop("PASSPORT_PRIVATE_KEY", None)
    env.pop("PASSPORT_PUBLIC_KEY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "7 passed" in proc.stdout


def test_the_helpers_import_without_pytest() -> None:
    """Only the plugin module imports pytest, so the API docs (and an app's own non-pytest
    tests) need no pytest to import ``flask_passport.testing``."""
    code = ("import sys; sys.modules['pytest'] = None; "
            "from flask_passport.testing import acting_as, acting_as_client, start_acting_as; "
            "import flask_passport.testing as t; assert not hasattr(t, 'pytest')")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
