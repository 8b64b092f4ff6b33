"""Refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).

Each refresh token works once. Rotation is a conditional UPDATE (``... WHERE revoked = false``),
so of two parallel requests exactly one wins. Presenting a token that was already rotated means
it leaked (or a response was lost): the whole family is revoked.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ... import signals
from .. import dpop, oidc, redemption
from ..context import Context, TokenRequest
from ..errors import invalid_grant
from ..issuer import existing_user, issue_token, prepare_token, store_token
from ..revocation import revoke_access_tokens, revoke_family
from ..rows import changed_rows, user_join
from ..scope_policy import check_allowed_scopes, narrow_scopes

GRANT_TYPE = "refresh_token"

_INVALID = "The refresh token is invalid."
_USER_GONE = "The refresh token's user no longer exists."


def handle(ctx: Context, request: TokenRequest, client: Any) -> dict[str, Any]:
    query, joined = _refresh_query(ctx)
    selector, row = redemption.find(
        request, client, parameter="refresh_token", invalid=_INVALID,
        other_client="The refresh token was not issued to this client.",
        select=lambda selector: ctx.session.execute(query, {"selector": selector}).one_or_none(),
    )
    # RFC 9449 §5: before anything else, so a stolen bound token cannot even trigger the
    # reuse detection below (which would revoke the holder's family).
    dpop.check_bound(ctx, row.dpop_jkt, "refresh token")
    now = ctx.now()
    if row.revoked:
        if row.used_at is not None:
            if _within_grace(ctx, selector, row, now):
                user = _user_of(ctx, row, joined)
                return _reissue_after_lost_response(ctx, request, client, row, now, user)
            _reuse_detected(ctx, row.family_id, client)
        raise invalid_grant("The refresh token has been revoked.")
    if row.expires_at <= now:
        raise invalid_grant("The refresh token has expired.")
    user = _user_of(ctx, row, joined)
    scopes = narrow_scopes(ctx, request.get("scope"), list(row.scopes or ()))
    check_allowed_scopes(scopes, client)
    # Signed before the first write (see issuer.prepare_token); wasted only if the race is lost.
    prepared = prepare_token(ctx, client=client, user_id=row.user_id, scopes=scopes,
                             lifetime=ctx.settings.access_token_lifetime, grant_type=GRANT_TYPE,
                             user=user)

    RefreshToken = ctx.models.RefreshToken
    if not redemption.claim(ctx, RefreshToken, selector, RefreshToken.revoked.is_(False),
                            revoked=True, used_at=now):
        # Another request rotated it between our read and our write.
        ctx.rollback()
        raise invalid_grant("The refresh token has been revoked.")
    ctx.emit(signals.refresh_token_revoked, refresh_token_id=selector, reason="rotated")
    _revoke_rotated_access_token(ctx, row.access_token_id, now)
    issued = store_token(ctx, prepared, with_refresh=True, family_id=row.family_id)
    return _with_id_token(ctx, client, row, issued)


_QUERIES: dict[tuple[Any, Any, Any, str], tuple[sa.Select[Any], bool]] = {}


def _refresh_query(ctx: Context) -> tuple[sa.Select[Any], bool]:
    """The refresh row joined with its access token and, when :func:`~.rows.user_join` allows,
    the token's user (so checking that the user still exists costs no statement of its own):
    built once per models, user model and dialect. Returns the select and whether it joins the
    user."""
    RefreshToken, AccessToken = ctx.models.RefreshToken, ctx.models.AccessToken
    dialect = ctx.session.get_bind(mapper=RefreshToken).dialect.name
    key = (RefreshToken, AccessToken, ctx.user_model, dialect)
    cached = _QUERIES.get(key)
    if cached is None:
        columns = (RefreshToken.secret_hash, RefreshToken.family_id, RefreshToken.revoked,
                   RefreshToken.used_at, RefreshToken.expires_at, RefreshToken.access_token_id,
                   AccessToken.client_id, AccessToken.user_id, AccessToken.scopes,
                   RefreshToken.dpop_jkt)
        on_user = user_join(ctx.user_model, AccessToken.__table__, dialect=dialect)
        query: sa.Select[Any] = sa.select(*columns)
        if on_user is not None:
            query = sa.select(ctx.user_model, *columns).select_from(RefreshToken)
        query = query.join(AccessToken, AccessToken.id == RefreshToken.access_token_id)
        if on_user is not None:
            query = query.outerjoin(ctx.user_model, on_user)
        cached = (query.where(RefreshToken.id == sa.bindparam("selector")), on_user is not None)
        _QUERIES[key] = cached
    return cached


def _user_of(ctx: Context, row: Any, joined: bool) -> Any:
    """The refresh token's user, which must still exist (``invalid_grant`` otherwise). A user the
    query joined is in the identity map, so the app's loader finds it without a statement; a
    join that found none settles it without asking the loader."""
    if row.user_id is None:
        return None
    if joined and row[0] is None:
        raise invalid_grant(_USER_GONE)
    return existing_user(ctx, row.user_id, _USER_GONE)


def _with_id_token(ctx: Context, client: Any, row: Any, issued: Any) -> dict[str, Any]:
    """OpenID Connect Core §12.2: a refresh of a grant that still holds ``openid`` returns a new
    ID token for the same user and client, with the original ``auth_time`` and no ``nonce``."""
    body: dict[str, Any] = issued.to_response_body()
    if row.user_id is not None and oidc.wants_id_token(ctx, issued.scopes):
        first = oidc.first_access_token_of_family(ctx, row.family_id)
        body["id_token"] = oidc.issue_id_token(
            ctx, client=client, user_id=row.user_id, access_token=issued.access_token,
            nonce=None, auth_time=oidc.original_auth_time(ctx, first),
        )
    return body


def _revoke_rotated_access_token(ctx: Context, access_token_id: str, now: Any) -> None:
    """Revoke the rotated token's access token in one UPDATE.

    Its only refresh token is the one just rotated, so the generic cascade of
    ``revoke_access_tokens`` (two reads and a second UPDATE) has nothing to add here.
    """
    AccessToken = ctx.models.AccessToken
    revoked = changed_rows(
        ctx.session,
        sa.update(AccessToken)
        .where(AccessToken.id == access_token_id, AccessToken.revoked.is_(False))
        .values(revoked=True, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if revoked:
        ctx.emit(signals.access_token_revoked, token_id=access_token_id, reason="rotated")


def _within_grace(ctx: Context, selector: str, row: Any, now: Any) -> bool:
    """Whether a rotated token may be exchanged once more (PASSPORT_REFRESH_TOKEN_REUSE_GRACE).

    Only the *immediate predecessor* qualifies: it was rotated (not revoked by anyone) less than
    the grace period ago, it is the family's most recently rotated token, and its successor is
    still live and unused. A revoked family, a token revoked by a user or an admin, or an older
    ancestor never qualifies (the django-oauth-toolkit grace-period advisory).
    """
    grace = ctx.settings.refresh_token_reuse_grace
    if grace <= 0 or row.used_at is None or row.expires_at <= now:
        return False
    if (now - row.used_at).total_seconds() > grace:
        return False
    RefreshToken = ctx.models.RefreshToken
    latest_used = ctx.session.scalar(
        sa.select(sa.func.max(RefreshToken.used_at)).where(RefreshToken.family_id == row.family_id)
    )
    if latest_used is None or latest_used != row.used_at:
        return False
    live = list(ctx.session.scalars(
        sa.select(RefreshToken.id).where(RefreshToken.family_id == row.family_id,
                                         RefreshToken.revoked.is_(False))
    ))
    return len(live) == 1 and live[0] != selector


def _reissue_after_lost_response(
    ctx: Context, request: TokenRequest, client: Any, row: Any, now: Any, user: Any
) -> dict[str, Any]:
    """Replace the successor the client never received with a new pair in the same family."""
    RefreshToken = ctx.models.RefreshToken
    successor = ctx.session.execute(
        sa.select(RefreshToken.id, RefreshToken.access_token_id).where(
            RefreshToken.family_id == row.family_id, RefreshToken.revoked.is_(False))
    ).one()
    # Marked rotated (so presenting it later is reuse) and expired (so it never gets a grace
    # period of its own: the grace is for the token the client really holds).
    if not redemption.claim(ctx, RefreshToken, successor.id, RefreshToken.revoked.is_(False),
                            revoked=True, used_at=now, expires_at=now):
        ctx.rollback()
        raise invalid_grant("The refresh token has been revoked.")
    revoke_access_tokens(ctx, [successor.access_token_id], "rotated")
    scopes = narrow_scopes(ctx, request.get("scope"), list(row.scopes or ()))
    check_allowed_scopes(scopes, client)
    issued = issue_token(
        ctx, client=client, user_id=row.user_id, scopes=scopes,
        lifetime=ctx.settings.access_token_lifetime, grant_type=GRANT_TYPE,
        with_refresh=True, family_id=row.family_id, user=user,
    )
    return _with_id_token(ctx, client, row, issued)


def _reuse_detected(ctx: Context, family_id: str, client: Any) -> None:
    revoke_family(ctx, family_id, "reuse_detected")
    ctx.emit(signals.refresh_token_reused, family_id=family_id, client=client)
    # Commit the revocation even though the request fails.
    ctx.commit()
