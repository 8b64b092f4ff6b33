"""API authentication for the app's own JavaScript by cookie (Passport's ``CreateFreshApiToken``).

Opt in with ``passport.create_fresh_api_token(app_or_blueprint)``. Then every GET response to a
logged-in user (Flask-Login session) carries a fresh cookie (``passport.cookie()``, default
``passport_token``): HttpOnly, SameSite=Lax, Secure under HTTPS, living
``PASSPORT_COOKIE_LIFETIME`` (default one hour), ``Secure`` when ``SESSION_COOKIE_SECURE`` is
set (behind a TLS-terminating proxy the request itself looks like plain HTTP) or the request is
HTTPS. Its value is ``itsdangerous``-signed with the app's ``SECRET_KEY`` and holds only the user
id, a SHA-256 digest of the session's CSRF token, the login session's nonce and an expiry time.

Bound to the login session: :func:`login_user` puts a fresh random nonce in the Flask session,
the cookie carries it, and each cookie-authenticated request must come with the session that
holds the same nonce. :func:`logout_user` removes the nonce, so a cookie captured before logout
is refused after it, however long it still has to live.

Why signed, not encrypted: the value holds no secret (the user id is not one, the CSRF token is
present only as a digest), so confidentiality adds nothing; what matters is that it cannot be
forged or altered (HMAC) and that it cannot be replayed from another site: the guard accepts it
only together with an ``X-CSRF-Token`` / ``X-XSRF-Token`` header whose digest matches, which a
cross-site page cannot read or send. HttpOnly keeps page scripts from lifting the cookie itself.

Scopes: a cookie-authenticated request carries every scope (``"*"``), as in Laravel Passport.
The cookie is only ever given to the user's own first-party pages in a logged-in session, where
the user can already do everything the session allows; the scopes of OAuth tokens exist to limit
*third-party* clients. A route can tell such a request by
``current_token.client_id == COOKIE_CLIENT_ID``.

``POST /oauth/token/refresh`` (CSRF header required) reissues the cookie; Flask-Login's
``logout_user()`` clears and invalidates it and ``login_user()`` replaces it (with a new
nonce), on whatever route they run.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request, session
from flask_login import current_user, user_logged_in, user_logged_out
from itsdangerous import BadSignature, URLSafeSerializer

from ..extension import passport_state, user_id_of
from ..jose.tokens import new_id, new_secret, secrets_equal
from ..oauth2.errors import BearerError
from ..resource.guard import BearerToken, request_token
from . import csrf

SALT = "flask-passport.api-cookie"
#: The ``client_id`` of a cookie-authenticated request: there is no OAuth client.
COOKIE_CLIENT_ID = "passport:cookie"
#: A readable cookie with the CSRF token, so that axios-style clients send ``X-XSRF-Token``.
XSRF_COOKIE = "XSRF-TOKEN"
#: The Flask-session key of the login session's nonce, which every API cookie must carry.
NONCE_KEY = "_passport_api_cookie"


def _serializer(app: Flask) -> URLSafeSerializer:
    if not app.secret_key:
        raise RuntimeError("Cookie authentication needs the app's SECRET_KEY to sign the cookie.")
    return URLSafeSerializer(app.secret_key, salt=SALT)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _cookie_name(app: Flask) -> str:
    """``PASSPORT_COOKIE_NAME``, or the name given to ``passport.cookie(name)``."""
    return str(app.extensions["passport"].settings.cookie_name)


def make_cookie_value(app: Flask, user_id: str, csrf_token: str, expires: int,
                      nonce: str) -> str:
    """The signed cookie value binding ``user_id`` to the CSRF token and to the login session
    holding ``nonce`` until ``expires``."""
    return str(_serializer(app).dumps({"u": user_id, "c": _digest(csrf_token), "e": expires,
                                       "n": nonce}))


def _session_nonce() -> str:
    """The login session's nonce, made on first use (a session logged in before cookie auth
    was enabled, or restored by a remember-me cookie, has none yet)."""
    nonce = session.get(NONCE_KEY)
    if not isinstance(nonce, str) or len(nonce) < 32:
        nonce = new_secret()
        session[NONCE_KEY] = nonce
    return nonce


def _secure(app: Flask) -> bool:
    """``Secure`` as the session cookie has it, or whenever the request came over HTTPS."""
    return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def set_api_cookie(response: Response) -> Response:
    """Attach a fresh API cookie (and the readable XSRF cookie) for the logged-in user."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions["passport"]
    lifetime = state.settings.cookie_lifetime
    token = csrf.csrf_token()
    expires = int(time.time() + lifetime.total_seconds())
    value = make_cookie_value(app, user_id_of(current_user), token, expires, _session_nonce())
    secure = _secure(app)
    max_age = int(lifetime.total_seconds())
    response.set_cookie(_cookie_name(app), value, max_age=max_age, httponly=True,
                        samesite="Lax", secure=secure, path="/")
    response.set_cookie(XSRF_COOKIE, token, max_age=max_age, httponly=False, samesite="Lax",
                        secure=secure, path="/")
    return response


def clear_api_cookie(response: Response) -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    secure = _secure(app)
    response.delete_cookie(_cookie_name(app), path="/", httponly=True, samesite="Lax",
                           secure=secure)
    response.delete_cookie(XSRF_COOKIE, path="/", samesite="Lax", secure=secure)
    return response


def _attach(response: Response) -> Response:
    """``after_request``: a fresh cookie on GET responses to a logged-in user."""
    if _marked(_LOGGED_OUT) or _marked(_LOGGED_IN) or request.method != "GET":
        return response
    if not current_user or not current_user.is_authenticated:
        return response
    if request_token() is not None:
        return response  # a request authenticated by a token is not a browser page view
    return set_api_cookie(response)


def _follow_login_state(response: Response) -> Response:
    """App-wide ``after_request``: clear the cookie on logout; on login (any method, any
    blueprint) replace a cookie another user may have left with one for the new user."""
    if _marked(_LOGGED_OUT):
        clear_api_cookie(response)
    elif _marked(_LOGGED_IN) and current_user and current_user.is_authenticated:
        set_api_cookie(response)
    return response


#: What this request did to the login session, read by the ``after_request`` hooks. Kept on
#: the request, not on ``g``: ``g`` lives as long as the app context, which a test or a script
#: may hold across many requests.
_LOGGED_IN, _LOGGED_OUT = "_passport_logged_in", "_passport_logged_out"


def _marked(mark: str) -> bool:
    return bool(request.environ.get(mark))


def _mark(mark: str) -> None:
    request.environ[mark] = True
    request.environ.pop(_LOGGED_OUT if mark == _LOGGED_IN else _LOGGED_IN, None)


def _on_logout(sender: Any, **_: Any) -> None:
    with contextlib.suppress(RuntimeError):  # logout outside a request: nothing to clear
        _mark(_LOGGED_OUT)
        session.pop(NONCE_KEY, None)  # every cookie of this login session dies now


def _on_login(sender: Any, **_: Any) -> None:
    with contextlib.suppress(RuntimeError):
        _mark(_LOGGED_IN)
        session[NONCE_KEY] = new_secret()  # a new login session: earlier cookies die


def authenticate() -> BearerToken | None:
    """The guard's cookie hook: a transient token for a valid cookie plus matching CSRF header.

    ``None`` when there is no cookie (the guard then asks for authentication).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    raw = request.cookies.get(_cookie_name(app))
    if not raw:
        return None
    if len(raw) > 2048:
        raise BearerError("invalid_token", "The API cookie is invalid.")
    try:
        data = _serializer(app).loads(raw)
    except BadSignature:
        raise BearerError("invalid_token", "The API cookie is invalid.") from None
    if (not isinstance(data, dict) or not isinstance(data.get("u"), str)
            or not isinstance(data.get("c"), str) or not isinstance(data.get("e"), int)
            or not isinstance(data.get("n"), str)):
        raise BearerError("invalid_token", "The API cookie is invalid.")
    if data["e"] <= time.time():
        raise BearerError("invalid_token", "The API cookie has expired; reload the page.")
    nonce = session.get(NONCE_KEY)
    if not isinstance(nonce, str) or not secrets_equal(data["n"], nonce):
        raise BearerError("invalid_token",
                          "The API cookie belongs to a session that has ended; sign in again.")
    header = csrf.header_value()
    if not header or not secrets_equal(_digest(header), data["c"]):
        raise BearerError(
            "invalid_token",
            "A request authenticated by the API cookie needs the page's CSRF token in an "
            "X-CSRF-Token or X-XSRF-Token header.",
        )
    return BearerToken(
        id=new_id(),
        user_id=data["u"],
        client_id=COOKIE_CLIENT_ID,
        scopes=["*"],
        expires_at=datetime.fromtimestamp(data["e"], UTC),
        claims={},
        transient=True,
    )


def is_enabled(app: Flask) -> bool:
    """Whether ``app`` accepts the API cookie (``create_fresh_api_token`` was called for it)."""
    return passport_state(app).cookie_authenticator is authenticate


def install(app: Flask) -> None:
    """Accept the cookie on this app's protected routes and clear it on logout (once per app)."""
    if is_enabled(app):
        return
    passport_state(app).cookie_authenticator = authenticate
    app.after_request(_follow_login_state)
    user_logged_out.connect(_on_logout, app)
    user_logged_in.connect(_on_login, app)


def enable(target: Flask | Blueprint) -> None:
    """Send fresh cookies on GET responses of ``target`` (an app, or a blueprint of one)."""
    if isinstance(target, Flask):
        install(target)
        target.after_request(_attach)
        return
    target.after_request(_attach)
    target.record_once(lambda setup_state: install(setup_state.app))  # type: ignore[arg-type]
