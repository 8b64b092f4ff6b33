"""The token JSON APIs for the logged-in user: personal access tokens
(``/oauth/personal-access-tokens``) and the applications the user authorized (``/oauth/tokens``)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from ..storage import management
from . import blueprint
from .session_api import context, json_body, session_api, user_id


@blueprint.get("/personal-access-tokens")
@session_api
def list_personal_tokens() -> Response:
    tokens = management.list_personal_tokens(context(), user_id())
    return jsonify([t.to_dict() for t in tokens])


@blueprint.post("/personal-access-tokens")
@session_api
def create_personal_token() -> tuple[Response, int]:
    ctx = context()
    issued = management.create_personal_access_token(
        ctx, user_id(), json_body(), user=current_user._get_current_object()
    )
    ctx.session.flush()
    # Built before the commit, so a fault after it cannot answer 5xx for a token that exists.
    # ``accessToken`` is the only copy of the JWT: shown once, never stored.
    body = {"accessToken": issued.access_token, "token": issued.token.to_dict()}
    ctx.commit()
    return jsonify(body), 201


@blueprint.delete("/personal-access-tokens/<token_id>")
@session_api
def revoke_personal_token(token_id: str) -> tuple[str, int]:
    ctx = context()
    management.revoke_personal_token(ctx, user_id(), token_id)
    ctx.commit()
    return "", 204


@blueprint.get("/tokens")
@session_api
def list_authorized_tokens() -> Response:
    pairs = management.list_authorized_tokens(context(), user_id())
    return jsonify([management.token_with_client(t, c) for t, c in pairs])


@blueprint.delete("/tokens/<token_id>")
@session_api
def revoke_authorized_token(token_id: str) -> tuple[str, int]:
    ctx = context()
    management.revoke_authorized_token(ctx, user_id(), token_id)
    ctx.commit()
    return "", 204
