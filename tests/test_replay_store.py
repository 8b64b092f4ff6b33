"""The single-use value stores (storage/replay.py): first use wins, everywhere it is shared."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import make_app
from flask import Flask

from flask_passport.extension import passport_state
from flask_passport.settings import Settings
from flask_passport.storage.models import utcnow
from flask_passport.storage.replay import (
    DatabaseReplayStore,
    MemoryReplayStore,
    RedisReplayStore,
    remember_until,
    replay_key,
)


def _later(seconds: int = 60) -> Any:
    return utcnow() + timedelta(seconds=seconds)


def test_database_store_refuses_the_second_use(app: Flask) -> None:
    with app.app_context():
        store = passport_state().replay_store()
        assert isinstance(store, DatabaseReplayStore)
        assert store.use_once("dpop", "jti-1", _later()) is True
        assert store.use_once("dpop", "jti-1", _later()) is False
        # Namespaces are apart: the same jti in a client assertion is another value.
        assert store.use_once("client_assertion", "jti-1", _later()) is True


def test_database_store_keeps_digests_only(app: Flask) -> None:
    with app.app_context():
        state = passport_state()
        state.replay_store().use_once("dpop", "visible-jti", _later())
        table = state.models.UsedJti.__table__
        with state.db.engine.connect() as conn:
            keys = conn.execute(sa.select(table.c.id)).scalars().all()
    assert keys == [replay_key("dpop", "visible-jti")]
    assert "visible-jti" not in keys[0]


def test_a_rolled_back_request_still_remembers(app: Flask) -> None:
    """The store commits on its own connection: a read-only route or a failed request that
    rolls its session back must not forget the value (else the proof could be replayed)."""
    with app.app_context():
        state = passport_state()
        ctx = state.context()
        assert ctx.replay is not None
        assert ctx.replay.use_once("dpop", "jti-rollback", _later()) is True
        ctx.rollback()
        assert ctx.replay.use_once("dpop", "jti-rollback", _later()) is False


def test_two_apps_sharing_a_database_agree(app: Flask, app_config: dict[str, Any]) -> None:
    other = make_app(app_config)
    with app.app_context():
        assert passport_state().replay_store().use_once("dpop", "shared", _later()) is True
    with other.app_context():
        assert passport_state().replay_store().use_once("dpop", "shared", _later()) is False


def test_an_expired_value_may_be_used_again(app: Flask) -> None:
    with app.app_context():
        state = passport_state()
        past = utcnow() - timedelta(seconds=30)
        then = DatabaseReplayStore(lambda: state.db.engine, state.models.UsedJti,
                                   now=lambda: past - timedelta(seconds=1))
        assert then.use_once("dpop", "old", past) is True
        store = state.replay_store()
        assert store.use_once("dpop", "old", _later()) is True
        assert store.use_once("dpop", "old", _later()) is False


def test_a_value_already_expired_is_refused_by_every_store(app: Flask) -> None:
    """An expiry in the past must not "succeed" on every use (the value would be written as
    reusable at once, or, in Redis, not written at all): the stores refuse it."""
    past = utcnow() - timedelta(seconds=1)
    with app.app_context():
        store = passport_state().replay_store()
        for _ in range(2):
            assert store.use_once("dpop", "stale", past) is False
    memory = MemoryReplayStore()
    assert memory.use_once("dpop", "stale", past) is False
    assert memory.use_once("dpop", "stale", past) is False

    class NoRedis:
        def set(self, *args: Any, **kwargs: Any) -> bool:
            raise AssertionError("a past PXAT must not reach Redis")

    assert RedisReplayStore("redis://unused", client=NoRedis()).use_once(
        "dpop", "stale", past) is False


def test_remember_until_covers_the_leeway_rounded_up() -> None:
    """RFC 7523 §3 item 7 / RFC 9101 §10.8: a token expiring at ``exp`` verifies until
    ``exp + leeway``; its jti is kept past that, whole seconds rounded up (not int(exp))."""
    assert remember_until(1_000_000_000, 30).timestamp() == 1_000_000_031
    assert remember_until(1_000_000_000.2, 30).timestamp() == 1_000_000_032
    assert remember_until(1_000_000_000.2, 0).timestamp() == 1_000_000_002


def test_concurrent_uses_yield_exactly_one_winner(app: Flask) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def use() -> None:
        with app.app_context():
            store = passport_state().replay_store()
            barrier.wait()
            results.append(store.use_once("dpop", "raced", _later()))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_purge_expired_removes_used_values(app: Flask) -> None:
    from flask_passport.cli import purge_tokens

    with app.app_context():
        state = passport_state()
        store = state.replay_store()
        then = DatabaseReplayStore(lambda: state.db.engine, state.models.UsedJti,
                                   now=lambda: utcnow() - timedelta(days=3))
        assert then.use_once("dpop", "gone", utcnow() - timedelta(days=2))
        store.use_once("dpop", "kept", _later())
        counts = purge_tokens(state.db.session, state.models, revoked=False, expired=True,
                              older_than=timedelta(days=1))
        assert counts["used_jtis"] == 1
        assert store.use_once("dpop", "kept", _later()) is False


def test_memory_store_bounds_and_expiry() -> None:
    now = [utcnow()]
    store = MemoryReplayStore(max_entries=2, now=lambda: now[0])
    assert store.use_once("n", "a", now[0] + timedelta(seconds=10))
    assert not store.use_once("n", "a", now[0] + timedelta(seconds=10))
    now[0] += timedelta(seconds=11)
    assert store.use_once("n", "a", now[0] + timedelta(seconds=10))
    store.use_once("n", "b", now[0] + timedelta(seconds=10))
    store.use_once("n", "c", now[0] + timedelta(seconds=10))
    assert len(store._entries) == 2


def test_redis_store() -> None:
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    prefix = f"passport-test:{utcnow().timestamp()}:"
    store = RedisReplayStore("redis://127.0.0.1:6379/0", prefix=prefix, client=client)
    other = RedisReplayStore("redis://127.0.0.1:6379/0", prefix=prefix)
    assert store.use_once("dpop", "r1", _later()) is True
    assert other.use_once("dpop", "r1", _later()) is False
    ttl = client.pttl(prefix + replay_key("dpop", "r1"))
    # The expiry is rounded up to the next millisecond (kept at least that long): +1 ms.
    assert 0 < ttl <= 60_001
    assert store.use_once("dpop", "r2", utcnow() - timedelta(seconds=1)) is False
    client.delete(prefix + replay_key("dpop", "r1"))


@pytest.mark.parametrize("url", ["http://x", "mysql://db", "memory"])
def test_bad_store_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="PASSPORT_REPLAY_STORE_URL"):
        Settings.load({"PASSPORT_REPLAY_STORE_URL": url}, {}, instance_path="/tmp")
