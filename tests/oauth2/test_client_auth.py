"""Client authentication at the token endpoint (RFC 6749 §2.3.1, §5.2)."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from conftest import db, new_client
from flask import Flask
from helpers import basic, post_token

from flask_passport.jose import tokens
from flask_passport.oauth2 import client_auth

CC = {"grant_type": "client_credentials"}


def test_basic_auth(client: Any, machine_client: Any) -> None:
    resp = post_token(client, CC, basic(machine_client.client.id, machine_client.secret))
    assert resp.status_code == 200, resp.json


def test_basic_auth_is_form_urldecoded(client: Any, machine_client: Any) -> None:
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    headers = basic(quote(machine_client.client.id), quote(machine_client.secret, safe=""))
    assert post_token(client, CC, headers).status_code == 200


def test_body_auth(client: Any, machine_client: Any) -> None:
    resp = post_token(client, {**CC, "client_id": machine_client.client.id,
                               "client_secret": machine_client.secret})
    assert resp.status_code == 200


def test_wrong_secret_basic_gets_401_with_challenge(client: Any, machine_client: Any) -> None:
    resp = post_token(client, CC, basic(machine_client.client.id, "wrong"))
    assert resp.status_code == 401
    assert resp.json["error"] == "invalid_client"
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert resp.headers["Cache-Control"] == "no-store"


def test_wrong_secret_body_gets_401_without_basic_challenge(client: Any, machine_client: Any
                                                            ) -> None:
    resp = post_token(client, {**CC, "client_id": machine_client.client.id,
                               "client_secret": "wrong"})
    assert resp.status_code == 401
    assert resp.json["error"] == "invalid_client"
    assert "WWW-Authenticate" not in resp.headers


@pytest.mark.parametrize("client_id", ["00000000-0000-0000-0000-000000000000", "x" * 65,
                                       "not-a-uuid"])
def test_unknown_client(client: Any, client_id: str) -> None:
    resp = post_token(client, {**CC, "client_id": client_id, "client_secret": "s"})
    assert resp.status_code == 401
    assert resp.json["error"] == "invalid_client"


def test_no_credentials(client: Any) -> None:
    resp = post_token(client, CC)
    assert resp.status_code == 401
    assert resp.json["error"] == "invalid_client"


def test_missing_secret_for_confidential_client(client: Any, machine_client: Any) -> None:
    resp = post_token(client, {**CC, "client_id": machine_client.client.id})
    assert resp.status_code == 401
    assert resp.json["error"] == "invalid_client"


@pytest.mark.parametrize("header", [
    "Basic !!!notbase64",
    "Basic " + base64.b64encode(b"noseparator").decode(),
    "Basic " + base64.b64encode(b":secret").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
])
def test_malformed_basic_header(client: Any, header: str) -> None:
    resp = post_token(client, CC, {"Authorization": header})
    assert resp.status_code == 401
    assert resp.json["error"] == "invalid_client"
    assert resp.headers["WWW-Authenticate"].startswith("Basic")


def test_two_methods_at_once_is_refused(client: Any, machine_client: Any) -> None:
    resp = post_token(client, {**CC, "client_secret": machine_client.secret},
                      basic(machine_client.client.id, machine_client.secret))
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_request"


def test_body_client_id_must_match_basic(app: Flask, client: Any, machine_client: Any) -> None:
    other = new_client(app, "client_credentials")
    resp = post_token(client, {**CC, "client_id": other.client.id},
                      basic(machine_client.client.id, machine_client.secret))
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_request"


def test_revoked_client_is_refused(app: Flask, client: Any, machine_client: Any) -> None:
    with app.app_context():
        model = app.extensions["passport"].models.Client
        db.session.execute(sa.update(model).values(revoked=True))
        db.session.commit()
    resp = post_token(client, CC, basic(machine_client.client.id, machine_client.secret))
    assert resp.status_code == 401
    assert resp.json["error"] == "invalid_client"


def test_secret_stored_only_as_sha256_digest(app: Flask, machine_client: Any) -> None:
    with app.app_context():
        model = app.extensions["passport"].models.Client
        row = db.session.get(model, machine_client.client.id)
        assert row.secret_hash == tokens.hash_secret(machine_client.secret)
        assert len(row.secret_hash) == 64
        assert machine_client.secret not in str(row.to_dict())


def test_secret_comparison_is_constant_time(app: Flask, client: Any, machine_client: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real = tokens.secrets_equal

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(tokens, "secrets_equal", spy)
    post_token(client, CC, basic(machine_client.client.id, "wrong"))
    # The digest of the presented secret is compared with the stored digest.
    assert (tokens.hash_secret("wrong"), tokens.hash_secret(machine_client.secret)) in calls


def test_public_client_authenticates_without_secret_but_cannot_use_client_credentials(
    app: Flask, client: Any
) -> None:
    public = new_client(app, "public")
    assert public.secret is None
    resp = post_token(client, {**CC, "client_id": public.client.id})
    assert resp.status_code == 400
    assert resp.json["error"] == "unauthorized_client"
    # Even when the client is (mis)configured with the grant, it is refused.
    forced = new_client(app, "public", grant_types=["client_credentials"])
    resp = post_token(client, {**CC, "client_id": forced.client.id})
    assert resp.status_code == 400
    assert resp.json["error"] == "unauthorized_client"


def test_public_client_sending_a_secret_is_refused(app: Flask, client: Any) -> None:
    public = new_client(app, "public")
    resp = post_token(client, {"grant_type": "refresh_token", "client_id": public.client.id,
                               "client_secret": "anything", "refresh_token": "a.b"})
    assert resp.status_code == 401
    assert resp.json["error"] == "invalid_client"


def test_read_credentials_is_framework_free() -> None:
    from flask_passport.oauth2.context import TokenRequest

    creds = client_auth.read_credentials(TokenRequest({"client_id": "abc"}, None))
    assert creds is not None and (creds.client_id, creds.client_secret, creds.basic) == (
        "abc", None, False)
