"""SPA cookie authentication (Passport's CreateFreshApiToken): the cookie, its CSRF binding,
refresh, logout, opt-in per app or blueprint."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import make_app
from flask import Blueprint, Flask, jsonify
from flask_login import current_user, login_user, logout_user
from management_helpers import CSRF, login

from flask_passport import current_token, require_oauth, scopes
from flask_passport.web.cookie_auth import NONCE_KEY, make_cookie_value

NONCE = "n" * 43


def _with_nonce(client: Any) -> None:
    """Give ``client`` a login session holding :data:`NONCE`."""
    with client.session_transaction() as sess:
        sess[NONCE_KEY] = NONCE


def _routes(app: Flask) -> None:
    @app.get("/page")
    def page() -> Any:
        return "a page"

    @app.post("/page")
    def post_page() -> Any:
        return "posted"

    @app.get("/logout")
    def logout() -> Any:
        logout_user()
        return "bye"

    @app.post("/login-as/<int:user_id>")
    def login_as(user_id: int) -> Any:
        from conftest import User, db

        login_user(db.session.get(User, user_id))
        return "hello"

    @app.get("/api/user")
    @require_oauth()
    def api_user() -> Any:
        return jsonify(id=current_user.id, client_id=current_token.client_id)

    @app.get("/api/orders")
    @require_oauth()
    @scopes("place-orders", "check-status")
    def orders() -> Any:
        return jsonify(ok=True)


@pytest.fixture
def spa(app: Flask, passport: Any) -> Flask:
    _routes(app)
    passport.create_fresh_api_token(app)
    return app


def _set_cookie_header(resp: Any, name: str) -> str | None:
    for value in resp.headers.getlist("Set-Cookie"):
        if value.startswith(name + "="):
            return str(value)
    return None


def test_get_page_sets_httponly_lax_cookie_for_logged_in_user(spa: Flask, client: Any,
                                                             user: Any) -> None:
    assert _set_cookie_header(client.get("/page"), "passport_token") is None  # anonymous
    login(client, user)
    header = _set_cookie_header(client.get("/page"), "passport_token")
    assert header is not None
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    assert "Max-Age=3600" in header
    assert _set_cookie_header(client.post("/page"), "passport_token") is None  # GET only
    https = spa.test_client()
    login(https, user)
    header = _set_cookie_header(https.get("/page", base_url="https://localhost"),
                                "passport_token")
    assert header is not None and "Secure" in header


def test_cookie_with_csrf_header_authenticates_with_all_scopes(spa: Flask, client: Any,
                                                               user: Any) -> None:
    login(client, user)
    client.get("/page")
    resp = client.get("/api/user", headers={"X-CSRF-Token": CSRF})
    assert resp.status_code == 200, resp.json
    assert resp.json == {"id": user.id, "client_id": "passport:cookie"}
    assert client.get("/api/orders", headers={"X-XSRF-Token": CSRF}).json == {"ok": True}


@pytest.mark.parametrize("headers", [{}, {"X-CSRF-Token": "y" * 43}, {"X-CSRF-Token": ""}])
def test_cookie_without_matching_csrf_header_is_refused(spa: Flask, client: Any, user: Any,
                                                        headers: dict[str, str]) -> None:
    login(client, user)
    client.get("/page")
    resp = client.get("/api/user", headers=headers)
    assert resp.status_code == 401
    assert "CSRF" in resp.json["error_description"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_cookie_alone_without_its_login_session_is_refused(spa: Flask, client: Any,
                                                           user: Any) -> None:
    """The cookie is bound to the CSRF token and to the login session that received it."""
    login(client, user)
    client.get("/page")
    value = client.get_cookie("passport_token").value
    assert client.get("/api/user", headers={"X-CSRF-Token": CSRF}).json["id"] == user.id
    other = spa.test_client()
    login(other, user)  # the same user and CSRF token, but another login session
    other.set_cookie("passport_token", value)
    resp = other.get("/api/user", headers={"X-CSRF-Token": CSRF})
    assert resp.status_code == 401 and "session" in resp.json["error_description"]


def test_a_cookie_captured_before_logout_is_refused_after_it(spa: Flask, client: Any,
                                                             user: Any) -> None:
    h = login(client, user)
    client.get("/page")
    captured = client.get_cookie("passport_token").value
    assert client.get("/api/user", headers=h).status_code == 200
    client.get("/logout")
    with client.session_transaction() as sess:  # the CSRF token outlives the login
        assert sess.get("_passport_csrf") == CSRF
    client.set_cookie("passport_token", captured)  # put back, as a thief would
    resp = client.get("/api/user", headers=h)
    assert resp.status_code == 401
    assert "session that has ended" in resp.json["error_description"]


def test_secure_follows_session_cookie_secure_behind_a_proxy(spa: Flask, client: Any,
                                                             user: Any) -> None:
    """Behind a TLS-terminating proxy the app sees plain HTTP; the cookies are Secure anyway
    when the session cookie is."""
    spa.config["SESSION_COOKIE_SECURE"] = True
    login(client, user)
    resp = client.get("/page")  # http://localhost: what the app sees behind the proxy
    for name in ("passport_token", "XSRF-TOKEN"):
        header = _set_cookie_header(resp, name)
        assert header is not None and "Secure" in header, name


def test_forged_expired_and_foreign_cookies_are_refused(spa: Flask, client: Any, user: Any
                                                        ) -> None:
    h = {"X-CSRF-Token": CSRF}
    with spa.app_context():
        expired = make_cookie_value(spa, str(user.id), CSRF, int(time.time()) - 1, NONCE)
        valid = make_cookie_value(spa, str(user.id), CSRF, int(time.time()) + 60, NONCE)
        other_app = make_app({"SECRET_KEY": "another", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with other_app.app_context():
        foreign = make_cookie_value(other_app, str(user.id), CSRF, int(time.time()) + 60,
                                    NONCE)
    for value, fragment in [(expired, "expired"), (foreign, "invalid"),
                            (valid[:-2] + "AA", "invalid"), ("garbage", "invalid"),
                            ("a" * 3000, "invalid")]:
        c = spa.test_client()
        _with_nonce(c)
        c.set_cookie("passport_token", value)
        resp = c.get("/api/user", headers=h)
        assert resp.status_code == 401, value
        assert fragment in resp.json["error_description"]
    c = spa.test_client()
    c.set_cookie("passport_token", valid)
    assert c.get("/api/user", headers=h).status_code == 401  # no login session with the nonce
    _with_nonce(c)
    assert c.get("/api/user", headers=h).status_code == 200


def test_refresh_route_reissues_and_logout_clears(spa: Flask, client: Any, user: Any) -> None:
    h = login(client, user)
    assert client.post("/oauth/token/refresh").status_code == 403  # CSRF needed
    resp = client.post("/oauth/token/refresh", headers=h)
    assert resp.status_code == 200 and resp.json == {"message": "Refreshed."}
    assert _set_cookie_header(resp, "passport_token") is not None
    assert client.get("/api/user", headers=h).status_code == 200
    resp = client.get("/logout")
    header = _set_cookie_header(resp, "passport_token")
    assert header is not None and ("Max-Age=0" in header or "Expires=Thu, 01 Jan 1970" in header)
    assert client.get_cookie("passport_token") is None
    assert client.get("/api/user", headers=h).status_code == 401


def test_cookie_name_is_configurable(app: Flask, passport: Any, client: Any, user: Any) -> None:
    _routes(app)
    passport.cookie("my_api_cookie")
    passport.create_fresh_api_token(app)
    assert passport.cookie() == "my_api_cookie"
    login(client, user)
    resp = client.get("/page")
    assert _set_cookie_header(resp, "my_api_cookie") is not None
    assert _set_cookie_header(resp, "passport_token") is None
    assert client.get("/api/user", headers={"X-CSRF-Token": CSRF}).status_code == 200


def test_without_opt_in_the_cookie_is_ignored(app: Flask, client: Any, user: Any) -> None:
    _routes(app)
    h = login(client, user)
    resp = client.post("/oauth/token/refresh", headers=h)
    assert resp.status_code == 404 and "create_fresh_api_token" in resp.json["message"]
    assert _set_cookie_header(resp, "passport_token") is None
    assert _set_cookie_header(client.get("/page"), "passport_token") is None
    with app.app_context():
        client.set_cookie("passport_token",
                          make_cookie_value(app, str(user.id), CSRF, int(time.time()) + 60,
                                            NONCE))
    _with_nonce(client)
    assert client.get("/api/user", headers={"X-CSRF-Token": CSRF}).status_code == 401


def test_opt_in_per_blueprint(app_config: dict[str, Any], user: Any) -> None:
    from conftest import db

    from flask_passport import Passport

    web = Blueprint("web", __name__)

    @web.get("/dashboard")
    def dashboard() -> Any:
        return "dash"

    passport = Passport()
    passport.create_fresh_api_token(web)
    app = make_app(app_config, passport)
    _routes(app)
    app.register_blueprint(web)
    with app.app_context():
        db.create_all()
    c = app.test_client()
    h = login(c, user)
    assert _set_cookie_header(c.get("/page"), "passport_token") is None
    assert _set_cookie_header(c.get("/dashboard"), "passport_token") is not None
    assert c.get("/api/user", headers=h).status_code == 200


def test_login_replaces_another_users_cookie(spa: Flask, client: Any, user: Any) -> None:
    from management_helpers import make_user

    other = make_user(spa, "other@example.com")
    h = login(client, user)
    client.get("/page")
    assert client.get("/api/user", headers=h).json["id"] == user.id
    resp = client.post(f"/login-as/{other.id}")  # a POST login route, not opted in
    assert _set_cookie_header(resp, "passport_token") is not None
    assert client.get("/api/user", headers=h).json["id"] == other.id


def test_login_and_logout_marks_end_with_their_request(spa: Flask, client: Any,
                                                       user: Any) -> None:
    """Inside one app context (as a test or a script holds one), a later request is not taken
    for the login or logout of an earlier one: the marks live on the request, not on ``g``."""
    with spa.app_context():
        assert _set_cookie_header(client.post(f"/login-as/{user.id}"), "passport_token")
        later = client.post("/page")  # not a login, and a POST: no cookie
        assert _set_cookie_header(later, "passport_token") is None
        client.get("/logout")
        client.post(f"/login-as/{user.id}")
        page = client.get("/page")  # signed in again: the page view gets a fresh cookie
        assert _set_cookie_header(page, "passport_token") is not None
