"""The consent page's "Not you? Sign out": sign out, then back to the same authorization request.

It is the consent form's third button (``formaction``), so it posts the form's CSRF token and
``auth_token``, the key of the request kept server-side; nothing about the request travels in
the page. Signing out changes state, hence a POST checked against the session's CSRF token (a
cross-site link or form cannot sign anyone out). The redirect always goes to
``/oauth/authorize``, which validates the request again like any other and, the user being
signed out, sends them to the login view with ``next`` pointing back to it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, current_app, request, url_for
from flask_login import current_user, logout_user

from .. import signals
from ..oauth2 import par, pending
from ..oauth2.authorization import AuthorizationRequest
from ..web import csrf
from . import blueprint
from .authorize import _redirect, error_page


@blueprint.app_template_global("passport_switch_account_url")
def switch_account_url() -> str:
    """The "Not you? Sign out" form action, or ``""`` when the app has no
    ``login_manager.login_view`` to sign in again at."""
    if not getattr(current_app.login_manager, "login_view", None):  # type: ignore[attr-defined]
        return ""
    return url_for("passport.switch_account")


@blueprint.post("/authorize/switch-account")
def switch_account() -> Response:
    """Sign the current user out and start the pending authorization request again."""
    if not csrf.is_valid(request.form.get("csrf_token")):
        return error_page("invalid_request", "The form expired; go back and try again.")
    if not current_user.is_authenticated:
        return error_page("login_required", "Your session has ended. Sign in and start again "
                          "from the application.", status=401)
    user_id = str(current_user.get_id())
    ctx = current_app.extensions["passport"].context()
    # The consent key is bound to the signed-in user and consumed here: another user's key, an
    # unknown one or one already answered finds nothing, and nobody is signed out.
    entry = pending.take(ctx, pending.AUTHORIZE, request.form.get("auth_token"), user_id)
    if entry is None:
        return error_page("invalid_request", "This authorization request has expired or was "
                          "already answered. Start again from the application.")
    authz = AuthorizationRequest.from_dict(entry)
    query = authz.to_query()
    if authz.pushed:
        # RFC 9126: a pushed request is made again by pushing it again (the client may be
        # required to push), its one-use request_uri being spent.
        pushed = par.store(ctx, authz.client_id, dict(query))
        query = [("client_id", authz.client_id), ("request_uri", pushed["request_uri"])]
    ctx.commit()
    logout_user()
    signals.session_ended.send(current_app._get_current_object(),  # type: ignore[attr-defined]
                               user_id=user_id, client=None)
    return _redirect(url_for("passport.authorize") + "?" + urlencode(query))
