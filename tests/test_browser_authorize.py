"""The consent flow in Debian's chromium (Playwright) against the example app on loopback:
log in, approve, the callback exchanges the code and calls /api/user; deny; the template
override. Screenshots of the consent page go to test-output/ (gitignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

OUT = Path(__file__).resolve().parent.parent / "test-output"
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


def sign_in_from_client_page(page: Page, server: Any, start_path: str = "/client") -> None:
    page.goto(server.base_url + start_path)
    if start_path == "/client":
        page.click("#start")
    page.wait_for_url("**/login?next=*")
    page.get_by_label("Email").fill(server.seed["user"]["email"])
    page.get_by_label("Password").fill(server.seed["user"]["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth/authorize?*")


def test_login_approve_callback_without_javascript(browser: Browser, authz_server: Any
                                                  ) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                  java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in_from_client_page(page, authz_server)
        assert page.get_by_role("heading", name="Authorization request").is_visible()
        assert page.get_by_text("Demo SPA").is_visible()
        assert page.get_by_text("Check order status").is_visible()
        OUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT / "consent-desktop.png"), full_page=True)
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url("**/callback?*")
        assert "code=" in page.url and "state=" in page.url
        user = page.locator("#user").inner_text()
        assert authz_server.seed["user"]["email"] in user
        assert "refresh_token" in page.locator("#tokens").inner_text()
    finally:
        context.close()


def test_phone_width_keyboard_and_deny(browser: Browser, authz_server: Any) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    try:
        sign_in_from_client_page(page, authz_server, "/client/start?scope=check-status"
                                                       "&scope=place-orders")
        OUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT / "consent-phone.png"), full_page=True)
        # Nothing overflows sideways on a phone; the buttons are big enough to tap.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        box = page.get_by_role("button", name="Cancel").bounding_box()
        assert box is not None and box["height"] >= 44
        # Keyboard: Tab reaches the buttons with a visible focus ring, Enter activates.
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent")
        assert focused == "Cancel"
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
        page.keyboard.press("Enter")
        page.wait_for_url("**/callback?*")
        assert "error=access_denied" in page.url
        assert page.locator("#error").inner_text() == "access_denied"
    finally:
        context.close()


def test_template_override(browser: Browser, authz_serve_example: Any, tmp_path: Path) -> None:
    templates = tmp_path / "override"
    (templates / "passport").mkdir(parents=True)
    (templates / "passport" / "authorize.html").write_text(
        "<!doctype html><title>Custom</title><h1>Welcome to Acme</h1>"
        "<p id=who>{{ client.name }} wants: {% for s in scopes %}{{ s.description }}"
        "{% endfor %}</p>"
        "<form method=post action='{{ url_for('passport.decide') }}'>"
        "{{ form.csrf_token() }}{{ form.auth_token() }}"
        "<button name=approve value=yes>Let them in</button>"
        "<button name=deny value=no>No</button></form>")
    server = authz_serve_example(str(templates))
    context = browser.new_context()
    page = context.new_page()
    try:
        sign_in_from_client_page(page, server)
        assert page.get_by_role("heading", name="Welcome to Acme").is_visible()
        assert page.locator("#who").inner_text() == "Demo SPA wants: Check order status"
        page.get_by_role("button", name="Let them in").click()
        page.wait_for_url("**/callback?*")
        assert server.seed["user"]["email"] in page.locator("#user").inner_text()
    finally:
        context.close()


def test_not_you_sign_out_then_the_same_request_and_a_callback_that_fits(
        browser: Browser, authz_server: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    try:
        sign_in_from_client_page(page, authz_server, "/client/start?scope=place-orders")
        consent_url = page.url
        assert page.get_by_text("Not you?").is_visible()
        page.get_by_role("button", name="Sign out").click()
        # Signed out: the login page, whose next is this same authorization request.
        page.wait_for_url("**/login?next=*")
        page.get_by_label("Email").fill(authz_server.seed["user"]["email"])
        page.get_by_label("Password").fill(authz_server.seed["user"]["password"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/oauth/authorize?*")
        assert parse_qs(urlsplit(page.url).query) == parse_qs(urlsplit(consent_url).query)
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url("**/callback?*")
        OUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT / "callback-phone.png"), full_page=True)
        tokens = page.locator("#tokens")
        text = tokens.inner_text()
        # The shortened tokens end with a real ellipsis, not the JSON escape "\u2026".
        assert "\\u2026" not in page.content() and text.count("\u2026") == 2
        # The JSON wraps inside its card: nothing runs past it or past the phone's width.
        for box in ("#tokens", "#user"):
            assert page.eval_on_selector(box, "e => e.scrollWidth <= e.clientWidth")
        card = page.locator(".passport-card").bounding_box()
        pre = tokens.bounding_box()
        assert card is not None and pre is not None
        assert pre["x"] + pre["width"] <= card["x"] + card["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
