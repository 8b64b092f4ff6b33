"""Pending approvals: what a consent page (RFC 6749 §4.1.1) or a device verification page
(RFC 8628 §3.3) asks the user to decide, kept server-side until the user answers.

:func:`create` stores the validated request bound to the user and returns the key the page's
form carries (``<id>.<verifier>``; only the verifier's digest is stored). :func:`take` consumes
it with one conditional ``DELETE``: of two answers to the same page, replayed or parallel,
exactly one finds the row, so one consent yields one code. Nothing here commits.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa

from ..jose import tokens
from .context import Context

AUTHORIZE = "authorize"
DEVICE = "device"
#: A pushed authorization request (RFC 9126) already used, kept while the user signs in.
PUSHED = "pushed"
#: How many pages of one kind a user may have open at once; opening another drops the oldest.
MAX_OPEN = 10


def create(ctx: Context, kind: str, user_id: str, client_id: str, request: dict[str, Any],
           ttl: timedelta) -> str:
    """Store a pending approval for ``user_id``; return the key its form carries."""
    Pending = ctx.models.PendingAuthorization
    now = ctx.now()
    # Keep the user's open pages bounded: drop expired ones and all but the newest few.
    stale = list(ctx.session.scalars(
        sa.select(Pending.id).where(Pending.user_id == user_id, Pending.kind == kind)
        .order_by(Pending.created_at.desc()).offset(MAX_OPEN - 1)
    ))
    ctx.session.execute(
        sa.delete(Pending)
        .where(Pending.user_id == user_id,
               sa.or_(Pending.expires_at <= now, Pending.id.in_(stale)))
        .execution_options(synchronize_session=False)
    )
    selector, key, digest = tokens.make_opaque_token()
    ctx.session.add(Pending(id=selector, secret_hash=digest, kind=kind, user_id=user_id,
                            client_id=client_id, request=request, created_at=now,
                            expires_at=now + ttl))
    return key


def take(ctx: Context, kind: str, key: str | None, user_id: str) -> dict[str, Any] | None:
    """Consume the pending approval named ``key`` if it is live, of ``kind`` and ``user_id``'s;
    return what it holds, or ``None`` (unknown, expired, another user's, already answered)."""
    parts = tokens.split_token(key or "")
    if parts is None:
        return None
    selector, verifier = parts
    if len(selector) > 36 or "\x00" in selector:  # not one of ours; kept from the database
        return None
    Pending = ctx.models.PendingAuthorization
    live = sa.and_(Pending.id == selector, Pending.kind == kind, Pending.user_id == user_id,
                   Pending.expires_at > ctx.now())
    row = ctx.session.execute(sa.select(Pending.secret_hash, Pending.request).where(live)).first()
    if row is None or not tokens.check_secret(verifier, row.secret_hash):
        return None
    # The conditional DELETE is the single use: a second answer deletes nothing.
    deleted = cast("sa.CursorResult[Any]", ctx.session.execute(
        sa.delete(Pending).where(live, Pending.secret_hash == row.secret_hash)
        .execution_options(synchronize_session=False)
    ))
    return dict(row.request) if deleted.rowcount == 1 else None
