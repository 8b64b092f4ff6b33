"""The example API, protected by Passport's decorators."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from flask_passport import client, current_token, require_oauth, scope, scopes

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/user")
@require_oauth()
def user() -> object:
    """The token's user (any valid user token)."""
    return jsonify(current_user.to_dict())


@bp.get("/orders")
@scopes("check-status", "place-orders")
def orders() -> object:
    """Needs all of check-status and place-orders."""
    return jsonify(orders=[{"id": 1, "status": "shipped"}], scopes=current_token.scopes)


@bp.get("/status")
@scope("check-status", "place-orders")
def status() -> object:
    """Needs any of check-status and place-orders (user or client token)."""
    return jsonify(status="ok", client_id=current_token.client_id,
                   user_id=current_token.user_id)


@bp.get("/internal/jobs")
@client("check-status")
def jobs() -> object:
    """A machine-to-machine route for client credentials tokens."""
    return jsonify(jobs=[], client_id=current_token.client_id)
