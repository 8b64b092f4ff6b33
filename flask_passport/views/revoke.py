"""``POST /oauth/revoke`` (RFC 7009): a thin adapter over ``oauth2.revocation_endpoint``."""

from __future__ import annotations

from flask import Response, current_app, request

from ..oauth2.errors import OAuthError, invalid_request
from ..oauth2.revocation_endpoint import revoke as revoke_token
from . import blueprint
from .responses import oauth_error, to_flask
from .token import parse_form_request


def post_only() -> Response:
    response = oauth_error(invalid_request("This endpoint only accepts POST."))
    response.status_code = 405
    response.headers["Allow"] = "POST"
    return response


@blueprint.route("/revoke", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def revoke() -> Response:
    if request.method != "POST":
        return post_only()
    try:
        form = parse_form_request()
    except OAuthError as exc:
        return oauth_error(exc)
    state = current_app.extensions["passport"]
    return to_flask(revoke_token(state.context(), form))
