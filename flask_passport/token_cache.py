"""An optional in-process cache of verified bearer tokens (``PASSPORT_TOKEN_CACHE_TTL``).

Off by default. When on, a token that passed JWT verification and its row check is trusted for
at most ``ttl`` seconds (never past its own expiry) without being checked again, so a protected
request skips the signature check and the token query. The price: a token revoked by *another*
process (another gunicorn worker, another host, a SQL ``UPDATE``) is still accepted by this
process until its entry ages out, i.e. for up to ``ttl`` seconds. Revocations made in this process
through flask-passport (``access_token_revoked`` signal) drop the entry at once. The cache is
bounded (``PASSPORT_TOKEN_CACHE_SIZE`` entries, least recently used evicted first).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any


class VerifiedTokenCache:
    """A bounded LRU map from the bearer string to its verified token, with a deadline each."""

    def __init__(self, ttl: float, size: int) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._by_id: dict[str, str] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, value: str) -> Any:
        """The cached token for ``value``, or ``None`` if absent or past its deadline."""
        entry = self._entries.get(value)
        if entry is None:
            return None
        deadline, token = entry
        if time.time() >= deadline:
            self._drop(value)
            return None
        with self._lock:
            if value in self._entries:
                self._entries.move_to_end(value)
        return token

    def put(self, value: str, token: Any) -> None:
        """Remember ``token`` until ``ttl`` from now, or its own expiry if sooner."""
        deadline = min(time.time() + self.ttl, token.expires_at.timestamp())
        with self._lock:
            self._entries[value] = (deadline, token)
            self._entries.move_to_end(value)
            self._by_id[token.id] = value
            while len(self._entries) > self.size:
                old_value, (_, old_token) = self._entries.popitem(last=False)
                if self._by_id.get(old_token.id) == old_value:
                    del self._by_id[old_token.id]

    def discard_id(self, token_id: str) -> None:
        """Forget the token with this ``jti`` (it was revoked here)."""
        value = self._by_id.get(token_id)
        if value is not None:
            self._drop(value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_id.clear()

    def _drop(self, value: str) -> None:
        with self._lock:
            entry = self._entries.pop(value, None)
            if entry is not None and self._by_id.get(entry[1].id) == value:
                del self._by_id[entry[1].id]
