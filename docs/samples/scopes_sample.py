"""Scopes: defining them, the default scope, the query methods and checks in a view."""

from __future__ import annotations

import json
import tempfile

from flask import Flask, abort

from flask_passport import current_token, require_oauth, scope
from helpers import add_user, installed_app
from myapp import passport


def add_routes(app: Flask) -> None:
    # [token-checks]
    from flask_login import current_user

    @app.post("/api/orders")
    @require_oauth()
    def place_order() -> dict[str, str]:
        if not current_user.token_can("place-orders"):  # the user's current token
            abort(403)
        return {"placed": "yes"}

    @app.get("/api/whoami")
    @scope("check-status")
    def whoami() -> dict[str, object]:
        return {
            "client": current_token.client_id,
            "user": current_token.user_id,       # None for a client credentials token
            "scopes": current_token.scopes,
            "can_place": current_token.can("place-orders"),
        }
    # [/token-checks]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp)
        add_routes(app)
        add_user(app, "taylor@example.com", "my-password")
        # [scope-methods]
        # openid, profile and email come from OpenID Connect (PASSPORT_OIDC_ENABLED, default on).
        oidc = ["openid", "profile", "email"]
        assert passport.scope_ids() == [*oidc, "place-orders", "check-status"]
        assert [s.id for s in passport.scopes()] == [*oidc, "place-orders", "check-status"]
        assert passport.scopes_for(["check-status", "unknown"])[0].description == \
            "Check order status"
        assert passport.has_scope("place-orders") and not passport.has_scope("delete-orders")
        # [/scope-methods]
        cli = app.test_cli_runner()
        machine = json.loads(cli.invoke(args=["passport", "client", "--client", "--name",
                                              "Billing", "--json"]).output)
        http = app.test_client()
        # [default-scope]
        # No scope parameter: the token gets the default scope, "check-status".
        answer = http.post("/oauth/token", data={
            "grant_type": "client_credentials",
            "client_id": machine["id"], "client_secret": machine["secret"],
        })
        assert answer.json["scope"] == "check-status"
        # "*" asks for every scope (password, client credentials and personal tokens only).
        answer = http.post("/oauth/token", data={
            "grant_type": "client_credentials", "scope": "*",
            "client_id": machine["id"], "client_secret": machine["secret"],
        })
        assert answer.json["scope"] == "*"
        # [/default-scope]
        everything = answer.json["access_token"]
        who = http.get("/api/whoami", headers={"Authorization": f"Bearer {everything}"}).json
        assert who == {"client": machine["id"], "user": None, "scopes": ["*"], "can_place": True}
        # An undefined scope is refused with invalid_scope.
        answer = http.post("/oauth/token", data={
            "grant_type": "client_credentials", "scope": "delete-orders",
            "client_id": machine["id"], "client_secret": machine["secret"],
        })
        assert answer.status_code == 400 and answer.json["error"] == "invalid_scope"
        with app.app_context():
            from myapp import User, db

            user = db.session.get(User, 1)
            narrow = user.create_token("read only", ["check-status"]).access_token
        answer = http.post("/api/orders", headers={"Authorization": f"Bearer {narrow}"})
        assert answer.status_code == 403
    print("scopes OK")


if __name__ == "__main__":
    main()
