"""`flask passport check`: insecure settings are reported, a hardened config passes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from conftest import make_app, new_client
from flask import Flask

from flask_passport.checks import run_checks


def _ids(app: Flask) -> set[str]:
    with app.app_context():
        return {f.id for f in run_checks(app)}


def test_insecure_settings_are_reported(app_config: dict[str, Any], app: Flask) -> None:
    loose = make_app({**app_config, "PASSPORT_PKCE_PLAIN": True, "PASSPORT_IMPLICIT_GRANT": True,
                      "PASSPORT_ACCESS_TOKEN_LIFETIME": 86400,
                      "PASSPORT_ISSUER": "http://auth.example.com",
                      "PASSPORT_RATELIMIT_ENABLED": False})
    ids = _ids(loose)
    assert {"passport.W001", "passport.W002", "passport.W003", "passport.W004",
            "passport.E001", "passport.W008"} <= ids
    result = loose.test_cli_runner().invoke(args=["passport", "check"])
    assert result.exit_code == 1
    assert "passport.E001 (error)" in result.output and "HINT:" in result.output


def test_hardened_settings_pass(app_config: dict[str, Any], app: Flask) -> None:
    strict = make_app({**app_config, "PASSPORT_PASSWORD_GRANT": False,
                       "PASSPORT_ISSUER": "https://auth.example.com"})
    assert _ids(strict) == set()
    result = strict.test_cli_runner().invoke(args=["passport", "check", "--fail-level",
                                                   "warning"])
    assert result.exit_code == 0, result.output
    assert "identified 0 issue(s)" in result.output


def test_http_issuer_is_fine_on_loopback_or_in_debug(app_config: dict[str, Any],
                                                     app: Flask) -> None:
    local = make_app({**app_config, "PASSPORT_ISSUER": "http://127.0.0.1:5000"})
    assert "passport.E001" not in _ids(local)
    debug = make_app({**app_config, "PASSPORT_ISSUER": "http://auth.example.com"})
    debug.debug = True
    assert "passport.E001" not in _ids(debug)


def test_key_file_modes_and_client_lifetimes(app_config: dict[str, Any], app: Flask,
                                             tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    files = make_app({**app_config, "PASSPORT_PRIVATE_KEY": None,
                      "PASSPORT_KEY_PATH": str(key_dir), "PASSPORT_PASSWORD_GRANT": False,
                      "PASSPORT_ISSUER": "https://auth.example.com"})
    assert "passport.E004" in _ids(files)  # no key at all
    assert files.test_cli_runner().invoke(args=["passport", "keys"]).exit_code == 0
    assert _ids(files) == set()
    os.chmod(key_dir / "oauth-private.key", 0o644)
    assert "passport.E003" in _ids(files)
    os.chmod(key_dir / "oauth-private.key", 0o600)
    new_client(files, "client_credentials", access_token_lifetime=7 * 86400)
    assert _ids(files) == {"passport.W005"}
    result = files.test_cli_runner().invoke(args=["passport", "check"])
    assert result.exit_code == 0  # warnings only
