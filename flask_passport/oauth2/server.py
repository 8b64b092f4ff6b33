"""The token endpoint (RFC 6749 §3.2): authenticate the client, run its grant, commit once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ..keys import KeyLoadError
from .client_auth import authenticate_client
from .context import Context, TokenRequest
from .errors import (
    NO_STORE,
    OAuthError,
    OAuthResponse,
    invalid_request,
    server_error,
    unauthorized_client,
    unsupported_grant_type,
)
from .grants import (
    authorization_code,
    client_credentials,
    device_code,
    password,
    refresh_token,
)
from .throttle import count_client

log = logging.getLogger("flask_passport")

Grant = Callable[[Context, TokenRequest, Any], dict[str, Any]]

DEFAULT_GRANTS: dict[str, Grant] = {
    authorization_code.GRANT_TYPE: authorization_code.handle,
    client_credentials.GRANT_TYPE: client_credentials.handle,
    password.GRANT_TYPE: password.handle,
    refresh_token.GRANT_TYPE: refresh_token.handle,
    device_code.GRANT_TYPE: device_code.handle,
}


class TokenEndpoint:
    """Dispatches token requests to the registered grants."""

    def __init__(self, grants: dict[str, Grant] | None = None) -> None:
        self.grants: dict[str, Grant] = dict(DEFAULT_GRANTS if grants is None else grants)

    def register(self, grant_type: str, handler: Grant) -> None:
        self.grants[grant_type] = handler

    def grant_types(self) -> list[str]:
        return list(self.grants)

    def handle(self, ctx: Context, request: TokenRequest) -> OAuthResponse:
        try:
            body = self._handle(ctx, request)
            ctx.commit()
        except OAuthError as exc:
            ctx.rollback()
            return exc.to_response()
        except KeyLoadError as exc:
            ctx.rollback()
            log.error("flask-passport: %s", exc)
            return server_error(
                "The server's signing keys are missing; its administrator should run "
                "`flask passport keys`."
            ).to_response()
        except SQLAlchemyError:
            ctx.rollback()
            log.exception("Database error while issuing a token")
            return OAuthError(
                "temporarily_unavailable",
                "The authorization server could not complete the request. Try again later.",
                status=503,
            ).to_response()
        return OAuthResponse(200, body, dict(NO_STORE))

    def _handle(self, ctx: Context, request: TokenRequest) -> dict[str, Any]:
        grant_type = request.get("grant_type")
        if not grant_type:
            raise invalid_request("The grant_type parameter is required.")
        handler = self.grants.get(grant_type)
        if handler is None:
            raise unsupported_grant_type(f"The grant type {grant_type[:64]!r} is not supported.")
        client = authenticate_client(ctx, request)
        if client.confidential:
            count_client(ctx, client)  # its secret proved it: count before any work
        if not client.has_grant_type(grant_type):
            raise unauthorized_client(f"This client may not use the {grant_type} grant.")
        body = handler(ctx, request, client)
        if not client.confidential:
            # A public client is only named; the grant it just passed (a valid code, refresh
            # token or device code) is what proves it. Over the limit, the rollback undoes the
            # grant, so the code or refresh token stays usable after Retry-After.
            count_client(ctx, client)
        return body

