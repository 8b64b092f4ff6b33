"""flask-passport: a complete OAuth2 authorization server for Flask, after Laravel Passport.

The public API is what this module exports (``__all__``, documented in docs/api.rst); every
other module is internal and may change in any release.
"""

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
from .resource.resource_server import ResourceServer
from .resources import Resource
from .scopes import Scope
from .storage.api_tokens import (
    HasApiTokens,
    PersonalAccessClientMissing,
    PersonalAccessTokenResult,
)
from .storage.clients import ClientError, CreatedClient, create_client
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
    "ClientError",
    "ClientMixin",
    "CreatedClient",
    "DeviceCodeMixin",
    "HasApiTokens",
    "KeyLoadError",
    "Passport",
    "PersonalAccessClientMissing",
    "PersonalAccessTokenResult",
    "RefreshTokenMixin",
    "Resource",
    "ResourceServer",
    "Scope",
    "client",
    "client_any",
    "create_client",
    "current_token",
    "require_oauth",
    "scope",
    "scopes",
    "signals",
]
