"""``flask passport install|client|purge``: output, prompts, JSON, one-line errors."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import User, db, make_app
from flask import Flask
from helpers import client_token, password_token

from flask_passport import cli as cli_mod
from flask_passport.jose import tokens
from flask_passport.storage.models import utcnow


def run(app: Flask, *args: str, input: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=["passport", *args], input=input)


def _clients(app: Flask) -> list[Any]:
    with app.app_context():
        model = app.extensions["passport"].models.Client
        return list(db.session.scalars(sa.select(model).order_by(model.created_at)))


def _assert_one_line_error(result: Any) -> None:
    assert result.exit_code != 0
    assert result.output.startswith("Error: ")
    assert result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# -- client ---------------------------------------------------------------------------------------

def test_client_credentials_client(app: Flask, client: Any) -> None:
    result = run(app, "client", "--client", "--name", "Jobs")
    assert result.exit_code == 0, result.output
    (row,) = _clients(app)
    assert row.name == "Jobs" and row.grant_types == ["client_credentials"]
    assert f"Client ID: {row.id}" in result.output
    secret = result.output.split("Client secret: ")[1].split()[0]
    assert row.secret_hash == tokens.hash_secret(secret)
    assert "only once" in result.output

    class Created:
        pass

    created = Created()
    created.client = row  # type: ignore[attr-defined]
    created.secret = secret  # type: ignore[attr-defined]
    assert client_token(client, created).status_code == 200


def test_client_json(app: Flask) -> None:
    result = run(app, "client", "--password", "--name", "Mobile", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (row,) = _clients(app)
    assert data["id"] == row.id
    assert data["grant_types"] == ["password", "refresh_token"]
    assert tokens.hash_secret(data["secret"]) == row.secret_hash
    assert "secret_hash" not in data


def test_authorization_code_client_with_redirect_uris(app: Flask) -> None:
    result = run(app, "client", "--name", "Web", "--redirect-uri", "https://a.example/cb",
                 "--redirect-uri", "https://b.example/cb,https://c.example/cb", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["redirect_uris"] == ["https://a.example/cb", "https://b.example/cb",
                                     "https://c.example/cb"]
    assert data["grant_types"] == ["authorization_code", "refresh_token"]
    assert data["secret"]


def test_post_logout_redirect_uris(app: Flask) -> None:
    """RP-initiated logout's return addresses, set without Python (repeat or comma list)."""
    result = run(app, "client", "--name", "OIDC", "--redirect-uri", "https://a.example/cb",
                 "--post-logout-redirect-uri", "https://a.example/bye",
                 "--post-logout-redirect-uri", "https://b.example/bye,https://a.example/bye")
    assert result.exit_code == 0, result.output
    (client,) = _clients(app)
    assert client.post_logout_redirect_uris == ["https://a.example/bye", "https://b.example/bye"]
    result = run(app, "client", "--client", "--name", "No logout URIs")
    assert result.exit_code == 0, result.output
    assert _clients(app)[1].post_logout_redirect_uris is None


def test_bad_post_logout_redirect_uri_is_one_line_error(app: Flask) -> None:
    result = run(app, "client", "--name", "Bad", "--redirect-uri", "https://a.example/cb",
                 "--post-logout-redirect-uri", "https://a.example/bye#fragment")
    _assert_one_line_error(result)
    assert _clients(app) == []


def test_public_client_has_no_secret(app: Flask) -> None:
    result = run(app, "client", "--public", "--name", "SPA", "--redirect-uri",
                 "http://localhost:3000/cb", "--json")
    data = json.loads(result.output)
    assert data["secret"] is None and data["confidential"] is False
    text = run(app, "client", "--public", "--name", "SPA2", "--redirect-uri",
               "http://localhost:3000/cb")
    assert "Client secret" not in text.output


def test_personal_client_and_user_id(app: Flask, user: Any) -> None:
    result = run(app, "client", "--personal", "--name", "PAT", "--user-id", str(user.id),
                 "--json")
    data = json.loads(result.output)
    assert data["grant_types"] == ["personal_access"] and data["user_id"] == str(user.id)


@pytest.mark.parametrize("user_id", ["42", "nobody", "4\x002"])
def test_unknown_user_id_is_refused(app: Flask, user: Any, user_id: str) -> None:
    result = run(app, "client", "--personal", "--name", "PAT", "--user-id", user_id)
    assert result.exit_code == 2, result.output
    assert "--user-id" in result.output and "Traceback" not in result.output
    assert _clients(app) == []


@pytest.mark.parametrize("flags", [("--client", "--password"), ("--public", "--device"),
                                   ("--personal", "--client", "--public")])
def test_two_kind_flags_are_refused(app: Flask, flags: tuple[str, ...]) -> None:
    result = run(app, "client", *flags, "--name", "Two kinds",
                 "--redirect-uri", "https://app.example.com/cb")
    assert result.exit_code == 2, result.output
    assert "Choose one kind of client" in result.output
    assert all(flag in result.output.split("Choose one kind")[1] for flag in flags)
    assert _clients(app) == []


def test_missing_name_without_terminal_is_one_line_error(app: Flask) -> None:
    result = run(app, "client", "--client")
    _assert_one_line_error(result)
    assert "--name" in result.output
    assert _clients(app) == []


def test_missing_redirect_uri_without_terminal(app: Flask) -> None:
    result = run(app, "client", "--name", "Web")
    _assert_one_line_error(result)
    assert "--redirect-uri" in result.output


def test_prompts_on_a_terminal_only_for_what_is_missing(app: Flask,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_mod, "_interactive", lambda: True)
    result = run(app, "client", "--redirect-uri", "https://x.example/cb",
                 input="Prompted name\n")
    assert result.exit_code == 0, result.output
    assert "name the client" in result.output
    assert result.output.count("?") == 1  # one prompt: the name
    assert _clients(app)[0].name == "Prompted name"
    result = run(app, "client", "--name", "N", input="https://y.example/cb\n")
    assert result.exit_code == 0, result.output
    assert _clients(app)[1].redirect_uris == ["https://y.example/cb"]


def test_no_prompt_when_everything_is_given(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_mod, "_interactive", lambda: True)
    result = run(app, "client", "--client", "--name", "Given", input="")
    assert result.exit_code == 0
    assert "?" not in result.output


@pytest.mark.parametrize("uri", ["/relative", "https://x.example/cb#frag",
                                 "https://user@x.example/cb", "javascript:alert(1)"])
def test_bad_redirect_uri_is_one_line_error(app: Flask, uri: str) -> None:
    result = run(app, "client", "--name", "Bad", "--redirect-uri", uri)
    _assert_one_line_error(result)
    assert _clients(app) == []


def test_database_error_is_one_line(app_config: dict[str, Any]) -> None:
    app = make_app(app_config)  # no tables created
    result = run(app, "client", "--client", "--name", "X")
    _assert_one_line_error(result)
    assert "flask db upgrade" in result.output


# -- install ---------------------------------------------------------------------------------

@pytest.fixture
def keyless(app: Flask, tmp_path: Path) -> Flask:
    app.config["PASSPORT_PRIVATE_KEY"] = None
    app.config["PASSPORT_KEY_PATH"] = str(tmp_path / "keys")
    app.extensions["passport"].reload_settings()
    return app


def test_install_is_idempotent(keyless: Flask, tmp_path: Path, client: Any, user: Any) -> None:
    app = keyless
    first = run(app, "install", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert data["keys"] == "created"
    assert (tmp_path / "keys" / "oauth-private.key").exists()
    assert data["personal_access_client"]["created"] is True
    assert data["password_client"]["created"] is True
    assert len(_clients(app)) == 2
    key_before = (tmp_path / "keys" / "oauth-private.key").read_bytes()
    second = run(app, "install", "--json")
    assert second.exit_code == 0, second.output
    again = json.loads(second.output)
    assert again["keys"] == "existing"
    assert again["personal_access_client"] == {"id": data["personal_access_client"]["id"],
                                               "created": False}
    assert "secret" not in again["password_client"]
    assert len(_clients(app)) == 2
    assert (tmp_path / "keys" / "oauth-private.key").read_bytes() == key_before
    # The password client it printed works.
    pc = data["password_client"]

    class Created:
        pass

    created = Created()
    created.client = type("C", (), {"id": pc["id"]})  # type: ignore[attr-defined]
    created.secret = pc["secret"]  # type: ignore[attr-defined]
    assert password_token(client, created, user).status_code == 200
    # A personal token can now be created.
    with app.app_context():
        assert db.session.get(User, user.id).create_token("t", []).access_token


def test_install_force_rewrites_keys(keyless: Flask, tmp_path: Path) -> None:
    assert run(keyless, "install").exit_code == 0
    before = (tmp_path / "keys" / "oauth-private.key").read_bytes()
    result = run(keyless, "install", "--force")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "keys" / "oauth-private.key").read_bytes() != before
    assert len(_clients(keyless)) == 2


def test_install_text_output_shows_secret_once(keyless: Flask) -> None:
    first = run(keyless, "install")
    assert "Client secret:" in first.output
    second = run(keyless, "install")
    assert "Client secret:" not in second.output


# -- purge -----------------------------------------------------------------------------------

def _make_tokens(app: Flask, client: Any, password_client: Any, user: Any, n: int) -> None:
    for _ in range(n):
        assert password_token(client, password_client, user).status_code == 200


def _count(app: Flask, kind: str) -> int:
    with app.app_context():
        model = getattr(app.extensions["passport"].models, kind)
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)))


def _age(app: Flask, kind: str, **values: Any) -> None:
    with app.app_context():
        model = getattr(app.extensions["passport"].models, kind)
        db.session.execute(sa.update(model).values(**values))
        db.session.commit()


def test_purge_expired_in_batches(app: Flask, client: Any, password_client: Any, user: Any
                                  ) -> None:
    _make_tokens(app, client, password_client, user, 5)
    long_ago = utcnow() - timedelta(days=30)
    _age(app, "AccessToken", expires_at=long_ago)
    _age(app, "RefreshToken", expires_at=long_ago)
    deletes: list[str] = []
    with app.app_context():
        engine = db.engine

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        result = run(app, "purge", "--expired", "--batch-size", "2")
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert result.exit_code == 0, result.output
    assert "Purged 5 refresh tokens, 5 access tokens and 0 auth codes." in result.output
    assert len(deletes) == 6  # 3 batches (2+2+1) per table
    assert _count(app, "AccessToken") == 0 and _count(app, "RefreshToken") == 0


def test_purge_keeps_live_and_recent(app: Flask, client: Any, password_client: Any, user: Any
                                     ) -> None:
    _make_tokens(app, client, password_client, user, 2)
    result = run(app, "purge")
    assert "Purged 0 refresh tokens, 0 access tokens" in result.output
    # Revoked, but only just: kept until --hours have passed.
    _age(app, "AccessToken", revoked=True)
    _age(app, "RefreshToken", revoked=True)
    assert "Purged 0 refresh tokens, 0 access tokens" in run(app, "purge", "--revoked").output
    assert "Purged 2 refresh tokens, 2 access tokens" in run(
        app, "purge", "--revoked", "--hours", "0").output


def test_purge_revoked_only_leaves_expired(app: Flask, client: Any, machine_client: Any) -> None:
    for _ in range(3):
        client_token(client, machine_client)
    long_ago = utcnow() - timedelta(days=30)
    _age(app, "AccessToken", expires_at=long_ago, created_at=long_ago)
    assert "0 access tokens" in run(app, "purge", "--revoked").output
    assert _count(app, "AccessToken") == 3
    assert "3 access tokens" in run(app, "purge", "--expired").output


def test_purge_keeps_access_token_of_live_refresh_token(app: Flask, client: Any,
                                                         password_client: Any, user: Any) -> None:
    _make_tokens(app, client, password_client, user, 1)
    _age(app, "AccessToken", expires_at=utcnow() - timedelta(days=30))
    run(app, "purge", "--expired")
    assert _count(app, "AccessToken") == 1 and _count(app, "RefreshToken") == 1


def test_purge_bad_option_is_one_line(app: Flask) -> None:
    result = run(app, "purge", "--hours", "-3")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_resource_server_client_introspects_any_token(app: Flask, client: Any,
                                                      machine_client: Any) -> None:
    result = run(app, "client", "--resource-server", "--name", "Orders API", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["grant_types"] == ["introspect"] and data["confidential"] is True
    value = client_token(client, machine_client).json["access_token"]
    auth = base64.b64encode(f"{data['id']}:{data['secret']}".encode()).decode()
    resp = client.post("/oauth/introspect", data={"token": value},
                       headers={"Authorization": f"Basic {auth}"})
    assert resp.status_code == 200 and resp.json["active"] is True
    assert resp.json["client_id"] == machine_client.client.id
