"""Helpers the documentation's samples share (not part of what a reader copies)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

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


def hidden(page: str, name: str) -> str:
    """A hidden form field's value from an HTML page."""
    match = re.search(rf'name="{name}"[^>]*value="([^"]+)"', page)
    assert match, f"no {name} field"
    return match.group(1)


def sign_in(browser: FlaskClient, login_url: str) -> str:
    """Fill in the app's login form (myapp.py); returns where it redirects (``next``)."""
    page = browser.get(login_url).get_data(as_text=True)
    answer = browser.post(login_url, data={"csrf_token": hidden(page, "csrf_token"),
                                           "email": "taylor@example.com",
                                           "password": "my-password"})
    assert answer.status_code == 302, answer.status
    return answer.location
