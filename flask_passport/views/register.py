"""``POST /oauth/register`` (RFC 7591) and ``GET|PUT|DELETE /oauth/register/<client_id>``
(RFC 7592): thin adapters over :mod:`flask_passport.oauth2.registration`."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request, url_for

from ..oauth2 import registration
from ..oauth2.errors import OAuthError
from . import blueprint
from .responses import oauth_error, to_flask
from .well_known import issuer_origin


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        raise ValueError("a member appears twice")
    return data


def _json_body() -> dict[str, Any]:
    """The body as a JSON object (its size is capped by :mod:`.body_limit`), else RFC 7591
    §3.2.2 ``invalid_client_metadata``."""
    if request.mimetype != "application/json":
        raise registration.invalid_metadata("The request must be application/json.")
    try:
        data = json.loads(request.get_data().decode("utf-8"),
                          object_pairs_hook=_reject_duplicates)
    except (ValueError, RecursionError):  # bad UTF-8 or JSON, duplicate members, deep nesting
        raise registration.invalid_metadata("The body is not a valid JSON object.") from None
    if not isinstance(data, dict):
        raise registration.invalid_metadata("The body must be a JSON object.")
    return data


def _bearer() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _configuration_uri(client_id: str) -> str:
    issuer = current_app.extensions["passport"].issuer()
    return issuer_origin(issuer) + url_for("passport.registration_client", client_id=client_id)


def _not_enabled() -> Response:
    response = oauth_error(OAuthError("not_found", "Client registration is not enabled."))
    response.status_code = 404
    return response


@blueprint.post("/register")
def register() -> Response:
    state = current_app.extensions["passport"]
    if state.settings.registration is None:
        return _not_enabled()
    ctx = state.context()
    try:
        return to_flask(registration.register(
            ctx, _json_body(), initial_token=_bearer(), configuration_uri=_configuration_uri,
            policy=state.passport._registration_policy,
        ))
    except OAuthError as exc:
        ctx.rollback()
        return oauth_error(exc)


@blueprint.route("/register/<client_id>", methods=["GET", "PUT", "DELETE"])
def registration_client(client_id: str) -> Response:
    state = current_app.extensions["passport"]
    if state.settings.registration is None:
        return _not_enabled()
    ctx = state.context()
    try:
        token = _bearer()
        client = registration.authenticate(ctx, client_id, token)
        assert token is not None  # authenticate refuses a missing token
        uri = _configuration_uri(client.id)
        if request.method == "GET":
            return to_flask(registration.read(ctx, client, configuration_uri=uri,
                                              access_token=token))
        if request.method == "PUT":
            return to_flask(registration.update(
                ctx, client, _json_body(), configuration_uri=uri, access_token=token,
                policy=state.passport._registration_policy,
            ))
        response = to_flask(registration.delete(ctx, client))
        response.set_data(b"")
        return response
    except OAuthError as exc:
        ctx.rollback()
        return oauth_error(exc)
