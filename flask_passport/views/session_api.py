"""Shared plumbing of the session-authenticated JSON APIs: the logged-in user (Flask-Login),
the CSRF header check on every state-changing call, JSON bodies and error responses."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, current_app, jsonify, make_response, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from ..extension import user_id_of
from ..storage.management import NotFound, ValidationError
from ..web import csrf

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger("flask_passport")


def json_error(status: int, message: str, errors: dict[str, list[str]] | None = None
               ) -> Response:
    body: dict[str, Any] = {"message": message}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def session_api(view: F) -> F:
    """Require a logged-in session user, and a valid CSRF header unless the method is safe.

    Maps :class:`ValidationError` to 422 and :class:`NotFound` to 404.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return _guarded(*args, **kwargs)
        except SQLAlchemyError:
            # The database failed mid-request: roll back, answer 503 (retry), never a 500.
            current_app.extensions["passport"].db.session.rollback()
            log.exception("Database error in a session JSON API")
            response = jsonify(error="temporarily_unavailable", message="The server could not "
                               "complete the request. Try again later.")
            response.status_code = 503
            response.headers.update({"Cache-Control": "no-store", "Retry-After": "5"})
            return response

    def _guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user or not current_user.is_authenticated:
            return json_error(401, "Unauthenticated: log in first.")
        if request.method not in ("GET", "HEAD", "OPTIONS") and not csrf.is_valid(
            csrf.header_value()
        ):
            return json_error(
                403, "CSRF token missing or invalid: send the page's token in X-CSRF-Token."
            )
        try:
            response = view(*args, **kwargs)
        except ValidationError as exc:
            current_app.extensions["passport"].db.session.rollback()
            return json_error(422, exc.message, exc.errors)
        except NotFound:
            current_app.extensions["passport"].db.session.rollback()
            return json_error(404, "Not found.")
        response = make_response(response)
        # Answers carry secrets (new client secrets, personal tokens) or private lists.
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return cast(F, wrapper)


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 422 :class:`ValidationError` saying what is wrong (its
    size is capped for every Passport endpoint by :mod:`.body_limit`)."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the decoder goes: not an object we accept
        data = None
    if not isinstance(data, dict):
        raise ValidationError({}, "The request body must be a JSON object.")
    return data


def user_id() -> str:
    return user_id_of(current_user)


def context() -> Any:
    return current_app.extensions["passport"].context()
