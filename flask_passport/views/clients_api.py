"""The clients JSON API (Passport's ``/oauth/clients``) for the logged-in user."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from ..storage import management
from . import blueprint
from .session_api import context, json_body, session_api, user_id


def _body_before_commit(ctx: Any, item: Any) -> dict[str, Any]:
    """The JSON answer, built before the commit: reading expired attributes after it is one
    more query, and a fault there would answer 5xx for a change that was saved (and, for a new
    secret, lose the only plain copy)."""
    ctx.session.flush()
    return item.to_dict()  # type: ignore[no-any-return]


@blueprint.get("/clients")
@session_api
def list_clients() -> Response:
    return jsonify([c.to_dict() for c in management.list_clients(context(), user_id())])


@blueprint.post("/clients")
@session_api
def create_client() -> tuple[Response, int]:
    ctx = context()
    created = management.create_user_client(ctx, user_id(), json_body())
    body = _body_before_commit(ctx, created)
    ctx.commit()
    return jsonify(body), 201


@blueprint.put("/clients/<client_id>")
@session_api
def update_client(client_id: str) -> Response:
    ctx = context()
    client = management.update_client(ctx, user_id(), client_id, json_body())
    body = _body_before_commit(ctx, client)
    ctx.commit()
    return jsonify(body)


@blueprint.post("/clients/<client_id>/secret")
@session_api
def regenerate_secret(client_id: str) -> Response:
    ctx = context()
    created = management.regenerate_secret(ctx, user_id(), client_id)
    body = _body_before_commit(ctx, created)
    ctx.commit()
    return jsonify(body)


@blueprint.delete("/clients/<client_id>")
@session_api
def delete_client(client_id: str) -> tuple[str, int]:
    ctx = context()
    management.delete_client(ctx, user_id(), client_id)
    ctx.commit()
    return "", 204


@blueprint.get("/scopes")
@session_api
def list_scopes() -> Response:
    return jsonify(management.scope_dicts(context()))
