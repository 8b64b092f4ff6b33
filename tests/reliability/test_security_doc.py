"""The threat model stays honest: every test SECURITY.md and docs/security.rst name exists, and
the browser-facing claims they make without another test are checked here (RFC 9700 §4.2,
§4.12, §4.16)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from reliability_support import REDIRECT

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "SECURITY.md", ROOT / "docs" / "security.rst"]
REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_named_test_exists() -> None:
    missing, seen = [], 0
    for document in DOCUMENTS:
        for file, name in REFERENCE.findall(document.read_text("utf-8")):
            seen += 1
            path = ROOT / file
            if not path.exists() or name not in _test_names(path):
                missing.append(f"{document.name}: {file}::{name}")
    assert seen >= 60, seen  # the tables really cite tests
    assert missing == [], missing


def test_consent_page_cannot_be_framed_or_leak_the_referer(
    app: Flask, client: Any, authz_login: Any, user: Any, authz_client: Any
) -> None:
    """RFC 9700 §4.16 (clickjacking) and §4.2 (Referer leakage) on the consent page; §4.12: the
    decision, a POST, is answered with 302, never 307 (which would re-post the form)."""
    authz_login(client, user)
    page = client.get("/oauth/authorize?" + urlencode({
        "client_id": authz_client.client.id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "check-status"}))
    assert page.status_code == 200
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in page.headers  # RFC 9700 §2.6: no CORS here
    for button in ("approve", "deny"):
        again = client.get(page.request.full_path)
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                                 again.get_data(as_text=True)))
        answer = client.post("/oauth/authorize", data=fields | {button: "1"})
        assert answer.status_code == 302, (button, answer.status_code)
        assert answer.headers["Location"].startswith(REDIRECT + "?")
        assert answer.headers["Cache-Control"] == "no-store"
