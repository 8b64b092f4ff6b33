"""``flask --app example_app mcp-server``: an MCP server protected by the example's tokens.

An MCP client (Claude Desktop, the MCP Inspector, the SDKs' OAuth clients) connecting to
``http://127.0.0.1:<MCP_PORT>/mcp`` gets a 401 pointing at this server's RFC 9728 metadata,
which names the example app as its authorization server; the client then registers itself
(RFC 7591), signs the user in with the code grant and PKCE, asking for a token for this
resource (RFC 8707), and calls the ``whoami`` tool with it. Needs the ``mcp`` extra.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    import uvicorn
    from mcp.server.mcpserver import MCPServer

#: The port ``mcp-server`` listens on and ``run`` registers as a resource; both read MCP_PORT.
DEFAULT_MCP_PORT = 8001
#: What every MCP token must carry, and what the MCP client asks for (from the metadata).
MCP_SCOPE = "mcp"


def mcp_port() -> int:
    return int(os.environ.get("MCP_PORT") or DEFAULT_MCP_PORT)


def mcp_resource(port: int | None = None) -> str:
    """The MCP server's resource identifier (RFC 8707): its endpoint URL."""
    return f"http://127.0.0.1:{port or mcp_port()}/mcp"


def build_server(app: Flask, port: int | None = None) -> MCPServer:
    """The MCP server: tokens verified with ``app``'s keys and rows, for its own resource."""
    from mcp.server.auth.middleware.auth_context import get_access_token
    from mcp.server.mcpserver import MCPServer

    from flask_passport.integrations.mcp import PassportTokenVerifier, auth_settings

    resource = mcp_resource(port)
    with app.app_context():
        issuer = app.extensions["passport"].issuer()
    server: MCPServer = MCPServer(
        "flask-passport example",
        token_verifier=PassportTokenVerifier.for_app(app, resource),
        auth=auth_settings(issuer, resource, [MCP_SCOPE]),
    )

    @server.tool()
    def whoami() -> str:
        """The email address of the user who authorized this MCP client."""
        token = get_access_token()
        if token is None or token.subject is None:
            return "This token belongs to no user."
        return _email_of(app, token.subject)

    return server


def _email_of(app: Flask, user_id: str) -> str:
    from . import db
    from .models import User

    with app.app_context():
        try:
            user = db.session.get(User, int(user_id))
        except ValueError:
            user = None
        return user.email if user is not None else "The token's user no longer exists."


def make_uvicorn(app: Flask, host: str = "127.0.0.1", port: int | None = None
                 ) -> uvicorn.Server:
    """A uvicorn server for the MCP server's streamable HTTP endpoint (``/mcp``)."""
    import uvicorn

    port = port or mcp_port()
    asgi = build_server(app, port).streamable_http_app(host=host)
    return uvicorn.Server(uvicorn.Config(asgi, host=host, port=port, log_level="warning"))
