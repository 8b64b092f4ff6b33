"""Helpers the documentation's samples share (not part of what a reader copies)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from myapp import User, create_app, db


def installed_app(tmp: str, **config: Any) -> Flask:
    """The app on a SQLite file in ``tmp``, with its tables, keys and clients installed."""
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/app.sqlite",
        "PASSPORT_KEY_PATH": tmp,
        **config,
    })
    with app.app_context():
        db.create_all()
    result = app.test_cli_runner().invoke(args=["passport", "install"])
    assert result.exit_code == 0, result.output
    return app


def add_user(app: Flask, email: str, password: str) -> int:
    with app.app_context():
        user = User(email=email)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user.id
