"""The clients JSON API (Passport's ``/oauth/clients``) for the logged-in user."""

from __future__ import annotations

from flask import Response, jsonify

from .. import management
from . import blueprint
from .session_api import context, json_body, session_api, user_id


@blueprint.get("/clients")
@session_api
def list_clients() -> Response:
    return jsonify([c.to_dict() for c in management.list_clients(context(), user_id())])


@blueprint.post("/clients")
@session_api
def create_client() -> tuple[Response, int]:
    ctx = context()
    created = management.create_user_client(ctx, user_id(), json_body())
    ctx.commit()
    return jsonify(created.to_dict()), 201


@blueprint.put("/clients/<client_id>")
@session_api
def update_client(client_id: str) -> Response:
    ctx = context()
    client = management.update_client(ctx, user_id(), client_id, json_body())
    ctx.commit()
    return jsonify(client.to_dict())


@blueprint.post("/clients/<client_id>/secret")
@session_api
def regenerate_secret(client_id: str) -> Response:
    ctx = context()
    created = management.regenerate_secret(ctx, user_id(), client_id)
    ctx.commit()
    return jsonify(created.to_dict())


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
