"""An optional in-process cache of verified bearer tokens (``PASSPORT_TOKEN_CACHE_TTL``).

Off by default. When on, a token that passed JWT verification and its row check is trusted for
at most ``ttl`` seconds (never past its own expiry) without being checked again, so a protected
request skips the signature check and the token query. The price: a token revoked by *another*
process (another gunicorn worker, another host, a SQL ``UPDATE``) is still accepted by this
process until its entry ages out, i.e. for up to ``ttl`` seconds. Revocations made in this process
through flask-passport (``access_token_revoked`` signal) drop the entry at once, and with
``PASSPORT_TOKEN_CACHE_BROADCAST_URL`` so do those of every other process
(:mod:`flask_passport.resource.cache_broadcast`). The cache is bounded
(``PASSPORT_TOKEN_CACHE_SIZE`` entries, least recently used evicted first).

With ``PASSPORT_TOKEN_CACHE_USERS`` (the default) an entry also keeps a detached copy of the
token's user when it is a SQLAlchemy model instance; a hit merges a fresh copy into the
request's session without a query (:func:`revive_user`), so the request reads nothing from the
database. The copy the cache holds is never handed out, so a view that changes its user changes
its own session-bound instance, which flushes as usual.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import NoInspectionAvailable
from sqlalchemy.orm import Session


class VerifiedTokenCache:
    """A bounded LRU map from the bearer string to its verified token, with a deadline each."""

    def __init__(self, ttl: float, size: int) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[str, tuple[float, Any, Any]] = OrderedDict()
        self._by_id: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        #: Bumped by every eviction and clear. A caller reads it before verifying a token and
        #: hands it to :meth:`put`, which then refuses the token if *that* token was evicted
        #: (revoked) meanwhile, or the cache cleared: the verification may predate the
        #: revocation.
        self.generation = 0
        self._cleared_at = 0
        self._evicted: OrderedDict[str, int] = OrderedDict()  # jti -> generation, bounded
        self._evicted_floor = 0  # generation of the newest eviction forgotten for space
        #: When set (see :mod:`flask_passport.resource.cache_broadcast`), entries are trusted
        #: only while it returns True; otherwise every lookup misses.
        self.gate: Any = None

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, value: str) -> Any:
        """The cached token for ``value``, or ``None`` if absent or past its deadline."""
        hit = self.lookup(value)
        return None if hit is None else hit[0]

    def lookup(self, value: str) -> tuple[Any, Any] | None:
        """``(token, user snapshot or None)`` for ``value``, or ``None`` if absent or stale."""
        if self.gate is not None and not self.gate():  # before the read: see Listener
            return None
        entry = self._entries.get(value)
        if entry is None:
            return None
        deadline, token, user = entry
        if time.time() >= deadline:
            with self._lock:
                self._remove(value)
            return None
        with self._lock:
            if value in self._entries:
                self._entries.move_to_end(value)
        return token, user

    def put(self, value: str, token: Any, user: Any = None, *,
            generation: int | None = None) -> None:
        """Remember ``token`` (and a user snapshot from :func:`snapshot_user`) until ``ttl``
        from now, or the token's own expiry if sooner. With ``generation`` (read before the
        token was verified), nothing is stored if the token was evicted since."""
        deadline = min(time.time() + self.ttl, token.expires_at.timestamp())
        with self._lock:
            if generation is not None and (
                self._cleared_at > generation or self._evicted_floor > generation
                or self._evicted.get(token.id, 0) > generation
            ):
                return
            self._remove(value)
            self._entries[value] = (deadline, token, user)
            self._by_id.setdefault(token.id, set()).add(value)
            while len(self._entries) > self.size:
                self._remove(next(iter(self._entries)))

    def discard_id(self, token_id: str) -> None:
        """Forget the token with this ``jti`` (it was revoked), under every spelling."""
        with self._lock:
            self.generation += 1
            self._evicted[token_id] = self.generation
            self._evicted.move_to_end(token_id)
            while len(self._evicted) > max(1000, self.size):
                _, self._evicted_floor = self._evicted.popitem(last=False)
            for value in self._by_id.pop(token_id, ()):
                self._entries.pop(value, None)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._cleared_at = self.generation
            self._entries.clear()
            self._by_id.clear()
            self._evicted.clear()

    def _remove(self, value: str) -> None:
        """Drop one entry (the lock is held)."""
        entry = self._entries.pop(value, None)
        if entry is not None:
            values = self._by_id.get(entry[1].id)
            if values is not None:
                values.discard(value)
                if not values:
                    del self._by_id[entry[1].id]


def snapshot_user(user: Any) -> Any:
    """A detached, unmodified copy of a SQLAlchemy-mapped ``user`` for the cache, or ``None``
    (not a mapped instance, not persistent, or carrying unflushed changes)."""
    try:
        state = sa_inspect(user)
    except NoInspectionAvailable:
        return None
    if not getattr(state, "persistent", False) or state.modified:
        return None
    scratch = Session()
    try:
        copy = scratch.merge(user, load=False)
        scratch.expunge(copy)
    except Exception:  # an instance merge cannot copy without loading: just don't cache it
        return None
    finally:
        scratch.close()
    return copy


def revive_user(session: Any, snapshot: Any) -> Any:
    """A copy of ``snapshot`` attached to ``session``, made without a query."""
    return session.merge(snapshot, load=False)
