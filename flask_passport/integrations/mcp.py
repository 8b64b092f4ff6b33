"""Protecting an MCP server (Model Context Protocol) with Passport's access tokens.

Needs the ``mcp`` extra (``pip install "flask-passport[mcp]"``: the official ``mcp`` SDK and
uvicorn). The SDK's :class:`~mcp.server.mcpserver.MCPServer` takes a ``token_verifier`` and
an :class:`~mcp.server.auth.settings.AuthSettings`; this module supplies both::

    from mcp.server.mcpserver import MCPServer
    from flask_passport.integrations.mcp import PassportTokenVerifier, auth_settings

    RESOURCE = "https://mcp.example.com/mcp"
    server = MCPServer(
        "orders",
        token_verifier=PassportTokenVerifier(RESOURCE, issuer="https://auth.example.com"),
        auth=auth_settings("https://auth.example.com", RESOURCE, ["mcp"]),
    )

The verifier accepts a token only when Passport signed it (or, in introspection mode, says it is
active), it names the configured issuer, and its ``aud`` contains the MCP server's resource URL:
the MCP authorization specification (2025-06-18, "Token Audience Binding and Validation")
requires a server to refuse tokens issued for another resource, so that a token a client
obtained for one service cannot be replayed to another (RFC 8707 §1, RFC 9068 §4).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import anyio.to_thread
from flask import Flask
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings

from ..jose.tokens import InvalidToken, decode_access_token
from ..oauth2.errors import BearerError
from ..resource.resource_server import ResourceServer

log = logging.getLogger("flask_passport")

__all__ = ["PassportTokenVerifier", "auth_settings"]


class _Refused(Exception):
    """A token this server must not accept (the reason is logged, never the token)."""


def auth_settings(issuer: str, resource: str, scopes: Iterable[str] | None = None
                  ) -> AuthSettings:
    """The SDK's :class:`AuthSettings` for an MCP server protected by the Passport at
    ``issuer``: its RFC 9728 metadata (served by the SDK at
    ``/.well-known/oauth-protected-resource<path>``) names ``issuer`` and ``resource``, every
    request needs all of ``scopes``, and the SDK also refuses tokens whose resource is not
    ``resource`` (``validate_token_resource``), on top of the verifier's own ``aud`` check."""
    return AuthSettings(
        issuer_url=issuer,  # type: ignore[arg-type]  # pydantic validates the string
        resource_server_url=resource,  # type: ignore[arg-type]
        required_scopes=list(scopes) if scopes is not None else None,
        validate_token_resource=True,
    )


class PassportTokenVerifier:
    """The SDK's ``TokenVerifier`` protocol (``async verify_token(token) -> AccessToken |
    None``) for Passport's tokens, bound to one MCP server's ``resource`` URL.

    Remote mode (``issuer=``): the MCP server runs apart from the authorization server and
    verifies each JWT locally with the keys of ``issuer``'s JWKS (fetched on first use, cached,
    refetched on an unknown ``kid``), via :class:`~flask_passport.ResourceServer`; or, with
    ``introspect=True`` and a confidential client's credentials, asks the RFC 7662
    introspection endpoint about each token, so a revoked token is refused at once.

    In-process mode (:meth:`for_app`): the MCP server shares the Flask app's keys and database,
    and also refuses tokens whose row is revoked or expired, or whose client is revoked.
    """

    def __init__(
        self,
        resource: str,
        *,
        issuer: str,
        jwks_uri: str | None = None,
        introspect: bool = False,
        client_id: str | None = None,
        client_secret: str | None = None,
        leeway: int = 0,
        timeout: float = 5,
    ) -> None:
        if not resource or not issuer:
            raise ValueError("PassportTokenVerifier needs the MCP server's resource URL and "
                             "the issuer.")
        self.resource = resource
        self.issuer = issuer.rstrip("/")
        # ResourceServer verifies the signature (or asks the introspection endpoint), iss and
        # exp; aud is checked in _access_token, the same way in every mode.
        self._options: dict[str, Any] = {
            "issuer": self.issuer, "jwks_uri": jwks_uri, "introspect": introspect,
            "client_id": client_id, "client_secret": client_secret, "leeway": leeway,
            "timeout": timeout,
        }
        self._resource_server: ResourceServer | None = None
        self._lock = threading.Lock()
        self._check: Callable[[str], dict[str, Any]] = self._check_remote

    @classmethod
    def for_app(cls, app: Flask, resource: str) -> PassportTokenVerifier:
        """A verifier using ``app``'s own Passport keys, issuer and token rows (no HTTP)."""
        with app.app_context():
            issuer = app.extensions["passport"].issuer()
        verifier = cls(resource, issuer=issuer)
        verifier._check = lambda value: _check_in_app(app, value, resource)
        return verifier

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's :class:`AccessToken`, or ``None`` (the SDK then answers 401)."""
        try:
            # The checks block (a JWKS fetch, a database query): keep them off the event loop.
            claims = await anyio.to_thread.run_sync(self._check, token)
        except _Refused as exc:
            log.info("flask-passport: MCP bearer token refused: %s", exc)
            return None
        return self._access_token(token, claims)

    def _access_token(self, token: str, claims: dict[str, Any]) -> AccessToken | None:
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if self.resource not in audiences:
            # RFC 8707 / MCP: a token for another resource (another API, another MCP server, or
            # the issuer's default audience) is never accepted here.
            log.info("flask-passport: MCP bearer token refused: it was issued for another "
                     "audience.")
            return None
        sub, client_id, exp = claims.get("sub"), claims.get("client_id"), claims.get("exp")
        scope = claims.get("scope")
        if not isinstance(client_id, str) or not isinstance(exp, int):
            return None
        return AccessToken(
            token=token,
            client_id=client_id,
            scopes=scope.split() if isinstance(scope, str) else [],
            expires_at=exp,
            resource=self.resource,
            # RFC 9068 §2.2: sub == client_id marks a token with no user (client credentials).
            subject=sub if isinstance(sub, str) and sub != client_id else None,
            claims=claims,
        )

    def _check_remote(self, value: str) -> dict[str, Any]:
        server = self._server()
        try:
            token = server.verify_bearer(value)
        except BearerError as exc:
            raise _Refused(exc.description) from None
        return dict(token.claims)

    def _server(self) -> ResourceServer:
        """The :class:`ResourceServer`, made on first use: its constructor reads the issuer's
        metadata, so an MCP server can start before its authorization server does."""
        with self._lock:
            if self._resource_server is None:
                try:
                    self._resource_server = ResourceServer(**self._options)
                except (OSError, ValueError) as exc:
                    raise _Refused(f"the issuer's metadata is unavailable ({exc})") from None
            return self._resource_server


def _check_in_app(app: Flask, value: str, resource: str) -> dict[str, Any]:
    """Verify ``value`` with ``app``'s keys and issuer for ``resource``, then its row."""
    with app.app_context():
        state = app.extensions["passport"]
        try:
            claims = decode_access_token(state.keys(), value, issuer=state.issuer(),
                                         audience=resource, leeway=state.settings.leeway)
        except InvalidToken as exc:
            raise _Refused(str(exc)) from None
        jti = claims.get("jti")
        if not isinstance(jti, str) or len(jti) > 64:
            raise _Refused("the token has no valid jti")
        session, models = state.db.session, state.models
        row = session.get(models.AccessToken, jti)
        if row is None or row.revoked or row.is_expired():
            raise _Refused("the token is revoked, expired or unknown")
        client = session.get(models.Client, row.client_id)
        if client is None or client.revoked:
            raise _Refused("the token's client is revoked")
        return claims
