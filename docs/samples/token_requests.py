"""A third-party client's side of each grant, with ``requests`` against a real server.

The functions are what a client developer writes; ``main()`` starts the app on a local port,
creates the clients and runs each function (and the matching curl commands) against it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

from helpers import add_user, installed_app
from myapp import passport


# [client-credentials]
def client_credentials_token(base_url: str, client_id: str, client_secret: str,
                             scope: str = "") -> str:
    response = requests.post(f"{base_url}/oauth/token", data={
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "scope": scope,
    }, timeout=10)
    response.raise_for_status()
    return response.json()["access_token"]
# [/client-credentials]


# [password]
def password_tokens(base_url: str, client_id: str, client_secret: str,
                    username: str, password: str, scope: str = "") -> dict[str, Any]:
    response = requests.post(f"{base_url}/oauth/token", data={
        "grant_type": "password",
        "client_id": client_id,
        "client_secret": client_secret,
        "username": username,
        "password": password,
        "scope": scope,
    }, timeout=10)
    response.raise_for_status()
    return response.json()  # access_token, refresh_token, expires_in, scope, token_type
# [/password]


# [refresh]
def refresh_tokens(base_url: str, client_id: str, client_secret: str,
                   refresh_token: str, scope: str = "") -> dict[str, Any]:
    response = requests.post(f"{base_url}/oauth/token", data={
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
        "scope": scope,  # empty: keep the original scopes; or a narrower list
    }, timeout=10)
    response.raise_for_status()
    return response.json()  # store the NEW refresh_token: the old one is now spent
# [/refresh]


# [call-api]
def get_json(base_url: str, path: str, access_token: str) -> Any:
    response = requests.get(f"{base_url}{path}", headers={
        "Accept": "application/json",
        "Authorization": f"Bearer {access_token}",
    }, timeout=10)
    response.raise_for_status()
    return response.json()
# [/call-api]


def curl(script: Path, grant: str, **env: str) -> dict[str, Any]:
    """Run one grant of ``curl_tokens.sh`` and parse its JSON answer."""
    out = subprocess.run(["sh", str(script), grant], env={**os.environ, **env}, check=True,
                         capture_output=True, text=True, timeout=30).stdout
    return json.loads(out)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        passport.enable_password_grant()
        app = installed_app(tmp)
        add_user(app, "taylor@example.com", "my-password")
        cli = app.test_cli_runner()
        machine = json.loads(cli.invoke(args=["passport", "client", "--client", "--name",
                                              "Billing", "--json"]).output)
        mobile = json.loads(cli.invoke(args=["passport", "client", "--password", "--name",
                                             "Mobile app", "--json"]).output)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            token = client_credentials_token(base, machine["id"], machine["secret"],
                                             "check-status")
            assert get_json(base, "/api/internal/jobs", token)["client_id"] == machine["id"]

            tokens = password_tokens(base, mobile["id"], mobile["secret"],
                                     "taylor@example.com", "my-password",
                                     "check-status place-orders")
            assert get_json(base, "/api/user", tokens["access_token"])["email"] == \
                "taylor@example.com"
            assert get_json(base, "/api/orders", tokens["access_token"])["can_place"] is True

            fresh = refresh_tokens(base, mobile["id"], mobile["secret"],
                                   tokens["refresh_token"], "check-status")
            assert fresh["scope"] == "check-status"
            assert get_json(base, "/api/user", fresh["access_token"])["id"] == 1
            # The first refresh token was spent; presenting it again fails.
            again = requests.post(f"{base}/oauth/token", data={
                "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                "client_id": mobile["id"], "client_secret": mobile["secret"]}, timeout=10)
            assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

            if shutil.which("curl"):
                script = Path(__file__).with_name("curl_tokens.sh")
                answer = curl(script, "client_credentials", BASE=base, CLIENT_ID=machine["id"],
                              CLIENT_SECRET=machine["secret"])
                assert answer["token_type"] == "Bearer"
                env = {"BASE": base, "CLIENT_ID": mobile["id"], "CLIENT_SECRET": mobile["secret"]}
                answer = curl(script, "password", USERNAME="taylor@example.com",
                              PASSWORD="my-password", **env)
                answer = curl(script, "refresh_token", REFRESH_TOKEN=answer["refresh_token"],
                              **env)
                assert "refresh_token" in answer
                data = curl(script, "call_api", ACCESS_TOKEN=answer["access_token"], **env)
                assert data["email"] == "taylor@example.com"
        finally:
            server.shutdown()
            thread.join(timeout=5)
    print("token requests OK")


if __name__ == "__main__":
    main()
