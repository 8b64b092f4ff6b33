"""The device authorization grant's routes (RFC 8628): thin adapters over
:mod:`flask_passport.oauth2.device`.

* ``POST /oauth/device/code``: the device authorization endpoint (§3.1).
* ``GET/POST /oauth/device``: the verification page (§3.3) where a signed-in user enters the
  user code (``?user_code=`` pre-fills it: ``verification_uri_complete``); the code is then bound
  to that user and the same consent screen as ``/oauth/authorize`` is shown.
* ``POST /oauth/device/decide``: approve or deny. The request being decided is kept server-side
  (:mod:`flask_passport.oauth2.pending`) under a random single-use key bound to the user; the
  form carries only that key and the CSRF token.

All POSTs are rate-limited per IP by :mod:`flask_passport.web.ratelimit` (any ``passport.device*``
endpoint), and a confidential client per client once authenticated; wrong user codes are also
limited per user (§5.1), each entry counted before the lookup.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Response, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from ..extension import passport_state
from ..oauth2 import device as device_flow
from ..oauth2 import pending
from ..oauth2.errors import OAuthError, invalid_request
from ..web.forms import ConsentForm, DeviceCodeForm
from . import blueprint
from .authorize import _login_redirect, _page, error_page, resources_named
from .responses import oauth_error, to_flask
from .token import parse_form_request
from .well_known import issuer_origin

log = logging.getLogger("flask_passport")

#: How long a device consent page stays answerable.
PENDING_TTL = timedelta(minutes=15)


def verification_uri() -> str:
    """The absolute URL of the verification page, on the issuer's host (never the Host
    header: a device shows this URL to its user)."""
    return issuer_origin(passport_state().issuer()) + url_for("passport.device")


@blueprint.route("/device/code", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def device_code() -> Response:
    """RFC 8628 §3.1: a device asks for a device code and a user code."""
    if request.method != "POST":
        response = oauth_error(invalid_request("The device authorization endpoint only "
                                               "accepts POST."))
        response.status_code = 405
        response.headers["Allow"] = "POST"
        return response
    try:
        token_request = parse_form_request()
    except OAuthError as exc:
        return oauth_error(exc)
    state = passport_state()
    return to_flask(device_flow.device_authorization(state.context(), token_request,
                                                     verification_uri()))


def _user_id() -> str:
    return str(current_user.get_id())


def _entry_page(form: DeviceCodeForm, error: str | None = None, status: int = 200) -> Response:
    return _page("passport/device.html", status, form=form, error=error,
                 csrf_token=form.csrf_token.current_token)


# -- wrong user codes, limited per user (RFC 8628 §5.1) ---------------------------------------


def _user_code_attempt() -> float | None:
    """Count this entry before the lookup; the seconds to wait if the user used up the limit."""
    limiter = passport_state().rate_limiter
    return None if limiter is None else limiter.user_code_attempt(_user_id())


def _user_code_refund() -> None:
    """Only wrong codes count: hand back the attempt of any other outcome."""
    limiter = passport_state().rate_limiter
    if limiter is not None:
        limiter.user_code_refund(_user_id())


# -- the verification page ----------------------------------------------------------------------


@blueprint.route("/device", methods=["GET", "POST"])
def device() -> Response:
    """RFC 8628 §3.3: the signed-in user enters the code shown on the device."""
    if not current_user.is_authenticated:
        return _login_redirect()
    if request.method == "GET":
        prefill = request.args.get("user_code", "")[:64]
        return _entry_page(DeviceCodeForm(data={"user_code": prefill}))
    form = DeviceCodeForm(request.form)
    if not form.validate():
        if form.csrf_token.errors:
            return error_page("invalid_request", form.csrf_token.errors[0])
        return _entry_page(form, "Enter the code shown on your device.", status=400)
    wait = _user_code_attempt()
    if wait is not None:
        return _entry_page(form, f"Too many wrong codes. Try again in {int(wait) + 1} seconds.",
                           status=429)
    state = passport_state()
    ctx = state.context()
    try:
        row = device_flow.find_for_entry(ctx, form.user_code.data, _user_id())
        if not device_flow.claim(ctx, row.id, _user_id()):
            raise device_flow.UserCodeError("That code was already entered by another account. "
                                            "Start again on the device to get a new code.",
                                            counts_as_failure=False)
        ctx.commit()
        client = ctx.session.get(ctx.models.Client, row.client_id)
        if client is None or client.revoked:
            raise device_flow.UserCodeError("The application that asked for this code has been "
                                            "removed.", counts_as_failure=False)
        page = _consent_page(ctx, row, client, form.user_code.data or "")
    except device_flow.UserCodeError as exc:
        ctx.rollback()
        if not exc.counts_as_failure:
            _user_code_refund()
        return _entry_page(form, exc.description, status=400)
    except SQLAlchemyError:
        ctx.rollback()
        _user_code_refund()
        log.exception("Database error while checking a user code")
        return error_page("temporarily_unavailable", "The authorization server could not "
                          "complete the request. Try again later.", status=503)
    _user_code_refund()  # a right code: only wrong ones count
    return page


def _consent_page(ctx: Any, row: Any, client: Any, entered: str) -> Response:
    key = pending.create(ctx, pending.DEVICE, _user_id(), client.id, {"device_id": row.id},
                         PENDING_TTL)
    ctx.commit()
    form = ConsentForm(data={"auth_token": key})
    normalized = device_flow.normalize_user_code(entered) or ""
    user = current_user._get_current_object()
    return _page(
        "passport/device_authorize.html",
        form=form,
        client=client,
        user=user,
        scopes=passport_state().passport.scopes_for(row.scopes or ()),
        resources=resources_named(ctx, getattr(row, "resources", None)),
        user_code=f"{normalized[:4]}-{normalized[4:]}",
        auth_token=key,
        csrf_token=form.csrf_token.current_token,
    )


@blueprint.post("/device/decide")
def device_decide() -> Response:
    """Approve or deny the device request this user entered (and only this user)."""
    if not current_user.is_authenticated:
        return error_page("login_required", "Your session has ended. Sign in and enter the "
                          "code again.", status=401)
    form = ConsentForm(request.form)
    if not form.validate():
        if form.csrf_token.errors:
            return error_page("invalid_request", form.csrf_token.errors[0])
        return error_page("invalid_request", "The authorization form is incomplete.")
    approved = bool(form.approve.data) and not form.deny.data
    state = passport_state()
    ctx = state.context()
    user = current_user._get_current_object()
    try:
        entry = pending.take(ctx, pending.DEVICE, form.auth_token.data, _user_id())
        if entry is None:
            ctx.rollback()
            return error_page("invalid_request", "This request has expired or was already "
                              "answered. Enter the code again.")
        row = device_flow.decide(ctx, str(entry["device_id"]), user, approved=approved)
        if row is None:
            ctx.rollback()
            return error_page("invalid_request", "This code has expired or was already "
                              "answered. Start again on the device.")
        ctx.commit()
    except SQLAlchemyError:
        ctx.rollback()
        log.exception("Database error while answering a device request")
        return error_page("temporarily_unavailable", "The authorization server could not "
                          "complete the request. Try again later.", status=503)
    return _page("passport/device_done.html", approved=approved)
