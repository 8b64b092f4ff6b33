"""An MCP server (the official ``mcp`` SDK) protected by a Passport authorization server running
elsewhere: its RFC 9728 metadata, the 401 that sends MCP clients there, and the audience rule."""
# ruff: noqa: E402  (the part the docs show comes first)

from __future__ import annotations

# [mcp-server]
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer

from flask_passport.integrations.mcp import PassportTokenVerifier, auth_settings


def create_mcp_server(issuer: str, resource: str) -> MCPServer:
    """``resource`` is the URL MCP clients connect to, e.g. https://mcp.example.com/mcp."""
    server: MCPServer = MCPServer(
        "orders",
        # Verifies each JWT with the issuer's JWKS; aud must contain `resource`.
        token_verifier=PassportTokenVerifier(resource, issuer=issuer),
        # The RFC 9728 metadata, and the scopes every request needs.
        auth=auth_settings(issuer, resource, ["check-status"]),
    )

    @server.tool()
    def whoami() -> str:
        """Who the MCP client acts for."""
        token = get_access_token()
        assert token is not None  # the SDK answered 401 to requests without one
        return f"user {token.subject} through client {token.client_id}"

    return server
# [/mcp-server]


import logging
import socket
import tempfile
import threading
import time

import anyio
import httpx2
import requests
import uvicorn
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from werkzeug.serving import make_server

from flask_passport import create_client
from helpers import add_user, installed_app
from myapp import db, passport

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log in the output
logging.basicConfig(level=logging.WARNING)  # before the SDK sets up INFO logging to stderr


async def call_whoami(url: str, access_token: str) -> str:
    """The official SDK's client, with a bearer token it was given."""
    headers = {"Authorization": f"Bearer {access_token}"}
    async with (httpx2.AsyncClient(headers=headers) as http,
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write) as session):
        await session.initialize()
        result = await session.call_tool("whoami", {})
    return str(result.content[0].text)  # type: ignore[union-attr]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        issuer = f"http://127.0.0.1:{free_port()}"
        mcp_port = free_port()
        resource = f"http://127.0.0.1:{mcp_port}/mcp"
        auth = installed_app(tmp, PASSPORT_RATELIMIT_ENABLED=False, PASSPORT_PASSWORD_GRANT=True,
                             PASSPORT_ISSUER=issuer, PASSPORT_RESOURCES=[
                                 {"uri": resource, "name": "Orders MCP server"}])
        add_user(auth, "taylor@example.com", "my-password")
        with auth.app_context():
            mobile = create_client(db.session, passport.models, name="Mobile", kind="password")
            db.session.commit()
            mobile_id, mobile_secret = mobile.client.id, mobile.secret
        authz = make_server("127.0.0.1", int(issuer.rsplit(":", 1)[1]), auth, threaded=True)
        authz_thread = threading.Thread(target=authz.serve_forever, daemon=True)
        authz_thread.start()

        # [serve]
        app = create_mcp_server(issuer, resource).streamable_http_app()  # serves /mcp
        mcp = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=mcp_port,
                                            log_level="warning"))
        # [/serve]
        mcp_thread = threading.Thread(target=mcp.run, daemon=True)
        mcp_thread.start()
        try:
            while not mcp.started:
                time.sleep(0.05)
            # No token: 401, pointing at the metadata, which points at Passport.
            answer = requests.post(resource, json={}, timeout=10)
            assert answer.status_code == 401
            origin = resource.removesuffix("/mcp")
            metadata_url = f"{origin}/.well-known/oauth-protected-resource/mcp"
            assert f'resource_metadata="{metadata_url}"' in answer.headers["WWW-Authenticate"]
            metadata = requests.get(metadata_url, timeout=10).json()
            assert metadata["resource"] == resource
            assert metadata["authorization_servers"] == [issuer]

            def token(**extra: str) -> str:
                answer = requests.post(f"{issuer}/oauth/token", timeout=10, data={
                    "grant_type": "password", "username": "taylor@example.com",
                    "password": "my-password", "scope": "check-status",
                    "client_id": mobile_id, "client_secret": mobile_secret, **extra})
                answer.raise_for_status()
                return str(answer.json()["access_token"])

            # A token of this issuer, but not for this resource (no `resource` asked, so its
            # aud is the issuer): refused.
            answer = requests.post(resource, json={}, timeout=10, headers={
                "Authorization": f"Bearer {token()}",
                "Accept": "application/json, text/event-stream"})
            assert answer.status_code == 401, answer.text

            # A token asked for this resource (RFC 8707): aud is the MCP server; the tool runs.
            bound = token(resource=resource)
            assert anyio.run(call_whoami, resource, bound) == "user 1 through client " + mobile_id
        finally:
            mcp.should_exit = True
            mcp_thread.join(timeout=10)
            authz.shutdown()
            authz_thread.join(timeout=10)
            authz.server_close()
    print("mcp server OK")


if __name__ == "__main__":
    main()
