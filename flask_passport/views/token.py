"""``POST /oauth/token`` (RFC 6749 §3.2)."""

from __future__ import annotations

from flask import Response, current_app, request, url_for

from ..oauth2.context import DPoPInput, TokenRequest
from ..oauth2.errors import OAuthError, invalid_request
from ..resource.dpop import nonce_key, origin_of
from . import blueprint
from .responses import oauth_error, to_flask
from .well_known import issuer_origin

#: The endpoints besides the token endpoint where a client authenticates, hence whose URL a
#: client assertion may name as its ``aud``.
CLIENT_AUTH_ENDPOINTS = frozenset({"passport.revoke", "passport.introspect",
                                   "passport.device_code", "passport.par"})


def parse_form_request() -> TokenRequest:
    """The form body as a :class:`TokenRequest`, or an OAuth ``invalid_request`` (its size is
    capped for every Passport endpoint by :mod:`.body_limit`)."""
    if request.mimetype != "application/x-www-form-urlencoded":
        raise invalid_request("The request must be application/x-www-form-urlencoded.")
    parsed = TokenRequest.from_items(
        request.form.items(multi=True), request.headers.get("Authorization"), dpop_input()
    )
    parsed.endpoint_urls = endpoint_urls()
    return parsed


def endpoint_urls() -> tuple[str, ...]:
    """The absolute URLs of the endpoint called and of the token endpoint, on the issuer's
    origin (what metadata publishes): the ``aud`` values besides the issuer that a client
    assertion may carry (oauth2.client_auth.assertion_audiences)."""
    base = issuer_origin(current_app.extensions["passport"].issuer())
    urls = [base + url_for("passport.token")]
    if request.endpoint in CLIENT_AUTH_ENDPOINTS:
        urls.append(base + url_for(request.endpoint))
    return tuple(urls)


def dpop_input() -> DPoPInput | None:
    """The ``DPoP`` headers and what their proofs must name (RFC 9449 §4.3): the method and
    this endpoint's URL on the configured issuer's origin (never the request's Host)."""
    given = tuple(request.headers.getlist("DPoP"))
    if not given:
        return None
    state = current_app.extensions["passport"]
    return DPoPInput(given, request.method,
                     origin_of(state.issuer()) + request.script_root + request.path,
                     nonce_key(current_app) if state.settings.dpop_nonce else None)


@blueprint.route("/token", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def token() -> Response:
    if request.method != "POST":
        response = oauth_error(invalid_request("The token endpoint only accepts POST."))
        response.status_code = 405
        response.headers["Allow"] = "POST"
        return response
    try:
        token_request = parse_form_request()
    except OAuthError as exc:
        return oauth_error(exc)
    state = current_app.extensions["passport"]
    return to_flask(state.passport._token_endpoint.handle(state.context(), token_request))
