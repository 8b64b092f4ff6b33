"""The passport blueprint: thin adapters from Flask requests to :mod:`flask_passport.oauth2`."""

from flask import Blueprint

blueprint = Blueprint(
    "passport",
    __name__,
    template_folder="../templates",
    static_folder="../static/passport",
    static_url_path="/passport-static",
)

from . import token  # noqa: E402,F401  (registers the routes)
from . import clients_api, frontend, tokens_api  # noqa: E402,F401  (issue 4: session APIs)
