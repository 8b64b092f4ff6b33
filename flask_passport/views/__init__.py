"""The passport blueprint: thin adapters from Flask requests to :mod:`flask_passport.oauth2`."""

from flask import Blueprint

blueprint = Blueprint(
    "passport",
    __name__,
    template_folder="../templates",
    static_folder="../static/passport",
    static_url_path="/passport-static",
)

# Importing the view modules registers their routes on the blueprint.
from . import (  # noqa: E402,F401
    authorize,
    body_limit,
    clients_api,
    device,
    frontend,
    introspect,
    oidc,
    par,
    register,
    revoke,
    switch_account,
    token,
    tokens_api,
)
from .cors import add_cors_headers  # noqa: E402

blueprint.after_request(add_cors_headers)
