"""CSRF protection for Passport's session routes (consent form, JSON APIs, cookie auth).

One random token per session, compared in constant time. Forms send it as a field
(``csrf_token``); JavaScript sends it as ``X-CSRF-Token`` (or ``X-XSRF-Token``).
"""

from __future__ import annotations

from flask import request, session

from ..jose.tokens import new_secret, secrets_equal

SESSION_KEY = "_passport_csrf"
HEADERS = ("X-CSRF-Token", "X-XSRF-Token")


def csrf_token() -> str:
    """The session's CSRF token, created on first use (also a Jinja global)."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = new_secret()
        session[SESSION_KEY] = token
    return token


def is_valid(value: str | None) -> bool:
    expected = session.get(SESSION_KEY)
    if not value or not isinstance(expected, str):
        return False
    return secrets_equal(value, expected)


def header_value() -> str | None:
    for name in HEADERS:
        value = request.headers.get(name)
        if value:
            return value
    return None
