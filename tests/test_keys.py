"""Signing keys: the ``keys`` command, loading from files and environment, clear failures."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import jwt
import pytest
from conftest import make_app
from flask import Flask
from helpers import client_token

from flask_passport import KeyLoadError
from flask_passport.jose import keys as keys_mod


@pytest.fixture(scope="module")
def pair() -> tuple[str, str]:
    key = keys_mod.generate_private_key("RSA", 2048)
    return keys_mod.private_pem(key).decode(), keys_mod.public_pem(key).decode()


def _no_key_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    config = dict(app_config)
    config.pop("PASSPORT_PRIVATE_KEY")
    config["PASSPORT_KEY_PATH"] = str(tmp_path / "keys")
    return config


@pytest.fixture
def keyless_app(app_config: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                ) -> Flask:
    monkeypatch.delenv("PASSPORT_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("PASSPORT_PUBLIC_KEY", raising=False)
    app = make_app(_no_key_config(app_config, tmp_path))
    return app


# -- writing --------------------------------------------------------------------------------------

def test_write_key_pair_modes_and_refusal(tmp_path: Path) -> None:
    key = keys_mod.generate_private_key()
    private, public = keys_mod.write_key_pair(tmp_path, key)
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(public).st_mode) == 0o644
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    before = private.read_bytes()
    with pytest.raises(KeyLoadError, match="--force"):
        keys_mod.write_key_pair(tmp_path, keys_mod.generate_private_key())
    assert private.read_bytes() == before
    keys_mod.write_key_pair(tmp_path, keys_mod.generate_private_key(), force=True)
    assert private.read_bytes() != before
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600


def test_short_rsa_keys_are_refused() -> None:
    with pytest.raises(KeyLoadError, match="2048"):
        keys_mod.generate_private_key("RSA", 1024)


def test_keys_command_writes_into_instance_folder(app_config: dict[str, Any], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PASSPORT_PRIVATE_KEY", raising=False)
    config = dict(app_config)
    config.pop("PASSPORT_PRIVATE_KEY")
    app = make_app(config)
    app.instance_path = str(tmp_path / "instance")
    app.extensions["passport"].reload_settings()  # the key path defaults to the instance path
    assert app.extensions["passport"].settings.key_path == app.instance_path
    runner = app.test_cli_runner()
    result = runner.invoke(args=["passport", "keys"])
    assert result.exit_code == 0, result.output
    private = Path(app.instance_path) / "oauth-private.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (Path(app.instance_path) / "oauth-public.key").exists()
    again = runner.invoke(args=["passport", "keys"])
    assert again.exit_code == 1
    assert again.output.count("\n") == 1 and "--force" in again.output
    assert "Traceback" not in again.output
    forced = runner.invoke(args=["passport", "keys", "--force", "--length", "3072"])
    assert forced.exit_code == 0, forced.output
    key = keys_mod.load_private_key(private.read_bytes())
    assert key.key_size == 3072  # type: ignore[union-attr]
    too_short = runner.invoke(args=["passport", "keys", "--force", "--length", "1024"])
    assert too_short.exit_code != 0 and "Traceback" not in too_short.output


def test_keys_command_then_tokens_work(keyless_app: Flask, machine_client: Any, tmp_path: Path
                                       ) -> None:
    pytest.importorskip("jwt")
    runner = keyless_app.test_cli_runner()
    assert runner.invoke(args=["passport", "keys"]).exit_code == 0
    with keyless_app.app_context():
        from conftest import db

        db.create_all()
    from conftest import new_client

    created = new_client(keyless_app, "client_credentials")
    resp = client_token(keyless_app.test_client(), created)
    assert resp.status_code == 200, resp.json
    public = (tmp_path / "keys" / "oauth-public.key").read_bytes()
    jwt.decode(resp.json["access_token"], public, algorithms=["RS256"],
               options={"verify_aud": False})
    with keyless_app.app_context():
        db.drop_all()


# -- loading ---------------------------------------------------------------------------------

def test_load_from_directory(tmp_path: Path, pair: tuple[str, str]) -> None:
    (tmp_path / "oauth-private.key").write_text(pair[0])
    (tmp_path / "oauth-public.key").write_text(pair[1])
    keyset = keys_mod.load_keys(private_pem_text=None, public_pem_text=None, key_path=tmp_path)
    assert keyset.signing_key.algorithm == "RS256"
    assert keyset.signing_key.kid == keys_mod.thumbprint(keys_mod.public_jwk(
        keys_mod.load_public_key(pair[1].encode())))


def test_load_keys_from_method(app_config: dict[str, Any], tmp_path: Path,
                               pair: tuple[str, str]) -> None:
    config = dict(app_config)
    config.pop("PASSPORT_PRIVATE_KEY")
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "oauth-private.key").write_text(pair[0])
    app = make_app(config)
    passport = app.extensions["passport"].passport
    passport.load_keys_from(str(tmp_path / "k"))
    state = app.extensions["passport"]
    assert state.settings.key_path == str(tmp_path / "k")
    assert state.keys().signing_key.private_key is not None


def test_env_keys_with_literal_newlines(pair: tuple[str, str]) -> None:
    private_one_line = pair[0].strip().replace("\n", "\\n")
    public_one_line = pair[1].strip().replace("\n", "\\n")
    assert "\n" not in private_one_line
    keyset = keys_mod.load_keys(private_pem_text=private_one_line,
                                public_pem_text=public_one_line, key_path=None)
    assert keyset.signing_key.private_key is not None


def test_env_variables_are_read(app_config: dict[str, Any], pair: tuple[str, str],
                                monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PASSPORT_PRIVATE_KEY", pair[0].replace("\n", "\\n"))
    monkeypatch.setenv("PASSPORT_PUBLIC_KEY", pair[1].replace("\n", "\\n"))
    app = make_app(_no_key_config(app_config, tmp_path))
    keyset = app.extensions["passport"].keys()
    assert keys_mod.public_pem(keyset.signing_key.public_key).decode() == pair[1]


def test_public_key_only_verifies_but_cannot_sign(pair: tuple[str, str]) -> None:
    keyset = keys_mod.load_keys(private_pem_text=None, public_pem_text=pair[1], key_path=None)
    assert keyset.verifying_key(keyset.signing.kid) is not None  # type: ignore[union-attr]
    with pytest.raises(KeyLoadError, match="flask passport keys"):
        keyset.signing_key  # noqa: B018


def test_mismatched_pair_is_refused(pair: tuple[str, str]) -> None:
    other = keys_mod.public_pem(keys_mod.generate_private_key()).decode()
    with pytest.raises(KeyLoadError, match="not one pair"):
        keys_mod.load_keys(private_pem_text=pair[0], public_pem_text=other, key_path=None)


def test_missing_keys_message(tmp_path: Path) -> None:
    with pytest.raises(KeyLoadError) as info:
        keys_mod.load_keys(private_pem_text=None, public_pem_text=None, key_path=tmp_path)
    message = str(info.value)
    assert "flask passport keys" in message and str(tmp_path) in message


def test_garbage_key_file(tmp_path: Path) -> None:
    (tmp_path / "oauth-private.key").write_text("not a key")
    with pytest.raises(KeyLoadError, match="flask passport keys --force"):
        keys_mod.load_keys(private_pem_text=None, public_pem_text=None, key_path=tmp_path)


def test_unreadable_key_file(tmp_path: Path) -> None:
    # A directory where the file should be: reading fails whatever our privileges are.
    (tmp_path / "oauth-private.key").mkdir()
    with pytest.raises(KeyLoadError, match="cannot be read"):
        keys_mod.load_keys(private_pem_text=None, public_pem_text=None, key_path=tmp_path)


def test_garbage_env_key() -> None:
    with pytest.raises(KeyLoadError, match="flask passport keys"):
        keys_mod.load_keys(private_pem_text="-----BEGIN nonsense", public_pem_text=None,
                           key_path=None)


def test_missing_keys_in_cli_are_one_line(keyless_app: Flask) -> None:
    from conftest import db

    with keyless_app.app_context():
        db.create_all()
    try:
        runner = keyless_app.test_cli_runner()
        created = runner.invoke(args=["passport", "client", "--client", "--name", "m"])
        assert created.exit_code == 0  # making a client needs no keys
        # ... but using it does, and the token endpoint says what to run.
        resp = keyless_app.test_client().post("/oauth/token", data={
            "grant_type": "client_credentials"})
        assert resp.status_code == 401  # no credentials: the client is checked first
    finally:
        with keyless_app.app_context():
            db.drop_all()


def test_keys_are_parsed_once(app: Flask, client: Any, machine_client: Any,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = keys_mod.load_private_key

    def counting(pem: bytes) -> Any:
        calls.append(1)
        return real(pem)

    monkeypatch.setattr(keys_mod, "load_private_key", counting)
    app.extensions["passport"].reset_keys()
    for _ in range(5):
        assert client_token(client, machine_client).status_code == 200
    assert len(calls) == 1


def test_kid_is_stable_across_loads(pair: tuple[str, str]) -> None:
    a = keys_mod.load_keys(private_pem_text=pair[0], public_pem_text=None, key_path=None)
    b = keys_mod.load_keys(private_pem_text=None, public_pem_text=pair[1], key_path=None)
    assert a.signing_key.kid == b.signing.kid  # type: ignore[union-attr]
    assert a.jwks()["keys"][0]["kid"] == a.signing_key.kid


@pytest.mark.parametrize("kind,alg", [("ES256", "ES256"), ("EdDSA", "EdDSA")])
def test_other_key_types(kind: str, alg: str) -> None:
    key = keys_mod.generate_private_key(kind)
    keyset = keys_mod.load_keys(private_pem_text=keys_mod.private_pem(key).decode(),
                                public_pem_text=None, key_path=None)
    assert keyset.signing_key.algorithm == alg


def test_env_private_key_ignores_a_stale_public_key_file(tmp_path: Path, pair: tuple[str, str]
                                                         ) -> None:
    """Moving to PASSPORT_PRIVATE_KEY must not pair it with an old oauth-public.key file."""
    stale = keys_mod.generate_private_key()
    keys_mod.write_key_pair(tmp_path, stale)
    keyset = keys_mod.load_keys(private_pem_text=pair[0], public_pem_text=None, key_path=tmp_path)
    assert keys_mod.public_pem(keyset.signing_key.public_key).decode() == pair[1]


def test_env_private_key_with_stale_files_in_instance_folder(
    app_config: dict[str, Any], tmp_path: Path, machine_client: Any, app: Flask
) -> None:
    keys_mod.write_key_pair(tmp_path / "instance", keys_mod.generate_private_key())
    app.config["PASSPORT_KEY_PATH"] = str(tmp_path / "instance")
    app.extensions["passport"].reload_settings()
    resp = client_token(app.test_client(), machine_client)
    assert resp.status_code == 200, resp.json
