"""The token cache across processes: revocations broadcast over Redis pub/sub
(``PASSPORT_TOKEN_CACHE_BROADCAST_URL``), against the real Redis on 127.0.0.1:6379."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from conftest import db
from flask import Flask
from helpers import add_routes, app_processes, basic, bearer, password_token

from flask_passport.guard import token_cache
from flask_passport.token_cache import VerifiedTokenCache

redis = pytest.importorskip("redis")

REDIS_URL = "redis://127.0.0.1:6379/0"
UNREACHABLE = "redis://127.0.0.1:1/0"


def _wait(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _configure(app: Flask, url: str | None, channel: str, ttl: float = 60) -> None:
    app.config.update(PASSPORT_TOKEN_CACHE_TTL=ttl, PASSPORT_TOKEN_CACHE_BROADCAST_URL=url,
                      PASSPORT_TOKEN_CACHE_BROADCAST_CHANNEL=channel)
    app.extensions["passport"].passport._version += 1  # reload settings


def _listener(app: Flask) -> Any:
    state = app.extensions["passport"]
    with app.app_context():
        token_cache(state)
    return state._passport_token_cache[3]


@pytest.fixture
def channel() -> Iterator[str]:
    yield f"passport-test-{uuid.uuid4().hex}"


@pytest.fixture
def stop_listeners() -> Iterator[list[Any]]:
    listeners: list[Any] = []
    yield listeners
    for listener in listeners:
        if listener is not None:
            listener.stop()


def _statements(app: Flask, send: Callable[[], Any]) -> tuple[Any, int]:
    count = 0

    def listener(*_: Any) -> None:
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        resp = send()
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return resp, count


def test_an_eviction_during_verification_keeps_the_result_out() -> None:
    """A revocation that lands while a request is verifying the same token wins: the request's
    (now stale) result is not cached."""
    from datetime import UTC, datetime, timedelta

    from flask_passport.guard import BearerToken

    cache = VerifiedTokenCache(60, 10)
    token = BearerToken("jti-1", "1", "c", [], datetime.now(UTC) + timedelta(hours=1))
    generation = cache.generation
    cache.discard_id("jti-1")  # the revocation message arrives mid-verification
    cache.put("value", token, generation=generation)
    assert cache.get("value") is None and len(cache) == 0
    cache.put("value", token, generation=cache.generation)
    assert cache.get("value") is not None
    cache.gate = lambda: False  # the listener lost its link: nothing is trusted
    assert cache.get("value") is None


def test_unreachable_redis_means_every_token_is_checked(
    app: Flask, client: Any, password_client: Any, user: Any, channel: str,
    stop_listeners: list[Any], caplog: pytest.LogCaptureFixture,
) -> None:
    add_routes(app)
    _configure(app, UNREACHABLE, channel)
    stop_listeners.append(_listener(app))
    token = password_token(client, password_client, user).json["access_token"]
    for _ in range(3):  # never a cache hit: one statement each time
        resp, count = _statements(app, lambda: client.get("/me", headers=bearer(token)))
        assert resp.status_code == 200 and count == 1
    with caplog.at_level(logging.WARNING, logger="flask_passport"):
        resp = client.post("/oauth/revoke", data={"token": token},
                           headers=basic(password_client.client.id, password_client.secret))
    assert resp.status_code == 200  # the revocation is committed even if it can't be broadcast
    assert "could not broadcast a token revocation" in caplog.text
    assert token not in caplog.text
    assert client.get("/me", headers=bearer(token)).status_code == 401


def test_resubscribing_empties_the_cache(
    app: Flask, client: Any, password_client: Any, user: Any, channel: str,
    stop_listeners: list[Any],
) -> None:
    """Messages sent while the link was down are lost, so a reconnect starts from nothing."""
    add_routes(app)
    _configure(app, REDIS_URL, channel)
    listener = _listener(app)
    stop_listeners.append(listener)
    assert listener.subscribed.wait(5)
    token = password_token(client, password_client, user).json["access_token"]
    client.get("/me", headers=bearer(token))
    resp, count = _statements(app, lambda: client.get("/me", headers=bearer(token)))
    assert resp.status_code == 200 and count == 0  # a hit
    cache = listener.cache
    before = cache.generation
    admin = redis.Redis.from_url(REDIS_URL)
    try:
        admin.client_kill_filter(_type="pubsub")  # drop every subscriber's connection
    finally:
        admin.close()
    assert _wait(lambda: cache.generation > before and listener.subscribed.is_set())
    assert len(cache) == 0
    resp, count = _statements(app, lambda: client.get("/me", headers=bearer(token)))
    assert resp.status_code == 200 and count == 1  # checked again, then cached again


@pytest.mark.parametrize("broadcast", [True, False], ids=["broadcast", "ttl-only"])
def test_a_revocation_reaches_other_processes(
    app_config: dict[str, Any], app: Flask, client: Any, password_client: Any, user: Any,
    channel: str, stop_listeners: list[Any], broadcast: bool,
) -> None:
    """Two server processes cache a token; this process revokes it. With the broadcast both
    refuse it at once; without, both keep accepting it for the TTL (what the broadcast fixes,
    and proof that their caches were in use)."""
    url = REDIS_URL if broadcast else None
    _configure(app, url, channel)
    stop_listeners.append(_listener(app))
    config = {**app_config, "PASSPORT_TOKEN_CACHE_TTL": 60,
              "PASSPORT_TOKEN_CACHE_BROADCAST_URL": url,
              "PASSPORT_TOKEN_CACHE_BROADCAST_CHANNEL": channel}
    with app_processes(config, routes=True) as ports:
        token = password_token(client, password_client, user).json["access_token"]
        urls = [f"http://127.0.0.1:{port}/me" for port in ports]

        def status(url: str) -> int:
            return requests.get(url, headers=bearer(token), timeout=10).status_code

        def cached(url: str) -> dict[str, Any]:
            resp = requests.get(url.replace("/me", "/_cache"), timeout=10)
            return resp.json()  # type: ignore[no-any-return]

        if broadcast:  # a process trusts its cache once subscribed (emptied at that moment)
            assert all(_wait(lambda u=u: cached(u)["subscribed"]) for u in urls)
        assert [status(u) for u in urls] == [200, 200]
        assert [cached(u)["entries"] for u in urls] == [1, 1]  # each process holds the token
        revoked_at = time.monotonic()
        resp = client.post("/oauth/revoke", data={"token": token},
                           headers=basic(password_client.client.id, password_client.secret))
        assert resp.status_code == 200
        if broadcast:
            # Evicted from both caches by the message (no request needed), then refused.
            assert all(_wait(lambda u=u: cached(u)["entries"] == 0, 2.0) for u in urls)
            print(f"\nrevocation evicted from both processes' caches after "
                  f"{(time.monotonic() - revoked_at) * 1000:.0f} ms")
            assert [status(u) for u in urls] == [401, 401]
        else:
            time.sleep(0.5)
            assert [cached(u)["entries"] for u in urls] == [1, 1]
            assert [status(u) for u in urls] == [200, 200]
