"""Redeeming a single-use credential: an authorization code, a device code, a refresh token.

Each is ``selector.verifier`` (:func:`~flask_passport.jose.tokens.split_token`); the row is found
by its selector and the verifier checked against the stored digest in constant time, then the
row must belong to the authenticated client (RFC 6749 §4.1.3, §6; RFC 8628 §3.4). Single use is
one conditional ``UPDATE`` (:func:`claim`): of any number of parallel redemptions exactly one
matches the row, so exactly one gets tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ..jose import tokens
from .context import Context, TokenRequest
from .errors import invalid_grant, invalid_request
from .rows import changed_rows


def find(
    request: TokenRequest, client: Any, *, parameter: str, select: Callable[[str], Any],
    invalid: str, other_client: str, digest: str = "secret_hash",
) -> tuple[str, Any]:
    """The selector and row of the credential in ``parameter``, checked against its digest
    (column ``digest``) and bound to ``client``; ``invalid_grant`` otherwise. ``select`` reads
    the row by selector, with the columns its grant needs and a ``client_id``."""
    value = request.get(parameter)
    if not value:
        raise invalid_request(f"The {parameter} parameter is required.")
    parts = tokens.split_token(value)
    if parts is None:
        raise invalid_grant(invalid)
    selector, verifier = parts
    row = select(selector)
    if row is None or not tokens.check_secret(verifier, getattr(row, digest)):
        raise invalid_grant(invalid)
    if not tokens.secrets_equal(row.client_id, client.id):
        raise invalid_grant(other_client)
    return selector, row


def claim(ctx: Context, model: Any, selector: str, unused: Any, **values: Any) -> bool:
    """Mark the row used with ``values`` where ``unused`` (its still-redeemable condition) holds;
    whether this request won. Losing means a parallel redemption got there first."""
    return changed_rows(
        ctx.session,
        sa.update(model)
        .where(model.id == selector, unused)
        .values(**values)
        .execution_options(synchronize_session=False),
    ) == 1


def link_access_token(ctx: Context, model: Any, selector: str, access_token_id: str) -> None:
    """Record on the redeemed row the access token it was exchanged for, so a replay can revoke
    what the first redemption issued (RFC 6749 §4.1.2)."""
    ctx.session.flush()
    ctx.session.execute(
        sa.update(model)
        .where(model.id == selector)
        .values(access_token_id=access_token_id)
        .execution_options(synchronize_session=False)
    )
