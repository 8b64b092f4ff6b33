"""Turning protocol responses into Flask responses."""

from __future__ import annotations

from flask import Response, jsonify

from ..oauth2.errors import OAuthError, OAuthResponse


def to_flask(resp: OAuthResponse) -> Response:
    response = jsonify(resp.body)
    response.status_code = resp.status
    response.headers.update(resp.headers)
    return response


def oauth_error(error: OAuthError) -> Response:
    return to_flask(error.to_response())
