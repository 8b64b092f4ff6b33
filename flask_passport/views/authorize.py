"""``/oauth/authorize`` (RFC 6749 §3.1): the login redirect, the consent page, approve and deny.

A thin adapter: validation, codes and redirects live in :mod:`flask_passport.oauth2.authorization`.
The request shown on the consent page is kept server-side (:mod:`flask_passport.oauth2.pending`)
under a random, single-use key bound to the user; the form carries only that key and the CSRF
token.

``prompt=login`` and an expired ``max_age`` never sign the user out on a GET (any cross-site
link could): the user is sent to the login page, and the request goes on only once the
session's login time is not older than the request that asked for it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Response, current_app, redirect, render_template, request, session
from flask_login import current_user, logout_user
from flask_login.utils import login_url
from sqlalchemy.exc import SQLAlchemyError

from ..extension import passport_state
from ..jose.keys import KeyLoadError
from ..oauth2 import par, pending, redirect_uri
from ..oauth2.authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    AuthorizationRequest,
    approve,
    client_allows,
    deny,
    earlier_approval_stands,
    validate_request,
)
from ..oauth2.errors import KEYS_MISSING
from ..oauth2.oidc import login_too_old
from ..web.forms import ConsentForm, PassportForm
from ..web.login_time import logged_in_since, login_time
from . import blueprint

log = logging.getLogger("flask_passport")

REAUTH_KEY = "_passport_reauth"
#: A pushed request (RFC 9126) kept while the user signs in: this browser's binding value, and
#: the pending keys of its requests by request_uri digest.
PAR_BINDING_KEY = "_passport_par"
PAR_STASH_KEY = "_passport_par_keys"
#: How long a consent page stays answerable.
PENDING_TTL = timedelta(minutes=30)
#: How long a prompt=login re-authentication may take.
REAUTH_TTL = 10 * 60

_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


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


def _login_redirect(next_url: str | None = None) -> Response:
    view = getattr(current_app.login_manager, "login_view", None)  # type: ignore[attr-defined]
    if not view:
        return error_page(
            "login_required",
            "You need to sign in before authorizing this application, but this site has no "
            "login page configured (set login_manager.login_view).",
            status=401,
        )
    return _redirect(login_url(view, next_url=next_url or request.full_path))


def _fingerprint() -> str:
    return hashlib.sha256(request.query_string).hexdigest()[:32]


def _mark_reauth() -> None:
    """Require a login newer than now for this exact request (its query string)."""
    session[REAUTH_KEY] = {"fp": _fingerprint(), "at": time.time(),
                           "next": request.full_path}


def _reauth_marker() -> dict[str, Any] | None:
    """The live re-authentication requirement of this exact request, if any."""
    marker = session.get(REAUTH_KEY)
    if (isinstance(marker, dict) and marker.get("fp") == _fingerprint()
            and isinstance(marker.get("at"), int | float)
            and time.time() - marker["at"] < REAUTH_TTL):
        return marker
    return None


def _signed_in_since(marker: dict[str, Any]) -> bool:
    """Whether the session's login is not older than the request that asked for a new one; a
    session with no recorded login (remember-me) never is."""
    return logged_in_since(float(marker["at"]))


def _user_id() -> str:
    return str(current_user.get_id())


@blueprint.get("/authorize")
def authorize() -> Response:
    try:
        return _authorize()
    except SQLAlchemyError:
        passport_state().db.session.rollback()
        log.exception("Database error while validating an authorization request")
        return error_page("temporarily_unavailable", "The authorization server could not "
                          "complete the request. Try again later.", status=503)


@dataclass
class _Pushed:
    """A pushed authorization request (RFC 9126 §4) taken from ``/oauth/par``'s store."""

    client_id: str
    request_uri: str
    params: dict[str, str]

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.request_uri.encode()).hexdigest()


def _pushed_request(ctx: Any) -> _Pushed | Response:
    """RFC 9126 §4: the pushed request named by ``request_uri``, used once. Other query
    parameters are ignored but ``client_id``, which must name the client that pushed it; a
    request_uri that is unknown, expired, used or another client's is a page (no redirect
    URI is proven)."""
    if len(request.args.getlist("request_uri")) > 1 or len(request.args.getlist("client_id")) > 1:
        return error_page("invalid_request", "The request_uri or client_id parameter was sent "
                          "more than once.")
    pushed = _Pushed(request.args.get("client_id") or "", request.args["request_uri"], {})
    params = _unstash(ctx, pushed)
    if params is None:
        params = par.take(ctx, pushed.client_id, pushed.request_uri)
        ctx.commit()
    if params is None:
        return error_page("invalid_request_uri", "The request_uri is unknown, has expired, was "
                          "already used or was pushed by another client.")
    pushed.params = params
    return pushed


def _stash(ctx: Any, pushed: _Pushed | None) -> None:
    """Keep a used pushed request while the user signs in (its request_uri is spent): in the
    pending store, bound to this browser's session, for the return to the same URL."""
    if pushed is None:
        return
    binding = session.get(PAR_BINDING_KEY)
    if not isinstance(binding, str):
        binding = session[PAR_BINDING_KEY] = secrets.token_urlsafe(24)
    key = pending.create(ctx, pending.PUSHED, "par:" + binding, pushed.client_id,
                         {"request_uri": pushed.digest, "params": pushed.params}, PENDING_TTL)
    ctx.commit()
    stash = session.get(PAR_STASH_KEY)
    keys = dict(stash) if isinstance(stash, dict) else {}
    keys[pushed.digest[:32]] = key
    session[PAR_STASH_KEY] = dict(list(keys.items())[-pending.MAX_OPEN:])


def _unstash(ctx: Any, pushed: _Pushed) -> dict[str, str] | None:
    """The pushed request :func:`_stash` kept for this browser, taken once."""
    stash, binding = session.get(PAR_STASH_KEY), session.get(PAR_BINDING_KEY)
    if not isinstance(stash, dict) or not isinstance(binding, str):
        return None
    keys = dict(stash)
    key = keys.pop(pushed.digest[:32], None)
    session[PAR_STASH_KEY] = keys
    entry = pending.take(ctx, pending.PUSHED, key if isinstance(key, str) else None,
                         "par:" + binding)
    if entry is None:
        return None
    ctx.commit()
    params = entry.get("params")
    if entry.get("request_uri") != pushed.digest or not isinstance(params, dict) \
            or params.get("client_id") != pushed.client_id:
        return None
    return {str(k): str(v) for k, v in params.items()}


def _authorize() -> Response:
    state = passport_state()
    ctx = state.context()
    items: list[tuple[str, str]] = list(request.args.items(multi=True))
    pushed: _Pushed | None = None
    if par.is_pushed(request.args.get("request_uri") or ""):
        found = _pushed_request(ctx)
        if isinstance(found, Response):
            return found
        pushed = found
        items = list(pushed.params.items())
    try:
        authz, client = validate_request(ctx, items, pushed=pushed is not None)
    except AuthorizationPageError as exc:
        return error_page(exc.error, exc.description, exc.status)
    except AuthorizationRedirectError as exc:
        return _redirect(exc.location)

    if not current_user.is_authenticated:
        if "none" in authz.prompt:
            return _redirect(authz.error("login_required", "The user is not signed in.").location)
        if "login" in authz.prompt or authz.max_age is not None:
            _mark_reauth()
        _stash(ctx, pushed)
        return _login_redirect()
    # OpenID Connect max_age: a login older than max_age counts as prompt=login.
    if "login" in authz.prompt or login_too_old(login_time(), authz.max_age, ctx.now()):
        marker = _reauth_marker()
        if marker is None or not _signed_in_since(marker):
            if "none" in authz.prompt:
                return _redirect(authz.error("login_required", "The user must sign in again "
                                             "(max_age).").location)
            _stash(ctx, pushed)
            if marker is None:
                _mark_reauth()
                return _login_redirect()
            # Back from the login page without a new login (a login page that skips its form
            # for a signed-in user): offer to sign out and in again, a POST with CSRF.
            return _page("passport/reauthenticate.html", form=PassportForm())
        session.pop(REAUTH_KEY, None)

    user = current_user._get_current_object()
    if "consent" not in authz.prompt and (
        client.skips_authorization(user, list(authz.scopes))
        or earlier_approval_stands(ctx, client, _user_id(), authz.scopes, authz.redirect_uri)
    ):
        return _finish(ctx, lambda: approve(ctx, authz, client, user, _auth_time(ctx)))
    if "none" in authz.prompt:
        return _redirect(authz.error("consent_required", "The user has not approved this "
                                     "client yet.").location)
    return _consent_page(ctx, authz, client, user)


@blueprint.post("/reauthenticate")
def reauthenticate() -> Response:
    """Sign out and go to the login page, then back to the request that asked for a new
    login (kept in the session: no redirect target comes from the form)."""
    form = PassportForm(request.form)
    if not form.validate():
        return error_page("invalid_request", "The form has expired or did not come from this "
                          "site. Start again from the application.")
    marker = session.get(REAUTH_KEY)
    if not isinstance(marker, dict) or not isinstance(marker.get("next"), str):
        return error_page("invalid_request", "There is no sign-in to repeat. Start again from "
                          "the application.")
    logout_user()
    return _login_redirect(str(marker["next"]))


def _consent_page(ctx: Any, authz: AuthorizationRequest, client: Any, user: Any) -> Response:
    key = pending.create(ctx, pending.AUTHORIZE, _user_id(), client.id, authz.to_dict(),
                         PENDING_TTL)
    ctx.commit()
    form = ConsentForm(data={"auth_token": key})
    return _page(
        "passport/authorize.html",
        form=form,
        client=client,
        user=user,
        scopes=passport_state().passport.scopes_for(authz.scopes),
        authorization=authz,
        redirect_target=authz.redirect_target,
        auth_token=key,
        csrf_token=form.csrf_token.current_token,
    )


def _finish(ctx: Any, decide: Callable[[], str]) -> Response:
    """Run the decision, commit, redirect; a server fault is a page, never a half-written row."""
    try:
        location = decide()
        ctx.commit()
    except KeyLoadError as exc:
        ctx.rollback()
        log.error("flask-passport: %s", exc)
        return error_page("server_error", KEYS_MISSING, status=500)
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
        passport_state().db.session.rollback()
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
    state = passport_state()
    ctx = state.context()
    entry = pending.take(ctx, pending.AUTHORIZE, form.auth_token.data, _user_id())
    if entry is None:
        return error_page("invalid_request", "This authorization request has expired or was "
                          "already answered. Start again from the application.")
    authz = AuthorizationRequest.from_dict(entry)
    client = ctx.session.get(ctx.models.Client, authz.client_id)
    if client is None or client.revoked:
        return error_page("invalid_client", "The client is unknown or has been revoked.")
    registered = redirect_uri.resolve(client.redirect_uris or [], authz.redirect_uri)
    if registered is None or not client_allows(client, authz.response_type):
        return error_page("invalid_request", "The client's registration changed while you "
                          "were deciding. Start again from the application.")
    user = current_user._get_current_object()
    if request.method == "DELETE" or form.deny.data or not form.approve.data:
        return _finish(ctx, lambda: deny(ctx, authz, client, user))
    return _finish(ctx, lambda: approve(ctx, authz, client, user, _auth_time(ctx)))


def _auth_time(ctx: Any) -> datetime:
    """When the user signed in (recorded at login), else now: bound to the code (OIDC)."""
    return login_time() or ctx.now()

