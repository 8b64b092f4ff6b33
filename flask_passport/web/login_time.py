"""When the user signed in, kept in the session for OpenID Connect (``auth_time``, ``max_age``).

Flask-Login's ``user_logged_in`` signal records the time at every :func:`flask_login.login_user`;
``user_logged_out`` forgets it. A session restored from a remember-me cookie has no recorded
time: codes then carry "now" as ``auth_time``, and any ``max_age`` request makes the user sign
in again (OpenID Connect Core §3.1.2.1).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from flask import Flask, session
from flask_login import user_logged_in, user_logged_out

from ..oauth2.oidc import auth_time_from_timestamp

SESSION_KEY = "_passport_auth_time"


def login_time() -> datetime | None:
    """The current session's login time, or ``None`` when it was not recorded."""
    return auth_time_from_timestamp(session.get(SESSION_KEY))


def logged_in_since(moment: float) -> bool:
    """Whether the session's login happened at or after ``moment`` (epoch seconds): what
    ``prompt=login`` and an expired ``max_age`` ask of the login that follows them."""
    value = session.get(SESSION_KEY)
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= moment


def _logged_in(sender: Any, **_: Any) -> None:
    # Sub-second precision: a re-authentication is told apart from a login earlier in the
    # same second (``auth_time`` claims are still whole seconds).
    session[SESSION_KEY] = time.time()


def _logged_out(sender: Any, **_: Any) -> None:
    session.pop(SESSION_KEY, None)


def connect(app: Flask) -> None:
    """Record login times for ``app`` (signals connected for this app only)."""
    user_logged_in.connect(_logged_in, sender=app, weak=False)
    user_logged_out.connect(_logged_out, sender=app, weak=False)
