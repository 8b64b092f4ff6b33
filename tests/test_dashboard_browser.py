"""Browser tests (Playwright + Debian chromium) of the example app's dashboard: the three web
components over the JSON APIs, and a page calling /api/user with the cookie + CSRF header.

The login page belongs to another issue; these tests log in through a test-only route."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_login import login_user
from werkzeug.serving import make_server

pytestmark = pytest.mark.browser

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def server(backend: str, tmp_path: Any, pg_schema: str | None, private_key_pem: str
           ) -> Iterator[tuple[str, Flask, dict[str, Any]]]:
    from conftest import database_config

    from example_app import create_app, db
    from example_app.commands import seed_data

    app = create_app({
        **database_config(backend, tmp_path, pg_schema),
        "PASSPORT_PRIVATE_KEY": private_key_pem, "SECRET_KEY": "browser-test", "TESTING": True,
    })

    @app.get("/_test/login/<int:user_id>")
    def test_login(user_id: int) -> str:
        from example_app.models import User

        login_user(db.session.get(User, user_id))
        return "logged in"

    @app.get("/_test/strict-csp")
    def strict_csp() -> Any:
        from flask import render_template_string

        html = render_template_string(
            "<!doctype html><html><head>{{ passport_components() }}</head><body>"
            "<passport-clients></passport-clients></body></html>")
        return html, 200, {"Content-Security-Policy":
                           "default-src 'self'; script-src 'self'; style-src 'self'"}

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{srv.server_port}"
    with app.app_context():
        seeded = seed_data(srv.server_port)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, app, seeded
    finally:
        srv.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@pytest.fixture
def page(server: tuple[str, Flask, dict[str, Any]]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    base, _, seeded = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=LAUNCH_ARGS)
        context = browser.new_context(base_url=base,
                                      permissions=["clipboard-read", "clipboard-write"])
        context.set_default_timeout(10_000)
        pg = context.new_page()
        pg.on("dialog", lambda dialog: dialog.accept())
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.goto(f"/_test/login/{seeded['user']['id']}")
        pg.goto("/dashboard")
        yield pg
        assert errors == []
        context.close()
        browser.close()


def _get_json(url: str, token: str) -> tuple[int, Any]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def test_dashboard_requires_login(server: tuple[str, Flask, dict[str, Any]]) -> None:
    base, _, _ = server
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(base + "/dashboard", timeout=10)
    # Anonymous visitors are sent to the example app's login_view, coming back afterwards.
    assert info.value.code == 302
    assert info.value.headers["Location"].startswith("/login?next=")
    info.value.close()


def test_clients_create_see_secret_once_edit_delete(page: Any,
                                                    server: tuple[str, Flask, dict[str, Any]]
                                                    ) -> None:
    from playwright.sync_api import expect

    _, app, _ = server
    clients = page.locator("passport-clients")
    expect(clients.locator(".empty")).to_be_visible()
    clients.locator("button.create").click()
    # Errors appear next to their fields.
    clients.locator('input[name="redirect_uris"]').fill("not-a-uri#frag")
    clients.locator("button.save").click()
    expect(clients.locator('.field-error[data-field="name"]')).to_contain_text("required")
    expect(clients.locator('.field-error[data-field="redirect_uris"]')).to_be_visible()
    clients.locator('input[name="name"]').fill("Browser App")
    clients.locator('input[name="redirect_uris"]').fill("https://browser.example/cb")
    clients.locator("button.save").click()
    secret = clients.locator("code.new-secret").inner_text()
    client_id = clients.locator("code.client-id").inner_text()
    assert len(secret) >= 40
    clients.locator(".once button.copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    with app.app_context():
        row = app.extensions["passport"].db.session.get(
            app.extensions["passport"].models.Client, client_id)
        assert row.check_secret(secret) and row.secret_hash != secret
    row_locator = clients.locator(f'tr[data-id="{client_id}"]')
    expect(row_locator.locator(".name")).to_have_text("Browser App")
    page.reload()
    expect(row_locator.locator(".name")).to_have_text("Browser App")
    assert secret not in page.content()
    assert clients.locator("code.new-secret").count() == 0
    row_locator.locator("button.edit").click()
    clients.locator('input[name="name"]').fill("Renamed App")
    clients.locator('input[name="redirect_uris"]').fill("https://a.example/cb, https://b.example/cb")
    clients.locator("button.save").click()
    expect(row_locator.locator(".name")).to_have_text("Renamed App")
    expect(row_locator.locator(".redirects")).to_have_text(
        "https://a.example/cb, https://b.example/cb")
    row_locator.locator("button.delete").click()
    expect(row_locator).to_have_count(0)
    expect(clients.locator(".empty")).to_be_visible()


def test_personal_token_create_use_and_delete(page: Any,
                                              server: tuple[str, Flask, dict[str, Any]]) -> None:
    from playwright.sync_api import expect

    base, _, seeded = server
    tokens = page.locator("passport-personal-access-tokens")
    expect(tokens.locator("tbody tr")).to_have_count(1)  # the seeded token
    tokens.locator("button.create").click()
    tokens.locator("button.save").click()
    expect(tokens.locator('.field-error[data-field="name"]')).to_contain_text("required")
    tokens.locator('input[name="name"]').fill("Browser token")
    tokens.locator('input[name="scopes"][value="place-orders"]').check()
    tokens.locator("button.save").click()
    jwt_value = tokens.locator("code.new-secret").inner_text()
    expect(tokens.locator("tbody tr")).to_have_count(2)
    row = tokens.locator("tbody tr", has_text="Browser token")
    expect(row.locator(".scopes")).to_have_text("place-orders")
    status, body = _get_json(base + "/api/user", jwt_value)
    assert status == 200 and body["email"] == seeded["user"]["email"]
    row.locator("button.delete").click()
    expect(tokens.locator("tbody tr")).to_have_count(1)
    assert _get_json(base + "/api/user", jwt_value)[0] == 401


def test_revoke_an_authorized_application(page: Any,
                                          server: tuple[str, Flask, dict[str, Any]]) -> None:
    from playwright.sync_api import expect

    base, _, seeded = server
    pwc = seeded["clients"]["password"]
    grant = page.request.post(base + "/oauth/token", form={
        "grant_type": "password", "client_id": pwc["id"], "client_secret": pwc["secret"],
        "username": seeded["user"]["email"], "password": seeded["user"]["password"],
        "scope": "check-status"}).json()
    assert _get_json(base + "/api/user", grant["access_token"])[0] == 200
    page.reload()
    apps = page.locator("passport-authorized-clients")
    row = apps.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".name")).to_have_text("Demo Password Client")
    expect(row.locator(".scopes")).to_have_text("check-status")
    row.locator("button.revoke").click()
    expect(apps.locator(".empty")).to_be_visible()
    assert _get_json(base + "/api/user", grant["access_token"])[0] == 401


def test_page_javascript_calls_the_api_with_cookie_and_csrf(
        page: Any, server: tuple[str, Flask, dict[str, Any]]) -> None:
    from playwright.sync_api import expect

    _, _, seeded = server
    cookies = {c["name"]: c for c in page.context.cookies()}
    api_cookie = cookies["passport_token"]
    assert api_cookie["httpOnly"] and api_cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("passport_token") == -1  # HttpOnly
    page.locator("#call-api").click()
    expect(page.locator("#api-result")).to_contain_text("200")
    assert seeded["user"]["email"] in page.locator("#api-result").inner_text()
    page.locator("#call-api-without-csrf").click()
    expect(page.locator("#api-result")).to_contain_text("401")
    expect(page.locator("#api-result")).to_contain_text("CSRF")


def test_components_render_styled_under_a_strict_csp(page: Any) -> None:
    from playwright.sync_api import expect

    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    page.goto("/_test/strict-csp")
    button = page.locator("passport-clients button.create")
    expect(button).to_be_visible()
    # The shared stylesheet applied: the primary button has the accent background.
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(37, 99, 235)"
    assert violations == []
