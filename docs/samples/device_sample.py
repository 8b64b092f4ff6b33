"""The device authorization grant (RFC 8628): a device's side with ``requests``, run against a
real server; the user's side (sign in, enter the code, approve) through the Flask test client."""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from werkzeug.serving import make_server

from helpers import add_user, installed_app

# [device]
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class DeviceLoginError(Exception):
    """The user denied the request, or the code expired before they approved it."""


def device_login(base_url: str, client_id: str, scope: str = "",
                 show: Callable[[str, str], None] = print) -> dict[str, Any]:
    """Get a code, show it to the user, poll until they approve; return the tokens."""
    response = requests.post(f"{base_url}/oauth/device/code",
                             data={"client_id": client_id, "scope": scope}, timeout=10)
    response.raise_for_status()
    grant = response.json()
    # e.g. "Open https://auth.example.com/oauth/device and enter BCDF-GHJK"
    show(grant["verification_uri_complete"], grant["user_code"])
    interval = grant["interval"]
    deadline = time.monotonic() + grant["expires_in"]
    while time.monotonic() < deadline:
        time.sleep(interval)
        response = requests.post(f"{base_url}/oauth/token", data={
            "grant_type": DEVICE_GRANT,
            "device_code": grant["device_code"],
            "client_id": client_id,
        }, timeout=10)
        body = response.json()
        if response.status_code == 200:
            return body  # access_token, refresh_token, expires_in, scope, token_type
        if body["error"] == "authorization_pending":
            continue
        if body["error"] == "slow_down":
            interval += 5  # RFC 8628 §3.5
            continue
        raise DeviceLoginError(body["error"])  # access_denied, expired_token, ...
    raise DeviceLoginError("expired_token")
# [/device]


def approve_as(app: Any, user_id: int, user_code: str) -> None:
    """What the user does in a browser: sign in, enter the code, press Authorize."""
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["_user_id"] = str(user_id)  # signed in (Flask-Login)
    page = browser.get("/oauth/device").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert csrf is not None, page
    consent = browser.post("/oauth/device", data={"csrf_token": csrf.group(1),
                                                  "user_code": user_code})
    assert consent.status_code == 200, consent.get_data(as_text=True)
    key = re.search(r'name="auth_token" type="hidden" value="([^"]+)"',
                    consent.get_data(as_text=True))
    assert key is not None
    done = browser.post("/oauth/device/decide", data={
        "csrf_token": csrf.group(1), "auth_token": key.group(1), "approve": "Authorize"})
    assert "Device connected" in done.get_data(as_text=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp, PASSPORT_DEVICE_CODE_INTERVAL=1)
        user_id = add_user(app, "taylor@example.com", "secret-password")
        # [client]
        result = app.test_cli_runner().invoke(
            args=["passport", "client", "--device", "--name", "Living Room TV", "--json"])
        # [/client]
        client_id = re.search(r'"id": "([^"]+)"', result.output).group(1)  # type: ignore[union-attr]
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            tokens = device_login(base, client_id, "check-status",
                                  show=lambda uri, code: approve_as(app, user_id, code))
            me = requests.get(f"{base}/api/user", timeout=10,
                              headers={"Authorization": f"Bearer {tokens['access_token']}"})
            assert me.json()["email"] == "taylor@example.com", me.text
            assert tokens["refresh_token"] and tokens["scope"] == "check-status"
        finally:
            server.shutdown()
            thread.join(timeout=10)
    print("device OK")


if __name__ == "__main__":
    main()
