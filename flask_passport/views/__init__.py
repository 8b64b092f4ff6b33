"""The passport blueprint: thin adapters from Flask requests to :mod:`flask_passport.oauth2`."""

from flask import Blueprint

blueprint = Blueprint(
    "passport",
    __name__,
    template_folder="../templates",
    static_folder="../static/passport",
    static_url_path="/passport-static",
)

from . import introspect, revoke  # noqa: E402,F401,I001  (RFC 7662 / RFC 7009 routes)
from . import token  # noqa: E402,F401  (registers the routes)
from .authorize import authorize as _authorize  # noqa: E402,F401  (registers /authorize)
