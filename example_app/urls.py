"""Absolute URLs of the example app's own routes, for its demo clients' server-side calls."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

from flask_passport.views.well_known import issuer_origin


def server_url(endpoint: str, **values: Any) -> str:
    """``endpoint`` on the configured issuer's origin (PASSPORT_ISSUER), never on the request's
    Host: the demos fetch these URLs server-side, and the Host header is the client's choice
    (``url_for(..., _external=True)`` would let any request point the fetch at any server)."""
    return issuer_origin(current_app.extensions["passport"].issuer()) + url_for(endpoint, **values)
