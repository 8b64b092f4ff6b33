"""Testing your API without real tokens: ``acting_as`` and ``acting_as_client``."""

from __future__ import annotations

import tempfile

# [acting-as]
from flask_passport.testing import acting_as, acting_as_client
from helpers import add_user, installed_app
from myapp import User, db, passport


def check_orders_need_both_scopes(app) -> None:
    with app.app_context():
        user = db.session.get(User, 1)
    http = app.test_client()

    with acting_as(app, user, ["check-status", "place-orders"]):
        assert http.get("/api/orders").status_code == 200

    with acting_as(app, user, ["check-status"]):
        assert http.get("/api/orders").status_code == 403

    with acting_as_client(app, scopes=["check-status"]):
        assert http.get("/api/internal/jobs").status_code == 200
        assert http.get("/api/user").status_code == 401  # user routes refuse client tokens
# [/acting-as]


def check_with_the_extension(app) -> None:
    with app.app_context():
        user = db.session.get(User, 1)
    http = app.test_client()
    # [passport-acting-as]
    acting = passport.acting_as(user, ["check-status"])  # active at once (app: the bound one)
    assert http.get("/api/status").status_code == 200
    acting.stop()
    assert http.get("/api/status").status_code == 401
    with passport.acting_as_client("billing-service", ["check-status"]):
        assert http.get("/api/internal/jobs").json["client_id"] == "billing-service"
    # [/passport-acting-as]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp, TESTING=True)  # acting_as needs a testing app
        add_user(app, "taylor@example.com", "my-password")
        check_orders_need_both_scopes(app)
        check_with_the_extension(app)
        # Outside the blocks, requests need a real token again.
        assert app.test_client().get("/api/orders").status_code == 401
    print("testing OK")


if __name__ == "__main__":
    main()
