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
from conftest import db
from flask import Flask
from helpers import add_routes, app_processes, basic, bearer, password_token, sql_statements

from flask_passport.resource.guard import token_cache
from flask_passport.resource.token_cache import VerifiedTokenCache

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
    app.extensions["passport"].passport.reload_settings(app)


def _listener(app: Flask) -> Any:
    state = app.extensions["passport"]
    with app.app_context():
        token_cache(state)
    return state.token_cache_slot.listener


@pytest.fixture
def channel() -> Iterator[str]:
    yield f"passport-test-{uuid.uuid4().hex}"


@pytest.fixture
def stop_listeners(app: Flask) -> Iterator[list[Any]]:
    """Listeners to stop after the test; the app's publisher is closed too (no open sockets
    left for the garbage collector to warn about in a later test)."""
    listeners: list[Any] = []
    yield listeners
    for listener in listeners:
        if listener is not None:
            listener.stop()
    publisher = app.extensions["passport"].cache_publisher
    if publisher is not None:
        publisher[1].close()


def _statements(app: Flask, send: Callable[[], Any]) -> tuple[Any, int]:
    with app.app_context():
        engine = db.engine
    with sql_statements(engine) as statements:
        resp = send()
    return resp, len(statements)


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
        assert resp.status_code == 200  # committed even if it can't be broadcast
        assert _wait(lambda: "could not broadcast token revocations" in caplog.text)
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


def test_publishing_never_waits_and_catches_up_after_an_outage(
    channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Revocations while the publisher can't reach Redis cost the request nothing; they are
    logged once, kept, and broadcast in order when Redis answers again."""
    from flask_passport.resource.cache_broadcast import Publisher

    proxy = FreezableProxy()
    heard: list[str] = []
    subscriber = redis.Redis.from_url(REDIS_URL)
    pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    publisher = Publisher(f"redis://127.0.0.1:{proxy.port}/0", channel)
    try:
        proxy.go_down()
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="flask_passport"):
            for i in range(50):
                publisher.publish(f"jti-{i}")
            assert time.monotonic() - started < 0.1  # queued, not sent
            assert _wait(lambda: "could not broadcast token revocations" in caplog.text)
            time.sleep(0.3)  # a few failed attempts, still one warning
            assert caplog.text.count("could not broadcast") == 1
            proxy.come_up()
            assert publisher.wait_sent(10)

        def drain() -> bool:
            while (message := pubsub.get_message(timeout=0.05)) is not None:
                heard.append(message["data"].decode())
            return len(heard) >= 50

        assert _wait(drain, 5)
        assert heard == [f"jti-{i}" for i in range(50)]
    finally:
        publisher.close()
        pubsub.close()
        subscriber.close()
        proxy.close()


def test_an_unusable_broadcast_url_fails_at_start_up(app_config: dict[str, Any]) -> None:
    from conftest import make_app

    with pytest.raises(ValueError, match="PASSPORT_TOKEN_CACHE_BROADCAST_URL"):
        make_app({**app_config, "PASSPORT_TOKEN_CACHE_TTL": 5,
                  "PASSPORT_TOKEN_CACHE_BROADCAST_URL": "http://127.0.0.1:6379"})


class FreezableProxy:
    """A TCP proxy to Redis whose traffic can be frozen without closing anything (the link
    looks alive to the kernel but nothing gets through: a silent network failure), or that can
    go down (connections cut and refused) and come back up."""

    def __init__(self) -> None:
        import socket
        import threading

        self.frozen = threading.Event()
        self.refusing = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._closed = False
        self._sockets: list[Any] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while not self._closed:
            try:
                downstream, _ = self._server.accept()
            except OSError:
                return
            if self.refusing.is_set():
                downstream.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", 6379))
            self._sockets += [downstream, upstream]
            for a, b in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: Any, target: Any) -> None:
        while not self._closed:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            while self.frozen.is_set() and not self._closed:
                time.sleep(0.01)  # hold it: neither delivered nor refused
            try:
                target.sendall(data)
            except OSError:
                return

    def go_down(self) -> None:
        """Redis "goes away": open links are cut, new ones are closed on arrival."""
        self.refusing.set()
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()

    def come_up(self) -> None:
        self.refusing.clear()

    def close(self) -> None:
        self._closed = True
        self._server.close()
        for sock in self._sockets:
            sock.close()


def test_a_silent_link_failure_stops_the_cache_being_trusted(
    channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subscription that stops answering its pings (no RST, no FIN) is given up within
    DEAD_AFTER_SECONDS: from then on the cache is not trusted until a new subscription."""
    from datetime import UTC, datetime, timedelta

    from flask_passport.resource import cache_broadcast
    from flask_passport.resource.cache_broadcast import Listener
    from flask_passport.resource.guard import BearerToken

    monkeypatch.setattr(cache_broadcast, "PING_SECONDS", 0.1)
    monkeypatch.setattr(cache_broadcast, "DEAD_AFTER_SECONDS", 0.5)
    monkeypatch.setattr(cache_broadcast, "TIMEOUT_SECONDS", 0.1)
    proxy = FreezableProxy()
    cache = VerifiedTokenCache(60, 10)
    listener = Listener(f"redis://127.0.0.1:{proxy.port}/0", channel, cache).start()
    cache.gate = listener.subscribed.is_set
    try:
        assert listener.subscribed.wait(5)
        token = BearerToken("jti", None, "c", [], datetime.now(UTC) + timedelta(hours=1))
        cache.put("value", token)
        assert cache.get("value") is not None
        proxy.frozen.set()
        frozen_at = time.monotonic()
        assert _wait(lambda: not listener.subscribed.is_set(), 3)
        assert time.monotonic() - frozen_at < 2
        assert cache.get("value") is None  # not trusted while the link is dead
        proxy.frozen.clear()
        assert listener.subscribed.wait(10)  # a new subscription, through the thawed proxy
        assert len(cache) == 0  # emptied: messages may have been lost meanwhile
    finally:
        listener.stop()
        proxy.close()
