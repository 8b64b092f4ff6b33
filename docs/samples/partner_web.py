"""The tutorial's partner *web app*: it signs your users in with your shop (authorization code
grant with PKCE) and calls the shop's API for them.

Configure it with ``SHOP_URL``, ``CLIENT_ID``, ``CLIENT_SECRET`` and ``PARTNER_URL`` (where this
app runs; its ``/callback`` is the registered redirect URI) in the environment.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from typing import Any
from urllib.parse import urlencode

import requests
from flask import Flask, abort, redirect, request, session

SHOP = os.environ.get("SHOP_URL", "http://127.0.0.1:5000")
CALLBACK = os.environ.get("PARTNER_URL", "http://127.0.0.1:8000") + "/callback"

app = Flask(__name__)
app.secret_key = os.environ.get("PARTNER_SECRET_KEY") or secrets.token_hex(32)
# Cookies are not separated by port: on one machine (127.0.0.1:5000 and :8000) the two apps
# would overwrite each other's "session" cookie.
app.config["SESSION_COOKIE_NAME"] = "partner_session"


@app.get("/")
def home() -> str:
    return '<a href="/connect">Connect your shop account</a>'


@app.get("/connect")
def connect() -> Any:
    # A fresh state (CSRF) and PKCE verifier per attempt, kept in this app's session.
    session["state"] = secrets.token_urlsafe(16)
    session["verifier"] = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(session["verifier"].encode()).digest()).rstrip(b"=").decode()
    return redirect(f"{SHOP}/oauth/authorize?" + urlencode({
        "client_id": os.environ["CLIENT_ID"],
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "check-status",
        "state": session["state"],
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }))


@app.get("/callback")
def callback() -> str:
    state, verifier = session.pop("state", None), session.pop("verifier", None)
    if not state or not secrets.compare_digest(request.args.get("state", ""), state):
        abort(400, "Unexpected state: start again from /connect.")
    if "error" in request.args:  # e.g. access_denied: the user said no
        return f"Not connected: {request.args['error']}"
    answer = requests.post(f"{SHOP}/oauth/token", timeout=10, data={
        "grant_type": "authorization_code",
        "code": request.args["code"],
        "redirect_uri": CALLBACK,
        "client_id": os.environ["CLIENT_ID"],
        "client_secret": os.environ["CLIENT_SECRET"],
        "code_verifier": verifier,
    })
    answer.raise_for_status()
    tokens = answer.json()  # store tokens["refresh_token"] to act for the user later
    me = requests.get(f"{SHOP}/api/user", timeout=10,
                      headers={"Authorization": f"Bearer {tokens['access_token']}"})
    me.raise_for_status()
    return f"Connected as {me.json()['email']}"
