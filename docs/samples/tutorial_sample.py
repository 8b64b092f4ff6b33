"""The tutorial, step by step, in an empty folder: the real ``flask`` commands, the development
server, and the partner's script calling the API."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
FLASK = [sys.executable, "-m", "flask", "--app", "myapp"]


def run(folder: str, *args: str) -> str:
    done = subprocess.run([*FLASK, *args], cwd=folder, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(folder: str, app: str, port: int, env: dict[str, str] | None = None
          ) -> subprocess.Popen[bytes]:
    """``flask --app <app> run``, returned once it answers."""
    server = subprocess.Popen([sys.executable, "-m", "flask", "--app", app, "run", "--port",
                               str(port)], cwd=folder, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=10)
            return server
        except requests.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.1)


def connect_as_a_user(partner_url: str) -> list[str]:
    """What the user does in a browser (step 10): connect, sign in at the shop, cancel; connect
    again and approve; connect a third time (consent skipped). Returns the final pages."""
    browser = requests.Session()
    # The partner sends the browser to /oauth/authorize; signed out, the shop shows its login.
    login = browser.get(f"{partner_url}/connect", timeout=10)
    assert login.status_code == 200 and "/login?next=" in login.url, login.url
    # Signing in returns to /oauth/authorize: the consent page.
    consent = browser.post(login.url, timeout=10, data={
        "csrf_token": field(login.text, "csrf_token"),
        "email": "taylor@example.com", "password": "my-password"})
    assert "/oauth/authorize" in consent.url
    assert "<strong><bdi>Partner web app</bdi></strong> is requesting permission" in consent.text
    assert "Check order status" in consent.text
    pages = [click(browser, consent, "deny")]
    consent = browser.get(f"{partner_url}/connect", timeout=10)  # signed in: straight to consent
    assert "is requesting permission" in consent.text
    pages.append(click(browser, consent, "approve"))
    again = browser.get(f"{partner_url}/connect", timeout=10)  # a live token: no consent page
    assert again.url.startswith(f"{partner_url}/callback?code="), again.url
    return [*pages, again.text]


def click(browser: requests.Session, consent: requests.Response, button: str) -> str:
    """Press Authorize or Cancel on the consent page; the browser ends at the partner."""
    done = browser.post(consent.url.split("?")[0], timeout=10, data={
        "csrf_token": field(consent.text, "csrf_token"),
        "auth_token": field(consent.text, "auth_token"), button: "yes"})
    assert "/callback?" in done.url and done.status_code == 200, done.url
    return done.text


def field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]+)"', page)
    assert match, name
    return match.group(1)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(HERE / "myapp.py", folder)
        shutil.copy(HERE / "partner.py", folder)
        run(folder, "init-db")
        assert "Personal access client created" in run(folder, "passport", "install")
        partner = json.loads(run(folder, "passport", "client", "--client",
                                 "--name", "Partner service", "--json"))
        port = free_port()
        server = subprocess.Popen([*FLASK, "run", "--port", str(port)], cwd=folder,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            shop = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    assert requests.get(f"{shop}/api/status", timeout=10).status_code == 401
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.1)
            env = {**os.environ, "SHOP_URL": shop, "CLIENT_ID": partner["id"],
                   "CLIENT_SECRET": partner["secret"]}
            done = subprocess.run([sys.executable, "partner.py"], cwd=folder, env=env,
                                  capture_output=True, text=True, timeout=60, check=False)
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "The shop says: ok", done.stdout
            # Everything lives in the app's instance folder: the database and the keys.
            instance = Path(folder) / "instance"
            assert {"app.sqlite", "oauth-private.key", "oauth-public.key"} <= \
                {p.name for p in instance.iterdir()}
            assert instance.joinpath("oauth-private.key").stat().st_mode & 0o077 == 0

            # The second half: a partner web app acting for a user.
            done = subprocess.run([*FLASK, "create-user", "taylor@example.com"], cwd=folder,
                                  input="my-password\nmy-password\n", capture_output=True,
                                  text=True, timeout=120, check=False)
            assert done.returncode == 0 and "User 1 created." in done.stdout, done.stderr
            shutil.copy(HERE / "partner_web.py", folder)
            partner_port = free_port()
            partner_url = f"http://127.0.0.1:{partner_port}"
            web = json.loads(run(folder, "passport", "client", "--name", "Partner web app",
                                 "--redirect-uri", f"{partner_url}/callback", "--json"))
            assert web["secret"] and web["grant_types"] == ["authorization_code",
                                                            "refresh_token"], web
            partner_env = {**os.environ, "SHOP_URL": shop, "PARTNER_URL": partner_url,
                           "CLIENT_ID": web["id"], "CLIENT_SECRET": web["secret"]}
            partner_web = serve(folder, "partner_web", partner_port, partner_env)
            try:
                pages = connect_as_a_user(partner_url)
                assert pages == ["Not connected: access_denied",
                                 "Connected as taylor@example.com",
                                 "Connected as taylor@example.com"], pages
            finally:
                partner_web.terminate()
                partner_web.wait(timeout=15)
        finally:
            server.terminate()
            server.wait(timeout=15)
    print("tutorial OK")


if __name__ == "__main__":
    main()
