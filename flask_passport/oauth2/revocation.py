"""Revoking tokens in bulk with single UPDATE statements, cascading access <-> refresh tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import signals
from ..storage.models import Models
from .context import Context
from .device import APPROVED, DENIED, PENDING

#: Users per statement in :func:`revoke_user_grants` (well under every database's bound
#: parameter limit).
_USERS_PER_STATEMENT = 500


def revoke_access_tokens(ctx: Context, token_ids: Sequence[str], reason: str) -> int:
    """Revoke access tokens and the refresh tokens issued with them."""
    if not token_ids:
        return 0
    AccessToken, RefreshToken = ctx.models.AccessToken, ctx.models.RefreshToken
    live = list(
        ctx.session.scalars(
            sa.select(AccessToken.id).where(
                AccessToken.id.in_(token_ids), AccessToken.revoked.is_(False)
            )
        )
    )
    if live:
        ctx.session.execute(
            sa.update(AccessToken)
            .where(AccessToken.id.in_(live))
            .values(revoked=True, updated_at=ctx.now())
            .execution_options(synchronize_session=False)
        )
    live_refresh = list(
        ctx.session.scalars(
            sa.select(RefreshToken.id).where(
                RefreshToken.access_token_id.in_(token_ids), RefreshToken.revoked.is_(False)
            )
        )
    )
    if live_refresh:
        ctx.session.execute(
            sa.update(RefreshToken)
            .where(RefreshToken.id.in_(live_refresh), RefreshToken.revoked.is_(False))
            .values(revoked=True)
            .execution_options(synchronize_session=False)
        )
    for token_id in live:
        ctx.emit(signals.access_token_revoked, token_id=token_id, reason=reason)
    for refresh_id in live_refresh:
        ctx.emit(signals.refresh_token_revoked, refresh_token_id=refresh_id, reason=reason)
    return len(live)


def revoke_family(ctx: Context, family_id: str, reason: str) -> int:
    """Revoke every refresh token of a family and every access token they were issued with."""
    RefreshToken = ctx.models.RefreshToken
    # Lock the family first: this waits for a rotation in flight to commit, so the UPDATE below
    # (a new statement, hence a new snapshot under READ COMMITTED) also sees the token that
    # rotation inserted. Without it, a refresh racing the reuse detection keeps a live token.
    ctx.session.execute(
        sa.select(RefreshToken.id).where(RefreshToken.family_id == family_id).with_for_update()
    ).all()
    access_ids = list(
        ctx.session.scalars(
            sa.select(RefreshToken.access_token_id).where(RefreshToken.family_id == family_id)
        )
    )
    family_live = list(
        ctx.session.scalars(
            sa.select(RefreshToken.id).where(
                RefreshToken.family_id == family_id, RefreshToken.revoked.is_(False)
            )
        )
    )
    ctx.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked.is_(False))
        .values(revoked=True)
        .execution_options(synchronize_session=False)
    )
    for refresh_id in family_live:
        ctx.emit(signals.refresh_token_revoked, refresh_token_id=refresh_id, reason=reason)
    return revoke_access_tokens(ctx, access_ids, reason)


def revoke_user_grants(executor: Any, models: Models, user_ids: Sequence[str], now: datetime
                       ) -> tuple[list[str], list[str]]:
    """Revoke everything the users hold: the clients they own, access tokens (theirs, and every
    token of a client they own), the refresh tokens issued with them (whatever their access
    token's state), authorization codes, and device codes (denied, so the polling device gets
    ``access_denied``; the table has no ``revoked`` column); and drop their pending consent
    pages. A client outlives no owner: where ids are reused, the next account given the id
    would otherwise own it and could reset its secret. ``executor`` is a session or a
    connection (an ORM flush event has only the latter); nothing is committed. Returns the ids
    of the access and refresh tokens that were live, for the signals."""
    AccessToken, RefreshToken = models.AccessToken.__table__, models.RefreshToken.__table__
    AuthCode, Client = models.AuthCode.__table__, models.Client.__table__
    DeviceCode = models.DeviceCode.__table__ if models.DeviceCode is not None else None
    Pending = (models.PendingAuthorization.__table__
               if models.PendingAuthorization is not None else None)
    access_ids: list[str] = []
    refresh_ids: list[str] = []
    ids = list(dict.fromkeys(user_ids))
    for start in range(0, len(ids), _USERS_PER_STATEMENT):
        chunk = ids[start:start + _USERS_PER_STATEMENT]
        clients = list(executor.execute(
            sa.select(Client.c.id).where(Client.c.user_id.in_(chunk), Client.c.revoked.is_(False))
        ).scalars())
        owned = sa.or_(AccessToken.c.user_id.in_(chunk), AccessToken.c.client_id.in_(clients))
        of_owned = RefreshToken.c.access_token_id.in_(sa.select(AccessToken.c.id).where(owned))
        live = AccessToken.c.revoked.is_(False)
        access_ids += executor.execute(sa.select(AccessToken.c.id).where(owned, live)).scalars()
        refresh_ids += executor.execute(
            sa.select(RefreshToken.c.id).where(of_owned, RefreshToken.c.revoked.is_(False))
        ).scalars()
        # By user, not by the ids just read: a token issued meanwhile is revoked too.
        executor.execute(sa.update(AccessToken).where(owned, live)
                         .values(revoked=True, updated_at=now))
        executor.execute(sa.update(RefreshToken)
                         .where(of_owned, RefreshToken.c.revoked.is_(False)).values(revoked=True))
        executor.execute(sa.update(AuthCode)
                         .where(sa.or_(AuthCode.c.user_id.in_(chunk),
                                       AuthCode.c.client_id.in_(clients)),
                                AuthCode.c.revoked.is_(False))
                         .values(revoked=True))
        if DeviceCode is not None:
            executor.execute(sa.update(DeviceCode)
                             .where(sa.or_(DeviceCode.c.user_id.in_(chunk),
                                           DeviceCode.c.client_id.in_(clients)),
                                    DeviceCode.c.status.in_((PENDING, APPROVED)))
                             .values(status=DENIED))
        if clients:
            executor.execute(sa.update(Client).where(Client.c.id.in_(clients))
                             .values(revoked=True, updated_at=now))
        if Pending is not None:
            executor.execute(sa.delete(Pending).where(Pending.c.user_id.in_(chunk)))
    return access_ids, refresh_ids
