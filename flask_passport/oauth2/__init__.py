"""The OAuth 2.0 protocol, free of Flask globals: parsed requests in, :class:`OAuthResponse` out."""

from .errors import OAuthError, OAuthResponse

__all__ = ["OAuthError", "OAuthResponse"]
