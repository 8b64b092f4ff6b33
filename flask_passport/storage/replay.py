"""Single-use values remembered until they expire: the ``jti`` of a DPoP proof (RFC 9449
§11.1) or of a client assertion (RFC 7523 §3, item 7), refused when seen a second time.

Three stores share one method, :meth:`ReplayStore.use_once`:

- :class:`DatabaseReplayStore` (the default): a row per value in ``oauth_used_jtis``, whose
  primary key makes the first insert win across every process and host that shares the
  database. It writes on its own connection and commits at once, so a value is remembered even
  when the request that used it rolls back or never commits (a read-only protected route).
- :class:`RedisReplayStore` (``PASSPORT_REPLAY_STORE_URL = "redis://..."``): ``SET NX`` with
  the value's expiry, for deployments that already share a Redis with the rate limits.
- :class:`MemoryReplayStore`: one process only; for a single-process resource server and tests.

Values are kept as SHA-256 digests of ``namespace`` and value, never as sent. A value whose
expiry has already passed is refused by every store (not "used" and forgotten at once, which
would let it succeed any number of times): callers pass :func:`remember_until`, the last moment
the value could still be accepted.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .models import utcnow


class ReplayStore(Protocol):
    """Remembers single-use values until they expire."""

    def use_once(self, namespace: str, value: str, expires_at: datetime) -> bool:
        """``True`` the first time ``value`` is used in ``namespace`` before ``expires_at``,
        ``False`` on every later use until then, and ``False`` when ``expires_at`` is already
        past (nothing could be remembered for it)."""
        ...


def remember_until(expiry: float, leeway: int) -> datetime:
    """How long a single-use value must be kept: until the last moment a token expiring at
    ``expiry`` (a NumericDate, possibly fractional) is still accepted, i.e. ``expiry`` plus the
    clock-skew ``leeway`` the verifier grants (RFC 7519 §4.1.4), rounded *up* to the second,
    plus one second for the time between the check and the store. RFC 7523 §3 item 7 and
    RFC 9101 §10.8: forgetting a ``jti`` while its token still verifies allows a replay.

    ``expiry`` must already be bounded by the caller (a lifetime cap), so it fits a datetime.
    """
    return datetime.fromtimestamp(math.ceil(expiry) + max(leeway, 0) + 1, UTC)


def replay_key(namespace: str, value: str) -> str:
    """The stored form: a digest, so a store never holds a proof's or assertion's identifier."""
    return hashlib.sha256(f"{namespace}\x00{value}".encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class DatabaseReplayStore:
    """Rows of the ``UsedJti`` model, written on a connection of their own.

    ``engine`` is a callable returning the engine that holds the table (looked up per use, so
    an app's binds and test databases are honoured). The insert commits before the caller goes
    on: call it before the unit of work writes anything (on SQLite a writer holding the lock
    would make this connection wait).
    """

    def __init__(self, engine: Callable[[], sa.Engine], model: Any,
                 now: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._table = model.__table__
        self._now = now

    def use_once(self, namespace: str, value: str, expires_at: datetime) -> bool:
        key = replay_key(namespace, value)
        table = self._table
        expires_at = _aware(expires_at)
        if expires_at <= _aware(self._now()):
            return False  # expired already: a row would be reusable at once, i.e. forever
        try:
            with self._engine().begin() as conn:
                conn.execute(table.insert().values(id=key, expires_at=expires_at))
            return True
        except IntegrityError:
            pass
        # The key is known. A row whose value expired may be reused: one conditional UPDATE, so
        # of two racing users of a stale key exactly one sees a changed row.
        with self._engine().begin() as conn:
            result = conn.execute(
                table.update()
                .where(table.c.id == key, table.c.expires_at <= self._now())
                .values(expires_at=expires_at)
            )
            return bool(result.rowcount == 1)


class RedisReplayStore:
    """``SET key 1 NX PXAT expiry`` on a Redis shared by every process (the ``redis`` extra)."""

    def __init__(self, url: str, prefix: str = "passport:replay:", client: Any = None) -> None:
        if client is None:
            try:
                import redis
            except ImportError:  # pragma: no cover - the message is the point
                raise RuntimeError("PASSPORT_REPLAY_STORE_URL=redis://... needs the redis "
                                   "extra: pip install 'flask-passport[redis]'.") from None
            client = redis.Redis.from_url(url)
        self._client = client
        self._prefix = prefix

    def use_once(self, namespace: str, value: str, expires_at: datetime) -> bool:
        millis = math.ceil(_aware(expires_at).timestamp() * 1000)
        if millis <= int(datetime.now(UTC).timestamp() * 1000):
            # Already expired: a past PXAT stores nothing (or is refused), so "succeeding" here
            # would accept the same value again and again. Refuse it instead.
            return False
        key = self._prefix + replay_key(namespace, value)
        return bool(self._client.set(key, b"1", nx=True, pxat=millis))


class MemoryReplayStore:
    """An in-process store, bounded: expired values go first, then the oldest.

    Only for one process (a second process has its own memory and would accept a replay).
    When ``max_entries`` values are all still live, the oldest is forgotten: size it above the
    number of values one window can hold.
    """

    def __init__(self, max_entries: int = 100_000,
                 now: Callable[[], datetime] = utcnow) -> None:
        self._entries: OrderedDict[str, datetime] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._now = now

    def use_once(self, namespace: str, value: str, expires_at: datetime) -> bool:
        key = replay_key(namespace, value)
        now = self._now()
        if _aware(expires_at) <= _aware(now):
            return False  # expired already: nothing could be remembered for it
        with self._lock:
            seen = self._entries.get(key)
            if seen is not None and seen > now:
                return False
            self._entries[key] = _aware(expires_at)
            self._entries.move_to_end(key)
            if len(self._entries) > self._max:
                self._evict(now)
            return True

    def _evict(self, now: datetime) -> None:
        for key in [k for k, exp in self._entries.items() if exp <= now]:
            del self._entries[key]
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


def open_store(url: str | None, *, engine: Callable[[], sa.Engine], model: Any) -> ReplayStore:
    """The store ``PASSPORT_REPLAY_STORE_URL`` names (checked by the settings): ``None`` the
    database, ``memory://`` this process, else Redis."""
    if not url:
        return DatabaseReplayStore(engine, model)
    if url == "memory://":
        return MemoryReplayStore()
    return RedisReplayStore(url)
