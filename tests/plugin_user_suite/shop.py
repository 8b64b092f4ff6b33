"""A user's app: a shop whose API is protected by flask-passport."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, jsonify
from flask_login import LoginManager, UserMixin, current_user
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_passport import HasApiTokens, Passport, client, current_token, require_oauth, scopes


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
login = LoginManager()
passport = Passport(db=db)


class Customer(UserMixin, HasApiTokens, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255))


@login.user_loader
def load(user_id: str) -> Customer | None:
    return db.session.get(Customer, int(user_id))


def create_app(config: dict[str, Any]) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    db.init_app(app)
    login.init_app(app)
    passport.init_app(app, user_model=Customer)
    passport.tokens_can({"place-orders": "Place orders", "check-status": "Check status"})

    @app.get("/api/me")
    @require_oauth()
    def me() -> Any:
        return jsonify(email=current_user.email)

    @app.post("/api/orders")
    @require_oauth()
    @scopes("place-orders")
    def place_order() -> Any:
        return jsonify(created=True, by=current_user.email), 201

    @app.get("/internal/status")
    @client("check-status")
    def status() -> Any:
        return jsonify(client_id=current_token.client_id)

    return app
