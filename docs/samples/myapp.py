"""The application every sample in the documentation uses: a Flask app with a User model,
Flask-Login and Passport, and an API protected by Passport's decorators."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask
from flask_login import LoginManager, UserMixin, current_user
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from flask_passport import (
    HasApiTokens,
    Passport,
    client,
    current_token,
    require_oauth,
    scope,
    scopes,
)


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
login = LoginManager()
passport = Passport(db=db)


# [user-model]
class User(UserMixin, HasApiTokens, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        # The password grant calls this (see "Password grant").
        return check_password_hash(self.password_hash, password)


@login.user_loader
def load_user(user_id: str) -> User | None:
    # Passport loads a token's user through Flask-Login's loader.
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None
# [/user-model]


# [routes]
api = Blueprint("api", __name__, url_prefix="/api")


@api.get("/user")
@require_oauth()  # any valid token that has a user; current_user is that user
def me() -> dict[str, Any]:
    return {"id": current_user.id, "email": current_user.email}


@api.get("/orders")
@require_oauth()
@scopes("check-status", "place-orders")  # the token needs all of these
def orders() -> dict[str, Any]:
    return {"orders": [], "can_place": current_user.token_can("place-orders")}


@api.get("/status")
@scope("check-status", "place-orders")  # the token needs one of these (user or client)
def status() -> dict[str, Any]:
    return {"status": "ok", "client_id": current_token.client_id}


@api.get("/internal/jobs")
@client("check-status")  # machine-to-machine: a client credentials token is fine
def jobs() -> dict[str, Any]:
    return {"jobs": [], "client_id": current_token.client_id}
# [/routes]


# [create-app]
def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="change-me",
        SQLALCHEMY_DATABASE_URI="sqlite:///app.sqlite",
    )
    app.config.update(config or {})

    db.init_app(app)
    login.init_app(app)
    passport.init_app(app, user_model=User)
    passport.tokens_can({
        "place-orders": "Place orders",
        "check-status": "Check order status",
    })
    passport.set_default_scope(["check-status"])
    passport.tokens_expire_in(timedelta(hours=1))

    app.register_blueprint(api)

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the tables (Passport's too). Use `flask db upgrade` with Flask-Migrate."""
        db.create_all()

    return app
# [/create-app]
