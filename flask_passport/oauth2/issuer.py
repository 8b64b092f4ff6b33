"""Issuing tokens: the access-token row and its JWT, the rotating refresh token, the response body
(RFC 6749 §5.1). Nothing here commits; the endpoint commits once per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached

from .. import signals
from ..jose import tokens
from ..scopes import format_scope
from .context import Context
from .errors import invalid_grant


@dataclass
class IssuedToken:
    """A freshly issued token; ``access_token`` and ``refresh_token`` are the only plain copies."""

    access_token: str
    token: Any
    expires_in: int
    scopes: list[str]
    refresh_token: str | None = None
    #: RFC 9449 §5: the DPoP key the token is bound to (its type is then ``DPoP``).
    dpop_jkt: str | None = None

    def to_response_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "token_type": "DPoP" if self.dpop_jkt else "Bearer",
            "expires_in": self.expires_in,
            "access_token": self.access_token,
            "scope": format_scope(self.scopes),
        }
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        return body


@dataclass
class PreparedToken:
    """An access token built and signed but not stored yet (see :func:`prepare_token`)."""

    access_token: str
    row: Any
    client: Any
    user_id: str | None
    scopes: list[str]
    expires_in: int
    grant_type: str
    dpop_jkt: str | None = None


def issue_token(
    ctx: Context,
    *,
    client: Any,
    user_id: str | None,
    scopes: list[str],
    lifetime: timedelta,
    grant_type: str,
    name: str | None = None,
    with_refresh: bool = False,
    family_id: str | None = None,
    user: Any = None,
) -> IssuedToken:
    """Create the access-token row and sign its JWT (``jti`` = row id); optionally a refresh
    token."""
    prepared = prepare_token(ctx, client=client, user_id=user_id, scopes=scopes,
                             lifetime=lifetime, grant_type=grant_type, name=name, user=user)
    return store_token(ctx, prepared, with_refresh=with_refresh, family_id=family_id)


def prepare_token(
    ctx: Context,
    *,
    client: Any,
    user_id: str | None,
    scopes: list[str],
    lifetime: timedelta,
    grant_type: str,
    name: str | None = None,
    user: Any = None,
) -> PreparedToken:
    """Build the access-token row and sign its JWT, writing nothing.

    Grants sign before their first write: on SQLite a write takes the database's write lock
    until the endpoint commits, and holding it through an RSA signature (~1 ms) made concurrent
    token requests queue behind it (SQLite's busy handler sleeps in steps of milliseconds).
    """
    now = ctx.now()
    # Per-client policy: a lifetime set on the client replaces the grant's default.
    client_lifetime = getattr(client, "access_token_lifetime", None)
    if client_lifetime:
        lifetime = timedelta(seconds=int(client_lifetime))
    expires_at = now + lifetime
    row = ctx.models.AccessToken(
        id=tokens.new_id(),
        user_id=user_id,
        client_id=client.id,
        name=name,
        scopes=list(scopes),
        revoked=False,
        created_at=now,
        updated_at=now,
        expires_at=expires_at,
    )
    if ctx.dpop_jkt is not None:
        row.dpop_jkt = ctx.dpop_jkt
    extra: dict[str, Any] = {}
    if ctx.extra_claims is not None:
        added = ctx.extra_claims(token=row, client=client, user=user, grant_type=grant_type)
        extra = {k: v for k, v in (added or {}).items() if k not in tokens.RESERVED_CLAIMS}
    jwt_value = tokens.encode_access_token(
        ctx.keys(),
        jti=row.id,
        issuer=ctx.issuer,
        audience=ctx.audience,
        # RFC 9068 §2.2: without a resource owner, ``sub`` names the client; the row's null
        # user_id is what the guard trusts to refuse such a token on user routes.
        subject=user_id if user_id is not None else client.id,
        client_id=client.id,
        scopes=scopes,
        issued_at=now,
        expires_at=expires_at,
        extra_claims=extra,
        dpop_jkt=ctx.dpop_jkt,
    )
    return PreparedToken(jwt_value, row, client, user_id, list(scopes),
                         int(lifetime.total_seconds()), grant_type, ctx.dpop_jkt)


def store_token(
    ctx: Context, prepared: PreparedToken, *, with_refresh: bool = False,
    family_id: str | None = None,
) -> IssuedToken:
    """INSERT a prepared token's row (and a new refresh token when asked); the caller commits."""
    row, client = prepared.row, prepared.client
    insert_row(ctx, row)
    ctx.emit(
        signals.access_token_created, token=row, client=client, user_id=prepared.user_id,
        grant_type=prepared.grant_type,
    )
    issued = IssuedToken(prepared.access_token, row, prepared.expires_in, list(prepared.scopes),
                         dpop_jkt=prepared.dpop_jkt)
    if with_refresh:
        refresh_lifetime = getattr(client, "refresh_token_lifetime", None)
        issued.refresh_token = issue_refresh_token(
            ctx, row, family_id=family_id,
            lifetime=timedelta(seconds=int(refresh_lifetime)) if refresh_lifetime else None,
            # RFC 9449 §5: a public client's refresh token is bound to its DPoP key too.
            dpop_jkt=None if client.confidential else prepared.dpop_jkt,
        )
    return issued


def issue_refresh_token(
    ctx: Context, access_token: Any, *, family_id: str | None = None,
    lifetime: timedelta | None = None, dpop_jkt: str | None = None,
) -> str:
    now = ctx.now()
    selector, plain, digest = tokens.make_opaque_token()
    row = ctx.models.RefreshToken(
        id=selector,
        secret_hash=digest,
        access_token_id=access_token.id,
        family_id=family_id or selector,
        revoked=False,
        created_at=now,
        expires_at=now + (lifetime or ctx.settings.refresh_token_lifetime),
    )
    if dpop_jkt is not None:
        row.dpop_jkt = dpop_jkt
    insert_row(ctx, row)
    ctx.emit(
        signals.refresh_token_created, refresh_token_id=selector,
        access_token_id=access_token.id, client_id=access_token.client_id,
    )
    return plain


_INSERTS: dict[Any, Any] = {}


def insert_row(ctx: Context, row: Any) -> None:
    """INSERT ``row`` now with one Core statement, then attach it to the session as persistent.

    The same SQL the ORM flush would emit, without the unit-of-work machinery (which cost more
    than the INSERT itself). Column defaults still apply (Core applies them). Models mapped to
    more than one table (joined inheritance) take the ordinary ``session.add`` path.
    """
    session = ctx.session
    mapper = sa.inspect(type(row))
    if len(mapper.tables) != 1:
        session.add(row)
        return
    if session.new or session.deleted or session.dirty:
        session.flush()  # keep the statement order the ORM would have used
    table = mapper.local_table
    values = {}
    for attr in mapper.column_attrs:
        if attr.key in row.__dict__:
            values[attr.columns[0].key] = row.__dict__[attr.key]
    insert = _INSERTS.get(table)
    if insert is None:
        insert = _INSERTS[table] = sa.insert(table)
    session.connection().execute(insert, values)
    make_transient_to_detached(row)
    session.add(row)


def issue_for_approval(
    ctx: Context, *, client: Any, user_id: str, scopes: Any, grant_type: str
) -> IssuedToken:
    """Issue the tokens of a grant a user approved earlier (an authorization or device code).

    The user must still exist; a refresh token comes with them when the client has that grant.
    """
    prepared = prepare_for_approval(ctx, client=client, user_id=user_id, scopes=scopes,
                                    grant_type=grant_type)
    return store_token(ctx, prepared, with_refresh=client.has_grant_type("refresh_token"))


def prepare_for_approval(
    ctx: Context, *, client: Any, user_id: str, scopes: Any, grant_type: str
) -> PreparedToken:
    """:func:`prepare_token` for a grant a user approved earlier: the user must still exist."""
    user = existing_user(ctx, user_id, "The user who approved this code no longer exists.")
    return prepare_token(
        ctx,
        client=client,
        user_id=user_id,
        scopes=list(scopes or ()),
        lifetime=ctx.settings.access_token_lifetime,
        grant_type=grant_type,
        user=user,
    )


def existing_user(ctx: Context, user_id: str, missing: str) -> Any:
    """The user a grant issues for, through the app's loader; ``invalid_grant`` (with the
    ``missing`` description) when it no longer exists, so a deleted user's grant never yields
    tokens (nor, where ids are reused, tokens for whoever gets the id next)."""
    if ctx.load_user is None:
        return None
    user = ctx.load_user(user_id)
    if user is None:
        raise invalid_grant(missing)
    return user
