"""Revocations reach every process's token cache at once, over Redis pub/sub
(``PASSPORT_TOKEN_CACHE_BROADCAST_URL``).

The verified-token cache alone honours a revocation made by *another* process only when the
entry ages out (``PASSPORT_TOKEN_CACHE_TTL``). With a broadcast URL, every revocation
flask-passport commits (the ``access_token_revoked`` signal: revocation endpoint, logout,
refresh rotation, reuse detection, the JSON APIs, ``current_token.revoke()``) is published on a
Redis channel, and each process that keeps a cache listens on a daemon thread and drops the
token as soon as the message arrives. Nothing is read from Redis on the request path.

A listening cache is trusted only while its subscription is known to be alive: until Redis
confirms it, and whenever the link breaks or stops answering the listener's pings (a silent
network failure is noticed within :data:`DEAD_AFTER_SECONDS`), every protected request is
verified against the database as if the cache were off, and the cache is emptied on each
(re)subscription, since messages sent meanwhile are gone.

Publishing happens on a background thread of the revoking process, so a revocation never
waits on Redis; while Redis is unreachable the ids wait (up to :data:`MAX_PENDING`) and go out
when it is back. What the broadcast cannot cover, and the TTL still bounds: revocations whose
process could not reach Redis before the entries aged out (or died meanwhile), revocations
made outside flask-passport (raw SQL), and changes to users kept by
``PASSPORT_TOKEN_CACHE_USERS``.

Needs the ``redis`` package (``pip install flask-passport[redis]``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("flask_passport")

#: The listener PINGs its subscription this often...
PING_SECONDS = 2.0
#: ...and gives the link up when nothing (message or PONG) came back for this long.
DEAD_AFTER_SECONDS = 3 * PING_SECONDS
#: Revocations a publisher keeps for Redis while it is unreachable.
MAX_PENDING = 10_000
MAX_BACKOFF_SECONDS = 5.0
TIMEOUT_SECONDS = 1.0

SCHEMES = ("redis", "rediss", "unix")


def check_url(url: str) -> None:
    """Refuse, at start-up, a broadcast URL that can never work (or the missing package)."""
    if urlsplit(url).scheme not in SCHEMES:
        raise ValueError(f"PASSPORT_TOKEN_CACHE_BROADCAST_URL must be a redis://, rediss:// or "
                         f"unix:// URL, not {url.split(':', 1)[0]!r}.")
    _redis()


def _redis() -> Any:
    try:
        import redis
    except ImportError:
        raise RuntimeError(
            "PASSPORT_TOKEN_CACHE_BROADCAST_URL needs the redis package: "
            "pip install flask-passport[redis]"
        ) from None
    return redis


class Publisher:
    """Publishes revoked token ids from a background thread, so a revocation never waits on
    Redis: ids queue up (at most :data:`MAX_PENDING`) while Redis is unreachable and go out,
    in order, once it is back. One thread and connection per process (renewed after a fork).
    """

    def __init__(self, url: str, channel: str) -> None:
        self.url = url
        self.channel = channel
        self._queue: queue.Queue[str | None] = queue.Queue(MAX_PENDING)
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._full_warned = False

    def publish(self, token_id: str) -> None:
        """Queue ``token_id`` for broadcast. Never blocks and never raises: the revocation it
        reports is already committed."""
        if self._pid != os.getpid():
            self._start()
        try:
            self._queue.put_nowait(token_id)
        except queue.Full:
            if not self._full_warned:
                self._full_warned = True
                log.warning("flask-passport: %d token revocations are waiting for Redis; "
                            "further ones are not broadcast (other processes' caches honour "
                            "them within PASSPORT_TOKEN_CACHE_TTL)", MAX_PENDING)

    def wait_sent(self, timeout: float) -> bool:
        """Whether everything queued so far was sent within ``timeout`` seconds (tests)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 2) -> None:
        thread = self._thread
        if thread is not None and self._pid == os.getpid():
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            thread.join(timeout)
        self._thread = None
        self._pid = 0

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            # After a fork the parent's thread is gone here, and so is anything it had queued.
            self._queue = queue.Queue(MAX_PENDING)
            self._thread = threading.Thread(target=self._run, name="passport-revocation-publisher",
                                            daemon=True)
            self._pid = os.getpid()
            self._thread.start()

    def _run(self) -> None:
        client: Any = None
        pending: list[str] = []
        backoff, warned = 0.1, False
        while True:
            if not pending:
                first = self._queue.get()
                if first is None:
                    self._queue.task_done()
                    break
                pending = [first]
                while len(pending) < 500:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:  # close() asked: send what we have first
                        self._queue.task_done()
                        with contextlib.suppress(queue.Full):
                            self._queue.put_nowait(None)
                        break
                    pending.append(item)
            try:
                if client is None:
                    client = _redis().Redis.from_url(self.url, socket_timeout=TIMEOUT_SECONDS,
                                                     socket_connect_timeout=TIMEOUT_SECONDS)
                pipe = client.pipeline(transaction=False)
                for token_id in pending:
                    pipe.publish(self.channel, token_id)
                pipe.execute()
                for _ in pending:
                    self._queue.task_done()
                pending = []
                if warned:
                    log.warning("flask-passport: token revocations are broadcast again")
                backoff, warned, self._full_warned = 0.1, False, False
            except Exception as exc:  # keep the ids; retry with backoff
                if client is not None:
                    with contextlib.suppress(Exception):
                        client.close()
                client = None
                if not warned:
                    log.warning("flask-passport: could not broadcast token revocations (%s); "
                                "retrying. Meanwhile other processes' caches may accept the "
                                "revoked tokens", type(exc).__name__)
                    warned = True
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()


class Listener:
    """Subscribes to the channel on a daemon thread and evicts what it hears from ``cache``."""

    def __init__(self, url: str, channel: str, cache: Any) -> None:
        self.url = url
        self.channel = channel
        self.cache = cache
        #: Set while the subscription is confirmed and answering: the cache is trusted only then.
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="passport-cache-broadcast",
                                        daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if timeout:
            self._thread.join(timeout)

    def _run(self) -> None:
        backoff = 0.1
        warned = False
        while not self._stop.is_set():
            pubsub = client = None
            try:
                redis = _redis()
                client = redis.Redis.from_url(self.url, socket_connect_timeout=TIMEOUT_SECONDS,
                                              socket_timeout=DEAD_AFTER_SECONDS,
                                              socket_keepalive=True)
                pubsub = client.pubsub()
                pubsub.subscribe(self.channel)
                self._await_confirmation(pubsub)
                # Whatever was published before this moment may have been missed.
                self.cache.clear()
                self.subscribed.set()
                if warned:
                    log.warning("flask-passport: token cache broadcast is back")
                backoff, warned = 0.1, False
                self._listen(pubsub)
            except Exception as exc:  # any failure: stop trusting the cache (finally), retry
                if not warned and not self._stop.is_set():
                    log.warning("flask-passport: token cache broadcast unavailable (%s); "
                                "verifying every token against the database until it is back",
                                type(exc).__name__)
                    warned = True
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            finally:
                self.subscribed.clear()
                for link in (pubsub, client):  # closing a broken link may fail too
                    if link is not None:
                        with contextlib.suppress(Exception):
                            link.close()

    def _await_confirmation(self, pubsub: Any) -> None:
        deadline = time.monotonic() + DEAD_AFTER_SECONDS
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=TIMEOUT_SECONDS)
            if message is not None and message.get("type") == "subscribe":
                return
        raise ConnectionError("Redis did not confirm the subscription")

    def _listen(self, pubsub: Any) -> None:
        """Evict what arrives; PING when idle and give up on a link that stopped answering."""
        last_heard = last_ping = time.monotonic()
        while not self._stop.is_set():
            message = pubsub.get_message(timeout=min(TIMEOUT_SECONDS, PING_SECONDS))
            now = time.monotonic()
            if message is not None:
                last_heard = now
                kind = message.get("type")
                if kind == "message":
                    data = message["data"]
                    self.cache.discard_id(data.decode() if isinstance(data, bytes) else data)
                elif kind == "subscribe":  # redis-py reconnected on its own: we may have missed
                    self.cache.clear()     # messages in between
            if now - last_heard > DEAD_AFTER_SECONDS:
                raise ConnectionError("the Redis subscription stopped answering")
            if now - last_ping >= PING_SECONDS:
                pubsub.ping()
                last_ping = now
