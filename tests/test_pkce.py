"""RFC 7636 helpers and redirect URI matching, without a database."""

from __future__ import annotations

import pytest

from flask_passport.oauth2 import pkce, redirect_uri


def test_s256_matches_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce.s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert pkce.verify(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S256")
    assert not pkce.verify(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "plain")


@pytest.mark.parametrize(("value", "ok"), [
    ("a" * 43, True), ("a" * 128, True), ("a" * 42, False), ("a" * 129, False),
    ("A-._~z" + "0" * 40, True), ("a" * 42 + "+", False), ("a" * 42 + "=", False),
    ("a" * 42 + " ", False), ("a" * 42 + "é", False), ("a" * 42 + "\n", False),
])
def test_verifier_syntax(value: str, ok: bool) -> None:
    assert pkce.is_valid_verifier(value) is ok


def test_plain_only_when_allowed() -> None:
    assert pkce.allowed_methods(False) == ("S256",)
    assert pkce.allowed_methods(True) == ("S256", "plain")
    assert not pkce.verify("a" * 43, "a" * 43, "unknown")


@pytest.mark.parametrize(("registered", "presented", "expected"), [
    (["https://a.example/cb"], None, "https://a.example/cb"),
    (["https://a.example/cb", "https://a.example/2"], None, None),
    ([], None, None),
    (["https://a.example/cb"], "https://a.example/cb", "https://a.example/cb"),
    (["http://127.0.0.1/cb"], "http://127.0.0.1:4000/cb", "http://127.0.0.1:4000/cb"),
    (["http://127.0.0.1:1/cb"], "http://127.0.0.1/cb", "http://127.0.0.1/cb"),
    (["http://127.0.0.1:1/cb"], "http://127.0.0.1:x/cb", None),
    (["http://127.0.0.1:1/cb"], "http://127.0.0.1:1@evil.example/cb", None),
    (["http://[::1]/cb"], "http://[::1]:4000/cb", "http://[::1]:4000/cb"),
    (["https://a.example/cb"], "https://a.example/cb/../cb", None),
])
def test_resolve(registered: list[str], presented: str | None, expected: str | None) -> None:
    assert redirect_uri.resolve(registered, presented) == expected
