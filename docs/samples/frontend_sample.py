"""Your own pages: the web components, the JSON management API they call, and the API cookie
that lets your JavaScript call your protected routes (``create_fresh_api_token``)."""

from __future__ import annotations

import re
import tempfile
from typing import Any

from flask import Flask, redirect, render_template_string, request
from flask_login import login_required, logout_user

from flask_passport.web.csrf import is_valid
from helpers import add_user, installed_app
from myapp import passport


def add_pages(app: Flask) -> None:
    # [dashboard]
    passport.create_fresh_api_token(app)  # GET pages of signed-in users get the API cookie

    @app.get("/dashboard")
    @login_required
    def dashboard() -> str:
        return render_template_string("""<!doctype html>
<html>
<head>
  <title>Your API access</title>
  {{ passport_components() }}  {# <meta name="csrf-token"> and the components' script #}
</head>
<body>
  <passport-clients></passport-clients>
  <passport-authorized-clients></passport-authorized-clients>
  <passport-personal-access-tokens></passport-personal-access-tokens>
</body>
</html>""")
    # [/dashboard]

    @app.post("/logout")
    @login_required
    def logout() -> Any:
        if not is_valid(request.form.get("csrf_token")):
            return "Bad CSRF token", 400
        logout_user()  # the response also deletes the API cookie
        return redirect("/")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp, PASSPORT_RATELIMIT_ENABLED=False)
        add_pages(app)
        add_user(app, "taylor@example.com", "my-password")
        browser = app.test_client()
        login_page = browser.get("/login").get_data(as_text=True)
        csrf_field = re.search(r'name="csrf_token" value="([^"]+)"', login_page)
        assert csrf_field
        browser.post("/login", data={"csrf_token": csrf_field.group(1),
                                     "email": "taylor@example.com", "password": "my-password"})

        page = browser.get("/dashboard")
        html = page.get_data(as_text=True)
        meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
        assert meta and "<passport-clients>" in html
        script = re.search(r'<script src="([^"]+)"', html)
        assert script
        with browser.get(script.group(1)) as js:
            assert js.status_code == 200 and "passport-clients" in js.get_data(as_text=True)
        # The API cookie: HttpOnly, SameSite=Lax (and Secure over HTTPS).
        cookie = next(h for h in page.headers.getlist("Set-Cookie")
                      if h.startswith("passport_token="))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        csrf = meta.group(1)

        # [cookie-auth]
        # What the page's fetch("/api/user", {headers: {"X-CSRF-Token": csrf}}) sends:
        me = browser.get("/api/user", headers={"X-CSRF-Token": csrf})
        assert me.status_code == 200 and me.json["email"] == "taylor@example.com"
        # The cookie alone is not enough: a cross-site request cannot read the CSRF token.
        assert browser.get("/api/user").status_code == 401
        # [/cookie-auth]

        # [json-api]
        headers = {"X-CSRF-Token": csrf}
        created = browser.post("/oauth/clients", headers=headers, json={
            "name": "My blog", "redirect_uris": ["https://blog.example/callback"]})
        assert created.status_code == 201
        client = created.json  # {"id": ..., "name": "My blog", "secret": "...", ...}
        assert client["secret"]  # shown this once; only its SHA-256 digest is stored

        token = browser.post("/oauth/personal-access-tokens", headers=headers, json={
            "name": "Deploy script", "scopes": ["check-status"]})
        assert token.status_code == 201
        jwt = token.json["accessToken"]  # shown once; token.json["token"] describes it

        invalid = browser.post("/oauth/clients", headers=headers, json={"name": ""})
        assert invalid.status_code == 422
        # {"message": "The given data was invalid.", "errors": {"name": [...], ...}}
        assert browser.post("/oauth/clients", json={"name": "x"}).status_code == 403  # no CSRF
        # [/json-api]
        assert "name" in invalid.json["errors"]
        listed = browser.get("/oauth/clients").json
        assert [c["name"] for c in listed] == ["My blog"] and "secret" not in listed[0]
        scopes = browser.get("/oauth/scopes").json  # OpenID Connect's, then yours
        assert [s["id"] for s in scopes] == ["openid", "profile", "email",
                                            "place-orders", "check-status"]
        assert scopes[-2:] == [{"id": "place-orders", "description": "Place orders"},
                               {"id": "check-status", "description": "Check order status"}]
        http = app.test_client()  # a script using the personal token
        assert http.get("/api/status", headers={"Authorization": f"Bearer {jwt}"}
                        ).status_code == 200
        token_id = token.json["token"]["id"]
        assert browser.delete(f"/oauth/personal-access-tokens/{token_id}",
                              headers=headers).status_code == 204
        assert http.get("/api/status", headers={"Authorization": f"Bearer {jwt}"}
                        ).status_code == 401
        assert browser.delete(f"/oauth/clients/{client['id']}", headers=headers
                              ).status_code == 204
        assert browser.get("/oauth/clients").json == []
        # Another user's id and a missing one look the same.
        assert browser.delete("/oauth/clients/nope", headers=headers).status_code == 404

        # Signing out deletes the API cookie.
        out = browser.post("/logout", data={"csrf_token": csrf})
        assert any(h.startswith("passport_token=;") for h in out.headers.getlist("Set-Cookie"))
        assert browser.get("/api/user", headers={"X-CSRF-Token": csrf}).status_code == 401
        assert browser.get("/oauth/clients").status_code == 401
    print("frontend OK")


if __name__ == "__main__":
    main()
