"""`flask passport keys --rotate / --prune`: old tokens verify until pruned; ES256 and EdDSA."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from conftest import db, make_app, new_client
from flask import Flask
from standards_support import add_routes, bearer, cc_token

from flask_passport.jose.key_rotation import prune_keys, retired_dir
from flask_passport.jose.tokens import decode_access_token
from flask_passport.storage.models import utcnow


@pytest.fixture
def file_app(app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    """An app whose keys live in files (not the environment), so they can be rotated."""
    key_dir = tmp_path / "keys"
    app = make_app({**app_config, "PASSPORT_PRIVATE_KEY": None, "PASSPORT_KEY_PATH": str(key_dir)})
    with app.app_context():
        db.create_all()
    add_routes(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _cli(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["passport", *args])
    return result


def _jwks_kids(http: Any) -> list[str]:
    return [k["kid"] for k in http.get("/.well-known/jwks.json").json["keys"]]


def test_rotate_then_prune(file_app: Flask) -> None:
    http = file_app.test_client()
    assert _cli(file_app, "keys").exit_code == 0
    mc = new_client(file_app, "client_credentials")
    old_token = cc_token(http, mc)["access_token"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    result = _cli(file_app, "keys", "--rotate", "--type", "ES256")
    assert result.exit_code == 0, result.output
    new_token = cc_token(http, mc)["access_token"]
    header = jwt.get_unverified_header(new_token)
    assert header["alg"] == "ES256" and header["kid"] != old_kid
    # Current key first; an ES256 key brings an RSA key for RS256 ID tokens, published last.
    id_key = file_app.extensions["passport"].keys().id_token_signing
    assert id_key is not None and id_key.algorithm == "RS256"
    assert _jwks_kids(http) == [header["kid"], old_kid, id_key.kid]
    # The old token still verifies, here and in a fresh process reading the same key path.
    assert http.get("/t/jobs", headers=bearer(old_token)).status_code == 200
    assert http.get("/t/jobs", headers=bearer(new_token)).status_code == 200
    settings = file_app.extensions["passport"].settings
    fresh = make_app({"SQLALCHEMY_DATABASE_URI": file_app.config["SQLALCHEMY_DATABASE_URI"],
                      "SQLALCHEMY_ENGINE_OPTIONS":
                          file_app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
                      "PASSPORT_PRIVATE_KEY": None, "PASSPORT_KEY_PATH": settings.key_path})
    with fresh.app_context():
        assert decode_access_token(fresh.extensions["passport"].keys(), old_token)["jti"]
    retired = retired_dir(settings.key_path) / f"retired-{old_kid}.pub"
    assert stat.S_IMODE(retired.stat().st_mode) == 0o644
    assert stat.S_IMODE((Path(settings.key_path) / "oauth-private.key").stat().st_mode) == 0o600

    # Prune keeps keys whose tokens may still be alive...
    result = _cli(file_app, "keys", "--prune")
    assert result.exit_code == 0 and "Pruned 0" in result.output
    assert http.get("/t/jobs", headers=bearer(old_token)).status_code == 200
    # ...and --force drops them now: the old token stops verifying, the new one still works.
    result = _cli(file_app, "keys", "--prune", "--force")
    assert result.exit_code == 0 and old_kid in result.output
    assert _jwks_kids(http) == [header["kid"], id_key.kid]
    denied = http.get("/t/jobs", headers=bearer(old_token))
    assert denied.status_code == 401 and "invalid_token" in denied.headers["WWW-Authenticate"]
    assert http.get("/t/jobs", headers=bearer(new_token)).status_code == 200


def test_rotation_keeps_the_key_type_and_supports_eddsa(file_app: Flask) -> None:
    http = file_app.test_client()
    assert _cli(file_app, "keys", "--type", "EdDSA").exit_code == 0
    mc = new_client(file_app, "client_credentials")
    first = cc_token(http, mc)["access_token"]
    assert jwt.get_unverified_header(first)["alg"] == "EdDSA"
    assert _cli(file_app, "keys", "--rotate").exit_code == 0
    second = cc_token(http, mc)["access_token"]
    assert jwt.get_unverified_header(second)["alg"] == "EdDSA"
    for token in (first, second):
        assert http.get("/t/jobs", headers=bearer(token)).status_code == 200
    id_key = file_app.extensions["passport"].keys().id_token_signing
    assert id_key is not None and id_key.algorithm == "RS256"
    assert _jwks_kids(http)[2:] == [id_key.kid] and len(_jwks_kids(http)) == 3


def test_prune_waits_for_the_longest_token_lifetime(tmp_path: Path, file_app: Flask) -> None:
    assert _cli(file_app, "keys").exit_code == 0
    key_path = file_app.extensions["passport"].settings.key_path
    assert _cli(file_app, "keys", "--rotate").exit_code == 0
    assert prune_keys(key_path, keep_for=timedelta(days=90)) == []
    later = utcnow() + timedelta(days=91)
    assert len(prune_keys(key_path, keep_for=timedelta(days=90), now=later)) == 1
    assert list(retired_dir(key_path).glob("retired-*.pub")) == []


def test_rotate_refuses_when_keys_come_from_the_environment(app: Flask, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(args=["passport", "keys", "--rotate"])
    assert result.exit_code != 0
    assert "PASSPORT_RETIRED_PUBLIC_KEYS" in result.output
    assert "Traceback" not in result.output


def test_retired_public_keys_from_configuration(app_config: dict[str, Any], app: Flask,
                                                private_key_pem: str) -> None:
    """Keys kept in the environment rotate by configuration: the old public key keeps verifying."""
    from flask_passport.jose import keys as keys_mod
    mc = new_client(app, "client_credentials")
    old_token = cc_token(app.test_client(), mc)["access_token"]
    old_public = keys_mod.public_pem(keys_mod.load_private_key(private_key_pem.encode())).decode()
    new_private = keys_mod.private_pem(keys_mod.generate_private_key("ES256")).decode()
    rotated = make_app({**app_config, "PASSPORT_PRIVATE_KEY": new_private,
                        "PASSPORT_RETIRED_PUBLIC_KEYS": [old_public]})
    add_routes(rotated)
    http = rotated.test_client()
    assert http.get("/t/jobs", headers=bearer(old_token)).status_code == 200
    assert len(_jwks_kids(http)) == 2
    assert os.environ.get("PASSPORT_RETIRED_PUBLIC_KEYS") is None
