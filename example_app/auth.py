"""The example app's own sign-in: a WTForms login form (CSRF from flask_passport) and logout.

Passport does not log users in; it sends them to Flask-Login's ``login_view`` with ``next`` set,
and this is that view.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from flask_passport.web import csrf
from flask_passport.web.forms import PassportForm

bp = Blueprint("auth", __name__)
_REQUIRED = "Enter your email and password."


class LoginForm(PassportForm):
    email = EmailField("Email", validators=[DataRequired(_REQUIRED), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired(_REQUIRED), Length(max=1024)])
    submit = SubmitField("Sign in")


def safe_next(value: str | None) -> str:
    """``value`` if it stays on this site (a path, or this host's URL), else the home page."""
    home = url_for("home")
    if not value or any(c in value for c in "\\\r\n\t") or value.startswith("//"):
        return home
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        if parts.scheme != request.scheme or parts.netloc != request.host:
            return home
        return value
    return value if value.startswith("/") else home


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    from . import db
    from .models import User

    form = LoginForm(request.form if request.method == "POST" else None)
    next_url = request.args.get("next")
    error = None
    if request.method == "POST":
        if form.validate():
            user = db.session.scalars(
                sa.select(User).where(User.email == form.email.data).limit(1)
            ).first()
            if user is not None and user.check_password(form.password.data or ""):
                login_user(user)
                return redirect(safe_next(next_url))  # type: ignore[return-value]
            error = "The email or password is incorrect."
        elif form.csrf_token.errors:
            error = form.csrf_token.errors[0]
        else:
            error = next((e for field in (form.email, form.password) for e in field.errors),
                         "Enter your email and password.")
    status = 400 if error else 200
    return render_template("login.html", form=form, error=error, next=next_url), status  # type: ignore[return-value]


@bp.post("/logout")
def logout() -> Response:
    """Sign out: a POST with the session's CSRF token, so no other site can sign users out."""
    if not csrf.is_valid(request.form.get("csrf_token")):
        return Response("The sign-out form expired; go back and try again.", status=400)
    logout_user()
    return redirect(url_for("home"))  # type: ignore[return-value]
