"""Turning protocol responses into Flask responses (the builder is shared with the guard)."""

from __future__ import annotations

from flask import Response

from ..oauth2.errors import OAuthError
from ..resource.responses import to_flask

__all__ = ["oauth_error", "to_flask"]


def oauth_error(error: OAuthError) -> Response:
    return to_flask(error.to_response())
