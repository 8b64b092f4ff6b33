"""From nothing to a protected route: tables, keys, a client, a token, a request."""

from __future__ import annotations

import json
import tempfile

from myapp import create_app, db


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # [quickstart]
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/app.sqlite",
            "PASSPORT_KEY_PATH": tmp,  # where `flask passport install` writes the keys
        })
        with app.app_context():
            db.create_all()  # or `flask db upgrade heads` with Flask-Migrate

        cli = app.test_cli_runner()  # the same as running `flask passport ...` in a shell
        cli.invoke(args=["passport", "install"])
        result = cli.invoke(args=["passport", "client", "--client",
                                  "--name", "Billing service", "--json"])
        billing = json.loads(result.output)

        http = app.test_client()
        response = http.post("/oauth/token", data={
            "grant_type": "client_credentials",
            "client_id": billing["id"],
            "client_secret": billing["secret"],
            "scope": "check-status",
        })
        token = response.json["access_token"]

        response = http.get("/api/status", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert response.json == {"status": "ok", "client_id": billing["id"]}

        # A client credentials token has no user, so user routes refuse it.
        response = http.get("/api/user", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        # [/quickstart]
        assert "invalid_token" in response.headers["WWW-Authenticate"]
    print("quickstart OK")


if __name__ == "__main__":
    main()
