"""Creating clients from Python: the function behind ``flask passport client``."""

from __future__ import annotations

import base64
import tempfile

from helpers import installed_app
from myapp import db, passport


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp)
        with app.app_context():
            # [create-client]
            from flask_passport import create_client

            created = create_client(db.session, passport.models, name="Billing service",
                                    kind="client_credentials")
            db.session.commit()
            print(created.client.id, created.secret)  # the secret exists only in this object
            # [/create-client]
            client_id, secret = created.client.id, created.secret
            assert created.client.secret_hash != secret  # only a digest is stored

        # [basic-auth]
        # HTTP Basic instead of client_id/client_secret in the body (RFC 6749 §2.3.1).
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        answer = app.test_client().post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        # [/basic-auth]
        assert answer.status_code == 200, answer.json
        wrong = app.test_client().post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": "not-the-secret"})
        assert wrong.status_code == 401 and wrong.json["error"] == "invalid_client"
    print("clients OK")


if __name__ == "__main__":
    main()
