"""``flask --app example_app seed``: a demo user and one client of each kind, as JSON."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import sqlalchemy as sa
from flask import Flask, current_app

from flask_passport import create_client
from flask_passport.jose import keys as keys_mod
from flask_passport.jose import tokens
from flask_passport.storage.clients import find_personal_access_client
from flask_passport.storage.models import utcnow

if TYPE_CHECKING:
    import requests

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # a demo account, printed on purpose


def _ensure_schema_and_keys() -> None:
    from . import db

    db.create_all()
    state = current_app.extensions["passport"]
    settings = state.settings
    key_file = Path(settings.key_path) / keys_mod.PRIVATE_KEY_FILE
    if not settings.private_key and not key_file.exists():
        keys_mod.write_key_pair(settings.key_path, keys_mod.generate_private_key())
        state.reset_keys()


def seed_data(port: int) -> dict[str, object]:
    """Create (idempotently) the demo user and fresh clients; return what the seed prints."""
    from . import db, passport
    from .models import User

    _ensure_schema_and_keys()
    user = db.session.scalars(sa.select(User).where(User.email == DEMO_EMAIL)).first()
    if user is None:
        user = User(email=DEMO_EMAIL, name="Demo User")
        db.session.add(user)
    user.set_password(DEMO_PASSWORD)
    db.session.flush()
    session, models = db.session, passport.models
    redirect_uri = f"http://127.0.0.1:{port}/callback"
    confidential = create_client(session, models, name="Demo Web App", kind="authorization_code",
                                 redirect_uris=[redirect_uri])
    public = create_client(session, models, name="Demo SPA", kind="public",
                           redirect_uris=[redirect_uri])
    password = create_client(session, models, name="Demo Password Client", kind="password")
    oidc_callback = f"http://127.0.0.1:{port}/oidc-demo/callback"
    oidc_home = f"http://127.0.0.1:{port}/oidc-demo"
    oidc = create_client(session, models, name="Demo OIDC RP", kind="public",
                         redirect_uris=[oidc_callback], post_logout_redirect_uris=[oidc_home])
    machine = create_client(session, models, name="Demo Service", kind="client_credentials")
    personal = find_personal_access_client(session, models, None)
    if personal is None:
        personal = create_client(session, models, name="Demo Personal Access Client",
                                 kind="personal_access").client
    db.session.commit()

    pat = user.create_token("Seeded token", ["check-status", "place-orders"])
    # An expired token the server really signed, for client developers' error handling.
    ctx = current_app.extensions["passport"].context()
    keyset = ctx.keys()
    past = utcnow() - timedelta(hours=2)
    expired = models.AccessToken(id=tokens.new_id(), user_id=str(user.id), client_id=personal.id,
                                 name="Expired demo token", scopes=["check-status"],
                                 created_at=past, updated_at=past,
                                 expires_at=past + timedelta(hours=1))
    db.session.add(expired)
    db.session.commit()
    expired_jwt = tokens.encode_access_token(
        keyset, jti=expired.id, issuer=ctx.issuer, audience=ctx.audience, subject=str(user.id),
        client_id=personal.id, scopes=["check-status"], issued_at=past,
        expires_at=expired.expires_at,
    )
    return {
        "user": {"id": user.id, "email": DEMO_EMAIL, "password": DEMO_PASSWORD},
        "clients": {
            "confidential": {"id": confidential.client.id, "secret": confidential.secret,
                             "redirect_uri": redirect_uri},
            "public": {"id": public.client.id, "redirect_uri": redirect_uri},
            "password": {"id": password.client.id, "secret": password.secret},
            "client_credentials": {"id": machine.client.id, "secret": machine.secret},
            "personal": {"id": personal.id},
        },
        "scopes": ["check-status", "place-orders"],
        # The OpenID Connect relying party (public, PKCE) of the /oidc-demo page.
        "oidc_client": {"id": oidc.client.id, "redirect_uri": oidc_callback,
                        "post_logout_redirect_uri": oidc_home},
        "personal_access_token": pat.access_token,
        "expired_access_token": expired_jwt,
        "public_key_pem": keys_mod.public_pem(keyset.signing_key.public_key).decode("ascii"),
    }


def register(app: Flask) -> None:
    @app.cli.command("seed")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
    @click.option("--port", default=int(os.environ.get("PORT", "5000")), show_default=True,
                  help="Port of the demo client's http://127.0.0.1:<port>/callback.")
    def seed(as_json: bool, port: int) -> None:
        """Create the schema, keys, a demo user and one client of each kind."""
        data = seed_data(port)
        if as_json:
            click.echo(json.dumps(data))
            return
        click.echo(json.dumps(data, indent=2))

    @app.cli.command("mcp-server")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=None,
                  help="Port of http://127.0.0.1:<port>/mcp [default: MCP_PORT, else 8001]; "
                  "`run` registers the same resource from MCP_PORT.")
    def mcp_server_command(host: str, port: int | None) -> None:
        """Serve an MCP server (streamable HTTP at /mcp) protected by this app's tokens."""
        # Only this command needs the `mcp` extra (`pip install -e ".[example,mcp]"`).
        from .mcp_server import make_uvicorn, mcp_port, mcp_resource

        port = port or mcp_port()
        if port != mcp_port():
            click.echo(f"Warning: the app registers {mcp_resource()}; set MCP_PORT={port} for "
                       "both commands.", err=True)
        click.echo(f"MCP server at {mcp_resource(port)} (Ctrl+C to stop)")
        make_uvicorn(current_app._get_current_object(),  # type: ignore[attr-defined]
                     host, port).run()

    @app.cli.command("device-login")
    @click.option("--server", default=f"http://127.0.0.1:{os.environ.get('PORT', '5000')}",
                  show_default=True, help="Base URL of the running authorization server.")
    @click.option("--client-id", help="A device client's id [default: the example's own, "
                  "created in this app's database when missing].")
    @click.option("--scope", default="check-status", show_default=True)
    def device_login_command(server: str, client_id: str | None, scope: str) -> None:
        """Sign a command-line device in (RFC 8628): print a code, poll until approved."""
        client_id = client_id or ensure_device_client()
        try:
            tokens = device_login(server.rstrip("/"), client_id, scope, show=_show_code)
        except DeviceLoginError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Signed in. Access token (expires in {tokens['expires_in']} s):")
        click.echo(tokens["access_token"])


# -- the device authorization grant (RFC 8628), as a command-line device ---------------------

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_CLIENT_NAME = "Example Device CLI"


class DeviceLoginError(Exception):
    """The user denied the request, or the code expired, or the server refused."""


def ensure_device_client() -> str:
    """The id of the example's device client, created (public, no secret) when missing."""
    from . import db, passport

    _ensure_schema_and_keys()
    Client = passport.models.Client
    for candidate in db.session.scalars(sa.select(Client).where(
            Client.name == DEVICE_CLIENT_NAME, Client.revoked.is_(False))):
        if candidate.has_grant_type(DEVICE_GRANT):
            return str(candidate.id)
    created = create_client(db.session, passport.models, name=DEVICE_CLIENT_NAME, kind="device")
    db.session.commit()
    return str(created.client.id)


def _show_code(verification_uri_complete: str, verification_uri: str, user_code: str) -> None:
    click.echo(f"To sign in, open {verification_uri} and enter the code {user_code}")
    click.echo(f"(or open {verification_uri_complete})")
    click.echo("Waiting for approval...")


def device_login(
    server: str,
    client_id: str,
    scope: str = "",
    *,
    show: Callable[[str, str, str], None] = _show_code,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Request a device code, show it, and poll ``server``'s token endpoint until the user
    decides (RFC 8628 §3.4-§3.5); returns the token response."""
    # Only this command talks HTTP: `seed` and `run` work with `pip install -e .` alone; this
    # one needs the `example` extra (`pip install -e ".[example]"`, as the README installs).
    import requests

    answer = requests.post(f"{server}/oauth/device/code",
                           data={"client_id": client_id, "scope": scope}, timeout=10)
    if answer.status_code != 200:
        raise DeviceLoginError(f"The server refused: {_describe(answer)}")
    grant = answer.json()
    show(grant["verification_uri_complete"], grant["verification_uri"], grant["user_code"])
    interval = int(grant.get("interval", 5))
    deadline = time.monotonic() + int(grant["expires_in"])
    while time.monotonic() < deadline:
        sleep(interval)
        answer = requests.post(f"{server}/oauth/token", data={
            "grant_type": DEVICE_GRANT, "device_code": grant["device_code"],
            "client_id": client_id}, timeout=10)
        if answer.status_code == 200:
            return answer.json()  # type: ignore[no-any-return]
        error = _error(answer)
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5
            continue
        if error == "access_denied":
            raise DeviceLoginError("The request was denied.")
        if error == "expired_token":
            break
        raise DeviceLoginError(f"The server refused: {_describe(answer)}")
    raise DeviceLoginError("The code expired before it was approved; run the command again.")


def _error(answer: requests.Response) -> str | None:
    try:
        return str(answer.json().get("error"))
    except ValueError:
        return None


def _describe(answer: requests.Response) -> str:
    try:
        body = answer.json()
        return f"{body.get('error')}: {body.get('error_description')}"
    except ValueError:
        return f"HTTP {answer.status_code}"
