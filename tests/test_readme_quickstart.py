"""The README's Quickstart, taken from README.md itself: its app and its shell commands, run as a
new user types them, then a full authorization code + PKCE flow, a refresh and protected calls.

So the README and the code cannot drift apart: a Quickstart that misses a migration, a user
loader, a secret key or a sign-in page fails here.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from scripts.readme_blocks import code_blocks

ROOT = Path(__file__).resolve().parents[1]
REDIRECT_URI = "http://127.0.0.1:8000/callback"
EMAIL = "you@example.com"
PASSWORD = "correct horse battery staple"


class _Inputs(HTMLParser):
    """The ``<input>`` fields and the form action of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = values.get("action")
        if tag == "input" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def _inputs(html: str) -> _Inputs:
    parser = _Inputs()
    parser.feed(html)
    return parser


@pytest.fixture
def quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, str]]:
    """``app.py`` from the README in a new folder, its shell steps run there (all but
    ``flask run``); yields the imported module and the public client's id."""
    (app_code,) = code_blocks("Quickstart", "python")
    shell = code_blocks("Quickstart", "sh")[0]
    assert "flask --app app run" in shell
    setup = "\n".join(line for line in shell.splitlines() if "flask --app app run" not in line)
    (tmp_path / "app.py").write_text(app_code, encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PASSPORT_", "FLASK_"))}
    env.pop("SECRET_KEY", None)
    # `python` and `flask` as a user's shell finds them: this interpreter's environment.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = str(ROOT)
    # A new session has no terminal, so `create-user`'s password prompt reads stdin.
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", setup], cwd=tmp_path, env=env,
                          input=f"{PASSWORD}\n{PASSWORD}\n", capture_output=True, text=True,
                          timeout=300, start_new_session=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    created = json.loads(proc.stdout.strip().splitlines()[-1])

    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "app", raising=False)
    module = importlib.import_module("app")
    assert Path(module.__file__ or "") == tmp_path / "app.py"
    try:
        yield module, created["id"]
    finally:
        sys.modules.pop("app", None)


def test_quickstart_completes_code_pkce_refresh_and_protected_calls(
        quickstart: tuple[ModuleType, str]) -> None:
    module, client_id = quickstart
    app = module.create_app()
    http = app.test_client()

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                         ).rstrip(b"=").decode()
    authorize = "/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI,
        "scope": "check-status place-orders", "state": "st-1",
        "code_challenge": challenge, "code_challenge_method": "S256",
    })

    # Signed out: Passport sends the browser to the app's sign-in page, which sends it back.
    answer = http.get(authorize)
    assert answer.status_code == 302, answer.text
    login_url = answer.headers["Location"]
    assert urlsplit(login_url).path == "/login"
    page = http.get(login_url)
    assert page.status_code == 200
    form = _inputs(page.text).fields
    answer = http.post(login_url, data={"csrf_token": form["csrf_token"], "email": EMAIL,
                                        "password": PASSWORD})
    assert answer.status_code == 302, answer.text
    back = answer.headers["Location"]
    assert urlsplit(back).path == "/oauth/authorize"

    # The consent page; approve.
    consent = http.get(back)
    assert consent.status_code == 200, consent.text
    parsed = _inputs(consent.text)
    assert parsed.action
    answer = http.post(parsed.action, data={**parsed.fields, "approve": "Authorize"})
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == REDIRECT_URI
    query = parse_qs(callback.query)
    assert query["state"] == ["st-1"]
    code = query["code"][0]

    # The code, with the PKCE verifier (a public client: no secret).
    token_request: dict[str, Any] = {"grant_type": "authorization_code", "client_id": client_id,
                                      "code": code, "redirect_uri": REDIRECT_URI}
    assert http.post("/oauth/token", data={**token_request, "code_verifier": "x" * 43}
                     ).json["error"] == "invalid_grant"
    tokens = http.post("/oauth/token", data={**token_request, "code_verifier": verifier})
    assert tokens.status_code == 200, tokens.text
    access, refresh = tokens.json["access_token"], tokens.json["refresh_token"]

    me = http.get("/api/user", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200, me.text
    assert me.json["email"] == EMAIL
    orders = http.get("/api/orders", headers={"Authorization": f"Bearer {access}"})
    assert orders.status_code == 200 and orders.json == {"orders": []}
    assert http.get("/api/user").status_code == 401

    # Refresh: a new pair; the new access token works, the used refresh token is spent.
    renewed = http.post("/oauth/token", data={"grant_type": "refresh_token",
                                              "client_id": client_id, "refresh_token": refresh})
    assert renewed.status_code == 200, renewed.text
    assert renewed.json["refresh_token"] != refresh
    me = http.get("/api/user", headers={"Authorization": f"Bearer {renewed.json['access_token']}"})
    assert me.status_code == 200 and me.json["email"] == EMAIL
    again = http.post("/oauth/token", data={"grant_type": "refresh_token",
                                            "client_id": client_id, "refresh_token": refresh})
    assert again.status_code == 400 and again.json["error"] == "invalid_grant"


def test_quickstart_sign_in_never_redirects_off_site(quickstart: tuple[ModuleType, str]) -> None:
    module, _ = quickstart
    http = module.create_app().test_client()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        url = "/login?" + urlencode({"next": target})
        form = _inputs(http.get(url).text).fields
        answer = http.post(url, data={"csrf_token": form["csrf_token"], "email": EMAIL,
                                      "password": PASSWORD})
        assert answer.status_code == 302 and answer.headers["Location"] == "/", target
    # Without the session's CSRF token, no sign-in.
    fresh = module.create_app().test_client()
    answer = fresh.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert answer.status_code == 200 and "Sign in" in answer.text
