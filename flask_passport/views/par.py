"""``POST /oauth/par`` (RFC 9126): a thin adapter over :mod:`flask_passport.oauth2.par`."""

from __future__ import annotations

from flask import Response, current_app, request

from ..oauth2 import par as par_protocol
from ..oauth2.errors import OAuthError
from . import blueprint
from .responses import oauth_error, to_flask
from .revoke import post_only
from .token import parse_form_request


@blueprint.route("/par", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def par() -> Response:
    if request.method != "POST":
        return post_only()  # RFC 9126 §2.3: 405 for any other method
    try:
        form = parse_form_request()
    except OAuthError as exc:
        return oauth_error(exc)
    state = current_app.extensions["passport"]
    return to_flask(par_protocol.push(state.context(), form))
