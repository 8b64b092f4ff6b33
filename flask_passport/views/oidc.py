"""OpenID Connect routes: ``/oauth/userinfo`` (Core §5.3) and ``/oauth/logout`` (RP-Initiated
Logout 1.0). Thin adapters over :mod:`flask_passport.oauth2.oidc`; both answer 404 when
``PASSPORT_OIDC_ENABLED`` is off.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast

from flask import Response, abort, current_app, jsonify, redirect, request, session
from flask_login import current_user, logout_user
from sqlalchemy.exc import SQLAlchemyError

from .. import signals
from ..extension import PassportState, passport_state
from ..jose import tokens
from ..jose.keys import KeyLoadError
from ..oauth2.errors import KEYS_MISSING, BearerError, keys_missing
from ..oauth2.oidc import LogoutError, LogoutRequest, validate_logout
from ..resource import dpop
from ..resource.guard import verify_bearer
from ..resource.responses import to_flask
from ..web import csrf
from . import blueprint
from .authorize import _page, error_page

log = logging.getLogger("flask_passport")

#: The logout request waiting for the user's confirmation, kept in the Flask session (with the
#: default cookie session the browser holds it, signed): confirming pops it, a random key ties
#: it to the page shown and it lapses after LOGOUT_TTL seconds. The redirect URI is checked
#: against the client's registration again on confirmation.
LOGOUT_KEY = "_passport_logout"
LOGOUT_TTL = 10 * 60


def _state() -> PassportState:
    """The app's state; a 404 when OpenID Connect is off."""
    state = passport_state()
    if not state.settings.oidc_enabled:
        abort(404)
    return state


# -- UserInfo (OpenID Connect Core §5.3) --------------------------------------------------------


def _bearer_value() -> str | None:
    """The token from the header, or (POST only) the form body (RFC 6750 §2.1-§2.2)."""
    value, _ = dpop.authorization(request.headers.get("Authorization"))
    in_body = None
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        in_body = request.form.get("access_token") or None
    if value is not None and in_body is not None:
        raise BearerError("invalid_request", "Send the access token once, not in the header "
                          "and the body.", status=400)
    return value or in_body


def _bearer_error(exc: BearerError) -> Response:
    response = to_flask(exc.to_response())
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    """The claims of the token's user for the scopes the token was granted."""
    state = _state()
    try:
        value = _bearer_value()
        if value is None:
            raise BearerError(None, "Authentication is required.")
        token = verify_bearer(state, value)
        dpop.check(state, token, value, bool(getattr(request, "_passport_dpop", False)))
        if token.user_id is None:
            raise BearerError("invalid_token", "This token does not stand for a user.")
        if not token.can("openid"):
            raise BearerError("insufficient_scope", "The token was not granted the openid scope.",
                              status=403, scope="openid")
        user = state.load_user(token.user_id)
        if user is None:
            raise BearerError("invalid_token", "The token's user no longer exists.")
    except BearerError as exc:
        return _bearer_error(dpop.as_challenge(exc))
    except KeyLoadError as exc:
        log.error("flask-passport: %s", exc)
        return to_flask(keys_missing().to_response())
    response = jsonify(state.passport.user_claims(user, token.scopes))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


# -- RP-initiated logout (end_session_endpoint) ---------------------------------------------------


@blueprint.route("/logout", methods=["GET", "POST"])
def end_session() -> Response:
    """Sign the user out of this server, then go back to the client's registered URI.

    Without confirmation only when a valid ``id_token_hint`` names the signed-in user; otherwise
    the user confirms on a page with a CSRF-protected form (a cross-site link cannot sign
    anyone out).
    """
    state = _state()
    if request.method == "POST" and "passport_logout" in request.form:
        return _confirmed(state)
    items = request.args.items(multi=True) if request.method == "GET" \
        else request.form.items(multi=True)
    ctx = state.context()
    try:
        logout = validate_logout(ctx, items)
    except LogoutError as exc:
        return error_page("invalid_request", str(exc))
    except KeyLoadError as exc:
        log.error("flask-passport: %s", exc)
        return error_page("server_error", KEYS_MISSING, status=500)
    except SQLAlchemyError:
        state.db.session.rollback()
        log.exception("Database error while validating a logout request")
        return error_page("temporarily_unavailable", "Try again later.", status=503)
    if not current_user.is_authenticated:
        return _done(logout)
    if logout.hint_subject is not None and tokens.secrets_equal(
        logout.hint_subject, str(current_user.get_id())
    ):
        return _sign_out(logout)
    key = tokens.new_secret(24)
    session[LOGOUT_KEY] = {
        "key": key, "at": int(time.time()),
        "client_id": logout.client.id if logout.client is not None else None,
        "redirect_uri": logout.redirect_uri, "state": logout.state,
    }
    return _page("passport/logout.html", mode="confirm", client=logout.client, key=key,
                 csrf_token=csrf.csrf_token())


def _confirmed(state: Any) -> Response:
    if not csrf.is_valid(request.form.get("csrf_token")):
        return error_page("invalid_request", "The sign-out form expired; go back and try again.")
    pending = session.pop(LOGOUT_KEY, None)
    key = request.form.get("passport_logout") or ""
    if (not isinstance(pending, dict) or not tokens.secrets_equal(str(pending.get("key")), key)
            or int(time.time()) - int(pending.get("at", 0)) > LOGOUT_TTL):
        return error_page("invalid_request", "This sign-out request has expired. Start again "
                          "from the application.")
    client = None
    if pending.get("client_id"):
        client = state.db.session.get(state.models.Client, pending["client_id"])
    logout = LogoutRequest(client=client, redirect_uri=pending.get("redirect_uri"),
                           state=pending.get("state"))
    registered = getattr(client, "post_logout_redirect_uris", None) or ()
    if client is None or client.revoked or (
        logout.redirect_uri and logout.redirect_uri not in registered
    ):
        logout.redirect_uri = None  # the registration changed meanwhile: stay here
    if "cancel" in request.form:
        return _page("passport/logout.html", mode="cancelled", client=client)
    if not current_user.is_authenticated:
        return _done(logout)
    return _sign_out(logout)


def _sign_out(logout: LogoutRequest) -> Response:
    user_id = str(current_user.get_id())
    logout_user()
    signals.session_ended.send(current_app._get_current_object(),  # type: ignore[attr-defined]
                               user_id=user_id, client=logout.client)
    return _done(logout)


def _done(logout: LogoutRequest) -> Response:
    location = logout.location()
    if location is None:
        return _page("passport/logout.html", mode="done", client=logout.client)
    response = cast(Response, redirect(location, code=302))  # the app's response_class
    response.headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
    return response
