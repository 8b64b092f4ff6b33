"""The servers the benchmark drives (gunicorn ``bench.wsgi:ours()`` / ``bench.wsgi:bare()``).

``ours`` is the example app unchanged plus three bench-only routes: one creates a personal access
token for the demo user over HTTP (the example app has no such JSON route), ``/bench/plain`` is
an unprotected JSON route, the floor of the example app's own stack (its cookie session,
Flask-Login, after-request hooks) without any token check, and ``/bench/user`` returns the demo
user read by primary key through the ORM, still without a token: the floor of a route that
reads a user from the database. ``bare`` is the reference: a bare
Flask JSON route on the same server stack (gunicorn, 2 sync workers).
"""

from __future__ import annotations

import os

from flask import Flask, jsonify


def ours() -> Flask:
    """The example app (DATABASE_URL, PASSPORT_PRIVATE_KEY, PASSPORT_ISSUER, ... from env)."""
    from example_app import create_app, db
    from example_app.models import User

    app = create_app()
    user_id = int(os.environ.get("BENCH_USER_ID", "1"))

    @app.post("/bench/personal-token")
    def personal_token() -> object:
        user = db.session.get(User, user_id)
        result = user.create_token("bench token", ["check-status"])
        return jsonify(accessToken=result.access_token)

    @app.get("/bench/plain")
    def plain() -> object:
        return jsonify(ok=True)

    @app.get("/bench/user")
    def user_by_key() -> object:
        # What /api/user returns, read by primary key with no token check: the floor of any
        # route of this app that reads the user through the ORM.
        return jsonify(db.session.get(User, user_id).to_dict())

    return app


def bare() -> Flask:
    """A bare Flask JSON route: the ceiling any Flask endpoint on this stack can reach."""
    app = Flask(__name__)

    @app.route("/bare", methods=["GET", "POST"])
    def bare_route() -> object:
        return jsonify(ok=True)

    return app
