"""The frontend quickstart: ``{{ passport_components() }}`` (a Jinja global) and the cookie
refresh route of the SPA cookie authentication (``POST /oauth/token/refresh``)."""

from __future__ import annotations

from flask import Response, current_app, jsonify, url_for
from markupsafe import Markup

from ..web import cookie_auth, csrf
from . import blueprint
from .session_api import json_error, session_api


@blueprint.app_template_global("passport_components")
def passport_components() -> Markup:
    """The CSRF meta tag and the script defining ``<passport-clients>``,
    ``<passport-authorized-clients>`` and ``<passport-personal-access-tokens>``."""
    base = url_for("passport.list_scopes").rsplit("/", 1)[0]
    src = url_for("passport.static", filename="components.js")
    # Markup.format escapes every argument.
    return Markup(
        '<meta name="csrf-token" content="{}">\n'
        '<script src="{}" data-passport-base="{}" defer></script>'
    ).format(csrf.csrf_token(), src, base)


@blueprint.app_template_global("passport_csrf_token")
def passport_csrf_token() -> str:
    """The session's CSRF token, for your own forms (e.g. a sign-out form)."""
    return csrf.csrf_token()


@blueprint.post("/token/refresh")
@session_api
def refresh_api_cookie() -> Response:
    """Reissue the API cookie for the logged-in user (CSRF header required)."""
    if not cookie_auth.is_enabled(current_app._get_current_object()):  # type: ignore[attr-defined]
        return json_error(404, "Cookie authentication is not enabled on this app: call "
                               "passport.create_fresh_api_token(app or blueprint).")
    return cookie_auth.set_api_cookie(jsonify(message="Refreshed."))
