"""flask-passport: a complete OAuth2 authorization server for Flask, after Laravel Passport."""

from . import signals
from .extension import Passport
from .jose.keys import KeyLoadError
from .resource.guard import (
    BearerToken,
    client,
    client_any,
    current_token,
    require_oauth,
    scope,
    scopes,
)
from .scopes import Scope
from .storage.api_tokens import (
    HasApiTokens,
    PersonalAccessClientMissing,
    PersonalAccessTokenResult,
)
from .storage.models import (
    AccessTokenMixin,
    AuthCodeMixin,
    ClientMixin,
    DeviceCodeMixin,
    RefreshTokenMixin,
)

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
