"""Faults in the middle of issuing, rotating and revoking: the database erroring on the N-th
statement, a failing COMMIT, the PostgreSQL backend killed mid-request. Each must give a clean
503 OAuth error, roll the transaction back and leave nothing half-written; the credential the
request carried still works once the fault is gone. Missing or broken keys and settings give a
message that says what to do.

The sweep fails statement 1, then 2, then 3 ... of the same request until the request needs
fewer statements than that and succeeds, so every point inside the transaction is hit once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PG_URL, db, make_app, new_client
from flask import Flask
from management_helpers import login
from reliability_support import REDIRECT, consent_code, snapshot
from standards_support import add_routes, basic, bearer, password_token

from flask_passport.jose import keys as keys_mod
from flask_passport.jose.keys import KeyLoadError

MAX_STATEMENTS = 60

#: Figures printed at the end of the module: every injected fault and what it produced.
TALLY = {"requests tried": 0, "faults injected": 0, "clean 503": 0, "other 5xx": 0,
         "partial writes": 0}


@pytest.fixture(scope="module", autouse=True)
def print_figures(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    line = "[reliability] faults: " + " ".join(f"{k}={v}" for k, v in TALLY.items())
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n" + line)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "PASSPORT_RATELIMIT_ENABLED": False}


@dataclass
class Armed:
    """One armed fault: fires on statement ``at`` (1-based) of the guarded block."""

    at: int
    mode: str = "raise"
    seen: int = 0
    fired: bool = False


class FaultInjector:
    """Make the app's engine fail on purpose (``before_cursor_execute`` / ``commit`` hooks)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        with app.app_context():
            self.engine = db.engine
        self.armed: Armed | None = None
        sa.event.listen(self.engine, "before_cursor_execute", self._before_execute)
        sa.event.listen(self.engine, "commit", self._on_commit)

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._before_execute)
        sa.event.remove(self.engine, "commit", self._on_commit)

    @contextmanager
    def fail(self, at: int, mode: str = "raise") -> Iterator[Armed]:
        """``raise``: OperationalError on statement ``at``; ``terminate``: kill the PostgreSQL
        backend just before statement ``at``; ``commit``: the COMMIT fails."""
        self.armed = Armed(at, mode)
        try:
            yield self.armed
        finally:
            self.armed = None

    def _before_execute(self, conn: Any, cursor: Any, statement: str, params: Any,
                        context: Any, executemany: bool) -> None:
        armed = self.armed
        if armed is None or armed.mode == "commit" or armed.fired:
            return
        armed.seen += 1
        if armed.seen != armed.at:
            return
        armed.fired = True
        if armed.mode == "terminate":
            terminate_backend(cursor.connection.info.backend_pid)
            return  # the statement now runs on a dead connection and fails for real
        raise sa.exc.OperationalError(statement, params, RuntimeError("injected fault"))

    def _on_commit(self, conn: Any) -> None:
        armed = self.armed
        if armed is not None and armed.mode == "commit" and not armed.fired:
            armed.fired = True
            raise sa.exc.OperationalError("COMMIT", None, RuntimeError("injected commit fault"))


def terminate_backend(pid: int) -> None:
    """``pg_terminate_backend`` from a separate connection, waiting until the backend is gone."""
    admin = sa.create_engine(str(PG_URL), poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            assert conn.scalar(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    finally:
        admin.dispose()


@pytest.fixture
def faults(app: Flask) -> Iterator[FaultInjector]:
    injector = FaultInjector(app)
    yield injector
    injector.close()


def assert_clean_503(resp: Any, *, json_body: bool = True) -> None:
    assert resp.status_code == 503, (resp.status_code, resp.get_data(as_text=True)[:300])
    if json_body:
        assert resp.json["error"] == "temporarily_unavailable", resp.json
        assert resp.json.get("error_description") or resp.json.get("message")
        assert resp.headers["Cache-Control"] == "no-store"
    else:
        assert "temporarily_unavailable" in resp.get_data(as_text=True)
    assert "Traceback" not in resp.get_data(as_text=True)
    assert "injected" not in resp.get_data(as_text=True)


def sweep(app: Flask, faults: FaultInjector, send: Callable[[], Any], *, mode: str = "raise",
          prepare: Callable[[], None] | None = None, json_body: bool = True,
          ok: Callable[[Any], bool] = lambda r: r.status_code == 200) -> int:
    """Fail statement 1, 2, ... of ``send()`` until it succeeds; returns how many faults fired.

    After each fault: a clean 503 and the database exactly as before the request.
    """
    fired = 0
    for n in range(1, MAX_STATEMENTS):
        if prepare is not None:
            prepare()
        before = snapshot(app)
        with faults.fail(n, mode) as armed:
            resp = send()
        TALLY["requests tried"] += 1
        if not armed.fired:
            assert ok(resp), (resp.status_code, resp.get_data(as_text=True)[:300])
            return fired
        fired += 1
        TALLY["faults injected"] += 1
        TALLY["clean 503" if resp.status_code == 503 else "other 5xx"] += resp.status_code >= 500
        after = snapshot(app)
        TALLY["partial writes"] += after != before
        assert_clean_503(resp, json_body=json_body)
        assert after == before, f"statement {n} left a partial write"
        if mode != "raise":
            break
    assert fired, "no statement was failed"
    if mode != "raise":
        final = send()
        TALLY["requests tried"] += 1
        assert ok(final), (final.status_code, final.get_data(as_text=True)[:300])
        return fired
    raise AssertionError(f"the request never succeeded within {MAX_STATEMENTS} statements")


# -- the token endpoint: issuing --------------------------------------------------------------


def test_client_credentials_issue_survives_every_statement_failing(
    app: Flask, client: Any, machine_client: Any, faults: FaultInjector
) -> None:
    form = {"grant_type": "client_credentials", "client_id": machine_client.client.id,
            "client_secret": machine_client.secret}
    assert sweep(app, faults, lambda: client.post("/oauth/token", data=form)) >= 2


def test_password_grant_issue_survives_every_statement_failing(
    app: Flask, client: Any, password_client: Any, user: Any, faults: FaultInjector
) -> None:
    form = {"grant_type": "password", "client_id": password_client.client.id,
            "client_secret": password_client.secret, "username": user.email,
            "password": "secret-password"}
    assert sweep(app, faults, lambda: client.post("/oauth/token", data=form)) >= 3


def test_code_exchange_never_burns_the_code_on_a_fault(
    app: Flask, client: Any, authz_login: Any, user: Any, authz_public_client: Any,
    faults: FaultInjector,
) -> None:
    authz_login(client, user)
    verifier = "v" * 50
    code = consent_code(client, authz_public_client.client.id, verifier=verifier)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": authz_public_client.client.id, "code_verifier": verifier}
    # Each failure rolled the claim of the code back, so the last try still redeems it.
    assert sweep(app, faults, lambda: client.post("/oauth/token", data=form)) >= 4
    replay = client.post("/oauth/token", data=form)
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"


def test_consent_approval_fault_is_a_503_page_and_no_code(
    app: Flask, client: Any, authz_login: Any, user: Any, authz_client: Any,
    faults: FaultInjector,
) -> None:
    authz_login(client, user)
    form: dict[str, str] = {}

    def open_consent_page() -> None:
        page = client.get("/oauth/authorize?client_id=" + authz_client.client.id
                          + "&response_type=code&scope=check-status&redirect_uri=" + REDIRECT)
        form.clear()
        form.update(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                               page.get_data(as_text=True)))

    sent = lambda: client.post("/oauth/authorize", data=form | {"approve": "Authorize"})  # noqa: E731
    assert sweep(app, faults, sent, prepare=open_consent_page, json_body=False,
                 ok=lambda r: r.status_code == 302 and "code=" in r.headers["Location"]) >= 1


# -- rotating and revoking ----------------------------------------------------------------------


def test_refresh_rotation_is_all_or_nothing(
    app: Flask, client: Any, password_client: Any, user: Any, faults: FaultInjector
) -> None:
    pair = password_token(client, password_client, user)
    form = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"],
            "client_id": password_client.client.id, "client_secret": password_client.secret}
    # A fault after the conditional UPDATE must not leave the token spent with no successor
    # (the client would be logged out) nor a successor without the old token spent.
    assert sweep(app, faults, lambda: client.post("/oauth/token", data=form)) >= 5


def test_revocation_fault_is_a_retryable_503(
    app: Flask, client: Any, password_client: Any, user: Any, faults: FaultInjector
) -> None:
    pair = password_token(client, password_client, user)
    headers = basic(password_client.client.id, password_client.secret)
    send = lambda: client.post("/oauth/revoke", data={"token": pair["refresh_token"]},  # noqa: E731
                               headers=headers)
    assert sweep(app, faults, send) >= 3
    with app.app_context():
        m = app.extensions["passport"].models
        assert db.session.scalar(sa.select(sa.func.count()).select_from(m.RefreshToken).where(
            m.RefreshToken.revoked.is_(False))) == 0


def test_introspection_fault_is_a_503(
    app: Flask, client: Any, password_client: Any, user: Any, faults: FaultInjector
) -> None:
    pair = password_token(client, password_client, user)
    rs = new_client(app, "client_credentials", name="rs", grant_types=["introspect"])
    send = lambda: client.post("/oauth/introspect", data={"token": pair["access_token"]},  # noqa: E731
                               headers=basic(rs.client.id, rs.secret))
    assert sweep(app, faults, send, ok=lambda r: r.status_code == 200 and r.json["active"]) >= 2


def test_personal_token_api_faults_are_503_json(
    app: Flask, client: Any, user: Any, personal_client: Any, faults: FaultInjector
) -> None:
    headers = login(client, user)
    create = lambda: client.post("/oauth/personal-access-tokens",  # noqa: E731
                                 json={"name": "cli", "scopes": []}, headers=headers)
    assert sweep(app, faults, create, ok=lambda r: r.status_code == 201) >= 1
    token_id = client.get("/oauth/personal-access-tokens").json[0]["id"]
    delete = lambda: client.delete(f"/oauth/personal-access-tokens/{token_id}",  # noqa: E731
                                   headers=headers)
    assert sweep(app, faults, delete, ok=lambda r: r.status_code == 204) >= 1


# -- the COMMIT fails; the PostgreSQL backend dies mid-request ------------------------------------


@pytest.mark.parametrize("grant", ["client_credentials", "refresh_token"])
def test_a_failing_commit_writes_nothing(
    app: Flask, client: Any, password_client: Any, machine_client: Any, user: Any,
    faults: FaultInjector, grant: str,
) -> None:
    if grant == "client_credentials":
        form = {"grant_type": grant, "client_id": machine_client.client.id,
                "client_secret": machine_client.secret}
    else:
        pair = password_token(client, password_client, user)
        form = {"grant_type": grant, "refresh_token": pair["refresh_token"],
                "client_id": password_client.client.id, "client_secret": password_client.secret}
    assert sweep(app, faults, lambda: client.post("/oauth/token", data=form), mode="commit") == 1


ON_POSTGRES = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not PG_URL, reason="pg_terminate_backend needs PostgreSQL: set "
                       "PASSPORT_TEST_DATABASE_URL"),
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]


@ON_POSTGRES[0]
@ON_POSTGRES[1]
@ON_POSTGRES[2]
@pytest.mark.parametrize("at", [1, 3, 6])
def test_backend_terminated_mid_rotation(
    app: Flask, client: Any, password_client: Any, user: Any, faults: FaultInjector,
    backend: str, at: int,
) -> None:
    """``pg_terminate_backend`` on the request's own connection before its ``at``-th statement:
    a 503, nothing written, and the pool replaces the dead connection for the next request."""
    pair = password_token(client, password_client, user)
    form = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"],
            "client_id": password_client.client.id, "client_secret": password_client.secret}
    before = snapshot(app)
    with faults.fail(at, "terminate") as armed:
        resp = client.post("/oauth/token", data=form)
    assert armed.fired
    assert_clean_503(resp)
    assert snapshot(app) == before
    retry = client.post("/oauth/token", data=form)
    assert retry.status_code == 200, retry.json


@ON_POSTGRES[0]
@ON_POSTGRES[1]
@ON_POSTGRES[2]
def test_backend_terminated_mid_code_exchange(
    app: Flask, client: Any, authz_login: Any, user: Any, authz_client: Any,
    faults: FaultInjector, backend: str,
) -> None:
    authz_login(client, user)
    code = consent_code(client, authz_client.client.id)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": authz_client.client.id, "client_secret": authz_client.secret}
    assert sweep(app, faults, lambda: client.post("/oauth/token", data=form),
                 mode="terminate") == 1


# -- keys and configuration ------------------------------------------------------------------------


def _keyless_app(app_config: dict[str, Any], tmp_path: Path, **config: Any) -> Flask:
    config = {**app_config, "PASSPORT_PRIVATE_KEY": None, "PASSPORT_KEY_PATH": str(tmp_path),
              **config}
    built = make_app(config)
    with built.app_context():
        db.create_all()
    return built


@pytest.mark.parametrize("case", ["missing", "malformed", "mismatched", "unreadable"])
def test_missing_or_broken_keys_give_a_clear_message_and_no_row(
    app: Flask, app_config: dict[str, Any], tmp_path: Path, case: str,
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PASSPORT_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("PASSPORT_PUBLIC_KEY", raising=False)
    extra: dict[str, Any] = {}
    expected = {
        "missing": "were not found",
        "malformed": "not a readable unencrypted PEM key",
        "mismatched": "are not one pair",
        "unreadable": "cannot be read",
    }[case]
    if case == "malformed":
        extra["PASSPORT_PRIVATE_KEY"] = "-----BEGIN PRIVATE KEY-----\nnot a key\n"
    elif case == "mismatched":
        one, other = (keys_mod.generate_private_key("EC") for _ in range(2))
        extra["PASSPORT_PRIVATE_KEY"] = keys_mod.private_pem(one).decode()
        extra["PASSPORT_PUBLIC_KEY"] = keys_mod.public_pem(other).decode()
    elif case == "unreadable":
        (tmp_path / keys_mod.PRIVATE_KEY_FILE).mkdir()  # unreadable as a file, even for root
    built = _keyless_app(app_config, tmp_path, **extra)
    add_routes(built)
    mc = new_client(built, "client_credentials")
    http = built.test_client()
    with caplog.at_level("ERROR", logger="flask_passport"):
        resp = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                               "client_id": mc.client.id,
                                               "client_secret": mc.secret})
        protected = http.get("/t/status", headers=bearer("a.b.c"))
    assert resp.status_code == 500 and resp.json["error"] == "server_error"
    assert "flask passport keys" in resp.json["error_description"]
    assert protected.status_code == 500 and "flask passport keys" in protected.json[
        "error_description"]
    # The operator's log names the precise problem and what to do about it.
    assert any(expected in r.getMessage() for r in caplog.records), [
        r.getMessage() for r in caplog.records]
    with built.app_context():
        m = built.extensions["passport"].models
        assert db.session.scalar(sa.select(sa.func.count()).select_from(m.AccessToken)) == 0
    with pytest.raises(KeyLoadError, match=expected), built.app_context():
        built.extensions["passport"].keys()


@pytest.mark.parametrize(("key", "value", "message"), [
    ("PASSPORT_ACCESS_TOKEN_LIFETIME", "soon",
     "PASSPORT_ACCESS_TOKEN_LIFETIME must be a timedelta or a number of seconds"),
    ("PASSPORT_REFRESH_TOKEN_LIFETIME", -5, "PASSPORT_REFRESH_TOKEN_LIFETIME must be positive"),
    ("PASSPORT_REFRESH_TOKEN_REUSE_GRACE", -1, "PASSPORT_REFRESH_TOKEN_REUSE_GRACE must be 0"),
    ("PASSPORT_LEEWAY", "a while", "PASSPORT_LEEWAY must be a whole number of seconds"),
])
def test_a_broken_setting_fails_at_start_up_naming_the_key(
    app_config: dict[str, Any], key: str, value: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make_app({**app_config, key: value})


# -- protected routes ------------------------------------------------------------------------------


def test_protected_route_database_fault_is_a_503_not_a_401(
    app: Flask, client: Any, password_client: Any, user: Any, faults: FaultInjector
) -> None:
    """The token row (or the token's user) cannot be read: retry later, not "invalid token"."""
    add_routes(app)
    pair = password_token(client, password_client, user)
    send = lambda: client.get("/t/me", headers=bearer(pair["access_token"]))  # noqa: E731
    # One statement: the token row joined with its client and its user.
    assert sweep(app, faults, send) == 1

    from conftest import User

    @app.login_manager.user_loader
    def load_by_query(user_id: str) -> Any:
        # A loader with its own query (the identity map can't answer it): a second statement,
        # whose failure must be a 503 as well.
        return db.session.scalars(sa.select(User).where(User.id == int(user_id))).first()

    assert sweep(app, faults, send) == 2
