"""Pending approvals kept server-side in the session (consent and device pages).

The form carries only a random single-use key; what was validated stays here, so a user cannot
edit it. Entries older than ``ttl`` seconds are dropped whenever the store is read.
"""

from __future__ import annotations

import time
from typing import Any

from flask import session


def live_pending(store: str, ttl: int) -> dict[str, Any]:
    """The unexpired entries of the session store ``store``."""
    pending = session.get(store)
    if not isinstance(pending, dict):
        return {}
    now = int(time.time())
    return {k: v for k, v in pending.items()
            if isinstance(v, dict) and now - int(v.get("at", 0)) < ttl}


def take_pending(store: str, ttl: int, key: str | None) -> dict[str, Any] | None:
    """Remove and return the entry named ``key`` (single use), or ``None``."""
    pending = live_pending(store, ttl)
    entry = pending.pop(key, None) if key else None
    session[store] = pending
    return entry
