"""Shared harness of the fuzz suite: a real app on a SQLite file, its clients and tokens, request
counting, and the Hypothesis settings.

Every request a fuzz test makes goes through :meth:`FuzzWorld.send`, which records its status and
fails the example at once on a 5xx (so Hypothesis shrinks to the smallest failing input). The
figures (requests tried, 5xx count, statuses) are printed per test and once more in the terminal
summary, so CI logs show them.

``PASSPORT_FUZZ_EXAMPLES`` scales every test's ``max_examples`` (e.g. ``20000`` before a
release; see docs/security.rst).
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import User, database_config, db, make_app, new_client
from flask import Flask, jsonify
from hypothesis import HealthCheck, settings

from flask_passport import require_oauth
from flask_passport.storage.clients import CreatedClient

#: Examples per test in the bounded CI run; PASSPORT_FUZZ_EXAMPLES overrides all of them.
ENV_EXAMPLES = "PASSPORT_FUZZ_EXAMPLES"


def fuzz_settings(default: int) -> settings:
    """Hypothesis settings for one fuzz test: ``default`` examples unless the env var says more."""
    examples = int(os.environ.get(ENV_EXAMPLES) or default)
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large],
        derandomize=ENV_EXAMPLES not in os.environ,  # CI: reproducible; long runs: explore
        database=None,
    )


# -- figures --------------------------------------------------------------------------------


@dataclass
class Figures:
    requests: int = 0
    server_errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0


FIGURES: dict[str, Figures] = {}


class SummaryPlugin:
    """Prints the totals of every fuzz test at the end of the run (registered on first use)."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not FIGURES:
            return
        terminalreporter.section("flask-passport fuzz figures")
        total = Figures()
        for name, fig in FIGURES.items():
            total.requests += fig.requests
            total.server_errors += fig.server_errors
            total.seconds += fig.seconds
            terminalreporter.write_line(describe(name, fig))
        terminalreporter.write_line(
            f"TOTAL: {total.requests} requests tried, {total.server_errors} server errors (5xx), "
            f"{total.seconds:.1f} s"
        )


def describe(name: str, fig: Figures) -> str:
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(fig.statuses.items()))
    return (f"{name}: {fig.requests} requests tried, {fig.server_errors} server errors (5xx), "
            f"{fig.seconds:.1f} s; statuses {{{statuses}}}")


# -- the world a fuzz test runs against -------------------------------------------------------


AUTHZ_REDIRECTS = [
    "https://app.example.com/callback",
    "https://app.example.com/callback?tenant=acme",
    "http://127.0.0.1:8123/native",
    "com.example.app:/oauth2redirect",
]
PUBLIC_REDIRECTS = ["https://spa.example.com/cb"]
LOGIN_PATH = "/test-login"


@dataclass
class FuzzWorld:
    """The app under test with everything a fuzz test needs to build valid-looking requests."""

    app: Flask
    http: Any
    figures: Figures
    user_id: int
    other_user_id: int
    authz: CreatedClient  # confidential authorization code client (several redirect URIs)
    public: CreatedClient  # public PKCE client
    password: CreatedClient
    password2: CreatedClient
    machine: CreatedClient
    machine2: CreatedClient
    resource: CreatedClient  # may introspect
    personal: CreatedClient
    user_tokens: list[str] = field(default_factory=list)
    client_tokens: list[str] = field(default_factory=list)
    revoked_tokens: list[str] = field(default_factory=list)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # token -> client id

    @property
    def clients(self) -> list[CreatedClient]:
        return [self.authz, self.public, self.password, self.password2, self.machine,
                self.machine2, self.resource, self.personal]

    def redirects_of(self, client_id: str) -> list[str]:
        return {self.authz.client.id: AUTHZ_REDIRECTS,
                self.public.client.id: PUBLIC_REDIRECTS}.get(client_id, [])

    def send(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request through the test client; counted, and a 5xx fails the example."""
        self.figures.requests += 1
        try:
            response = self.http.open(path, method=method, **kwargs)
        except Exception:
            # TESTING propagates the view's exception instead of answering 500: count it as one.
            self.figures.statuses[500] += 1
            self.figures.server_errors += 1
            raise
        self.figures.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.figures.server_errors += 1
            raise AssertionError(
                f"{method} {path!r} answered {response.status_code}: "
                f"{response.get_data(as_text=True)[:500]!r}"
            )
        return response

    def login(self, user_id: int | None) -> None:
        """Put ``user_id`` in the session as Flask-Login would (None signs out)."""
        with self.http.session_transaction() as sess:
            sess.clear()
            if user_id is not None:
                sess["_user_id"] = str(user_id)
                sess["_fresh"] = True

    def csrf_token(self) -> str:
        from flask_passport.web.csrf import SESSION_KEY

        with self.http.session_transaction() as sess:
            token = sess.get(SESSION_KEY)
            if not token:
                token = "c" * 43
                sess[SESSION_KEY] = token
        return str(token)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unverified_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _token(http: Any, data: dict[str, str]) -> dict[str, Any]:
    response = http.post("/oauth/token", data=data)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def build_world(tmp_path: Any, private_key_pem: str, figures: Figures) -> FuzzWorld:
    config = database_config("sqlite", tmp_path, None)
    config.update(PASSPORT_PRIVATE_KEY=private_key_pem, PASSPORT_RATELIMIT_ENABLED=False,
                  PASSPORT_IMPLICIT_GRANT=True)
    app = make_app(config)

    @app.get("/fuzz/me")
    @require_oauth()
    def me() -> Any:
        from flask_login import current_user

        return jsonify(id=str(current_user.get_id()))

    @app.route(LOGIN_PATH, methods=["GET"])
    def test_login() -> str:
        return "login page"

    app.login_manager.login_view = "test_login"  # type: ignore[attr-defined]

    with app.app_context():
        db.create_all()
        users = []
        for email in ("taylor@example.com", "other@example.com"):
            u = User(email=email)
            u.set_password("secret-password")
            db.session.add(u)
            users.append(u)
        db.session.commit()
        user_ids = [u.id for u in users]
    world = FuzzWorld(
        app=app,
        http=app.test_client(),
        figures=figures,
        user_id=user_ids[0],
        other_user_id=user_ids[1],
        authz=new_client(app, "authorization_code", redirect_uris=AUTHZ_REDIRECTS),
        public=new_client(app, "public", redirect_uris=PUBLIC_REDIRECTS),
        password=new_client(app, "password"),
        password2=new_client(app, "password"),
        machine=new_client(app, "client_credentials"),
        machine2=new_client(app, "client_credentials"),
        resource=new_client(app, "resource_server"),
        personal=new_client(app, "personal_access"),
    )
    http = world.http
    for pc in (world.password, world.password2):
        body = _token(http, {"grant_type": "password", "client_id": pc.client.id,
                             "client_secret": pc.secret or "", "username": "taylor@example.com",
                             "password": "secret-password",
                             "scope": "check-status place-orders"})
        world.user_tokens.append(body["access_token"])
        world.refresh_tokens[body["refresh_token"]] = pc.client.id
    body = _token(http, {"grant_type": "client_credentials", "client_id": world.machine.client.id,
                         "client_secret": world.machine.secret or ""})
    world.client_tokens.append(body["access_token"])
    revoked = _token(http, {"grant_type": "password", "client_id": world.password.client.id,
                            "client_secret": world.password.secret or "",
                            "username": "taylor@example.com", "password": "secret-password"})
    assert http.post("/oauth/revoke", data={
        "token": revoked["access_token"], "client_id": world.password.client.id,
        "client_secret": world.password.secret or ""}).status_code == 200
    world.revoked_tokens.append(revoked["access_token"])
    return world


@pytest.fixture
def fuzz_world(tmp_path: Any, private_key_pem: str, request: pytest.FixtureRequest,
               capsys: pytest.CaptureFixture[str]) -> Iterator[FuzzWorld]:
    """A fresh app for one fuzz test (SQLite), whose figures are printed when it ends."""
    pm = request.config.pluginmanager
    if not pm.has_plugin("passport-fuzz-summary"):
        pm.register(SummaryPlugin(), "passport-fuzz-summary")
    figures = FIGURES.setdefault(request.node.name, Figures())
    world = build_world(tmp_path, private_key_pem, figures)
    started = time.monotonic()
    try:
        yield world
    finally:
        figures.seconds += time.monotonic() - started
        with capsys.disabled():
            print(f"\n[fuzz] {describe(request.node.name, figures)}")
        with world.app.app_context():
            db.session.remove()
            db.engine.dispose()
