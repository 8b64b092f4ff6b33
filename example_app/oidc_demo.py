"""An OpenID Connect "Sign in with flask-passport" demo: a relying party inside the example app.

1. ``/oidc-demo/start`` makes ``state``, ``nonce`` and a PKCE verifier, keeps them in this
   browser's session, and redirects to ``/oauth/authorize`` with ``scope=openid profile email``.
2. ``/oidc-demo/callback`` checks ``state``, exchanges the code over real HTTP, verifies the ID
   token as a relying party must (signature from the JWKS in the discovery document, ``iss``,
   ``aud``, ``exp``, ``nonce``, ``at_hash``), and calls ``/oauth/userinfo``. Every URL it
   fetches comes from the discovery document of the configured issuer (``PASSPORT_ISSUER``),
   never from the request's Host header.
3. ``/oidc-demo`` shows who signed in, and a sign-out link to the ``end_session_endpoint`` with
   ``id_token_hint``, ``post_logout_redirect_uri`` (back here) and ``state``.

It uses the seed's public client "Demo OIDC RP", registered for
``http://127.0.0.1:<port>/oidc-demo/callback``.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import jwt
import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from flask_passport.jose.tokens import secrets_equal
from flask_passport.oauth2.oidc import token_hash
from flask_passport.oauth2.pkce import s256

from .urls import server_url

bp = Blueprint("oidc_demo", __name__)

PENDING_KEY = "oidc_demo_pending"
SIGNED_IN_KEY = "oidc_demo"
LOGOUT_STATE_KEY = "oidc_demo_logout_state"
OIDC_CLIENT_NAME = "Demo OIDC RP"


def callback_uri() -> str:
    return server_url("oidc_demo.callback")


def home_uri() -> str:
    return server_url("oidc_demo.index")


def find_oidc_client() -> Any:
    """The newest demo relying party registered for this host's callback."""
    from . import db, passport

    Client = passport.models.Client
    rows = db.session.scalars(
        sa.select(Client)
        .where(Client.name == OIDC_CLIENT_NAME, Client.revoked.is_(False))
        .order_by(Client.created_at.desc())
    )
    uri = callback_uri()
    return next((c for c in rows if uri in (c.redirect_uris or ())), None)


def _http(url: str, *, data: dict[str, str] | None = None,
          token: str | None = None) -> tuple[int, Any]:
    """A real HTTP call, as a separate relying party would make it."""
    body = urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body)  # noqa: S310 - our own http(s) URL
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _discovery() -> dict[str, Any]:
    """OpenID Connect Discovery §4 from the configured issuer, whose ``issuer`` must be that
    same string (§4.3); every other endpoint the demo calls comes from this document."""
    issuer = current_app.extensions["passport"].issuer()
    status, config = _http(issuer + "/.well-known/openid-configuration")
    if status != 200 or not isinstance(config, dict) or config.get("issuer") != issuer:
        raise ValueError("The discovery document is unavailable.")
    return config


def verify_id_token(config: dict[str, Any], id_token: str, client_id: str, nonce: str,
                    access_token: str) -> dict[str, Any]:
    """The relying party's checks (OpenID Connect Core §3.1.3.7)."""
    _, jwks = _http(config["jwks_uri"])
    header = jwt.get_unverified_header(id_token)
    found = next((k for k in jwks.get("keys", ()) if k.get("kid") == header.get("kid")), None)
    if found is None or header.get("alg") not in config["id_token_signing_alg_values_supported"]:
        raise ValueError("The ID token was not signed by a key of this issuer.")
    key = jwt.PyJWK(found)
    claims: dict[str, Any] = jwt.decode(id_token, key.key, algorithms=[header["alg"]],
                                        audience=client_id, issuer=config["issuer"])
    if not secrets_equal(str(claims.get("nonce", "")), nonce):
        raise ValueError("The ID token's nonce does not match this sign-in.")
    if claims.get("at_hash") != token_hash(access_token, header["alg"]):
        raise ValueError("The ID token's at_hash does not match the access token.")
    return claims


@bp.get("/oidc-demo")
def index() -> str:
    logged_out = False
    if "state" in request.args:  # back from the end_session_endpoint
        expected = session.pop(LOGOUT_STATE_KEY, "")
        logged_out = bool(expected) and secrets_equal(request.args["state"], expected)
        if logged_out:
            session.pop(SIGNED_IN_KEY, None)
    signed_in = session.get(SIGNED_IN_KEY)
    logout_url = None
    if isinstance(signed_in, dict):
        state = secrets.token_urlsafe(16)
        session[LOGOUT_STATE_KEY] = state
        logout_url = url_for("passport.end_session") + "?" + urlencode({
            "id_token_hint": signed_in["id_token"], "post_logout_redirect_uri": home_uri(),
            "state": state})
    return render_template("oidc_demo.html", client=find_oidc_client(), signed_in=signed_in,
                           logout_url=logout_url, logged_out=logged_out,
                           redirect_uri=callback_uri(), error=None)


@bp.get("/oidc-demo/start")
def start() -> Response | tuple[str, int]:
    client = find_oidc_client()
    if client is None:
        return render_template("oidc_demo.html", client=None, signed_in=None, logout_url=None,
                               logged_out=False, redirect_uri=callback_uri(), error=None), 404
    pending = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24),
               "verifier": secrets.token_urlsafe(64), "client_id": client.id}
    session[PENDING_KEY] = pending
    query = urlencode({
        "client_id": client.id, "redirect_uri": callback_uri(), "response_type": "code",
        "scope": "openid profile email", "state": pending["state"], "nonce": pending["nonce"],
        "code_challenge": s256(pending["verifier"]), "code_challenge_method": "S256",
    })
    return redirect(url_for("passport.authorize") + "?" + query)  # type: ignore[return-value]


def _error(error: str, description: str, status: int = 400) -> tuple[str, int]:
    return render_template("oidc_demo.html", client=find_oidc_client(), signed_in=None,
                           logout_url=None, logged_out=False, redirect_uri=callback_uri(),
                           error={"error": error, "description": description}), status


@bp.get("/oidc-demo/callback")
def callback() -> Response | tuple[str, int]:
    pending = session.pop(PENDING_KEY, None)
    if not isinstance(pending, dict) or not secrets_equal(request.args.get("state", ""),
                                                          pending.get("state", "")):
        return _error("state_mismatch", "The state does not match: start again.")
    if "error" in request.args:
        return _error(request.args["error"], request.args.get("error_description", ""), 200)
    try:
        config = _discovery()
    except (ValueError, OSError):
        return _error("temporarily_unavailable", "The server's discovery document is "
                      "unavailable.", 502)
    status, tokens = _http(config["token_endpoint"], data={
        "grant_type": "authorization_code", "client_id": pending["client_id"],
        "redirect_uri": callback_uri(), "code": request.args.get("code", ""),
        "code_verifier": pending["verifier"]})
    if status != 200 or "id_token" not in tokens:
        return _error(str(tokens.get("error", "no_id_token")),
                      str(tokens.get("error_description", "No ID token was returned.")))
    try:
        claims = verify_id_token(config, tokens["id_token"], pending["client_id"],
                                 pending["nonce"], tokens["access_token"])
    except (ValueError, jwt.PyJWTError) as exc:
        return _error("invalid_id_token", str(exc))
    _, userinfo = _http(config["userinfo_endpoint"], token=tokens["access_token"])
    session[SIGNED_IN_KEY] = {"id_token": tokens["id_token"], "claims": claims,
                              "userinfo": userinfo}
    return redirect(url_for("oidc_demo.index"))  # type: ignore[return-value]
