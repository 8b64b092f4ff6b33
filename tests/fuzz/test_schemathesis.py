"""Schemathesis against the example app served on loopback: every operation of docs/openapi.yaml,
a bounded number of generated requests each, with real credentials so that more than the 401s
are exercised (a signed-in session and its CSRF token, client ids and secrets from the seed, a
resource server for introspection, a real personal access token).

Checks: no 5xx, every status code documented, the documented content type, and bodies that
match the response schemas. ``PASSPORT_FUZZ_EXAMPLES`` raises the examples per operation.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from fuzz_support import ENV_EXAMPLES, FIGURES, Figures, SummaryPlugin, describe
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
schema = schemathesis.openapi.from_path(str(SPEC))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = int(os.environ.get(ENV_EXAMPLES) or 5)
GRANTS = ("authorization_code", "client_credentials", "password", "refresh_token")


class Live:
    """The running example app and the credentials the cases use."""

    def __init__(self, base_url: str, seed: dict[str, Any], resource: tuple[str, str],
                 http: requests.Session, csrf: str) -> None:
        self.base_url = base_url
        self.seed = seed
        self.resource = resource
        self.http = http
        self.csrf = csrf
        self.figures = FIGURES.setdefault("schemathesis (example app)", Figures())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, private_key_pem: str,
         request: pytest.FixtureRequest) -> Iterator[Live]:
    import example_app
    from example_app.commands import seed_data
    from flask_passport.storage.clients import create_client

    pm = request.config.pluginmanager
    if not pm.has_plugin("passport-fuzz-summary"):
        pm.register(SummaryPlugin(), "passport-fuzz-summary")
    folder = tmp_path_factory.mktemp("schemathesis")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = example_app.create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/example.sqlite",
        "PASSPORT_PRIVATE_KEY": private_key_pem,
        "PASSPORT_KEY_PATH": str(folder),
        "PASSPORT_RATELIMIT_ENABLED": False,
    })
    with app.app_context():
        seed = seed_data(port)
        state = app.extensions["passport"]
        ctx = state.context()
        rs = create_client(ctx.session, ctx.models, name="Resource server",
                           kind="resource_server")
        ctx.commit()
        resource = (rs.client.id, rs.secret or "")
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    http = requests.Session()
    try:
        page = http.get(f"{base_url}/login", timeout=30).text
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert csrf, "the login form has no CSRF field"
        signed_in = http.post(f"{base_url}/login", timeout=30, allow_redirects=False, data={
            "email": seed["user"]["email"], "password": seed["user"]["password"],
            "csrf_token": csrf.group(1)})
        assert signed_in.status_code == 302, signed_in.status_code
        started = time.monotonic()
        yield Live(base_url, seed, resource, http, csrf.group(1))
        fig = FIGURES["schemathesis (example app)"]
        fig.seconds += time.monotonic() - started
        print(f"\n[fuzz] {describe('schemathesis (example app)', fig)}")
    finally:
        http.close()
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            example_app.db.session.remove()
            example_app.db.engine.dispose()


def _with_credentials(case: Any, live: Live) -> None:
    """Put real credentials into a generated case (a generated body keeps its other fields)."""
    path = case.operation.path
    clients = live.seed["clients"]
    if path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect") \
            and case.method.upper() == "POST" and isinstance(case.body, dict):
        body = dict(case.body)
        if path == "/oauth/introspect":
            body["client_id"], body["client_secret"] = live.resource
        else:
            machine = clients["client_credentials"]
            body["client_id"], body["client_secret"] = machine["id"], machine["secret"]
        if path == "/oauth/token" and body.get("grant_type") not in GRANTS:
            body["grant_type"] = "client_credentials"
            body.pop("scope", None)
        if path != "/oauth/token" and len(str(body.get("token", ""))) % 2 == 0:
            body["token"] = live.seed["personal_access_token"]
        body.pop("token_type_hint", None) if body.get("token_type_hint") is None else None
        case.body = body
        case.headers = {k: v for k, v in (case.headers or {}).items()
                        if k.lower() != "authorization"}
    elif path.startswith("/oauth/") and "X-CSRF-Token" in {
            p.name for p in case.operation.headers}:
        case.headers = {**(case.headers or {}), "X-CSRF-Token": live.csrf}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=ENV_EXAMPLES not in os.environ,
          database=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_openapi(case: Any, live: Live) -> None:
    _with_credentials(case, live)
    fig = live.figures
    fig.requests += 1
    try:
        response = case.call(base_url=live.base_url, session=live.http, timeout=30,
                             allow_redirects=False)
    except requests.RequestException:
        fig.server_errors += 1
        raise
    fig.statuses[response.status_code] += 1
    if response.status_code >= 500:
        fig.server_errors += 1
    case.validate_response(response, checks=CHECKS)
