"""`flask passport check`: insecure settings are reported, a hardened config passes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from conftest import make_app, new_client
from flask import Flask

from flask_passport.cli.checks import run_checks

#: A strong secret key and no Flask-Migrate expected: the app-wiring checks have nothing to say.
WIRED: dict[str, Any] = {"SECRET_KEY": "k" * 48, "PASSPORT_MIGRATIONS": False}


def _run(app: Flask) -> list[Any]:
    """The findings for ``app``; its connections are closed afterwards (PostgreSQL's would
    otherwise be garbage-collected open)."""
    from conftest import db

    with app.app_context():
        try:
            return run_checks(app)
        finally:
            db.session.remove()
            db.engine.dispose()


def _cli_check(app: Flask, *options: str) -> Any:
    """``flask passport check`` on ``app``, its connections closed afterwards."""
    from conftest import db

    result = app.test_cli_runner().invoke(args=["passport", "check", *options])
    with app.app_context():
        db.engine.dispose()
    return result


def _ids(app: Flask) -> set[str]:
    return {f.id for f in _run(app)}


def test_insecure_settings_are_reported(app_config: dict[str, Any], app: Flask) -> None:
    loose = make_app({**app_config, "PASSPORT_PKCE_PLAIN": True, "PASSPORT_IMPLICIT_GRANT": True,
                      "PASSPORT_ACCESS_TOKEN_LIFETIME": 86400,
                      "PASSPORT_ISSUER": "http://auth.example.com",
                      "PASSPORT_RATELIMIT_ENABLED": False})
    ids = _ids(loose)
    assert {"passport.W001", "passport.W002", "passport.W003", "passport.W004",
            "passport.E001", "passport.W008"} <= ids
    result = _cli_check(loose)
    assert result.exit_code == 1
    assert "passport.E001 (error)" in result.output and "HINT:" in result.output


def test_hardened_settings_pass(app_config: dict[str, Any], app: Flask) -> None:
    strict = make_app({**app_config, **WIRED, "PASSPORT_PASSWORD_GRANT": False,
                       "PASSPORT_ISSUER": "https://auth.example.com"})
    assert _ids(strict) == set()
    result = _cli_check(strict, "--fail-level", "warning")
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
    files = make_app({**app_config, **WIRED, "PASSPORT_PRIVATE_KEY": None,
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
    result = _cli_check(files)
    assert result.exit_code == 0  # warnings only


def _finding(app: Flask, id_: str) -> Any:
    findings = _run(app)
    found = [f for f in findings if f.id == id_]
    assert len(found) == 1, findings
    return found[0]


def test_secret_key_missing_known_or_short(app_config: dict[str, Any], app: Flask) -> None:
    for key, rule in [(None, "not set"), ("", "not set"),
                      ("dev-only-change-me", "known development default"),
                      ("dev", "known development default"), ("Change-Me", "known development"),
                      ("x" * 31, "31 bytes long, shorter than 32"),
                      (b"y" * 20, "20 bytes long")]:
        checked = make_app({**app_config, **WIRED, "SECRET_KEY": key})
        finding = _finding(checked, "passport.E010")
        assert finding.level == "error" and rule in finding.message, (key, finding.message)
        assert "secrets.token_urlsafe" in finding.hint
    fine = make_app({**app_config, **WIRED, "SECRET_KEY": "z" * 32})
    assert "passport.E010" not in _ids(fine)
    hidden = make_app({**app_config, **WIRED, "SECRET_KEY": "my-private-" + "q" * 10})
    assert "my-private" not in str(_finding(hidden, "passport.E010"))  # never echoed


def test_no_user_loader_is_an_error(app_config: dict[str, Any], app: Flask) -> None:
    no_loader = make_app({**app_config, **WIRED})
    no_loader.login_manager._user_callback = None  # type: ignore[attr-defined]
    finding = _finding(no_loader, "passport.E011")
    assert "user loader" in finding.message and "@login_manager.user_loader" in finding.hint
    del no_loader.login_manager  # type: ignore[attr-defined]
    assert "LoginManager(app)" in _finding(no_loader, "passport.E011").hint


def test_missing_tables_name_the_command(app_config: dict[str, Any], app: Flask) -> None:
    from conftest import db

    wired = make_app({**app_config, **WIRED})
    assert "passport.E012" not in _ids(wired)
    with wired.app_context():
        db.session.remove()
        wired.extensions["passport"].models.AuthCode.__table__.drop(db.engine)
    try:
        finding = _finding(wired, "passport.E012")
        assert "oauth_auth_codes" in finding.message
        assert "flask db upgrade" in finding.hint and "db.create_all()" in finding.hint
        result = _cli_check(wired)
        assert result.exit_code == 1 and "passport.E012" in result.output
    finally:
        with wired.app_context():
            db.create_all()
            db.engine.dispose()


def test_migrations_on_without_flask_migrate(app_config: dict[str, Any], app: Flask) -> None:
    from conftest import db
    from flask_migrate import Migrate

    unregistered = make_app({**app_config, "SECRET_KEY": "k" * 48})
    finding = _finding(unregistered, "passport.E013")
    assert "Migrate(app, db)" in finding.hint and "PASSPORT_MIGRATIONS = False" in finding.hint
    registered = make_app({**app_config, "SECRET_KEY": "k" * 48})
    Migrate(registered, db)
    assert "passport.E013" not in _ids(registered)


def test_an_ec_key_without_an_rsa_id_token_key_is_reported(app_config: dict[str, Any]) -> None:
    """OpenID Connect Discovery §3 wants RS256 among the ID-token algorithms: an EC signing
    key from the environment with no RSA ID-token key is flagged, and the fix clears it."""
    from flask_passport.jose import keys as keys_mod

    ec_pem = keys_mod.private_pem(keys_mod.generate_private_key("ES256")).decode()
    config = {**app_config, **WIRED, "PASSPORT_PRIVATE_KEY": ec_pem,
              "PASSPORT_OIDC_ENABLED": True}
    assert "passport.W010" in _ids(make_app(config))
    rsa_pem = keys_mod.private_pem(keys_mod.generate_private_key("RSA", 2048)).decode()
    assert "passport.W010" not in _ids(make_app({**config,
                                                 "PASSPORT_ID_TOKEN_PRIVATE_KEY": rsa_pem}))
    assert "passport.W010" not in _ids(make_app({**config, "PASSPORT_OIDC_ENABLED": False}))


def test_outbound_fetches_to_private_addresses_are_reported(app_config: dict[str, Any],
                                                            app: Flask) -> None:
    """PASSPORT_OUTBOUND_ALLOW_PRIVATE is a development switch: an error in production."""
    base = {**app_config, **WIRED, "PASSPORT_PASSWORD_GRANT": False,
            "PASSPORT_OUTBOUND_ALLOW_PRIVATE": True}
    production = make_app({**base, "PASSPORT_ISSUER": "https://auth.example.com"})
    assert _ids(production) == {"passport.E050"}
    development = make_app({**base, "PASSPORT_ISSUER": "http://127.0.0.1:5000"})
    assert _ids(development) == {"passport.W050"}


def test_jwt_client_authentication_is_checked(app_config: dict[str, Any], app: Flask) -> None:
    """A client_secret_jwt secret sealed with SECRET_KEY (W061) that a changed key cannot open
    (E060), a JWT method switched off while clients use it (W060), a broken stored jwks (E061)."""
    from conftest import db, new_client

    from flask_passport.jose import keys as keys_mod

    base = {**app_config, **WIRED, "PASSPORT_PASSWORD_GRANT": False}
    assert not _ids(make_app(base)) & {"passport.W060", "passport.W061", "passport.E060",
                                       "passport.E061"}
    key = keys_mod.generate_private_key("ES256")
    jwks = {"keys": [{**keys_mod.public_jwk(key.public_key()), "kid": "k"}]}
    pk = new_client(app, "client_credentials", auth_method="private_key_jwt", jwks=jwks)
    new_client(app, "client_credentials", auth_method="client_secret_jwt",
               secret_key=WIRED["SECRET_KEY"])
    assert _ids(make_app(base)) & {"passport.W060", "passport.W061", "passport.E060",
                                   "passport.E061"} == {"passport.W061"}
    moved = make_app({**base, "PASSPORT_CLIENT_SECRET_KEY": "another-key-" + "x" * 40})
    assert "passport.E060" in _ids(moved) and "passport.W061" not in _ids(moved)
    off = make_app({**base, "PASSPORT_CLIENT_AUTH_METHODS": ["client_secret_basic"]})
    assert "passport.W060" in _ids(off)
    with app.app_context():
        row = db.session.get(app.extensions["passport"].models.Client, pk.client.id)
        row.jwks = '{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}'
        db.session.commit()
    assert "passport.E061" in _ids(make_app(base))


def test_pushed_authorization_requests_are_checked(app_config: dict[str, Any],
                                                   app: Flask) -> None:
    """E070: the table or column of migration e1ba5ed0000b missing; W070: a long
    PASSPORT_PAR_LIFETIME."""
    import sqlalchemy as sa
    from conftest import db

    base = {**app_config, **WIRED, "PASSPORT_PASSWORD_GRANT": False}
    assert not _ids(make_app(base)) & {"passport.E070", "passport.W070"}
    assert "passport.W070" in _ids(make_app({**base, "PASSPORT_PAR_LIFETIME": 300}))
    assert "passport.W070" not in _ids(make_app({**base, "PASSPORT_PAR_LIFETIME": 120}))
    with app.app_context():
        db.session.execute(sa.text("DROP TABLE oauth_pushed_authorizations"))
        db.session.commit()
    findings = [f for f in _run(make_app(base)) if f.id == "passport.E070"]
    assert len(findings) == 1 and "oauth_pushed_authorizations" in findings[0].message
    assert "e1ba5ed0000b" in findings[0].hint
