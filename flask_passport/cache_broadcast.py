"""Revocations reach every process's token cache at once, over Redis pub/sub
(``PASSPORT_TOKEN_CACHE_BROADCAST_URL``).

The verified-token cache alone honours a revocation made by *another* process only when the
entry ages out (``PASSPORT_TOKEN_CACHE_TTL``). With a broadcast URL, every revocation
flask-passport commits (the ``access_token_revoked`` signal: revocation endpoint, logout,
refresh rotation, reuse detection, the JSON APIs, ``current_token.revoke()``) is published on a
Redis channel, and each process that keeps a cache listens on a daemon thread and drops the
token as soon as the message arrives. Nothing is read from Redis on the request path.

The cache is only trusted while its listener is subscribed: before the first subscription and
whenever the connection is lost, every protected request is verified against the database as
if the cache were off, and the cache is emptied on each (re)subscription, since messages sent
meanwhile are gone. So a lost message never widens the window: Redis being down costs speed,
not correctness. What is never published: revocations made outside flask-passport (raw SQL),
and changes to users kept by ``PASSPORT_TOKEN_CACHE_USERS``; those still show within the TTL.

Needs the ``redis`` package (``pip install flask-passport[redis]``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Any

log = logging.getLogger("flask_passport")

#: How long the listener waits for a message before checking the connection's health.
POLL_SECONDS = 1.0
#: Redis PINGs an idle subscription this often, so a silently dead link is noticed.
HEALTH_CHECK_SECONDS = 5
MAX_BACKOFF_SECONDS = 5.0


def _redis() -> Any:
    try:
        import redis
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise RuntimeError(
            "PASSPORT_TOKEN_CACHE_BROADCAST_URL needs the redis package: "
            "pip install flask-passport[redis]"
        ) from None
    return redis


class Publisher:
    """Publishes revoked token ids; one connection per process (it reconnects after a fork)."""

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = channel
        self._client: Any = None
        self._pid = 0

    def publish(self, token_id: str) -> bool:
        """Send ``token_id``; ``False`` (logged) if Redis could not be reached."""
        redis = _redis()
        try:
            if self._client is None or self._pid != os.getpid():
                self._client = redis.Redis.from_url(self.url, socket_timeout=2,
                                                    socket_connect_timeout=2)
                self._pid = os.getpid()
            self._client.publish(self.channel, token_id)
            return True
        except redis.RedisError as exc:
            # The revocation itself is committed; other processes' caches keep the token until
            # their listener notices the lost link (then they stop trusting it) or the TTL ends.
            log.warning("flask-passport: could not broadcast a token revocation (%s)",
                        type(exc).__name__)
            return False


class Listener:
    """Subscribes to the channel on a daemon thread and evicts what it hears from ``cache``."""

    def __init__(self, url: str, channel: str, cache: Any) -> None:
        self.url = url
        self.channel = channel
        self.cache = cache
        #: Set while subscribed: the cache is trusted only then.
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="passport-cache-broadcast",
                                        daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        redis = _redis()
        backoff = 0.1
        warned = False
        while not self._stop.is_set():
            pubsub = None
            try:
                client = redis.Redis.from_url(self.url, socket_connect_timeout=2,
                                              socket_timeout=POLL_SECONDS + 5,
                                              health_check_interval=HEALTH_CHECK_SECONDS)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                pubsub.get_message(timeout=POLL_SECONDS)  # the subscription's confirmation
                # Whatever was published before this moment may have been missed.
                self.cache.clear()
                self.subscribed.set()
                if warned:
                    log.warning("flask-passport: token cache broadcast reconnected")
                backoff, warned = 0.1, False
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=POLL_SECONDS)
                    if message is not None and message.get("type") == "message":
                        data = message["data"]
                        self.cache.discard_id(data.decode() if isinstance(data, bytes) else data)
            except Exception as exc:  # any failure means: stop trusting the cache, retry
                self.subscribed.clear()
                if not warned:
                    log.warning("flask-passport: token cache broadcast unavailable (%s); "
                                "verifying every token against the database until it is back",
                                type(exc).__name__)
                    warned = True
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            finally:
                self.subscribed.clear()
                if pubsub is not None:
                    with contextlib.suppress(Exception):  # closing a broken link
                        pubsub.close()
