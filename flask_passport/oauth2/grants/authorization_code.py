"""Authorization code grant, the token half (RFC 6749 §4.1.3-§4.1.4) with PKCE (RFC 7636 §4.5-§4.6).

A code is single-use: it is claimed with a conditional UPDATE (``... WHERE revoked = false``), so
of any number of parallel exchanges exactly one wins. A code presented after it was exchanged
means it leaked: the tokens of the first exchange are revoked (RFC 6749 §4.1.2, RFC 9700 §4.5).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from .. import dpop, oidc, pkce, redemption
from ..context import Context, TokenRequest
from ..errors import invalid_grant
from ..issuer import prepare_for_approval, store_token
from ..resource_indicators import for_earlier_grant
from ..revocation import revoke_access_tokens, revoke_family

GRANT_TYPE = "authorization_code"

_INVALID = "The authorization code is invalid."


def handle(ctx: Context, request: TokenRequest, client: Any) -> dict[str, Any]:
    AuthCode = ctx.models.AuthCode
    selector, row = redemption.find(
        request, client, parameter="code", invalid=_INVALID,
        other_client="The authorization code was not issued to this client.",
        select=lambda selector: ctx.session.execute(
            sa.select(
                AuthCode.secret_hash, AuthCode.client_id, AuthCode.user_id, AuthCode.scopes,
                AuthCode.redirect_uri, AuthCode.redirect_uri_sent, AuthCode.code_challenge,
                AuthCode.code_challenge_method, AuthCode.revoked, AuthCode.expires_at,
                AuthCode.access_token_id, AuthCode.nonce, AuthCode.auth_time,
                AuthCode.created_at, AuthCode.resources,
                AuthCode.created_at, AuthCode.dpop_jkt,
            ).where(AuthCode.id == selector)
        ).one_or_none(),
    )
    if row.revoked:
        _replayed(ctx, row.access_token_id)
        raise invalid_grant("The authorization code has already been used or revoked.")
    if row.expires_at <= ctx.now():
        raise invalid_grant("The authorization code has expired.")
    _check_redirect_uri(request, row)
    _check_pkce(ctx, request, row, client)
    # RFC 8707 §2.2: the token may be for some of the approved resources, never another.
    resources, scopes = for_earlier_grant(ctx.resources, client, request.resources,
                                          row.resources, list(row.scopes or ()), explicit=False)
    dpop.check_bound(ctx, row.dpop_jkt, "authorization code")  # RFC 9449 §10

    # Everything that signs happens before the first write (see issuer.prepare_token).
    prepared = prepare_for_approval(
        ctx, client=client, user_id=row.user_id, scopes=scopes, grant_type=GRANT_TYPE,
        resources=resources, grant_resources=row.resources,
    )
    id_token = None
    if oidc.wants_id_token(ctx, prepared.scopes):
        # OpenID Connect Core §3.1.3.3: the code's nonce and login time, bound at authorize.
        id_token = oidc.issue_id_token(
            ctx, client=client, user_id=row.user_id, access_token=prepared.access_token,
            nonce=row.nonce, auth_time=row.auth_time or row.created_at,
        )

    # Claim the code atomically; a parallel exchange that lost the race is a replay too.
    if not redemption.claim(ctx, AuthCode, selector, AuthCode.revoked.is_(False), revoked=True):
        ctx.rollback()
        first = ctx.session.scalar(
            sa.select(AuthCode.access_token_id).where(AuthCode.id == selector)
        )
        _replayed(ctx, first)
        raise invalid_grant("The authorization code has already been used or revoked.")

    issued = store_token(ctx, prepared, with_refresh=client.has_grant_type("refresh_token"))
    redemption.link_access_token(ctx, AuthCode, selector, issued.token.id)
    body = issued.to_response_body()
    if id_token is not None:
        body["id_token"] = id_token
    return body


def _check_redirect_uri(request: TokenRequest, row: Any) -> None:
    """RFC 6749 §4.1.3: identical to the authorization request's, when that one carried it."""
    sent = request.get("redirect_uri")
    if row.redirect_uri_sent:
        if sent is None:
            raise invalid_grant("The redirect_uri parameter is required for this code.")
        if sent != row.redirect_uri:
            raise invalid_grant("The redirect_uri does not match the authorization request.")
    elif sent is not None and sent != row.redirect_uri:
        raise invalid_grant("The redirect_uri does not match the authorization request.")


def _check_pkce(ctx: Context, request: TokenRequest, row: Any, client: Any) -> None:
    verifier = request.get("code_verifier")
    if row.code_challenge is None:
        if verifier is not None:
            # A verifier for a code issued without a challenge: refuse the downgrade.
            raise invalid_grant("This code was issued without a code_challenge; "
                                "do not send a code_verifier.")
        if pkce.required_for(client, ctx.settings.pkce_required):
            # A code issued before PKCE became required for this client (a profile switched
            # on meanwhile) is refused too: the rule holds for every code redeemed from now.
            raise invalid_grant("This client must use PKCE: the code was issued without a "
                                "code_challenge.")
        return
    if verifier is None:
        raise invalid_grant("The code_verifier parameter is required (PKCE).")
    if row.code_challenge_method == pkce.PLAIN and not ctx.settings.pkce_plain:
        # Issued while plain was allowed; refused now that it is not (RFC 9700 §2.1.1).
        raise invalid_grant("This code was issued with the plain PKCE method, which is no "
                            "longer accepted; start a new authorization with S256.")
    if not pkce.is_valid_verifier(verifier):
        raise invalid_grant("The code_verifier is malformed (RFC 7636 §4.1).")
    if not pkce.verify(verifier, row.code_challenge, row.code_challenge_method or pkce.PLAIN):
        raise invalid_grant("The code_verifier does not match the code_challenge.")


def _replayed(ctx: Context, access_token_id: str | None) -> None:
    """Revoke what the first exchange issued (and any rotation of its refresh token)."""
    if not access_token_id:
        return
    RefreshToken = ctx.models.RefreshToken
    families = set(ctx.session.scalars(
        sa.select(RefreshToken.family_id).where(RefreshToken.access_token_id == access_token_id)
    ))
    for family_id in families:
        revoke_family(ctx, family_id, "code_replayed")
    revoke_access_tokens(ctx, [access_token_id], "code_replayed")
    ctx.commit()
