"""Configuration: ``PASSPORT_*`` keys, the methods that mirror Laravel Passport, keys from the
environment, and the hooks for the password grant and custom claims."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import timedelta
from typing import Any

import jwt
import sqlalchemy as sa

from flask_passport.jose import keys as passport_keys
from helpers import add_user
from myapp import User, create_app, db, passport


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # [env-keys]
        # Make a key pair once (here in Python; `flask passport keys` writes the same files)
        # and put the PEM text in the environment of every server process.
        private_key = passport_keys.generate_private_key("RSA", 2048)
        os.environ["PASSPORT_PRIVATE_KEY"] = passport_keys.private_pem(private_key).decode()
        os.environ["PASSPORT_PUBLIC_KEY"] = passport_keys.public_pem(private_key).decode()
        # [/env-keys]

        # [config]
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/app.sqlite",
            "PASSPORT_ISSUER": "https://auth.example.com",
            "PASSPORT_CLIENT_CREDENTIALS_TOKEN_LIFETIME": 600,  # seconds work too
            # Ignored here: create_app() calls passport.tokens_expire_in(), and a method wins.
            "PASSPORT_ACCESS_TOKEN_LIFETIME": timedelta(minutes=30),
            "PASSPORT_PASSWORD_GRANT": True,
        })
        # The methods override the keys, for every app this Passport object is bound to.
        passport.refresh_tokens_expire_in(timedelta(days=30))
        passport.personal_access_tokens_expire_in(timedelta(days=180))
        # [/config]

        # [hooks]
        @passport.find_user
        def find_by_email_case_insensitive(username: str) -> User | None:
            return db.session.scalars(
                sa.select(User).where(sa.func.lower(User.email) == username.lower())
            ).first()

        @passport.password_validator
        def check_password(user: User | None, password: str) -> bool:
            return user is not None and user.check_password(password)

        @passport.token_claims
        def extra_claims(*, token: Any, client: Any, user: Any, grant_type: str) -> dict:
            # Added to the JWT; reserved claims (iss, sub, exp, scope...) cannot be replaced.
            return {"email": user.email} if user is not None else {}
        # [/hooks]

        with app.app_context():
            db.create_all()
            settings = app.extensions["passport"].settings
            assert settings.access_token_lifetime == timedelta(hours=1)
            assert settings.refresh_token_lifetime == timedelta(days=30)
            assert settings.client_credentials_token_lifetime == timedelta(seconds=600)
        add_user(app, "Taylor@Example.com", "my-password")
        cli = app.test_cli_runner()
        result = cli.invoke(args=["passport", "install", "--json"])
        assert json.loads(result.output)["keys"] == "existing"  # the environment's keys
        mobile = json.loads(cli.invoke(args=["passport", "client", "--password", "--name",
                                             "Mobile", "--json"]).output)
        answer = app.test_client().post("/oauth/token", data={
            "grant_type": "password", "username": "taylor@example.com",
            "password": "my-password", "client_id": mobile["id"],
            "client_secret": mobile["secret"]})
        assert answer.status_code == 200, answer.json
        assert answer.json["expires_in"] == 3600
        claims = jwt.decode(answer.json["access_token"], private_key.public_key(),
                            algorithms=["RS256"], audience="https://auth.example.com")
        assert claims["iss"] == "https://auth.example.com"
        assert claims["email"] == "Taylor@Example.com"
        del os.environ["PASSPORT_PRIVATE_KEY"], os.environ["PASSPORT_PUBLIC_KEY"]
    print("configuration OK")


if __name__ == "__main__":
    main()
