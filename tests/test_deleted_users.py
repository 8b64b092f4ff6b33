"""A deleted user's tokens die with it: the refresh grant refuses them, an ORM delete revokes
everything the user holds in the same transaction, ``Passport.revoke_user_tokens`` does the same
for bulk deletes, and the guard refuses a token whose user row is gone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import User, db, make_app, new_client
from flask import Flask
from standards_support import add_routes, bearer, password_token, refresh
from test_user_join import Customer, Person, serve_sti_app, sti_db

from flask_passport import Passport, signals
from flask_passport.jose.tokens import hash_secret, new_id
from flask_passport.oauth2.grants import refresh_token
from flask_passport.resource.guard import verify_bearer
from flask_passport.storage.models import utcnow


def _new_user(app: Flask, email: str, user_id: int | None = None) -> Any:
    with app.app_context():
        user = User(id=user_id, email=email) if user_id is not None else User(email=email)
        user.set_password("secret-password")
        db.session.add(user)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        return user


def _bulk_delete(app: Flask, user_id: int) -> None:
    """A Core delete: no ORM event fires, so only the checks themselves stand in the way."""
    with app.app_context():
        db.session.execute(sa.delete(User).where(User.id == user_id))
        db.session.commit()


def _orm_delete(app: Flask, user_id: int) -> None:
    with app.app_context():
        db.session.delete(db.session.get(User, user_id))
        db.session.commit()


@contextmanager
def _own_app(config: dict[str, Any]) -> Iterator[Flask]:
    """A test app with other settings than the ``app`` fixture's, its tables dropped after."""
    app = make_app(config)
    add_routes(app)
    with app.app_context():
        db.create_all()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def _grants_of(app: Flask, user_id: int) -> dict[str, list[Any]]:
    """The user's rows, as (revoked or status) per table."""
    with app.app_context():
        m = app.extensions["passport"].models
        uid = str(user_id)
        access = db.session.scalars(sa.select(m.AccessToken.revoked)
                                    .where(m.AccessToken.user_id == uid)).all()
        refresh_rows = db.session.scalars(
            sa.select(m.RefreshToken.revoked).join(
                m.AccessToken, m.AccessToken.id == m.RefreshToken.access_token_id)
            .where(m.AccessToken.user_id == uid)).all()
        codes = db.session.scalars(sa.select(m.AuthCode.revoked)
                                   .where(m.AuthCode.user_id == uid)).all()
        devices = db.session.scalars(sa.select(m.DeviceCode.status)
                                     .where(m.DeviceCode.user_id == uid)).all()
        return {"access": list(access), "refresh": list(refresh_rows), "codes": list(codes),
                "devices": sorted(devices)}


def _add_codes(app: Flask, client_id: str, user_id: int) -> None:
    """An unused authorization code and an approved and a pending device code of the user."""
    with app.app_context():
        m = app.extensions["passport"].models
        expires = utcnow() + timedelta(minutes=5)
        db.session.add(m.AuthCode(secret_hash=hash_secret(new_id()), user_id=str(user_id),
                                  client_id=client_id, scopes=[], expires_at=expires))
        for status in ("approved", "pending"):
            db.session.add(m.DeviceCode(device_code_hash=hash_secret(new_id()),
                                        user_code_hash=hash_secret(new_id()),
                                        client_id=client_id, scopes=[], user_id=str(user_id),
                                        status=status, expires_at=expires))
        db.session.commit()


# -- the refresh grant ---------------------------------------------------------------------------


@pytest.mark.parametrize("joined", [True, False], ids=["user-joined", "loader"])
def test_refresh_grant_refuses_a_deleted_users_token(
    app: Flask, client: Any, password_client: Any, user: Any, joined: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whether the refresh query joins the user or the app's loader looks it up."""
    if not joined:
        monkeypatch.setattr(refresh_token, "_QUERIES", {})
        monkeypatch.setattr(refresh_token, "user_join", lambda *a, **k: None)
    tokens = password_token(client, password_client, user)
    _bulk_delete(app, user.id)
    resp = refresh(client, password_client, tokens["refresh_token"])
    assert resp.status_code == 400, resp.json
    assert resp.json["error"] == "invalid_grant"
    assert resp.json["error_description"] == "The refresh token's user no longer exists."


def test_refresh_still_works_for_a_live_user(app: Flask, client: Any, password_client: Any,
                                             user: Any) -> None:
    tokens = password_token(client, password_client, user)
    resp = refresh(client, password_client, tokens["refresh_token"])
    assert resp.status_code == 200, resp.json


# -- ORM deletes ---------------------------------------------------------------------------------


def test_id_reuse_does_not_hand_old_tokens_to_the_next_user(
    app: Flask, client: Any, password_client: Any, backend: str
) -> None:
    """SQLite gives a deleted user's integer id to the next account; the old tokens must not
    authenticate as that account (on PostgreSQL the id is given explicitly)."""
    add_routes(app)
    first = _new_user(app, "first@example.com")
    tokens = password_token(client, password_client, first)
    assert client.get("/t/me", headers=bearer(tokens["access_token"])).json == {
        "id": str(first.id)}
    _orm_delete(app, first.id)
    second = _new_user(app, "second@example.com",
                       user_id=None if backend == "sqlite" else first.id)
    assert second.id == first.id  # the id really was reused
    resp = client.get("/t/me", headers=bearer(tokens["access_token"]))
    assert resp.status_code == 401 and "invalid_token" in resp.headers["WWW-Authenticate"]
    assert refresh(client, password_client, tokens["refresh_token"]).status_code == 400


def test_orm_delete_revokes_everything_after_commit_only(
    app: Flask, client: Any, password_client: Any, user: Any
) -> None:
    password_token(client, password_client, user)
    password_token(client, password_client, user)
    _add_codes(app, password_client.client.id, user.id)
    other = _new_user(app, "other@example.com")
    password_token(client, password_client, other)
    revoked: list[dict[str, Any]] = []
    refreshed: list[dict[str, Any]] = []
    with signals.access_token_revoked.connected_to(lambda s, **kw: revoked.append(kw)), \
            signals.refresh_token_revoked.connected_to(lambda s, **kw: refreshed.append(kw)), \
            app.app_context():
        db.session.delete(db.session.get(User, user.id))
        db.session.flush()
        assert revoked == []  # nothing is announced before the commit
        db.session.commit()
    assert len(revoked) == 2 and {kw["reason"] for kw in revoked} == {"user_deleted"}
    assert len(refreshed) == 2
    assert _grants_of(app, user.id) == {"access": [True, True], "refresh": [True, True],
                                        "codes": [True], "devices": ["denied", "denied"]}
    # Another user's grants are untouched.
    assert _grants_of(app, other.id) == {"access": [False], "refresh": [False], "codes": [],
                                         "devices": []}


def test_a_rolled_back_delete_revokes_nothing(app: Flask, client: Any, password_client: Any,
                                              user: Any) -> None:
    tokens = password_token(client, password_client, user)
    revoked: list[Any] = []
    with signals.access_token_revoked.connected_to(lambda s, **kw: revoked.append(kw)), \
            app.app_context():
        db.session.delete(db.session.get(User, user.id))
        db.session.flush()
        db.session.rollback()
        db.session.commit()  # a later commit does not send the rolled-back revocations
    assert revoked == []
    assert _grants_of(app, user.id)["access"] == [False]
    assert refresh(client, password_client, tokens["refresh_token"]).status_code == 200


def test_a_delete_evicts_the_token_from_the_cache(app_config: dict[str, Any]) -> None:
    """The revocation reaches the verified-token cache (and its broadcast) after the commit."""
    with _own_app({**app_config, "PASSPORT_TOKEN_CACHE_TTL": 300}) as app:
        pc = new_client(app, "password")
        http = app.test_client()
        victim = _new_user(app, "cached@example.com")
        tokens = password_token(http, pc, victim)
        assert http.get("/t/me", headers=bearer(tokens["access_token"])).status_code == 200
        _orm_delete(app, victim.id)
        _new_user(app, "next@example.com", user_id=victim.id)
        assert http.get("/t/me", headers=bearer(tokens["access_token"])).status_code == 401


@pytest.fixture
def person_app(app_config: dict[str, Any], tmp_path: Any) -> Iterator[Flask]:
    """The single-table-inheritance models of test_user_join, with the *base* class as the
    user model: deleting a subclass instance must revoke too."""
    yield from serve_sti_app(app_config, tmp_path, Person)


def test_deleting_a_subclass_instance_revokes(person_app: Flask) -> None:
    from flask_passport.storage.clients import create_client

    with person_app.app_context():
        create_client(sti_db.session, person_app.extensions["passport"].models, name="pat",
                      kind="personal_access")
        customer = Customer(email="c@example.com")
        sti_db.session.add(customer)
        sti_db.session.commit()
        pat = customer.create_token("pat", ["read"]).access_token
        sti_db.session.delete(customer)
        sti_db.session.commit()
        AccessToken = person_app.extensions["passport"].models.AccessToken
        assert sti_db.session.scalars(sa.select(AccessToken.revoked)).all() == [True]
    assert person_app.test_client().get("/me", headers=bearer(pat)).status_code == 401


# -- bulk deletes: the public helper -------------------------------------------------------------


@pytest.mark.parametrize("how", ["orm", "helper"])
def test_a_deleted_users_clients_are_revoked_with_their_tokens(
    app: Flask, client: Any, user: Any, passport: Passport, how: str
) -> None:
    """A client outlives no owner: the next account given the owner's id (SQLite reuses it)
    must not own a live client whose secret it could reset, and the client's tokens, other
    users' included, stop working."""
    add_routes(app)
    owner = _new_user(app, "owner@example.com")
    owned = new_client(app, "password", user_id=str(owner.id))
    other = _new_user(app, "other@example.com")
    tokens = password_token(client, owned, other)
    assert client.get("/t/me", headers=bearer(tokens["access_token"])).status_code == 200
    with app.app_context():
        if how == "orm":
            db.session.delete(db.session.get(User, owner.id))
        else:
            db.session.execute(sa.delete(User).where(User.id == owner.id))
            passport.revoke_user_tokens(str(owner.id))
        db.session.commit()
    assert client.get("/t/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert refresh(client, owned, tokens["refresh_token"]).status_code == 401
    successor = _new_user(app, "successor@example.com", user_id=owner.id)  # the id reused
    with app.app_context():
        m = app.extensions["passport"].models
        live = db.session.scalars(sa.select(m.Client.id).where(
            m.Client.user_id == str(successor.id), m.Client.revoked.is_(False))).all()
        assert live == []
    # The revoked client can no longer get tokens at all.
    resp = client.post("/oauth/token", data={
        "grant_type": "password", "client_id": owned.client.id, "client_secret": owned.secret,
        "username": other.email, "password": "secret-password"})
    assert resp.status_code == 401 and resp.json["error"] == "invalid_client"


def test_revoke_user_tokens_for_bulk_deletes(app: Flask, client: Any, password_client: Any,
                                             passport: Passport) -> None:
    add_routes(app)
    first = _new_user(app, "a@example.com")
    second = _new_user(app, "b@example.com")
    kept = _new_user(app, "c@example.com")
    tokens = [password_token(client, password_client, u) for u in (first, second, kept)]
    revoked: list[Any] = []
    with signals.access_token_revoked.connected_to(lambda s, **kw: revoked.append(kw)), \
            app.app_context():
        db.session.execute(sa.delete(User).where(User.id.in_([first.id, second.id])))
        # A user instance or its id (a get_id() string or the key itself).
        assert passport.revoke_user_tokens(str(first.id), second.id) == 2
        assert revoked == []
        db.session.commit()
    assert len(revoked) == 2
    for gone in tokens[:2]:
        assert client.get("/t/me", headers=bearer(gone["access_token"])).status_code == 401
        assert refresh(client, password_client, gone["refresh_token"]).status_code == 400
    assert client.get("/t/me", headers=bearer(tokens[2]["access_token"])).status_code == 200
    with app.app_context():
        assert passport.revoke_user_tokens(db.session.get(User, kept.id)) == 1
        db.session.commit()
    assert client.get("/t/me", headers=bearer(tokens[2]["access_token"])).status_code == 401


# -- the guard -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["joined", "loader", "cache"])
def test_guard_refuses_a_token_whose_user_row_is_gone(
    app_config: dict[str, Any], path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bulk-deleted (no revocation): the token row is live, its user is not. Every way the
    guard finds the user says 401, and so does ``verify_bearer``."""
    from flask_passport.resource import guard
    config = dict(app_config)
    if path == "cache":
        config.update(PASSPORT_TOKEN_CACHE_TTL=300, PASSPORT_TOKEN_CACHE_USERS=False)
    if path == "loader":
        monkeypatch.setattr(guard, "_TOKEN_QUERIES", {})
        monkeypatch.setattr(guard, "_user_join", lambda *a, **k: None)
    with _own_app(config) as app:
        pc = new_client(app, "password")
        http = app.test_client()
        victim = _new_user(app, "gone@example.com")
        value = password_token(http, pc, victim)["access_token"]
        assert http.get("/t/me", headers=bearer(value)).status_code == 200  # cached if on
        _bulk_delete(app, victim.id)
        resp = http.get("/t/me", headers=bearer(value))
        assert resp.status_code == 401 and resp.json["error"] == "invalid_token"
        assert resp.json["error_description"] == "The token's user no longer exists."
        with app.test_request_context(), pytest.raises(guard.BearerError) as raised:
            verify_bearer(app.extensions["passport"], value)
        assert raised.value.error == "invalid_token"
