"""DPoP at the authorization server (RFC 9449 §5, §8, §10): check the token request's proof,
bind what is issued to its key, and refuse a bound code or refresh token without that key.

:func:`check_token_request` runs after client authentication and before the grant (so a
``use_dpop_nonce`` answer consumes no code): it sets ``ctx.dpop_jkt``, which
:mod:`.issuer` writes into the access token (``cnf.jkt``, RFC 9449 §6.1), its row, and the
refresh token row of a public client (§5: a confidential client's refresh tokens are bound
by its authentication instead). :func:`check_bound` is what the code and refresh grants call.
"""

from __future__ import annotations

from typing import Any

from ..jose import dpop as proofs
from ..jose.tokens import secrets_equal
from .context import Context, TokenRequest
from .errors import OAuthError, invalid_grant, server_error

INVALID_DPOP_PROOF = proofs.INVALID_DPOP_PROOF
USE_DPOP_NONCE = proofs.USE_DPOP_NONCE


def invalid_dpop_proof(description: str) -> OAuthError:
    """RFC 9449 §5: the proof is missing where required, or fails a check."""
    return OAuthError(INVALID_DPOP_PROOF, description)


def use_dpop_nonce(nonce: str) -> OAuthError:
    """RFC 9449 §8: a 400 that hands the client the nonce to put in its next proof."""
    return OAuthError(USE_DPOP_NONCE, "Authorization server requires nonce in DPoP proof.",
                      headers={"DPoP-Nonce": nonce})


def required_for(ctx: Context, client: Any) -> bool:
    """Whether ``client`` must prove a key: ``PASSPORT_DPOP_REQUIRED`` or its registered
    ``dpop_bound_access_tokens`` (RFC 9449 §5.2)."""
    return ctx.settings.dpop_required or bool(getattr(client, "dpop_bound_access_tokens", False))


def check_token_request(ctx: Context, request: TokenRequest, client: Any) -> None:
    """Verify the ``DPoP`` header of a token request (RFC 9449 §4.3, §5) and set
    ``ctx.dpop_jkt``; ``invalid_dpop_proof`` or ``use_dpop_nonce`` otherwise."""
    settings = ctx.settings
    if not settings.dpop:
        if required_for(ctx, client):
            raise invalid_dpop_proof("This client must use DPoP, which this server has off.")
        return  # RFC 9449 §5: a server without DPoP ignores the header
    given = request.dpop
    if given is None or not given.proofs:
        if required_for(ctx, client):
            raise invalid_dpop_proof("This client must send a DPoP proof (RFC 9449 §5).")
        return
    if len(given.proofs) != 1:
        raise invalid_dpop_proof("Send exactly one DPoP header (RFC 9449 §4.3).")
    if ctx.replay is None:
        raise server_error("No single-use store is configured for DPoP proofs.")
    replay = ctx.replay
    nonce_key = given.nonce_key if settings.dpop_nonce else None
    try:
        proof = proofs.verify_proof(
            given.proofs[0], method=given.method, url=given.url,
            algorithms=settings.dpop_algs, lifetime=settings.dpop_proof_lifetime,
            leeway=settings.leeway, nonce_key=nonce_key,
            use_once=lambda value, expires: replay.use_once(proofs.REPLAY_NAMESPACE, value,
                                                            expires),
        )
    except proofs.InvalidProof as exc:
        if exc.asks_for_nonce and nonce_key is not None:
            raise use_dpop_nonce(proofs.current_nonce(nonce_key)) from None
        raise invalid_dpop_proof(exc.description) from None
    ctx.dpop_jkt = proof.jkt
    if nonce_key is not None:
        current = proofs.current_nonce(nonce_key)
        # It rotated since the client's nonce: hand out the new one (RFC 9449 §8.2).
        if not secrets_equal(proof.nonce or "", current):
            ctx.response_headers["DPoP-Nonce"] = current


def check_bound(ctx: Context, jkt: str | None, what: str) -> None:
    """A code (RFC 9449 §10) or public client's refresh token (§5) bound to ``jkt`` is
    redeemed only with a proof of that key: ``invalid_dpop_proof`` without a proof,
    ``invalid_grant`` with another key (checked before anything is claimed or revoked)."""
    if jkt is None:
        return
    if ctx.dpop_jkt is None:
        raise invalid_dpop_proof(f"This {what} is bound to a DPoP key: send a DPoP proof "
                                 "signed with it.")
    if not secrets_equal(ctx.dpop_jkt, jkt):
        raise invalid_grant(f"The DPoP proof's key is not the one this {what} is bound to.")
