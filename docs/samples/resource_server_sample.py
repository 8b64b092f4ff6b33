"""A separate Flask service (no access to Passport's database) protecting its routes with
:class:`~flask_passport.ResourceServer`: JWT mode against the JWKS, and
introspection mode, both against the authorization server running on a loopback port."""
# ruff: noqa: E402  (the part the docs show comes first)

from __future__ import annotations

# [orders-service]
from typing import Any

from flask import Flask
from flask_login import current_user

from flask_passport import ResourceServer, current_token, require_oauth, scopes


def create_orders_service(issuer: str, **options: Any) -> Flask:
    app = Flask("orders")
    # Reads {issuer}/.well-known/oauth-authorization-server once, to find the jwks_uri.
    ResourceServer(app, issuer=issuer, **options)

    @app.get("/orders")
    @require_oauth()
    @scopes("place-orders")
    def orders() -> dict[str, Any]:
        # No user_loader here: current_user is a RemoteUser (id and the token's claims).
        return {"user": current_user.id, "client": current_token.client_id}

    return app
# [/orders-service]


import base64
import logging
import socket
import tempfile
import threading

import requests
from werkzeug.serving import make_server

from flask_passport import create_client
from helpers import add_user, installed_app
from myapp import db, passport

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log in the output


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with socket.socket() as sock:  # a free port for the authorization server
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        issuer = f"http://127.0.0.1:{port}"  # its PASSPORT_ISSUER: every token's iss
        auth = installed_app(tmp, PASSPORT_RATELIMIT_ENABLED=False, PASSPORT_PASSWORD_GRANT=True,
                             PASSPORT_ISSUER=issuer)
        add_user(auth, "taylor@example.com", "my-password")
        with auth.app_context():
            mobile = create_client(db.session, passport.models, name="Mobile", kind="password")
            rs = create_client(db.session, passport.models, name="Orders API",
                               kind="resource_server")
            db.session.commit()
            mobile_id, mobile_secret = mobile.client.id, mobile.secret
            rs_id, rs_secret = rs.client.id, rs.secret

        server = make_server("127.0.0.1", port, auth, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            def token() -> str:
                answer = requests.post(f"{issuer}/oauth/token", timeout=10, data={
                    "grant_type": "password", "username": "taylor@example.com",
                    "password": "my-password", "scope": "place-orders",
                    "client_id": mobile_id, "client_secret": mobile_secret})
                answer.raise_for_status()
                return answer.json()["access_token"]

            access = token()
            bearer = {"Authorization": f"Bearer {access}"}

            # JWT mode: verified locally with the JWKS (fetched once, then cached).
            orders = create_orders_service(issuer).test_client()
            answer = orders.get("/orders", headers=bearer)
            assert answer.status_code == 200, answer.get_data(as_text=True)
            assert answer.json == {"user": "1", "client": mobile_id}
            assert orders.get("/orders").status_code == 401
            assert "Bearer" in orders.get("/orders").headers["WWW-Authenticate"]

            # [introspection-mode]
            strict = create_orders_service(issuer, introspect=True,
                                           client_id=rs_id, client_secret=rs_secret)
            # [/introspection-mode]
            checked = strict.test_client()
            assert checked.get("/orders", headers=bearer).status_code == 200

            # Revoke the token: introspection mode refuses it at once; JWT mode keeps
            # accepting it until it expires (keep access tokens short).
            basic = base64.b64encode(f"{mobile_id}:{mobile_secret}".encode()).decode()
            requests.post(f"{issuer}/oauth/revoke", data={"token": access}, timeout=10,
                          headers={"Authorization": f"Basic {basic}"}).raise_for_status()
            assert checked.get("/orders", headers=bearer).status_code == 401
            assert orders.get("/orders", headers=bearer).status_code == 200
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
    print("resource server OK")


if __name__ == "__main__":
    main()
