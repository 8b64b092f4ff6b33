"""The token endpoint (RFC 6749 §3.2): authenticate the client, run its grant, commit once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ..jose.keys import KeyLoadError
from . import dpop
from .client_auth import authenticate_client
from .context import Context, TokenRequest
from .errors import (
    NO_STORE,
    OAuthError,
    OAuthResponse,
    invalid_request,
    keys_missing,
    temporarily_unavailable,
    unauthorized_client,
    unsupported_grant_type,
)
from .grants import authorization_code, client_credentials, device_code, password, refresh_token
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


#: "Undefined table" as PostgreSQL (SQLSTATE 42P01), MySQL (1146) and SQLite report it.
_UNDEFINED_TABLE_SQLSTATE = "42P01"
_MYSQL_NO_SUCH_TABLE = 1146


def is_missing_table(exc: SQLAlchemyError) -> bool:
    """Whether ``exc`` says a table does not exist (the schema was never created)."""
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)  # psycopg 3, 2
    if sqlstate == _UNDEFINED_TABLE_SQLSTATE:
        return True
    args = getattr(orig, "args", ())
    if args and args[0] == _MYSQL_NO_SUCH_TABLE:
        return True
    return "no such table" in str(orig)  # SQLite has no error code for it


class TokenEndpoint:
    """Dispatches token requests to the registered grants."""

    def __init__(self, grants: dict[str, Grant] | None = None) -> None:
        self.grants: dict[str, Grant] = dict(DEFAULT_GRANTS if grants is None else grants)
        self._missing_table_reported = False

    def _report_missing_table(self, exc: SQLAlchemyError) -> None:
        """A configuration error, not a fault: say what to run, once, not a traceback per
        request (the answer stays a 503 so clients retry once the tables exist)."""
        if self._missing_table_reported:
            return
        self._missing_table_reported = True
        detail = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
        log.error("flask-passport: configuration error: Passport's tables are missing (%s). "
                  "Run `flask db upgrade heads` (or db.create_all() without migrations); "
                  "`flask passport check` lists what is missing.", detail)

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
            return keys_missing().to_response()
        except SQLAlchemyError as exc:
            ctx.rollback()
            if is_missing_table(exc):
                self._report_missing_table(exc)
            else:
                log.exception("Database error while issuing a token")
            return temporarily_unavailable().to_response()
        return OAuthResponse(200, body, {**NO_STORE, **ctx.response_headers})

    def _handle(self, ctx: Context, request: TokenRequest) -> dict[str, Any]:
        grant_type = request.get("grant_type")
        if not grant_type:
            raise invalid_request("The grant_type parameter is required.")
        handler = self.grants.get(grant_type)
        if handler is None or (grant_type == password.GRANT_TYPE
                               and not ctx.settings.password_grant):
            # A grant switched off is unsupported for every client, known or not, so the
            # answer is the same before client authentication (RFC 6749 §5.2).
            raise unsupported_grant_type(f"The grant type {grant_type[:64]!r} is not supported.")
        client = authenticate_client(ctx, request)
        if client.confidential:
            count_client(ctx, client)  # its secret proved it: count before any work
        if not client.has_grant_type(grant_type):
            raise unauthorized_client(f"This client may not use the {grant_type} grant.")
        # Before the grant: a use_dpop_nonce answer must leave the code or token unused.
        dpop.check_token_request(ctx, request, client)
        body = handler(ctx, request, client)
        if not client.confidential:
            # A public client is only named; the grant it just passed (a valid code, refresh
            # token or device code) is what proves it. Over the limit, the rollback undoes the
            # grant, so the code or refresh token stays usable after Retry-After.
            count_client(ctx, client)
        return body

