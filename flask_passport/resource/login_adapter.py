"""Flask-Login, as Passport uses it: the one module that knows Flask-Login's names.

Passport needs two things from Flask-Login. The app's ``user_loader`` comes through the
documented ``LoginManager.user_callback`` property. Making ``current_user`` a token's user for
one request, without touching the session (``login_user`` would sign the user in), has no
documented API: Flask-Login keeps the request's user in ``g._login_user`` (``utils._get_user``
reads it, ``LoginManager._update_request_context_with_user`` writes it). That private name is
used here and nowhere else; ``tests/test_login_adapter.py`` fails if the installed Flask-Login
stops using it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, g

#: Where Flask-Login keeps the current request's user (private to Flask-Login, see above).
REQUEST_USER_ATTR = "_login_user"


def user_loader(app: Flask | None) -> Callable[[str], Any] | None:
    """The app's Flask-Login ``user_loader`` callback, or ``None`` (no login manager or none
    registered)."""
    login_manager = getattr(app, "login_manager", None)
    if login_manager is None:
        return None
    return login_manager.user_callback  # type: ignore[no-any-return]


def set_request_user(user: Any) -> None:
    """Make ``current_user`` be ``user`` for this request only; the session is left alone."""
    setattr(g, REQUEST_USER_ATTR, user)


def set_request_anonymous(app: Flask) -> None:
    """Make ``current_user`` anonymous for this request, if the app uses Flask-Login."""
    login_manager = getattr(app, "login_manager", None)
    if login_manager is not None:
        setattr(g, REQUEST_USER_ATTR, login_manager.anonymous_user())


def forget_request_user() -> None:
    """Drop the user :func:`set_request_user` put on ``g`` (which may outlive the request)."""
    g.pop(REQUEST_USER_ATTR, None)
