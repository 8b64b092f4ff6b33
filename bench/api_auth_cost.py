"""Cost of one protected request authenticated by a bearer JWT vs. the SPA API cookie.

Run: PYTHONPATH=. python bench/api_auth_cost.py  (SQLite file in a temp folder; prints figures)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import User, db, make_app
from flask import jsonify
from flask_login import current_user

from flask_passport import require_oauth
from flask_passport.jose import keys as keys_mod
from flask_passport.storage.clients import create_client
from flask_passport.web.csrf import SESSION_KEY

N = 500


def main() -> None:
    tmp = tempfile.mkdtemp()
    pem = keys_mod.private_pem(keys_mod.generate_private_key("RSA", 2048)).decode()
    app = make_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/b.sqlite",
                    "PASSPORT_PRIVATE_KEY": pem})
    passport = app.extensions["passport"].passport
    passport.create_fresh_api_token(app)

    @app.get("/api/user")
    @require_oauth()
    def api_user() -> object:
        return jsonify(id=current_user.id)

    @app.get("/page")
    def page() -> str:
        return "page"

    with app.app_context():
        db.create_all()
        user = User(email="b@example.com", password_hash="x")
        db.session.add(user)
        create_client(db.session, passport.models, name="pat", kind="personal_access")
        db.session.commit()
        token = user.create_token("bench").access_token
        uid = user.id
    bearer = app.test_client()
    cookie = app.test_client()
    with cookie.session_transaction() as sess:
        sess["_user_id"] = str(uid)
        sess[SESSION_KEY] = "c" * 43
    cookie.get("/page")
    cases = {
        "bearer JWT": (bearer, {"Authorization": f"Bearer {token}"}),
        "API cookie + CSRF header": (cookie, {"X-CSRF-Token": "c" * 43}),
    }
    results = {}
    for name, (c, headers) in cases.items():
        assert c.get("/api/user", headers=headers).status_code == 200
        start = time.perf_counter()
        for _ in range(N):
            c.get("/api/user", headers=headers)
        results[name] = (time.perf_counter() - start) / N * 1000
        print(f"{name:28s} {results[name]:.3f} ms/request ({N} requests, Flask test client)")
    ratio = results["bearer JWT"] / results["API cookie + CSRF header"]
    print(f"bearer / cookie ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
