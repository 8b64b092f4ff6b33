"""Blinker signals, from the project's own namespace (not Flask's), so apps can subscribe.

Every signal is sent with the Flask app (or ``None`` outside an app) as sender; the keyword
arguments are listed with each signal and in docs/events.
"""

from blinker import Namespace

_signals = Namespace()

#: ``token`` (the access token row), ``client``, ``user_id``, ``grant_type``.
access_token_created = _signals.signal("access-token-created")
#: ``refresh_token_id``, ``access_token_id``, ``client_id``.
refresh_token_created = _signals.signal("refresh-token-created")
#: ``token_id``, ``reason`` (``"rotated"``, ``"revoked"``, ``"reuse_detected"``,
#: ``"code_replayed"``, ``"client_deleted"``, ``"user_revoked"``, ``"user_deleted"``).
access_token_revoked = _signals.signal("access-token-revoked")
#: ``refresh_token_id``, ``reason`` (the same reasons as ``access_token_revoked``).
refresh_token_revoked = _signals.signal("refresh-token-revoked")
#: ``family_id``, ``client``: a rotated refresh token was presented again.
refresh_token_reused = _signals.signal("refresh-token-reused")
#: ``code_id``, ``client``, ``user_id``, ``scopes``.
auth_code_issued = _signals.signal("auth-code-issued")
#: ``client``, ``user``, ``scopes``.
authorization_approved = _signals.signal("authorization-approved")
#: ``client``, ``user``, ``scopes``.
authorization_denied = _signals.signal("authorization-denied")
#: ``user_id``, ``client`` (or ``None``): Passport signed a user out (OpenID Connect RP-initiated
#: logout, or "Not you? Sign out" on the consent page).
session_ended = _signals.signal("session-ended")

__all__ = [
    "access_token_created",
    "access_token_revoked",
    "auth_code_issued",
    "authorization_approved",
    "authorization_denied",
    "refresh_token_created",
    "refresh_token_reused",
    "refresh_token_revoked",
    "session_ended",
]
