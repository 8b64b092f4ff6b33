"""``POST /oauth/introspect`` (RFC 7662): a thin adapter over ``oauth2.introspection``."""

from __future__ import annotations

from flask import Response, current_app, request

from ..oauth2.errors import OAuthError
from ..oauth2.introspection import introspect as introspect_token
from . import blueprint
from .responses import oauth_error, to_flask
from .revoke import post_only
from .token import parse_form_request


@blueprint.route("/introspect", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def introspect() -> Response:
    if request.method != "POST":
        return post_only()
    try:
        form = parse_form_request()
    except OAuthError as exc:
        return oauth_error(exc)
    state = current_app.extensions["passport"]
    return to_flask(introspect_token(state.context(), form))
