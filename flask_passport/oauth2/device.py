"""The device authorization grant's server side (RFC 8628), free of Flask globals.

* :func:`device_authorization` is the device authorization endpoint (§3.1-§3.2): it
  authenticates the client like the token endpoint, validates the scopes and stores a new
  request whose device code and user code are kept only as SHA-256 digests.
* :func:`find_for_entry` / :func:`claim` / :func:`decide` are the user interaction (§3.3): a
  signed-in user enters the user code, which binds the request to that user; only that user can
  then approve or deny it (RFC 8628 §3.3), with conditional UPDATEs so a decision happens once.

The polling half (§3.4-§3.5) is the token-endpoint grant in :mod:`.grants.device_code`.
User codes use RFC 8628 §6.1's alphabet of 20 consonants (no vowels, so no words; no digits, so
no 0/O or 1/I confusion), eight characters shown as ``XXXX-XXXX``: 20**8 ≈ 2**34.5 values, which
together with the short lifetime and the limited entry attempts (§5.1) makes guessing
impractical.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from .. import signals
from ..jose import tokens
from .client_auth import authenticate_client
from .context import Context, TokenRequest
from .errors import (
    NO_STORE,
    OAuthError,
    OAuthResponse,
    temporarily_unavailable,
    unauthorized_client,
)
from .resource_indicators import for_new_grant
from .rows import changed_rows
from .scope_policy import resolve_scopes
from .throttle import count_client

log = logging.getLogger("flask_passport")

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"

#: RFC 8628 §6.1: "BCDFGHJKLMNPQRSTVWXZ", case-insensitive, punctuation ignored on entry.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8

PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"
CONSUMED = "consumed"

#: RFC 8628 §3.5: ``slow_down`` raises the interval by this many seconds.
SLOW_DOWN_STEP = 5


def new_user_code() -> str:
    """A fresh user code from :mod:`secrets`, formatted for display (``BCDF-GHJK``)."""
    raw = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_user_code(value: str | None) -> str | None:
    """The canonical form of what a user typed: upper case, separators and spaces dropped.

    ``None`` when it cannot be a user code (wrong length or a character outside the alphabet).
    """
    if not value or len(value) > 64:
        return None
    code = "".join(ch for ch in value.upper() if ch not in " -_.\t")
    if len(code) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in code):
        return None
    return code


def user_code_digest(normalized: str) -> str:
    return tokens.hash_secret("user-code:" + normalized)


@dataclass
class DeviceAuthorization:
    """A new device authorization (RFC 8628 §3.2); the codes are the only plain copies."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int

    def to_response_body(self) -> dict[str, Any]:
        complete = f"{self.verification_uri}?user_code={self.user_code}"
        return {
            "device_code": self.device_code,
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": complete,
            "expires_in": self.expires_in,
            "interval": self.interval,
        }


def create_device_code(
    ctx: Context, client: Any, scopes: list[str], verification_uri: str,
    resources: list[str] | None = None,
) -> DeviceAuthorization:
    """Store a new pending request for ``client`` (its digests only), for ``resources`` (RFC
    8707) when given; the caller commits."""
    DeviceCode = ctx.models.DeviceCode
    now = ctx.now()
    lifetime = ctx.settings.device_code_lifetime
    for _ in range(5):
        user_code = new_user_code()
        digest = user_code_digest(normalize_user_code(user_code) or "")
        taken = ctx.session.scalar(
            sa.select(DeviceCode.id).where(DeviceCode.user_code_hash == digest)
        )
        if taken is None:
            break
    else:  # pragma: no cover - 5 collisions in a 2**34 space: the table needs purging
        raise OAuthError("temporarily_unavailable", "No user code is free; try again.",
                         status=503)
    selector, plain, device_digest = tokens.make_opaque_token()
    row = DeviceCode(
        id=selector,
        device_code_hash=device_digest,
        user_code_hash=digest,
        client_id=client.id,
        scopes=list(scopes),
        user_id=None,
        status=PENDING,
        interval=ctx.settings.device_code_interval,
        last_polled_at=None,
        created_at=now,
        expires_at=now + lifetime,
    )
    if resources:  # set only when asked, so a replaced model without the column still works
        row.resources = list(resources)
    ctx.session.add(row)
    return DeviceAuthorization(
        device_code=plain,
        user_code=user_code,
        verification_uri=verification_uri,
        expires_in=int(lifetime.total_seconds()),
        interval=ctx.settings.device_code_interval,
    )


def device_authorization(
    ctx: Context, request: TokenRequest, verification_uri: str
) -> OAuthResponse:
    """RFC 8628 §3.1-§3.2: the device authorization endpoint; commits once, errors per §3.2."""
    try:
        client = authenticate_client(ctx, request)
        if client.confidential:  # a public client is only named here: it counts per address
            count_client(ctx, client)
        if not client.has_grant_type(GRANT_TYPE):
            raise unauthorized_client("This client may not use the device authorization grant.")
        scopes = resolve_scopes(ctx, request.get("scope"), client, GRANT_TYPE)
        resources, scopes = for_new_grant(ctx.resources, client, request.resources, scopes,
                                          explicit=request.get("scope") is not None)
        issued = create_device_code(ctx, client, scopes, verification_uri, resources)
        ctx.commit()
    except OAuthError as exc:
        ctx.rollback()
        return exc.to_response()
    except SQLAlchemyError:
        ctx.rollback()
        log.exception("Database error while starting a device authorization")
        return temporarily_unavailable().to_response()
    return OAuthResponse(200, issued.to_response_body(), dict(NO_STORE))


class UserCodeError(Exception):
    """A user code that cannot be used; ``description`` is safe to show the user."""

    def __init__(self, description: str, *, counts_as_failure: bool = True) -> None:
        super().__init__(description)
        self.description = description
        #: Whether it counts against the user's limited entry attempts (RFC 8628 §5.1).
        self.counts_as_failure = counts_as_failure


def find_for_entry(ctx: Context, value: str | None, user_id: str) -> Any:
    """The pending request the user code names, if ``user_id`` may decide it; else raise.

    Unknown, malformed, expired and already-decided codes all fail the same way, so that the
    page does not tell a guesser which codes exist. A code another user entered first is refused
    with its own message: it is bound to that user (RFC 8628 §3.3).
    """
    normalized = normalize_user_code(value)
    if normalized is None:
        raise UserCodeError("That code is not valid. Check the code shown on your device.")
    DeviceCode = ctx.models.DeviceCode
    row = ctx.session.scalars(
        sa.select(DeviceCode).where(DeviceCode.user_code_hash == user_code_digest(normalized))
    ).one_or_none()
    if row is None or row.status != PENDING or row.expires_at <= ctx.now():
        raise UserCodeError("That code is not valid or has expired. Check the code shown on "
                            "your device, or start again on the device.")
    if row.user_id is not None and not tokens.secrets_equal(row.user_id, user_id):
        raise UserCodeError("That code was already entered by another account. Start again on "
                            "the device to get a new code.", counts_as_failure=False)
    return row


def claim(ctx: Context, device_id: str, user_id: str) -> bool:
    """Bind the pending request to ``user_id`` (the user who entered the code), atomically.

    True if it is now bound to this user; False if another user claimed it first, or it was
    decided or expired meanwhile. The caller commits.
    """
    DeviceCode = ctx.models.DeviceCode
    won = changed_rows(
        ctx.session,
        sa.update(DeviceCode)
        .where(
            DeviceCode.id == device_id,
            DeviceCode.status == PENDING,
            DeviceCode.expires_at > ctx.now(),
            sa.or_(DeviceCode.user_id.is_(None), DeviceCode.user_id == user_id),
        )
        .values(user_id=user_id)
        .execution_options(synchronize_session=False)
    )
    return won == 1


def decide(ctx: Context, device_id: str, user: Any, *, approved: bool) -> Any:
    """Approve or deny the request bound to ``user``; returns the row, or ``None`` if that is no
    longer possible (expired, already decided, or bound to someone else). The caller commits.
    """
    user_id = ctx.user_id_of(user)
    DeviceCode = ctx.models.DeviceCode
    won = changed_rows(
        ctx.session,
        sa.update(DeviceCode)
        .where(
            DeviceCode.id == device_id,
            DeviceCode.status == PENDING,
            DeviceCode.user_id == user_id,
            DeviceCode.expires_at > ctx.now(),
        )
        .values(status=APPROVED if approved else DENIED)
        .execution_options(synchronize_session=False)
    )
    if won != 1:
        return None
    row: Any = ctx.session.get(DeviceCode, device_id, populate_existing=True)
    client = ctx.session.get(ctx.models.Client, row.client_id)
    signal = signals.authorization_approved if approved else signals.authorization_denied
    ctx.emit(signal, client=client, user=user, scopes=list(row.scopes or ()))
    return row
