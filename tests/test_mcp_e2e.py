"""An MCP server protected by Passport, end to end with MCP clients nobody here wrote.

The example app serves the authorization server; its ``mcp-server`` (uvicorn, the official
``mcp`` SDK's streamable HTTP transport) serves ``/mcp`` on another port. The official Python
SDK's ``OAuthClientProvider`` and the MCP TypeScript SDK each discover the authorization server
from the MCP server's RFC 9728 metadata, register themselves (RFC 7591), sign the seeded user in
through the real login and consent pages (code grant, PKCE, ``resource``), and call the
``whoami`` tool.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest
import requests
from conftest import ExampleServer, serve_example_app
from helpers import js_client
from test_authlib_client import approve, signed_in_browser


@dataclass
class MCPStack:
    authz: ExampleServer
    mcp_url: str
    client_redirect_uri: str

    @property
    def metadata_url(self) -> str:
        parts = urlsplit(self.mcp_url)
        return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource/mcp"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mcp_stack(tmp_path_factory: pytest.TempPathFactory, private_key_pem: str
              ) -> Iterator[MCPStack]:
    """The example app (authorization server) and its MCP server, MCP_PORT agreeing."""
    from example_app.mcp_server import make_uvicorn, mcp_resource

    mcp_port = _free_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MCP_PORT", str(mcp_port))
        servers = serve_example_app(tmp_path_factory.mktemp("mcp"), private_key_pem)
        authz = next(servers)
        server = make_uvicorn(authz.app, "127.0.0.1", mcp_port)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        try:
            yield MCPStack(authz, mcp_resource(mcp_port),
                           f"http://127.0.0.1:{_free_port()}/callback")
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            next(servers, None)


def _record(line: str) -> None:
    """The e2e transcript (pytest -s shows it; the report quotes it)."""
    print(f"[mcp-e2e] {line}")


# -- discovery and refusals, spoken plainly --------------------------------------------------


def test_mcp_server_points_at_passport(mcp_stack: MCPStack) -> None:
    """RFC 9728: a 401 naming the metadata, which names the example app as authorization
    server; the example app's RFC 8414 metadata offers open registration and PKCE."""
    refused = requests.post(mcp_stack.mcp_url, json={}, timeout=10)
    assert refused.status_code == 401
    challenge = refused.headers["WWW-Authenticate"]
    assert f'resource_metadata="{mcp_stack.metadata_url}"' in challenge
    meta = requests.get(mcp_stack.metadata_url, timeout=10).json()
    assert meta["resource"] == mcp_stack.mcp_url
    assert meta["authorization_servers"] == [mcp_stack.authz.base_url]
    assert meta["scopes_supported"] == ["mcp"]
    server_meta = requests.get(
        mcp_stack.authz.base_url + "/.well-known/oauth-authorization-server", timeout=10).json()
    assert server_meta["issuer"] == mcp_stack.authz.base_url
    assert server_meta["registration_endpoint"].startswith(mcp_stack.authz.base_url)
    assert "S256" in server_meta["code_challenge_methods_supported"]
    _record(f"401 from {mcp_stack.mcp_url} -> {mcp_stack.metadata_url} -> "
            f"authorization_servers={meta['authorization_servers']}")


def test_a_token_for_another_audience_is_refused(mcp_stack: MCPStack) -> None:
    """The seeded personal access token is a valid token of this issuer, but not for the MCP
    server (its aud is the issuer's default audience): 401."""
    token = mcp_stack.authz.seed["personal_access_token"]
    api = requests.get(mcp_stack.authz.base_url + "/api/user", timeout=10,
                       headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200  # good for the example API ...
    refused = requests.post(mcp_stack.mcp_url, json={}, timeout=10,
                            headers={"Authorization": f"Bearer {token}",
                                     "Accept": "application/json, text/event-stream"})
    assert refused.status_code == 401  # ... never for the MCP server
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    _record(f"token for another audience -> MCP server {refused.status_code}")


def test_registration_is_loopback_only(mcp_stack: MCPStack) -> None:
    url = mcp_stack.authz.base_url + "/oauth/register"
    refused = requests.post(url, timeout=10, json={
        "client_name": "Remote", "redirect_uris": ["https://client.example.com/cb"]})
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_client_metadata"
    ok = requests.post(url, timeout=10, json={
        "client_name": "Local", "redirect_uris": ["http://localhost:3000/cb"]})
    assert ok.status_code == 201, ok.text


# -- the official Python SDK ----------------------------------------------------------------


class MemoryStorage:
    """The SDK's ``TokenStorage`` protocol, in memory."""

    def __init__(self) -> None:
        self.tokens: Any = None
        self.client_info: Any = None

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client_info

    async def set_client_info(self, client_info: Any) -> None:
        self.client_info = client_info


def _python_sdk_provider(stack: MCPStack, storage: MemoryStorage, seen: dict[str, Any]) -> Any:
    """The SDK's OAuth provider; its redirect handler plays the user in the real login and
    consent pages, its callback handler hands back the redirect's code, state and iss."""
    from mcp.client.auth import OAuthClientProvider
    from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

    browser = signed_in_browser(stack.authz)

    async def redirect_handler(url: str) -> None:
        seen["authorization_url"] = url
        seen["location"] = await anyio.to_thread.run_sync(approve, stack.authz, browser, url)

    async def callback_handler() -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(seen["location"]).query)
        return AuthorizationCodeResult(code=query["code"][0], state=query["state"][0],
                                       iss=query.get("iss", [None])[0])

    return OAuthClientProvider(
        server_url=stack.mcp_url,
        client_metadata=OAuthClientMetadata(
            client_name="MCP Python SDK e2e", redirect_uris=[stack.client_redirect_uri],
            grant_types=["authorization_code", "refresh_token"], response_types=["code"]),
        storage=storage, redirect_handler=redirect_handler, callback_handler=callback_handler)


async def _python_sdk_session(stack: MCPStack, provider: Any, seen: dict[str, Any]) -> str:
    """Connect through the SDK's OAuth provider (it runs discovery, registration, the code
    flow or a refresh when needed) and call ``whoami``; returns the tool's text."""
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def log_request(request: Any) -> None:
        seen.setdefault("requests", []).append(f"{request.method} {request.url}")

    http = httpx2.AsyncClient(auth=provider, timeout=30,
                              event_hooks={"request": [log_request]})
    async with (http, streamable_http_client(stack.mcp_url, http_client=http) as (read, write),
                ClientSession(read, write) as session):
        await session.initialize()
        tools = await session.list_tools()
        seen["tools"] = [tool.name for tool in tools.tools]
        result = await session.call_tool("whoami", {})
    assert not result.is_error, result
    return str(result.content[0].text)  # type: ignore[union-attr]


def _claims(token: str) -> dict[str, Any]:
    import jwt

    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_python_sdk_client_end_to_end(mcp_stack: MCPStack) -> None:
    stack = mcp_stack
    email = stack.authz.seed["user"]["email"]
    storage = MemoryStorage()
    seen: dict[str, Any] = {}

    provider = _python_sdk_provider(stack, storage, seen)
    text = anyio.run(_python_sdk_session, stack, provider, seen)
    assert text == email
    info = storage.client_info
    assert info.client_id and str(info.redirect_uris[0]) == stack.client_redirect_uri
    query = parse_qs(urlsplit(seen["authorization_url"]).query)
    assert query["resource"] == [stack.mcp_url]
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["mcp"]
    location = parse_qs(urlsplit(seen["location"]).query)
    assert location["iss"] == [stack.authz.base_url]  # RFC 9207
    first = storage.tokens
    claims = _claims(first.access_token)
    assert stack.mcp_url in ([claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"])
    assert claims["client_id"] == info.client_id and claims["scope"] == "mcp"
    assert first.refresh_token
    # ... and the example API (another resource: its identifier is the issuer) refuses it.
    api = requests.get(stack.authz.base_url + "/api/user", timeout=10,
                       headers={"Authorization": f"Bearer {first.access_token}"})
    assert api.status_code == 401, api.text
    assert "not issued for this resource" in api.headers["WWW-Authenticate"]
    _record(f"python sdk: the MCP token at the example API -> {api.status_code} "
            f"{api.headers['WWW-Authenticate']}")
    flow = [r for r in seen["requests"] if "/mcp" not in r or "well-known" in r]
    _record("python sdk: " + " | ".join(flow))
    _record(f"python sdk: registered client_id={info.client_id}, token aud={claims['aud']}, "
            f"scope={claims['scope']}, tools={seen['tools']}, whoami -> {text}")

    # Refresh: as if the token's lifetime had passed, the SDK refreshes (rotation) before its
    # next request, and the new token works.
    first_access, first_refresh = first.access_token, first.refresh_token
    provider.context.token_expiry_time = time.time() - 1
    first_login = seen.pop("authorization_url")
    seen["requests"] = []
    again = anyio.run(_python_sdk_session, stack, provider, seen)
    assert again == email
    assert "authorization_url" not in seen and first_login  # no second login
    assert storage.tokens.access_token != first_access
    assert storage.tokens.refresh_token != first_refresh  # rotated
    assert seen["requests"][0] == f"POST {stack.authz.base_url}/oauth/token"
    refreshed = _claims(storage.tokens.access_token)
    assert refreshed["aud"] == claims["aud"] and refreshed["sub"] == claims["sub"]
    _record(f"python sdk: refresh -> {seen['requests'][0]}: new access token (aud "
            f"{refreshed['aud']}), rotated refresh token, whoami -> {again}")

    # The old refresh token is spent (rotation): presenting it again fails.
    reused = requests.post(stack.authz.base_url + "/oauth/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": first_refresh,
        "client_id": info.client_id, "client_secret": info.client_secret or ""})
    assert reused.status_code == 400


# -- the MCP TypeScript SDK ------------------------------------------------------------------


def test_typescript_sdk_client_end_to_end(mcp_stack: MCPStack) -> None:
    """The MCP TypeScript SDK's ``auth()`` flow and ``Client`` over streamable HTTP."""
    stack = mcp_stack
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    out = js_client("mcp_client.mjs", {
        "mcp_url": stack.mcp_url, "redirect_uri": redirect,
        "email": stack.authz.seed["user"]["email"],
        "password": stack.authz.seed["user"]["password"],
        "authz_base": stack.authz.base_url,
    })
    assert out["whoami"] == stack.authz.seed["user"]["email"], out
    assert out["resource"] == stack.mcp_url and out["code_challenge_method"] == "S256"
    assert stack.mcp_url in out["aud"] and out["scope"] == "mcp"
    assert out["refreshed_whoami"] == out["whoami"]
    assert out["steps"][:3] == ["registered", "redirect", "tokens saved"]
    _record(f"typescript sdk: {out}")



def test_the_mcp_server_command(tmp_path: Any, private_key_pem: str) -> None:
    """``flask --app example_app mcp-server`` serves /mcp on MCP_PORT, its metadata naming the
    app's issuer and the resource ``run`` registers."""
    import subprocess
    import sys
    from pathlib import Path

    port = _free_port()
    issuer = f"http://127.0.0.1:{_free_port()}"
    env = {**os.environ, "MCP_PORT": str(port), "PASSPORT_ISSUER": issuer,
           "DATABASE_URL": f"sqlite:///{tmp_path}/example.sqlite", "SECRET_KEY": "x" * 32,
           "PASSPORT_PRIVATE_KEY": private_key_pem}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "example_app",
                             "mcp-server"], env=env, cwd=Path(__file__).parent.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                meta = requests.get(url, timeout=2).json()
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, \
                    proc.stdout.read() if proc.stdout else ""
                time.sleep(0.2)
        assert meta["resource"] == f"http://127.0.0.1:{port}/mcp"
        assert meta["authorization_servers"] == [issuer]
        assert requests.post(f"http://127.0.0.1:{port}/mcp", json={},
                             timeout=5).status_code == 401
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0]
    assert f"MCP server at http://127.0.0.1:{port}/mcp" in output
