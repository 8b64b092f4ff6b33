"""Blinker signals: created and revoked tokens, sent after the transaction commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from conftest import User, db
from flask import Flask
from helpers import add_routes, bearer, client_token, password_token, refresh

from flask_passport import signals


@contextmanager
def recording(*sigs: Any) -> Iterator[list[tuple[str, Any, dict[str, Any]]]]:
    seen: list[tuple[str, Any, dict[str, Any]]] = []
    receivers = []
    for sig in sigs:
        def receiver(sender: Any, _name: str = sig.name, **kwargs: Any) -> None:
            # Read row ids here: receivers run inside the request, after the commit.
            for key in ("token", "client"):
                if key in kwargs:
                    kwargs[f"{key}.id"] = kwargs[key].id
            seen.append((_name, sender, kwargs))
        receivers.append((sig, receiver))
        sig.connect(receiver)
    try:
        yield seen
    finally:
        for sig, receiver in receivers:
            sig.disconnect(receiver)


ALL = (signals.access_token_created, signals.refresh_token_created, signals.access_token_revoked,
       signals.refresh_token_reused)


def test_signals_come_from_our_own_namespace() -> None:
    import flask.signals

    assert signals.access_token_created is not getattr(flask.signals, "_signals", None)
    assert signals.access_token_created.name == "access-token-created"


def test_client_credentials_sends_access_token_created(app: Flask, client: Any,
                                                       machine_client: Any) -> None:
    with recording(*ALL) as seen:
        token = client_token(client, machine_client)
    assert token.status_code == 200
    assert [s[0] for s in seen] == ["access-token-created"]
    _, sender, kwargs = seen[0]
    assert sender is app
    assert kwargs["user_id"] is None and kwargs["grant_type"] == "client_credentials"
    assert kwargs["client.id"] == machine_client.client.id


def test_password_grant_sends_both_created(app: Flask, client: Any, password_client: Any,
                                           user: Any) -> None:
    with recording(*ALL) as seen:
        password_token(client, password_client, user)
    assert [s[0] for s in seen] == ["access-token-created", "refresh-token-created"]
    assert seen[0][2]["user_id"] == str(user.id)
    assert seen[1][2]["access_token_id"] == seen[0][2]["token.id"]


def test_no_signal_for_failed_requests(client: Any, password_client: Any, user: Any) -> None:
    with recording(*ALL) as seen:
        password_token(client, password_client, user, password="wrong")
        password_token(client, password_client, user, scope="undefined")
    assert seen == []


def test_rotation_sends_revoked_and_created(client: Any, password_client: Any, user: Any) -> None:
    first = password_token(client, password_client, user).json
    with recording(*ALL) as seen:
        refresh(client, password_client, first["refresh_token"])
    names = [s[0] for s in seen]
    assert names == ["access-token-revoked", "access-token-created", "refresh-token-created"]
    assert seen[0][2]["reason"] == "rotated"


def test_reuse_sends_revoked_for_every_token_of_the_family(client: Any, password_client: Any,
                                                           user: Any) -> None:
    first = password_token(client, password_client, user).json
    second = refresh(client, password_client, first["refresh_token"]).json
    with recording(*ALL) as seen:
        refresh(client, password_client, first["refresh_token"])
    revoked = [s for s in seen if s[0] == "access-token-revoked"]
    # The first access token was already revoked by the rotation; the second one dies now.
    assert len(revoked) == 1
    assert revoked[0][2]["reason"] == "reuse_detected"
    import jwt

    assert revoked[0][2]["token_id"] == jwt.decode(
        second["access_token"], options={"verify_signature": False})["jti"]
    assert "refresh-token-reused" in [s[0] for s in seen]


def test_current_token_revoke_sends_revoked(app: Flask, client: Any, password_client: Any,
                                            user: Any) -> None:
    add_routes(app)
    token = password_token(client, password_client, user).json["access_token"]
    with recording(*ALL) as seen:
        assert client.post("/logout", headers=bearer(token)).status_code == 200
    assert [(s[0], s[2]["reason"]) for s in seen] == [("access-token-revoked", "revoked")]


def test_personal_access_token_sends_created(app: Flask, user: Any, personal_client: Any) -> None:
    with recording(*ALL) as seen, app.app_context():
        db.session.get(User, user.id).create_token("x", [])
    assert [s[0] for s in seen] == ["access-token-created"]
    assert seen[0][2]["grant_type"] == "personal_access"


def test_revoking_twice_sends_once(app: Flask, client: Any, password_client: Any, user: Any
                                   ) -> None:
    from flask_passport.oauth2.revocation import revoke_access_tokens

    password_token(client, password_client, user)
    with app.app_context(), recording(*ALL) as seen:
        state = app.extensions["passport"]
        ids = list(db.session.scalars(sa.select(state.models.AccessToken.id)))
        for _ in range(2):
            ctx = state.context()
            revoke_access_tokens(ctx, ids, "revoked")
            ctx.commit()
    assert [s[0] for s in seen] == ["access-token-revoked"]
