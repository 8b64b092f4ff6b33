"""Personal access tokens: issued by the app for a signed-in user, no HTTP round trip."""

from __future__ import annotations

import tempfile

from helpers import add_user, installed_app
from myapp import User, db


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp)  # `flask passport install` made a personal access client
        user_id = add_user(app, "taylor@example.com", "my-password")
        with app.app_context():
            # [create-token]
            user = db.session.get(User, user_id)

            # A token without scopes (not the default scope: an empty list means none)...
            plain = user.create_token("Token Name").access_token

            # ...and a token with scopes.
            result = user.create_token("My Token", ["place-orders", "check-status"])
            token = result.access_token  # the JWT: show it to the user once
            row = result.token           # its database row: id, name, scopes, expires_at
            # [/create-token]
            assert row.name == "My Token" and row.scopes == ["place-orders", "check-status"]

            # [list-tokens]
            for t in db.session.scalars(user.tokens):  # newest first
                print(t.name, t.scopes, t.expires_at.isoformat(), t.revoked)
            # [/list-tokens]
            names = [t.name for t in db.session.scalars(user.tokens)]
            assert sorted(names) == ["My Token", "Token Name"]

        http = app.test_client()
        answer = http.get("/api/orders", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.json["can_place"] is True
        answer = http.get("/api/orders", headers={"Authorization": f"Bearer {plain}"})
        assert answer.status_code == 403
        assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]
        assert answer.json["scope"] == "check-status place-orders"
    print("personal tokens OK")


if __name__ == "__main__":
    main()
