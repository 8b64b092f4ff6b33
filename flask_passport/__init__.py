"""flask-passport: a complete OAuth2 authorization server for Flask, after Laravel Passport."""

from . import signals
from .api_tokens import HasApiTokens, PersonalAccessClientMissing, PersonalAccessTokenResult
from .extension import Passport
from .guard import BearerToken, client, client_any, current_token, require_oauth, scope, scopes
from .keys import KeyLoadError
from .models import (
    AccessTokenMixin,
    AuthCodeMixin,
    ClientMixin,
    DeviceCodeMixin,
    RefreshTokenMixin,
)
from .scopes import Scope

__version__ = "0.1.0"

__all__ = [
    "AccessTokenMixin",
    "AuthCodeMixin",
    "BearerToken",
    "ClientMixin",
    "DeviceCodeMixin",
    "HasApiTokens",
    "KeyLoadError",
    "Passport",
    "PersonalAccessClientMissing",
    "PersonalAccessTokenResult",
    "RefreshTokenMixin",
    "Scope",
    "client",
    "client_any",
    "current_token",
    "require_oauth",
    "scope",
    "scopes",
    "signals",
]
