"""A protocol :class:`~flask_passport.oauth2.errors.OAuthResponse` as a Flask JSON response.

The one builder for the token-side endpoints (``views/``) and the resource guard, which sits
below the views and so cannot import them.
"""

from __future__ import annotations

from flask import Response, jsonify

from ..oauth2.errors import OAuthResponse


def to_flask(resp: OAuthResponse) -> Response:
    """``resp``'s body as JSON, with its status and headers."""
    response = jsonify(resp.body)
    response.status_code = resp.status
    response.headers.update(resp.headers)
    return response
