"""One cap on the request body of every Passport endpoint, chunked or not (413).

Werkzeug enforces ``max_content_length`` on a ``Content-Length`` body and, when the server
terminates the stream (``wsgi.input_terminated``: chunked bodies), while reading. Passport's
endpoints take a handful of short parameters, so the body is read here, up to the cap, before
any ``before_request`` hook (an app's or the rate limiter's) can read it without one: a
URL-value preprocessor runs after routing and before every ``before_request`` function.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from . import blueprint
from .authorize import error_page

#: Every Passport request body is a few short fields (a form or a small JSON object).
MAX_BODY = 64 * 1024
TOO_LARGE = "The request body is too large."
#: Endpoints answering with an HTML page rather than JSON.
_PAGES = frozenset({"passport.decide", "passport.device", "passport.device_decide",
                    "passport.reauthenticate"})


@blueprint.url_value_preprocessor
def cap_body(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Read at most :data:`MAX_BODY` bytes of the body (kept for the form parser), else 413."""
    # Werkzeug stops a capped stream at the cap without an error (a body of exactly the cap is
    # fine), so one byte more is allowed and its arrival is the signal.
    request.max_content_length = MAX_BODY + 1
    if len(request.get_data(cache=True)) > MAX_BODY:
        raise RequestEntityTooLarge()


@blueprint.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> Response:
    """413 in the endpoint's own shape: the HTML error page, or JSON for API clients (RFC 6749
    ``error``/``error_description``, and ``message`` as the session JSON APIs use)."""
    if request.endpoint in _PAGES:
        return error_page("invalid_request", TOO_LARGE, status=413)
    response = jsonify(error="invalid_request", error_description=TOO_LARGE, message=TOO_LARGE)
    response.status_code = 413
    response.headers["Cache-Control"] = "no-store"
    return response
