"""The device flow against the example app on loopback: in Debian's chromium (Playwright) the
user signs in from ``verification_uri_complete``, sees the code pre-filled, continues to the
consent screen and approves (or denies) while the device polls over HTTP; and the example app's
``device-login`` command signs a command-line device in."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import Browser, sync_playwright

from flask_passport.storage.clients import create_client

OUT = Path(__file__).resolve().parent.parent / "test-output"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=ARGS)
        yield chromium
        chromium.close()


def device_client_id(server: Any) -> str:
    import example_app

    with server.app.app_context():
        created = create_client(example_app.db.session, example_app.passport.models,
                                name="Living Room TV", kind="device")
        example_app.db.session.commit()
        return str(created.client.id)


def start_device(server: Any, client_id: str) -> dict[str, Any]:
    resp = requests.post(f"{server.base_url}/oauth/device/code",
                         data={"client_id": client_id, "scope": "check-status"}, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def poll(server: Any, client_id: str, device_code: str) -> requests.Response:
    return requests.post(f"{server.base_url}/oauth/token", data={
        "grant_type": GRANT, "device_code": device_code, "client_id": client_id}, timeout=10)


def sign_in_and_open_consent(browser: Browser, server: Any, grant: dict[str, Any]) -> Any:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(grant["verification_uri_complete"])
    page.wait_for_url("**/login?next=*")
    page.get_by_label("Email").fill(server.seed["user"]["email"])
    page.get_by_label("Password").fill(server.seed["user"]["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth/device?user_code=*")
    assert page.get_by_label("Code").input_value() == grant["user_code"]
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Authorization request").wait_for()
    assert page.get_by_text("Living Room TV").is_visible()
    assert page.get_by_text("Check order status").is_visible()
    assert page.get_by_text(grant["user_code"]).is_visible()
    return context, page


@pytest.mark.browser
def test_device_code_entry_and_approval(browser: Browser, authz_server: Any) -> None:
    client_id = device_client_id(authz_server)
    grant = start_device(authz_server, client_id)
    assert poll(authz_server, client_id, grant["device_code"]).json()["error"] == \
        "authorization_pending"
    context, page = sign_in_and_open_consent(browser, authz_server, grant)
    try:
        OUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT / "device-consent-phone.png"), full_page=True)
        page.get_by_role("button", name="Authorize").click()
        page.get_by_role("heading", name="Device connected").wait_for()
    finally:
        context.close()
    time.sleep(grant["interval"])
    resp = poll(authz_server, client_id, grant["device_code"])
    assert resp.status_code == 200, resp.text
    token = resp.json()["access_token"]
    me = requests.get(f"{authz_server.base_url}/api/user", timeout=10,
                      headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == authz_server.seed["user"]["email"]


@pytest.mark.browser
def test_device_code_entry_typed_and_denied(browser: Browser, authz_server: Any) -> None:
    client_id = device_client_id(authz_server)
    grant = start_device(authz_server, client_id)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(grant["verification_uri"])
        page.get_by_label("Email").fill(authz_server.seed["user"]["email"])
        page.get_by_label("Password").fill(authz_server.seed["user"]["password"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/oauth/device")
        # A wrong code first, then the real one typed loosely (lower case, no dash).
        page.get_by_label("Code").fill("BBBB-BBBB")
        page.get_by_role("button", name="Continue").click()
        assert page.get_by_role("alert").inner_text().startswith("That code is not valid")
        page.get_by_label("Code").fill(grant["user_code"].lower().replace("-", ""))
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Cancel").click()
        page.get_by_role("heading", name="Request denied").wait_for()
    finally:
        context.close()
    resp = poll(authz_server, client_id, grant["device_code"])
    assert resp.status_code == 400 and resp.json()["error"] == "access_denied"


def _approve_when_entered(server: Any, stop: threading.Event) -> None:
    """The user's side for the CLI test: approve the example CLI's pending request through the
    same protocol functions the verification page uses."""
    import example_app
    from example_app.commands import DEVICE_CLIENT_NAME
    from example_app.models import User
    from flask_passport.oauth2 import device as device_flow

    state = server.app.extensions["passport"]
    models = state.models
    while not stop.wait(0.2):
        with server.app.app_context():
            row = example_app.db.session.scalars(
                sa.select(models.DeviceCode).join(models.Client, models.Client.id ==
                                                  models.DeviceCode.client_id)
                .where(models.DeviceCode.status == "pending",
                       models.Client.name == DEVICE_CLIENT_NAME)).first()
            if row is None:
                continue
            user = example_app.db.session.get(User, server.seed["user"]["id"])
            ctx = state.context()
            assert device_flow.claim(ctx, row.id, str(user.id))
            assert device_flow.decide(ctx, row.id, user, approved=True) is not None
            ctx.commit()
            return


def test_example_device_login_command(authz_server: Any) -> None:
    stop = threading.Event()
    approver = threading.Thread(target=_approve_when_entered, args=(authz_server, stop))
    approver.start()
    try:
        result = authz_server.app.test_cli_runner().invoke(
            args=["device-login", "--server", authz_server.base_url])
    finally:
        stop.set()
        approver.join(timeout=10)
    assert result.exit_code == 0, result.output
    match = re.search(r"open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})", result.output)
    assert match and match.group(1) == f"{authz_server.base_url}/oauth/device"
    token = result.output.strip().splitlines()[-1]
    me = requests.get(f"{authz_server.base_url}/api/user", timeout=10,
                      headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["email"] == authz_server.seed["user"]["email"]
