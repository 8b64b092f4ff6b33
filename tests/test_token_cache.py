"""The optional verified-token cache: off by default, bounded, never past a token's expiry,
and revocations made in this process take effect at once."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, jsonify

from flask_passport import scope
from flask_passport.oauth2.revocation import revoke_access_tokens
from flask_passport.resource.guard import BearerToken, token_cache
from flask_passport.resource.token_cache import VerifiedTokenCache
from flask_passport.storage.models import utcnow


class Clock:
    """The cache's clock, moved by hand: TTL tests must not depend on the machine's speed."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    import flask_passport.resource.token_cache as module

    fake = Clock()
    monkeypatch.setattr(module, "time", fake)
    return fake


def _token(token_id: str, seconds: float = 600) -> BearerToken:
    return BearerToken(token_id, None, "c", ["a"], utcnow() + timedelta(seconds=seconds))


def test_cache_is_bounded_and_expires() -> None:
    cache = VerifiedTokenCache(ttl=30, size=2)
    cache.put("v1", _token("t1"))
    cache.put("v2", _token("t2"))
    assert cache.get("v1") is not None  # v1 is now the most recently used
    cache.put("v3", _token("t3"))
    assert cache.get("v2") is None and cache.get("v1") is not None and len(cache) == 2
    cache.discard_id("t1")
    assert cache.get("v1") is None
    short = VerifiedTokenCache(ttl=30, size=10)
    short.put("v", _token("t", seconds=0.05))  # the token's own expiry wins over the TTL
    time.sleep(0.1)
    assert short.get("v") is None


def test_off_by_default(app: Flask) -> None:
    assert token_cache(app.extensions["passport"]) is None


def _mint(client: Any, machine_client: Any) -> str:
    resp = client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": machine_client.client.id,
        "client_secret": machine_client.secret})
    assert resp.status_code == 200
    return str(resp.json["access_token"])


def _with_cached_route(app: Flask) -> Any:
    """Turn the cache on (TTL 60 s) and add ``GET /cached`` (``scope("check-status")``)."""
    app.config["PASSPORT_TOKEN_CACHE_TTL"] = 60
    state = app.extensions["passport"]
    state.passport.reload_settings(app)

    @app.get("/cached")
    @scope("check-status")
    def cached() -> Any:
        return jsonify(ok=True)

    return state


def test_revocation_in_process_evicts(app: Flask, client: Any, machine_client: Any) -> None:
    state = _with_cached_route(app)

    value = _mint(client, machine_client)
    headers = {"Authorization": f"Bearer {value}"}
    assert client.get("/cached", headers=headers).status_code == 200
    assert len(token_cache(state)) == 1  # type: ignore[arg-type]
    with app.test_request_context():
        ctx = state.context()
        token_id = next(iter(token_cache(state)._by_id))  # type: ignore[union-attr]
        revoke_access_tokens(ctx, [token_id], "revoked")
        ctx.commit()  # sends access_token_revoked, which evicts the entry
    resp = client.get("/cached", headers=headers)
    assert resp.status_code == 401
    assert "revoked" in resp.json["error_description"]


def test_revocation_elsewhere_waits_for_the_ttl(app: Flask, client: Any, machine_client: Any,
                                                clock: Clock) -> None:
    """A revocation this process did not see (another worker, raw SQL) is honoured once the
    entry ages out: the documented trade-off."""
    app.config["PASSPORT_TOKEN_CACHE_TTL"] = 0.3
    state = app.extensions["passport"]
    state.passport.reload_settings(app)

    @app.get("/cached2")
    @scope("check-status")
    def cached2() -> Any:
        return jsonify(ok=True)

    value = _mint(client, machine_client)
    headers = {"Authorization": f"Bearer {value}"}
    assert client.get("/cached2", headers=headers).status_code == 200
    db = app.extensions["sqlalchemy"]
    with app.app_context():
        db.session.execute(db.update(state.models.AccessToken).values(revoked=True))
        db.session.commit()
    assert client.get("/cached2", headers=headers).status_code == 200  # within the TTL
    clock.now += 0.35
    assert client.get("/cached2", headers=headers).status_code == 401


def _personal_token(app: Flask, user: Any, personal_client: Any) -> str:
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        return str(db.session.get(type(user), user.id).create_token("t", ["*"]).access_token)


def test_a_hit_serves_a_session_bound_copy_of_the_user(
        app: Flask, client: Any, user: Any, personal_client: Any) -> None:
    """The cached user is copied into each request's session: a view that changes it flushes
    as usual, each request gets its own instance, and the cache's copy stays clean."""
    from flask_login import current_user
    from sqlalchemy import inspect as sa_inspect

    app.config["PASSPORT_TOKEN_CACHE_TTL"] = 60
    state = app.extensions["passport"]
    state.passport.reload_settings(app)
    db = app.extensions["sqlalchemy"]
    seen: list[int] = []

    @app.post("/cached-user")
    @scope("*")
    def rename() -> Any:
        seen.append(id(current_user._get_current_object()))
        assert sa_inspect(current_user._get_current_object()).session is db.session()
        current_user.email = "renamed@example.com"
        db.session.commit()
        return jsonify(email=current_user.email)

    headers = {"Authorization": f"Bearer {_personal_token(app, user, personal_client)}"}
    assert client.post("/cached-user", headers=headers).status_code == 200  # miss: loads
    with app.app_context():
        db.session.execute(db.update(type(user)).values(email="back@example.com"))
        db.session.commit()
    assert client.post("/cached-user", headers=headers).json == {
        "email": "renamed@example.com"}  # hit: the copy flushed like any loaded instance
    with app.app_context():
        assert db.session.get(type(user), user.id).email == "renamed@example.com"
    assert len(set(seen)) == 2
    _, snapshot = token_cache(state).lookup(headers["Authorization"][7:])  # type: ignore
    assert snapshot.email == user.email  # the cache's copy never saw the view's change
    assert not sa_inspect(snapshot).modified and sa_inspect(snapshot).detached


def test_user_changes_elsewhere_show_within_the_ttl(
        app: Flask, client: Any, user: Any, personal_client: Any, clock: Clock) -> None:
    from flask_login import current_user

    app.config["PASSPORT_TOKEN_CACHE_TTL"] = 0.3
    app.extensions["passport"].passport.reload_settings(app)
    db = app.extensions["sqlalchemy"]

    @app.get("/cached-email")
    @scope("*")
    def email() -> Any:
        return jsonify(email=current_user.email)

    headers = {"Authorization": f"Bearer {_personal_token(app, user, personal_client)}"}
    assert client.get("/cached-email", headers=headers).json["email"] == user.email
    with app.app_context():
        db.session.execute(db.update(type(user)).values(email="elsewhere@example.com"))
        db.session.commit()
    assert client.get("/cached-email", headers=headers).json["email"] == user.email
    clock.now += 0.35
    assert client.get("/cached-email", headers=headers).json["email"] == \
        "elsewhere@example.com"


def test_only_clean_mapped_users_are_snapshotted(app: Flask, user: Any) -> None:
    from flask_passport.resource.token_cache import snapshot_user

    assert snapshot_user(object()) is None  # not a SQLAlchemy model: loaded on every request
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        loaded = db.session.get(type(user), user.id)
        assert snapshot_user(loaded) is not None
        loaded.email = "dirty@example.com"
        assert snapshot_user(loaded) is None  # unflushed changes are never cached
        assert snapshot_user(type(user)(email="new@example.com")) is None  # not persistent


def test_an_eviction_during_verification_keeps_the_result_out() -> None:
    """A revocation that lands while a request is verifying the same token wins: the request's
    (possibly stale) result is not cached. Evictions of other tokens don't get in the way."""
    cache = VerifiedTokenCache(60, 10)
    token = _token("jti-1")
    generation = cache.generation
    cache.discard_id("another-token")  # unrelated: still cached below
    cache.put("other", token, generation=generation)
    assert cache.get("other") is not None
    generation = cache.generation
    cache.discard_id("jti-1")  # the revocation message arrives mid-verification
    cache.put("value", token, generation=generation)
    assert cache.get("value") is None
    generation = cache.generation
    cache.clear()  # a broadcast reconnect mid-verification: nothing verified before it is kept
    cache.put("value", token, generation=generation)
    assert len(cache) == 0
    cache.put("value", token, generation=cache.generation)
    assert cache.get("value") is not None
    cache.gate = lambda: False  # the broadcast listener lost its link: nothing is trusted
    assert cache.get("value") is None


def test_the_guard_reads_the_generation_before_verifying(
    app: Flask, client: Any, machine_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the guard: a revocation that evicts the token while its row is being read keeps
    that read out of the cache (the next request reads the row again)."""
    from flask_passport.resource import guard
    state = _with_cached_route(app)

    real = guard._verify_bearer

    def verify_then_evict(state_: Any, value: str) -> BearerToken:
        token = real(state_, value)
        token_cache(state_).discard_id(token.id)  # type: ignore[union-attr]
        return token

    monkeypatch.setattr(guard, "_verify_bearer", verify_then_evict)
    headers = {"Authorization": f"Bearer {_mint(client, machine_client)}"}
    assert client.get("/cached", headers=headers).status_code == 200
    assert len(token_cache(state)) == 0  # type: ignore[arg-type]
    monkeypatch.setattr(guard, "_verify_bearer", real)
    assert client.get("/cached", headers=headers).status_code == 200
    assert len(token_cache(state)) == 1  # type: ignore[arg-type]


def test_every_spelling_of_a_token_is_evicted() -> None:
    cache = VerifiedTokenCache(60, 10)
    token = _token("jti-1")
    cache.put("spelling-a", token)
    cache.put("spelling-b", token)
    cache.discard_id("jti-1")
    assert len(cache) == 0


@pytest.mark.parametrize("level", [None, "REPEATABLE READ"])
def test_a_check_inside_an_older_snapshot_is_not_cached(
    app: Flask, client: Any, machine_client: Any, backend: str, level: str | None
) -> None:
    """A request that opened a REPEATABLE READ transaction before its token check may read a
    snapshot older than a revocation: the result serves that request and is not kept. At the
    default levels (READ COMMITTED; SQLite) an earlier query changes nothing."""
    import sqlalchemy as sa
    from conftest import db

    if level is not None and backend == "sqlite":
        pytest.skip("SQLite has no REPEATABLE READ level")
    state = _with_cached_route(app)
    touch = {"on": True}

    @app.before_request
    def earlier_query() -> None:
        if touch["on"]:
            options = {"isolation_level": level} if level else None
            db.session.connection(execution_options=options)
            db.session.execute(sa.text("SELECT 1"))

    headers = {"Authorization": f"Bearer {_mint(client, machine_client)}"}
    assert client.get("/cached", headers=headers).status_code == 200
    assert len(token_cache(state)) == (0 if level else 1)  # type: ignore[arg-type]
    touch["on"] = False
    assert client.get("/cached", headers=headers).status_code == 200
    assert len(token_cache(state)) == 1  # type: ignore[arg-type]
