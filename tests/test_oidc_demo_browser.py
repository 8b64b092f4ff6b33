"""The example app's OpenID Connect demo (/oidc-demo) in Debian's chromium (Playwright):
sign in with flask-passport (login, consent listing the OIDC scopes, callback verifying the
ID token and calling userinfo), then RP-initiated logout back to the demo page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=ARGS)
        yield chromium
        chromium.close()


def test_sign_in_with_passport_and_sign_out(browser: Browser, authz_server: Any) -> None:
    server = authz_server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(server.base_url + "/oidc-demo")
        page.click("#oidc-start")
        page.wait_for_url("**/login?next=*")
        page.get_by_label("Email").fill(server.seed["user"]["email"])
        page.get_by_label("Password").fill(server.seed["user"]["password"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/oauth/authorize?*")
        assert page.get_by_text("Sign you in and know who you are").is_visible()
        assert page.get_by_text("See your email address").is_visible()
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url("**/oidc-demo")
        assert page.locator("#oidc-email").inner_text() == server.seed["user"]["email"]
        claims = page.locator("#oidc-claims").inner_text()
        assert '"nonce"' in claims and '"at_hash"' in claims and '"auth_time"' in claims
        assert '"Demo User"' in page.locator("#oidc-userinfo").inner_text()

        page.click("#oidc-logout")
        page.wait_for_url("**/oidc-demo?state=*")
        assert page.locator("#oidc-logged-out").is_visible()
        assert page.locator("#oidc-start").is_visible()
        # Signed out of the server too: its login page comes back.
        page.goto(server.base_url + "/dashboard")
        assert "/login" in page.url
    finally:
        context.close()
