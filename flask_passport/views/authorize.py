"""``/oauth/authorize`` (RFC 6749 §3.1): the login redirect, the consent page, approve and deny.

A thin adapter: validation, codes and redirects live in :mod:`flask_passport.oauth2.authorization`.
The request shown on the consent page is kept server-side in the session under a random,
single-use key; the form carries only that key and the CSRF token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from flask import Response, current_app, redirect, render_template, request, session
from flask_login import current_user, logout_user
from flask_login.utils import login_url
from sqlalchemy.exc import SQLAlchemyError

from .. import tokens
from ..forms import ConsentForm
from ..keys import KeyLoadError
from ..login_time import login_time
from ..oauth2 import redirect_uri
from ..oauth2.authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    AuthorizationRequest,
    approve,
    client_allows,
    deny,
    has_covering_token,
    validate_request,
)
from ..oauth2.oidc import login_too_old
from . import blueprint
from .pending import live_pending, take_pending

log = logging.getLogger("flask_passport")

PENDING_KEY = "_passport_authorizations"
REAUTH_KEY = "_passport_reauth"
#: How many consent pages may be open at once per session, and for how long.
MAX_PENDING = 5
#: The pending requests live in the (cookie) session, which browsers cap at about 4 KB: older
#: entries are dropped to stay under this many bytes of JSON.
MAX_PENDING_BYTES = 2500
PENDING_TTL = 30 * 60
#: How long a prompt=login re-authentication may take.
REAUTH_TTL = 10 * 60

_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def _state() -> Any:
    return current_app.extensions["passport"]


def _page(template: str, status: int = 200, **context: Any) -> Response:
    response = Response(render_template(template, **context), status=status,
                        mimetype="text/html")
    response.headers.update(_PAGE_HEADERS)
    return response


def error_page(error: str, description: str, status: int = 400) -> Response:
    """The HTML error page: used while the client or redirect URI is not proven."""
    return _page("passport/error.html", status, error=error, description=description)


def _redirect(location: str) -> Response:
    # Inside a request, flask.redirect builds the app's response_class (annotated as
    # Werkzeug's base Response).
    response = cast(Response, redirect(location, code=302))
    response.headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
    return response


def _login_redirect() -> Response:
    view = getattr(current_app.login_manager, "login_view", None)  # type: ignore[attr-defined]
    if not view:
        return error_page(
            "login_required",
            "You need to sign in before authorizing this application, but this site has no "
            "login page configured (set login_manager.login_view).",
            status=401,
        )
    return _redirect(login_url(view, next_url=request.full_path))


def _fingerprint() -> str:
    return hashlib.sha256(request.query_string).hexdigest()[:32]


def _mark_reauth() -> None:
    session[REAUTH_KEY] = {"fp": _fingerprint(), "at": int(time.time())}


def _reauthenticated() -> bool:
    """Whether the user signed in again for exactly this request (prompt=login), recently."""
    marker = session.pop(REAUTH_KEY, None)
    return (isinstance(marker, dict) and marker.get("fp") == _fingerprint()
            and int(time.time()) - int(marker.get("at", 0)) < REAUTH_TTL)


def _user_id() -> str:
    return str(current_user.get_id())


@blueprint.get("/authorize")
def authorize() -> Response:
    try:
        return _authorize()
    except SQLAlchemyError:
        _state().db.session.rollback()
        log.exception("Database error while validating an authorization request")
        return error_page("temporarily_unavailable", "The authorization server could not "
                          "complete the request. Try again later.", status=503)


def _authorize() -> Response:
    state = _state()
    ctx = state.context()
    try:
        authz, client = validate_request(ctx, request.args.items(multi=True))
    except AuthorizationPageError as exc:
        return error_page(exc.error, exc.description, exc.status)
    except AuthorizationRedirectError as exc:
        return _redirect(exc.location)

    if not current_user.is_authenticated:
        if "none" in authz.prompt:
            return _redirect(authz.error("login_required", "The user is not signed in.").location)
        if "login" in authz.prompt or authz.max_age is not None:
            _mark_reauth()
        return _login_redirect()
    # OpenID Connect max_age: a login older than max_age counts as prompt=login.
    too_old = login_too_old(login_time(), authz.max_age, ctx.now())
    if ("login" in authz.prompt or too_old) and not _reauthenticated():
        if "none" in authz.prompt:
            return _redirect(authz.error("login_required", "The user must sign in again "
                                         "(max_age).").location)
        # prompt=login: sign in again; the marker stops the loop when the user comes back.
        logout_user()
        _mark_reauth()
        return _login_redirect()

    user = current_user._get_current_object()  # type: ignore[attr-defined]
    if "consent" not in authz.prompt and (
        client.skips_authorization(user, list(authz.scopes))
        or has_covering_token(ctx, client.id, _user_id(), authz.scopes)
    ):
        return _finish(ctx, lambda: approve(ctx, authz, client, user, _auth_time(ctx)))
    if "none" in authz.prompt:
        return _redirect(authz.error("consent_required", "The user has not approved this "
                                     "client yet.").location)
    return _consent_page(authz, client, user)


def _consent_page(authz: AuthorizationRequest, client: Any, user: Any) -> Response:
    key = tokens.new_secret(24)
    pending = _live_pending()
    pending[key] = {"request": authz.to_dict(), "user_id": _user_id(), "at": int(time.time())}
    while len(pending) > 1 and (
        len(pending) > MAX_PENDING or len(json.dumps(pending)) > MAX_PENDING_BYTES
    ):
        oldest = min((k for k in pending if k != key), key=lambda k: pending[k]["at"])
        pending.pop(oldest)
    session[PENDING_KEY] = pending
    form = ConsentForm(data={"auth_token": key})
    return _page(
        "passport/authorize.html",
        form=form,
        client=client,
        user=user,
        scopes=_state().passport.scopes_for(authz.scopes),
        authorization=authz,
        auth_token=key,
        csrf_token=form.csrf_token.current_token,
    )


def _live_pending() -> dict[str, Any]:
    return live_pending(PENDING_KEY, PENDING_TTL)


def _take_pending(key: str | None) -> dict[str, Any] | None:
    """Remove and return the pending request named ``key`` (single use)."""
    return take_pending(PENDING_KEY, PENDING_TTL, key)


def _finish(ctx: Any, decide: Callable[[], str]) -> Response:
    """Run the decision, commit, redirect; a server fault is a page, never a half-written row."""
    try:
        location = decide()
        ctx.commit()
    except KeyLoadError as exc:
        ctx.rollback()
        log.error("flask-passport: %s", exc)
        return error_page("server_error", "The server's signing keys are missing; its "
                          "administrator should run `flask passport keys`.", status=500)
    except SQLAlchemyError:
        ctx.rollback()
        log.exception("Database error while answering an authorization request")
        return error_page("temporarily_unavailable", "The authorization server could not "
                          "complete the request. Try again later.", status=503)
    return _redirect(location)


@blueprint.route("/authorize", methods=["POST", "DELETE"])
def decide() -> Response:
    """Approve or deny the request shown on the consent page (DELETE always denies)."""
    try:
        return _decide()
    except SQLAlchemyError:
        # Loading the session's user or the client failed: a page, never a 500.
        _state().db.session.rollback()
        log.exception("Database error while reading an authorization decision")
        return error_page("temporarily_unavailable", "The authorization server could not "
                          "complete the request. Try again later.", status=503)


def _decide() -> Response:
    if not current_user.is_authenticated:
        return error_page("login_required", "Your session has ended. Sign in and start again "
                          "from the application.", status=401)
    form = ConsentForm(request.form)
    form.auth_token.data = form.auth_token.data or request.args.get("auth_token")
    if request.method == "DELETE" and not form.csrf_token.data:
        form.csrf_token.data = request.headers.get("X-CSRF-Token")
    if not form.validate():
        if form.csrf_token.errors:
            return error_page("invalid_request", form.csrf_token.errors[0])
        return error_page("invalid_request", "The authorization form is incomplete.")
    entry = _take_pending(form.auth_token.data)
    if entry is None or not tokens.secrets_equal(str(entry.get("user_id")), _user_id()):
        return error_page("invalid_request", "This authorization request has expired or was "
                          "already answered. Start again from the application.")
    authz = AuthorizationRequest.from_dict(entry["request"])
    state = _state()
    ctx = state.context()
    client = ctx.session.get(ctx.models.Client, authz.client_id)
    if client is None or client.revoked:
        return error_page("invalid_client", "The client is unknown or has been revoked.")
    registered = redirect_uri.resolve(client.redirect_uris or [], authz.redirect_uri)
    if registered is None or not client_allows(client, authz.response_type):
        return error_page("invalid_request", "The client's registration changed while you "
                          "were deciding. Start again from the application.")
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    if request.method == "DELETE" or form.deny.data or not form.approve.data:
        return _finish(ctx, lambda: deny(ctx, authz, client, user))
    return _finish(ctx, lambda: approve(ctx, authz, client, user, _auth_time(ctx)))


def _auth_time(ctx: Any) -> datetime:
    """When the user signed in (recorded at login), else now: bound to the code (OIDC)."""
    return login_time() or ctx.now()

