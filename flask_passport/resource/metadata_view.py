"""The RFC 9728 metadata routes, shared by an app with Passport and a :class:`ResourceServer`.

``/.well-known/oauth-protected-resource`` serves the app's own resource, and
``/.well-known/oauth-protected-resource/<path>`` the resource whose identifier has that path
(§3.1: the well-known suffix goes between the host and the path). Both are public JSON, cached
for five minutes and readable by any origin (browser-based clients such as MCP inspectors fetch
them; they hold nothing secret and no credentials are sent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request

from ..oauth2.resource_metadata import WELL_KNOWN, well_known_path

log = logging.getLogger("flask_passport")

#: The documents to publish, by resource identifier, the app's own first.
Documents = Callable[[], dict[str, dict[str, Any]]]

CORS = {"Access-Control-Allow-Origin": "*"}


def _preflight() -> Response:
    response = Response(status=204)
    response.headers.update({**CORS, "Access-Control-Allow-Methods": "GET",
                             "Access-Control-Allow-Headers": "*",
                             "Access-Control-Max-Age": "86400"})
    return response


def _not_found() -> Response:
    response = jsonify(error="not_found", error_description="No such protected resource here.")
    response.status_code = 404
    response.headers.update(CORS)
    return response


def pick(documents: dict[str, dict[str, Any]], suffix: str | None) -> dict[str, Any] | None:
    """The document served at the well-known URL with path ``suffix``: the one whose
    identifier's §3.1 path matches (exactly, else but for a terminating slash); at the bare
    URL, a resource without a path, else the app's own (clients that do not insert the path
    fall back to it)."""
    wanted = WELL_KNOWN + ("/" + suffix if suffix else "")
    paths = {resource: well_known_path(resource) for resource in documents}
    exact = [r for r, path in paths.items() if path == wanted]
    loose = [r for r, path in paths.items() if path.rstrip("/") == wanted.rstrip("/")]
    if exact or loose:
        return documents[(exact or loose)[0]]
    if wanted == WELL_KNOWN and documents:
        return next(iter(documents.values()))
    return None


def metadata_response(documents: Documents, suffix: str | None = None) -> Response:
    """The document for ``suffix`` as a cached, CORS-readable JSON response (or a 404)."""
    if request.method == "OPTIONS":
        return _preflight()
    try:
        found = pick(documents(), suffix)
    except ValueError as exc:  # a bad identifier in the config: `flask passport check` says
        log.error("flask-passport: cannot publish protected resource metadata: %s", exc)
        response = jsonify(error="server_error",
                           error_description="The protected resource metadata is misconfigured.")
        response.status_code = 500
        return response
    if found is None:
        return _not_found()
    response = jsonify(found)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers.update(CORS)
    return response


def add_resource_metadata_routes(app: Flask, documents: Documents, *, name: str) -> None:
    """Register the two well-known routes on ``app`` once (a later call is a no-op)."""
    endpoint = f"passport_{name}_resource_metadata"
    if endpoint in app.view_functions:
        return

    def view(suffix: str | None = None) -> Response:
        return metadata_response(documents, suffix)

    view.__name__ = endpoint
    app.add_url_rule(WELL_KNOWN, endpoint, view, methods=["GET", "OPTIONS"])
    app.add_url_rule(WELL_KNOWN + "/<path:suffix>", endpoint, view, methods=["GET", "OPTIONS"])

