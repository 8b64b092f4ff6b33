"""The application every sample in the documentation uses: a Flask app with a User model,
Flask-Login and Passport, and an API protected by Passport's decorators."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click
import sqlalchemy as sa
from flask import Blueprint, Flask, redirect, render_template_string, request
from flask_login import LoginManager, UserMixin, current_user, login_user
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
from flask_passport.web.csrf import csrf_token, is_valid


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


# [login]
# Passport does not sign users in: /oauth/authorize sends a signed-out user to Flask-Login's
# login_view with ?next=<the authorize URL>, and this page sends them back there.
web = Blueprint("web", __name__)

LOGIN_PAGE = """<form method="post">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <input name="email" type="email"> <input name="password" type="password">
  <button>Sign in</button>
</form>"""


@web.route("/login", methods=["GET", "POST"])
def login_page() -> Any:
    if request.method == "POST":
        email = request.form.get("email")
        user = db.session.scalars(sa.select(User).filter_by(email=email)).first()
        if (is_valid(request.form.get("csrf_token")) and user is not None
                and user.check_password(request.form.get("password", ""))):
            login_user(user)
            target = request.args.get("next", "/")
            # Only ever redirect within this site (no open redirect).
            local = target.startswith("/") and not target.startswith("//") and "\\" not in target
            return redirect(target if local else "/")
    return render_template_string(LOGIN_PAGE, csrf_token=csrf_token)
# [/login]


# [create-app]
def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="change-me",
        SQLALCHEMY_DATABASE_URI="sqlite:///app.sqlite",
        # Where clients reach this server: every token's ``iss`` (https:// in production).
        PASSPORT_ISSUER="http://localhost:5000",
    )
    app.config.update(config or {})

    db.init_app(app)
    login.init_app(app)
    login.login_view = "web.login_page"
    passport.init_app(app, user_model=User)
    passport.tokens_can({
        "place-orders": "Place orders",
        "check-status": "Check order status",
    })
    passport.set_default_scope(["check-status"])
    passport.tokens_expire_in(timedelta(hours=1))

    app.register_blueprint(api)
    app.register_blueprint(web)

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the tables (Passport's too). Use `flask db upgrade heads` with Flask-Migrate."""
        db.create_all()

    @app.cli.command("create-user")
    @click.argument("email")
    @click.password_option()
    def create_user(email: str, password: str) -> None:
        """Add a user who can sign in."""
        user = User(email=email)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        click.echo(f"User {user.id} created.")

    return app
# [/create-app]
