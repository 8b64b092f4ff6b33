"""``flask --app example_app seed``: a demo user and one client of each kind, as JSON."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app

from flask_passport import keys as keys_mod
from flask_passport import tokens
from flask_passport.clients import create_client, find_personal_access_client
from flask_passport.models import utcnow

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # a demo account, printed on purpose


def _ensure_schema_and_keys() -> None:
    from . import db

    db.create_all()
    state = current_app.extensions["passport"]
    settings = state.settings
    if not settings.private_key and not (Path(settings.key_path) / keys_mod.PRIVATE_KEY_FILE).exists():
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
    keyset = current_app.extensions["passport"].keys()
    past = utcnow() - timedelta(hours=2)
    expired = models.AccessToken(id=tokens.new_id(), user_id=str(user.id), client_id=personal.id,
                                 name="Expired demo token", scopes=["check-status"],
                                 created_at=past, updated_at=past,
                                 expires_at=past + timedelta(hours=1))
    db.session.add(expired)
    db.session.commit()
    expired_jwt = tokens.encode_access_token(
        keyset, jti=expired.id, issuer=current_app.extensions["passport"].settings.issuer,
        audience=None, subject=str(user.id), client_id=personal.id, scopes=["check-status"],
        issued_at=past, expires_at=expired.expires_at,
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
