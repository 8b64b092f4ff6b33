"""The example app's dashboard: Passport's three web components and a cookie-auth API demo.

The blueprint opts into SPA cookie auth, so its pages' JavaScript can call ``/api/user`` with the
cookie and the page's CSRF token, without handling any access token.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from . import passport

bp = Blueprint("web", __name__, template_folder="templates")
passport.create_fresh_api_token(bp)


@bp.get("/dashboard")
@login_required
def dashboard() -> str:
    return render_template("dashboard.html", user=current_user)
