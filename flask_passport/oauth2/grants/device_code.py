"""Device authorization grant, the polling half (RFC 8628 §3.4-§3.5).

Each poll answers ``authorization_pending`` (the user has not decided), ``slow_down`` (polled
sooner than ``interval`` seconds after the previous poll; the interval then grows by 5 s),
``access_denied``, ``expired_token``, or the tokens, exactly once: the approved request is
claimed with a conditional UPDATE (``status: approved -> consumed``), so of any number of
parallel polls one wins. The poll bookkeeping is committed before the error is returned, since
the endpoint rolls back everything an error leaves behind.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from .. import redemption
from ..context import Context, TokenRequest
from ..device import APPROVED, CONSUMED, DENIED, GRANT_TYPE, SLOW_DOWN_STEP
from ..errors import OAuthError, invalid_grant
from ..issuer import issue_for_approval
from ..resource_indicators import for_earlier_grant
from ..rows import changed_rows

__all__ = ["GRANT_TYPE", "handle"]

_INVALID = "The device code is invalid."


def handle(ctx: Context, request: TokenRequest, client: Any) -> dict[str, Any]:
    DeviceCode = ctx.models.DeviceCode
    selector, row = redemption.find(
        request, client, parameter="device_code", invalid=_INVALID, digest="device_code_hash",
        other_client="The device code was not issued to this client.",
        select=lambda selector: ctx.session.execute(
            sa.select(
                DeviceCode.device_code_hash, DeviceCode.client_id, DeviceCode.user_id,
                DeviceCode.scopes, DeviceCode.status, DeviceCode.interval,
                DeviceCode.expires_at, DeviceCode.resources,
            ).where(DeviceCode.id == selector)
        ).one_or_none(),
    )
    if row.status == CONSUMED:
        raise invalid_grant("The device code has already been used.")
    now = ctx.now()
    if row.expires_at <= now:
        raise OAuthError("expired_token", "The device code has expired; start again.")
    client_id = client.id
    _count_poll(ctx, selector, row.interval, now)
    # RFC 8707 §2.2: checked once the poll is counted (a bad resource is no free poll).
    resources, scopes = for_earlier_grant(ctx.resources, client, request.resources,
                                          row.resources, list(row.scopes or ()), explicit=False)

    if row.status == DENIED:
        raise OAuthError("access_denied", "The user denied the request.")
    if row.status != APPROVED:
        raise OAuthError("authorization_pending", "The user has not yet approved the request.")

    # Claim the approval atomically; a parallel poll that lost the race sees it used.
    unused = sa.and_(DeviceCode.status == APPROVED, DeviceCode.expires_at > now)
    if not redemption.claim(ctx, DeviceCode, selector, unused, status=CONSUMED):
        raise invalid_grant("The device code has already been used.")
    client = ctx.session.get(ctx.models.Client, client_id)
    issued = issue_for_approval(
        ctx, client=client, user_id=row.user_id, scopes=scopes, grant_type=GRANT_TYPE,
        resources=resources, grant_resources=row.resources,
    )
    redemption.link_access_token(ctx, DeviceCode, selector, issued.token.id)
    return issued.to_response_body()


def _count_poll(ctx: Context, selector: str, interval: int, now: Any) -> None:
    """RFC 8628 §3.5: record this poll; one sooner than ``interval`` after the last is
    ``slow_down`` and raises the interval for this and every later poll. Committed at once."""
    if interval <= 0:
        return
    DeviceCode = ctx.models.DeviceCode
    on_time = changed_rows(
        ctx.session,
        sa.update(DeviceCode)
        .where(
            DeviceCode.id == selector,
            DeviceCode.interval == interval,
            sa.or_(DeviceCode.last_polled_at.is_(None),
                   DeviceCode.last_polled_at <= now - timedelta(seconds=interval)),
        )
        .values(last_polled_at=now)
        .execution_options(synchronize_session=False)
    )
    if on_time == 1:
        ctx.commit()
        return
    ctx.session.execute(
        sa.update(DeviceCode)
        .where(DeviceCode.id == selector)
        .values(interval=DeviceCode.interval + SLOW_DOWN_STEP, last_polled_at=now)
        .execution_options(synchronize_session=False)
    )
    ctx.commit()
    raise OAuthError("slow_down", "Polling too fast: wait at least "
                     f"{interval + SLOW_DOWN_STEP} seconds between requests.")
