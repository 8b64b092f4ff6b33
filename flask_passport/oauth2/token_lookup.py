"""Finding the row behind a presented token, for revocation (RFC 7009) and introspection (RFC 7662).

Access tokens are our JWTs: the signature is checked with our keys (the ``jti`` is only trusted
once it verifies) and the ``jti`` names the row. Refresh tokens are ``<selector>.<verifier>``: the
selector names the row and the verifier is compared as a digest, in constant time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..jose import tokens
from .context import Context
from .rows import get_by_id

ACCESS_TOKEN = "access_token"
REFRESH_TOKEN = "refresh_token"


@dataclass
class FoundToken:
    """A token we issued: its kind, its row, its access-token row, and the JWT claims."""

    kind: str
    row: Any
    access_row: Any
    claims: dict[str, Any] | None = None


def issued_to(found: FoundToken, client: Any) -> bool:
    """Whether the token was issued to ``client`` (RFC 7009 §2.1, RFC 7662 §2.2)."""
    return tokens.secrets_equal(found.access_row.client_id, client.id)


def find_access_token(ctx: Context, value: str, *, verify_exp: bool = True) -> FoundToken | None:
    """The access-token row for a JWT we signed, or ``None`` (bad signature, unknown ``jti``)."""
    if value.count(".") != 2:
        return None
    try:
        claims = tokens.decode_access_token(
            ctx.keys(), value, issuer=ctx.settings.issuer, leeway=ctx.settings.leeway,
            verify_exp=verify_exp,
        )
    except tokens.InvalidToken:
        return None
    jti = claims.get("jti")
    if not isinstance(jti, str) or len(jti) > 64:
        return None
    row = get_by_id(ctx.session, ctx.models.AccessToken, jti)
    if row is None:
        return None
    return FoundToken(ACCESS_TOKEN, row, row, claims)


def find_refresh_token(ctx: Context, value: str) -> FoundToken | None:
    """The refresh-token row for ``<selector>.<verifier>``, or ``None``."""
    parts = tokens.split_token(value)
    if parts is None:
        return None
    selector, verifier = parts
    RefreshToken = ctx.models.RefreshToken
    row = ctx.session.scalars(sa.select(RefreshToken).where(RefreshToken.id == selector)).first()
    if row is None or not tokens.check_secret(verifier, row.secret_hash):
        return None
    access_row = get_by_id(ctx.session, ctx.models.AccessToken, row.access_token_id)
    if access_row is None:
        return None
    return FoundToken(REFRESH_TOKEN, row, access_row)


def find_token(
    ctx: Context, value: str, hint: str | None, *, verify_exp: bool = True
) -> FoundToken | None:
    """Look the token up, trying the hinted kind first and then the other (RFC 7009 §2.1)."""
    if not value or len(value) > tokens.MAX_TOKEN_LENGTH:
        return None
    order = [ACCESS_TOKEN, REFRESH_TOKEN]
    if hint == REFRESH_TOKEN:
        order.reverse()
    for kind in order:
        found = (
            find_access_token(ctx, value, verify_exp=verify_exp)
            if kind == ACCESS_TOKEN
            else find_refresh_token(ctx, value)
        )
        if found is not None:
            return found
    return None
