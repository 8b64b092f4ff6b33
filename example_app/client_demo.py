"""A tiny *third-party client* living inside the example app, so a reader sees both sides of the
authorization code flow with PKCE (RFC 7636):

1. ``/client/start`` makes a ``state`` and a ``code_verifier``, keeps them in this browser's
   session, and redirects to ``/oauth/authorize`` with the S256 ``code_challenge``.
2. The server logs the user in, shows the consent page and redirects to ``/callback``.
3. ``/callback`` checks ``state``, exchanges the code (with the verifier) at ``/oauth/token``
   over real HTTP, and calls ``/api/user`` with the access token (both on the configured
   issuer's origin, ``PASSPORT_ISSUER``, never the request's Host).

It uses the seed's public client "Demo SPA", whose redirect URI is
``http://127.0.0.1:<port>/callback``: open the app at that address (``flask --app example_app run
--port <port>`` after ``flask --app example_app seed --port <port>``).
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, Response, redirect, render_template, request, session, url_for

from flask_passport.jose.tokens import secrets_equal
from flask_passport.oauth2.pkce import s256

from .urls import server_url

bp = Blueprint("demo_client", __name__)

SESSION_KEY = "demo_client"
DEMO_CLIENT_NAME = "Demo SPA"


def _redirect_uri() -> str:
    return server_url("demo_client.callback")


def find_demo_client() -> Any:
    """The newest public demo client registered for this host's /callback."""
    from . import db, passport

    Client = passport.models.Client
    rows = db.session.scalars(
        sa.select(Client)
        .where(Client.name == DEMO_CLIENT_NAME, Client.revoked.is_(False))
        .order_by(Client.created_at.desc())
    )
    uri = _redirect_uri()
    return next((c for c in rows if uri in (c.redirect_uris or ())), None)


@bp.get("/client")
def index() -> str:
    return render_template("client.html", client=find_demo_client(), redirect_uri=_redirect_uri())


@bp.get("/client/start")
def start() -> Response | tuple[str, int]:
    client = find_demo_client()
    if client is None:
        return render_template("client.html", client=None, redirect_uri=_redirect_uri()), 404
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(64)  # 86 characters of the RFC 7636 alphabet
    session[SESSION_KEY] = {"state": state, "verifier": verifier, "client_id": client.id}
    scope = " ".join(request.args.getlist("scope")) or "check-status"
    query = urlencode({
        "client_id": client.id,
        "redirect_uri": _redirect_uri(),
        "response_type": "code",
        "scope": scope,
        "state": state,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    })
    return redirect(url_for("passport.authorize") + "?" + query)  # type: ignore[return-value]


def _http(url: str, *, data: dict[str, str] | None = None,
          token: str | None = None) -> tuple[int, Any]:
    """A real HTTP call, as a separate client application would make it."""
    body = urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body)  # noqa: S310 - our own http(s) URL
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@bp.get("/callback")
def callback() -> tuple[str, int]:
    pending = session.pop(SESSION_KEY, None)
    state = request.args.get("state", "")
    if not isinstance(pending, dict) or not secrets_equal(state, pending.get("state", "")):
        return render_template("callback.html", error="state_mismatch",
                               description="The state does not match: start again."), 400
    if "error" in request.args:
        return render_template("callback.html", error=request.args["error"],
                               description=request.args.get("error_description", "")), 200
    status, tokens = _http(server_url("passport.token"), data={
        "grant_type": "authorization_code",
        "client_id": pending["client_id"],
        "redirect_uri": _redirect_uri(),
        "code": request.args.get("code", ""),
        "code_verifier": pending["verifier"],
    })
    if status != 200:
        return render_template("callback.html", error=tokens.get("error"),
                               description=tokens.get("error_description")), 400
    api_status, user = _http(server_url("api.user"), token=tokens["access_token"])
    shown = dict(tokens)
    for key in ("access_token", "refresh_token"):
        if shown.get(key):
            shown[key] = shown[key][:16] + "…"
    return render_template("callback.html", error=None, tokens=shown, api_status=api_status,
                           user=user), 200
