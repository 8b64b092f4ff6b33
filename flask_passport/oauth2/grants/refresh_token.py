"""Refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).

Each refresh token works once. Rotation is a conditional UPDATE (``... WHERE revoked = false``),
so of two parallel requests exactly one wins. Presenting a token that was already rotated means
it leaked (or a response was lost): the whole family is revoked.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ... import signals, tokens
from ..context import Context, TokenRequest
from ..errors import invalid_grant, invalid_request
from ..issuer import issue_token
from ..revocation import revoke_access_tokens, revoke_family
from ..scope_policy import narrow_scopes

GRANT_TYPE = "refresh_token"

_INVALID = "The refresh token is invalid."


def handle(ctx: Context, request: TokenRequest, client: Any) -> dict[str, Any]:
    value = request.get("refresh_token")
    if not value:
        raise invalid_request("The refresh_token parameter is required.")
    parts = tokens.split_token(value)
    if parts is None:
        raise invalid_grant(_INVALID)
    selector, verifier = parts
    RefreshToken, AccessToken = ctx.models.RefreshToken, ctx.models.AccessToken
    row = ctx.session.execute(
        sa.select(
            RefreshToken.secret_hash,
            RefreshToken.family_id,
            RefreshToken.revoked,
            RefreshToken.used_at,
            RefreshToken.expires_at,
            RefreshToken.access_token_id,
            AccessToken.client_id,
            AccessToken.user_id,
            AccessToken.scopes,
        )
        .join(AccessToken, AccessToken.id == RefreshToken.access_token_id)
        .where(RefreshToken.id == selector)
    ).one_or_none()
    if row is None or not tokens.check_secret(verifier, row.secret_hash):
        raise invalid_grant(_INVALID)
    if not tokens.secrets_equal(row.client_id, client.id):
        raise invalid_grant("The refresh token was not issued to this client.")
    now = ctx.now()
    if row.revoked:
        if row.used_at is not None:
            _reuse_detected(ctx, row.family_id, client)
        raise invalid_grant("The refresh token has been revoked.")
    if row.expires_at <= now:
        raise invalid_grant("The refresh token has expired.")
    scopes = narrow_scopes(ctx, request.get("scope"), list(row.scopes or ()))

    won = ctx.session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.id == selector, RefreshToken.revoked.is_(False))
        .values(revoked=True, used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        # Another request rotated it between our read and our write.
        ctx.rollback()
        raise invalid_grant("The refresh token has been revoked.")
    ctx.emit(signals.refresh_token_revoked, refresh_token_id=selector, reason="rotated")
    revoke_access_tokens(ctx, [row.access_token_id], "rotated")
    issued = issue_token(
        ctx,
        client=client,
        user_id=row.user_id,
        scopes=scopes,
        lifetime=ctx.settings.access_token_lifetime,
        grant_type=GRANT_TYPE,
        with_refresh=True,
        family_id=row.family_id,
    )
    return issued.to_response_body()


def _reuse_detected(ctx: Context, family_id: str, client: Any) -> None:
    revoke_family(ctx, family_id, "reuse_detected")
    ctx.emit(signals.refresh_token_reused, family_id=family_id, client=client)
    # Commit the revocation even though the request fails.
    ctx.commit()
