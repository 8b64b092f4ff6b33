"""Overriding a default model: a client with an extra column and its own consent policy."""

from __future__ import annotations

import tempfile
from typing import Any
from urllib.parse import urlencode

# [client-model]
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from myapp import db, passport


class Client(passport.models.Client):  # single-table inheritance: same table, one more column
    department: Mapped[str | None] = mapped_column(sa.String(50))

    def skips_authorization(self, user: Any, scopes: list[str]) -> bool:
        # The IT department's own apps need no consent screen.
        return self.department == "it" or super().skips_authorization(user, scopes)


passport.use_client_model(Client)
# [/client-model]

from flask_passport import create_client  # noqa: E402
from helpers import add_user, installed_app, sign_in  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp, PASSPORT_RATELIMIT_ENABLED=False)  # create_all adds the column
        add_user(app, "taylor@example.com", "my-password")
        callback = "https://intranet.example/callback"
        with app.app_context():
            ids = {}
            for department in ("it", "sales"):
                created = create_client(db.session, passport.models, name=f"{department} app",
                                        redirect_uris=[callback])
                assert isinstance(created.client, Client)  # Passport creates your class
                created.client.department = department
                ids[department] = created.client.id
            db.session.commit()
        browser = app.test_client()

        def authorize(client_id: str) -> Any:
            return browser.get("/oauth/authorize?" + urlencode({
                "client_id": client_id, "redirect_uri": callback, "response_type": "code",
                "scope": "check-status", "state": "xyz"}))

        sign_in(browser, authorize(ids["it"]).location)
        skipped = authorize(ids["it"])  # straight back with a code: no consent page
        assert skipped.status_code == 302 and skipped.location.startswith(callback + "?code=")
        asked = authorize(ids["sales"])  # the consent page (docs/samples/templates/passport)
        assert asked.status_code == 200
        page = asked.get_data(as_text=True)
        assert "Connect sales app to your shop account?" in page and "Allow sales app" in page
        # Extending passport/consent.html kept the stylesheet, the form and "Not you?".
        assert "passport-static/authorize.css" in page and 'name="auth_token"' in page
        assert "/oauth/authorize/switch-account" in page
        with app.app_context():
            row = db.session.get(Client, ids["it"])
            assert row is not None and row.department == "it"
    print("models OK")


if __name__ == "__main__":
    main()
