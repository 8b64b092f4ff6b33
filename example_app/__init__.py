"""The flask-passport example app: a small, real Flask app that shows every feature.

Run it with ``flask --app example_app seed`` then ``flask --app example_app run``.
``DATABASE_URL`` selects the database (SQLite in the instance folder by default, in WAL mode
with a busy timeout); ``SECRET_KEY`` the secret key (else a random one kept in the instance
folder).
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

from flask import Flask, render_template
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from flask_passport import Passport

from . import web_server


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
login = LoginManager()
migrate = Migrate()
passport = Passport(db=db)

#: Where ``flask --app example_app run`` serves; set PASSPORT_ISSUER when it serves elsewhere.
DEFAULT_ISSUER = "http://127.0.0.1:5000"


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    default_db = "sqlite:///" + os.path.join(app.instance_path, "example.sqlite")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL", default_db),
        # The demo offers the password grant so that client developers can try it; a new
        # production app should leave it off and use the code grant with PKCE.
        PASSPORT_PASSWORD_GRANT=True,
        # Plain HTTP works in development; set SESSION_COOKIE_SECURE=1 behind HTTPS.
        SESSION_COOKIE_SECURE=os.environ.get("SESSION_COOKIE_SECURE") == "1",
        SESSION_COOKIE_SAMESITE="Lax",
    )
    # A fixed issuer, never the request's Host: the seeded token carries it, and the demo
    # clients fetch the server's endpoints from it.
    app.config["PASSPORT_ISSUER"] = os.environ.get("PASSPORT_ISSUER") or DEFAULT_ISSUER
    # Rate limits and the refresh reuse grace are deploy-time settings: e.g. acceptance tests
    # relax them with PASSPORT_RATELIMIT_PER_IP=10000/minute or PASSPORT_RATELIMIT_ENABLED=0.
    # DPoP too (docs/dpop.rst): e.g. PASSPORT_DPOP_NONCE=1 or PASSPORT_DPOP_REQUIRED=1.
    for key, value in os.environ.items():
        if key.startswith(("PASSPORT_RATELIMIT_", "PASSPORT_DPOP")) \
                or key == "PASSPORT_REFRESH_TOKEN_REUSE_GRACE":
            app.config[key] = value
    if os.environ.get("PASSPORT_TOKEN_CACHE_TTL"):  # e.g. the benchmarks in bench/
        app.config["PASSPORT_TOKEN_CACHE_TTL"] = float(os.environ["PASSPORT_TOKEN_CACHE_TTL"])
    for key in ("PASSPORT_TOKEN_CACHE_BROADCAST_URL", "PASSPORT_TOKEN_CACHE_BROADCAST_CHANNEL"):
        if os.environ.get(key):  # several processes, one Redis (docs/protecting-routes.rst)
            app.config[key] = os.environ[key]
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = web_server.secret_key(app.instance_path)

    from .models import User

    db.init_app(app)
    web_server.init_app(app, db)  # SQLite in WAL mode, a busy timeout, no framing
    login.init_app(app)
    migrate.init_app(app, db)
    passport.init_app(app, user_model=User)
    passport.tokens_can(
        {
            "check-status": "Check order status",
            "place-orders": "Place orders",
        }
    )
    passport.set_default_scope(["check-status"])
    passport.tokens_expire_in(timedelta(hours=1))

    @passport.token_claims
    def claims(token: object, client: object, user: User | None, grant_type: str) -> dict:
        """Custom claims (docs/issuing-tokens.rst); reserved ones (sub, scope...) are dropped."""
        return {"roles": ["customer"]} if user is not None else {}

    @login.user_loader
    def load_user(user_id: str) -> User | None:
        try:
            return db.session.get(User, int(user_id))
        except ValueError:
            return None

    login.login_view = "auth.login"

    from . import api, auth, client_demo, commands

    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(client_demo.bp)
    from . import dashboard

    app.register_blueprint(dashboard.bp)
    from . import oidc_demo

    app.register_blueprint(oidc_demo.bp)
    commands.register(app)

    @app.template_filter("pretty_json")
    def pretty_json(value: object) -> str:
        """JSON for the demo pages: indented, and with "…" or "é" as such, not ``\\u2026``."""
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)

    @app.get("/")
    def home() -> str:
        return render_template("home.html")

    return app
