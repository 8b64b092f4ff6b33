"""Helpers for the session-API tests: log a user in through Flask-Login's session and know the
session's CSRF token (the login page is another issue's)."""

from __future__ import annotations

from typing import Any

from conftest import User, db
from flask import Flask

from flask_passport.web.csrf import SESSION_KEY

CSRF = "x" * 43  # the session's CSRF token in these tests


def login(client: Any, user: Any, csrf: str = CSRF) -> dict[str, str]:
    """Log ``user`` in on the test ``client``; returns the headers a page's JavaScript sends."""
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
        sess[SESSION_KEY] = csrf
    return {"X-CSRF-Token": csrf}


def make_user(app: Flask, email: str) -> User:
    with app.app_context():
        u = User(email=email)
        u.set_password("pw")
        db.session.add(u)
        db.session.commit()
        db.session.refresh(u)
        db.session.expunge(u)
        return u
