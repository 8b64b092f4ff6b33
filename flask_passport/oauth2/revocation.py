"""Revoking tokens in bulk with single UPDATE statements, cascading access <-> refresh tokens."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from .. import signals
from .context import Context


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
