"""An optional in-process cache of verified bearer tokens (``PASSPORT_TOKEN_CACHE_TTL``).

Off by default. When on, a token that passed JWT verification and its row check is trusted for
at most ``ttl`` seconds (never past its own expiry) without being checked again, so a protected
request skips the signature check and the token query. The price: a token revoked by *another*
process (another gunicorn worker, another host, a SQL ``UPDATE``) is still accepted by this
process until its entry ages out, i.e. for up to ``ttl`` seconds. Revocations made in this process
through flask-passport (``access_token_revoked`` signal) drop the entry at once, and with
``PASSPORT_TOKEN_CACHE_BROADCAST_URL`` so do those of every other process
(:mod:`flask_passport.cache_broadcast`). The cache is bounded (``PASSPORT_TOKEN_CACHE_SIZE``
entries, least recently used evicted first).

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
        self._by_id: dict[str, str] = {}
        self._lock = threading.Lock()
        #: Bumped by every eviction: :meth:`put` refuses a token verified before the latest one,
        #: which may be the revocation of that very token (it arrived mid-verification).
        self.generation = 0
        #: When set (see :mod:`flask_passport.cache_broadcast`), entries are trusted only while
        #: it returns True; otherwise every lookup misses.
        self.gate: Any = None

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, value: str) -> Any:
        """The cached token for ``value``, or ``None`` if absent or past its deadline."""
        hit = self.lookup(value)
        return None if hit is None else hit[0]

    def lookup(self, value: str) -> tuple[Any, Any] | None:
        """``(token, user snapshot or None)`` for ``value``, or ``None`` if absent or stale."""
        entry = self._entries.get(value)
        if entry is None or (self.gate is not None and not self.gate()):
            return None
        deadline, token, user = entry
        if time.time() >= deadline:
            self._drop(value)
            return None
        with self._lock:
            if value in self._entries:
                self._entries.move_to_end(value)
        return token, user

    def put(self, value: str, token: Any, user: Any = None, *,
            generation: int | None = None) -> None:
        """Remember ``token`` (and a user snapshot from :func:`snapshot_user`) until ``ttl``
        from now, or the token's own expiry if sooner. With ``generation`` (read before the
        token was verified), nothing is stored if an eviction happened since."""
        deadline = min(time.time() + self.ttl, token.expires_at.timestamp())
        with self._lock:
            if generation is not None and generation != self.generation:
                return
            self._entries[value] = (deadline, token, user)
            self._entries.move_to_end(value)
            self._by_id[token.id] = value
            while len(self._entries) > self.size:
                old_value, (_, old_token, _) = self._entries.popitem(last=False)
                if self._by_id.get(old_token.id) == old_value:
                    del self._by_id[old_token.id]

    def discard_id(self, token_id: str) -> None:
        """Forget the token with this ``jti`` (it was revoked)."""
        with self._lock:
            self.generation += 1
        value = self._by_id.get(token_id)
        if value is not None:
            self._drop(value)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self._by_id.clear()

    def _drop(self, value: str) -> None:
        with self._lock:
            entry = self._entries.pop(value, None)
            if entry is not None and self._by_id.get(entry[1].id) == value:
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
