"""Subscribing to Passport's blinker signals."""

from __future__ import annotations

import json
import tempfile
from typing import Any

# [subscribe]
from flask_passport import signals
from helpers import add_user, installed_app
from myapp import passport

seen: list[tuple[str, dict[str, Any]]] = []


@signals.access_token_created.connect
def on_token(app: Any, *, token: Any, client: Any, user_id: str | None, grant_type: str) -> None:
    seen.append(("created", {"client": client.name, "user_id": user_id, "grant": grant_type,
                             "scopes": token.scopes}))


@signals.refresh_token_created.connect
def on_refresh(app: Any, *, refresh_token_id: str, access_token_id: str, client_id: str) -> None:
    seen.append(("refresh-created", {"access_token_id": access_token_id}))


@signals.access_token_revoked.connect
def on_revoked(app: Any, *, token_id: str, reason: str) -> None:
    seen.append(("revoked", {"reason": reason}))


@signals.refresh_token_reused.connect
def on_reuse(app: Any, *, family_id: str, client: Any) -> None:
    # A spent refresh token came back: it leaked. Alert someone.
    seen.append(("reused", {"client": client.name}))
# [/subscribe]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        passport.enable_password_grant()
        app = installed_app(tmp)
        add_user(app, "taylor@example.com", "my-password")
        mobile = json.loads(app.test_cli_runner().invoke(
            args=["passport", "client", "--password", "--name", "Mobile", "--json"]).output)
        http = app.test_client()
        creds = {"client_id": mobile["id"], "client_secret": mobile["secret"]}
        first = http.post("/oauth/token", data={
            "grant_type": "password", "username": "taylor@example.com",
            "password": "my-password", **creds}).json
        assert seen[0] == ("created", {"client": "Mobile", "user_id": "1", "grant": "password",
                                       "scopes": ["check-status"]})
        assert seen[1][0] == "refresh-created"
        http.post("/oauth/token", data={"grant_type": "refresh_token",
                                        "refresh_token": first["refresh_token"], **creds})
        assert ("revoked", {"reason": "rotated"}) in seen
        http.post("/oauth/token", data={"grant_type": "refresh_token",
                                        "refresh_token": first["refresh_token"], **creds})
        assert ("reused", {"client": "Mobile"}) in seen
        assert ("revoked", {"reason": "reuse_detected"}) in seen
    print("events OK")


if __name__ == "__main__":
    main()
