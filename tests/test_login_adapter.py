"""Passport's Flask-Login touchpoints (``resource/login_adapter.py``) against the installed
Flask-Login: if Flask-Login renames what the adapter relies on, these fail loudly."""

from __future__ import annotations

from typing import Any

import flask_login
from flask import Flask
from flask_login import AnonymousUserMixin, LoginManager, UserMixin, current_user

from flask_passport.resource import login_adapter


class _User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def _app() -> tuple[Flask, LoginManager]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    return app, LoginManager(app)


def test_request_user_is_what_current_user_reads() -> None:
    """The private touchpoint: Flask-Login keeps the request's user in ``g._login_user``."""
    app, _ = _app()
    user = _User("7")
    with app.test_request_context("/"):
        login_adapter.set_request_user(user)
        assert current_user._get_current_object() is user
        assert flask_login.utils._get_user() is user
        login_adapter.forget_request_user()
        assert not hasattr(flask_login.utils.g, login_adapter.REQUEST_USER_ATTR)


def test_request_anonymous_uses_the_managers_anonymous_user() -> None:
    app, manager = _app()

    class Guest(AnonymousUserMixin):
        pass

    manager.anonymous_user = Guest
    with app.test_request_context("/"):
        login_adapter.set_request_anonymous(app)
        assert isinstance(current_user._get_current_object(), Guest)
    bare = Flask(__name__)
    with bare.test_request_context("/"):
        login_adapter.set_request_anonymous(bare)  # no Flask-Login: nothing to do
        assert not hasattr(flask_login.utils.g, login_adapter.REQUEST_USER_ATTR)


def test_user_loader_is_the_documented_callback() -> None:
    app, manager = _app()
    assert login_adapter.user_loader(app) is None
    assert login_adapter.user_loader(Flask(__name__)) is None

    @manager.user_loader
    def load(user_id: str) -> Any:
        return _User(user_id)

    assert login_adapter.user_loader(app) is load
    assert manager.request_callback is None  # the other public property cli/checks.py reads
