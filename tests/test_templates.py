"""Passport's page templates: one layout (passport/base.html) with blocks, the consent layout
(passport/consent.html) an override extends, and the redirect line."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask, render_template, render_template_string

from flask_passport.web.forms import ConsentForm, DeviceCodeForm

TEMPLATES = Path(__file__).resolve().parent.parent / "flask_passport" / "templates" / "passport"
PAGES = {
    "authorize.html": {}, "device_authorize.html": {"user_code": "ABCD-EFGH"},
    "device.html": {"error": None, "form": DeviceCodeForm}, "device_done.html": {"approved": True},
    "error.html": {"error": "invalid_request", "description": "Bad."},
    "logout.html": {"mode": "confirm", "client": None, "key": "k", "csrf_token": "c"},
}


def consent_context(**extra: Any) -> dict[str, Any]:
    form = ConsentForm(data={"auth_token": "the-key"})
    return {"form": form, "client": SimpleNamespace(name="Acme Reader"),
            "user": SimpleNamespace(email="taylor@example.com"),
            "scopes": [SimpleNamespace(id="check-status", description="Check order status")],
            "authorization": SimpleNamespace(redirect_uri="https://app.example.com/callback"),
            "auth_token": "the-key", "csrf_token": form.csrf_token.current_token,
            "user_code": "ABCD-EFGH", **extra}


@pytest.fixture
def page(app: Flask) -> Any:
    app.login_manager.login_view = "login"  # type: ignore[attr-defined]

    def render(name: str, source: str | None = None, **extra: Any) -> str:
        with app.test_request_context("/oauth/authorize"):
            # A form class is made inside the request (its CSRF token needs the session).
            context = consent_context(**{k: v() if isinstance(v, type) else v
                                         for k, v in extra.items()})
            if source is not None:
                return render_template_string(source, **context)
            return render_template(f"passport/{name}", **context)

    return render


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_extends_the_base_layout(page: Any, name: str) -> None:
    assert (TEMPLATES / name).read_text().count('{% extends "passport/') == 1
    html = page(name, **PAGES[name])
    assert html.count('<main class="passport-card"') == 1
    assert html.count("passport-static/authorize.css") == 1
    assert 'id="passport-title"' in html


def test_redirect_target_when_the_view_gives_one(page: Any) -> None:
    html = page("authorize.html", redirect_target="127.0.0.1:53123")
    assert "You will be redirected to <strong>127.0.0.1:53123</strong>." in html
    assert "https://app.example.com/callback" not in html
    # Without it (an older view), the redirect URI as before.
    assert "You will be sent back to" in page("authorize.html")
    assert "&lt;b&gt;" in page("authorize.html", redirect_target="<b>")  # escaped


def test_an_override_changes_one_block_and_keeps_the_rest(page: Any) -> None:
    html = page("", '{% extends "passport/consent.html" %}'
                    "{% block buttons %}<button name=approve value=1>Let them in</button>"
                    "<button name=deny value=1>No</button>{% endblock %}")
    assert "Let them in" in html and ">Authorize<" not in html
    # The form, its hidden fields, the scopes, the sign-out and the styles are still there.
    assert html.count("<form") == 1 and 'name="auth_token" type="hidden" value="the-key"' in html
    assert 'name="csrf_token"' in html and "Check order status" in html
    assert "Not you?" in html and "passport-static/authorize.css" in html


def test_branding_is_one_include_for_every_page(app: Flask, page: Any, tmp_path: Path) -> None:
    from jinja2 import ChoiceLoader, FileSystemLoader

    (tmp_path / "passport").mkdir()
    (tmp_path / "passport" / "_branding.html").write_text('<div class="passport-brand">Acme</div>')
    app.jinja_loader = ChoiceLoader([FileSystemLoader(str(tmp_path)),  # type: ignore[assignment]
                                     app.jinja_loader])
    app.jinja_env.cache = {}
    for name, extra in PAGES.items():
        assert '<div class="passport-brand">Acme</div>' in page(name, **extra), name
