"""Rate limiting of the token endpoint (per IP, per client), the password-grant lockout, the
start-up warning without the extra, and one limit shared by two processes through Redis."""

from __future__ import annotations

import configparser
import logging
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import db, make_app, new_client
from flask import Flask
from helpers import app_processes
from limits.storage import MemoryStorage
from standards_support import basic

REDIS_URL = "redis://127.0.0.1:6379/0"


def _limited(app_config: dict[str, Any], **limits: Any) -> Flask:
    config = {**app_config, "PASSPORT_RATELIMIT_PER_IP": None,
              "PASSPORT_RATELIMIT_PER_CLIENT": None, "PASSPORT_RATELIMIT_PASSWORD_FAILURES": None}
    config.update({f"PASSPORT_RATELIMIT_{k.upper()}": v for k, v in limits.items()})
    return make_app(config)


def _bogus(http: Any, client_id: str = "nobody") -> Any:
    return http.post("/oauth/token", data={"grant_type": "client_credentials"},
                     headers=basic(client_id, "wrong"))


def _assert_429(resp: Any) -> None:
    assert resp.status_code == 429
    assert resp.json["error"] == "too_many_requests"
    assert "error_description" in resp.json
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.headers["Cache-Control"] == "no-store"


def test_per_ip_limit(app_config: dict[str, Any], app: Flask) -> None:
    limited = _limited(app_config, per_ip="3/minute")
    http = limited.test_client()
    assert [_bogus(http).status_code for _ in range(3)] == [401, 401, 401]
    _assert_429(_bogus(http))
    # Another address has its own budget; GETs and other routes are not limited.
    other = http.post("/oauth/token", data={}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code != 429
    assert http.get("/oauth/token").status_code == 405
    assert http.get("/.well-known/jwks.json").status_code == 200


def test_consent_post_is_limited_per_ip(app_config: dict[str, Any], app: Flask) -> None:
    """``POST /oauth/authorize`` (the consent decision) counts like the token endpoint."""
    limited = _limited(app_config, per_ip="2/minute")
    http = limited.test_client()
    assert [http.post("/oauth/authorize", data={}).status_code != 429 for _ in range(2)] == [
        True, True]
    _assert_429(http.post("/oauth/authorize", data={}))
    # GET (the consent page itself) is not limited.
    assert http.get("/oauth/authorize").status_code != 429


def test_per_client_limit(app_config: dict[str, Any], app: Flask) -> None:
    limited = _limited(app_config, per_client="2/minute")
    http = limited.test_client()
    mc = new_client(limited, "client_credentials")
    data = {"grant_type": "client_credentials"}
    for _ in range(2):
        assert http.post("/oauth/token", data=data,
                         headers=basic(mc.client.id, mc.secret)).status_code == 200
    _assert_429(http.post("/oauth/token", data=data, headers=basic(mc.client.id, mc.secret)))
    # Body credentials count against the same client.
    _assert_429(http.post("/oauth/token", data={**data, "client_id": mc.client.id,
                                                "client_secret": mc.secret}))
    other = new_client(limited, "client_credentials")
    assert http.post("/oauth/token", data=data,
                     headers=basic(other.client.id, other.secret)).status_code == 200


def test_password_failures_lock_out_the_username(app_config: dict[str, Any], app: Flask,
                                                 user: Any) -> None:
    limited = _limited(app_config, password_failures="3/minute")
    http = limited.test_client()
    pc = new_client(limited, "password")

    def attempt(username: str, password: str) -> Any:
        return http.post("/oauth/token", data={
            "grant_type": "password", "username": username, "password": password,
            "client_id": pc.client.id, "client_secret": pc.secret})

    # Successes never count.
    for _ in range(4):
        assert attempt(user.email, "secret-password").status_code == 200
    for _ in range(3):
        assert attempt(user.email.upper(), "wrong").status_code == 400
    locked = attempt(user.email, "secret-password")
    _assert_429(locked)
    assert "sign-in attempts" in locked.json["error_description"]
    # Another username is unaffected.
    assert attempt("someone@example.com", "wrong").status_code == 400


def test_disabled_by_configuration(app_config: dict[str, Any], app: Flask) -> None:
    off = make_app({**app_config, "PASSPORT_RATELIMIT_ENABLED": "false",
                    "PASSPORT_RATELIMIT_PER_IP": "1/minute"})
    http = off.test_client()
    assert [_bogus(http).status_code for _ in range(3)] == [401, 401, 401]


def test_limits_work_out_of_the_box_per_app(app_config: dict[str, Any], app: Flask) -> None:
    """No extra, no setting: every app gets its own in-memory counters."""
    plain = make_app(app_config)
    limiter = plain.extensions["passport"].rate_limiter
    assert isinstance(limiter.storage, MemoryStorage)
    first, second = (_limited(app_config, per_ip="1/minute") for _ in range(2))
    assert first.extensions["passport"].rate_limiter.storage is not (
        second.extensions["passport"].rate_limiter.storage)
    assert _bogus(first.test_client()).status_code == 401
    _assert_429(_bogus(first.test_client()))
    # The second app in this process has not counted the first one's requests.
    assert _bogus(second.test_client()).status_code == 401


def test_limits_is_a_core_dependency_and_no_extra_installs_flask_limiter() -> None:
    setup = configparser.ConfigParser()
    setup.read(Path(__file__).parent.parent / "setup.cfg")
    required = setup["options"]["install_requires"].split()
    assert any(line.startswith("limits>=") for line in required)
    for extra, packages in setup["options.extras_require"].items():
        assert "flask-limiter" not in packages.lower(), extra


def test_flask_help_prints_no_warning() -> None:
    """The rate limits need nothing optional, so no command (``--help`` included) warns."""
    root = Path(__file__).parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONWARNINGS": "default"}
    env = {k: v for k, v in env.items() if not k.startswith("PASSPORT_RATELIMIT_")}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "example_app", "--help"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "passport" in done.stdout  # the app loaded: its command group is listed
    assert done.stderr == ""


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the test Redis; its keys are deleted afterwards."""
    redis = pytest.importorskip("redis")
    prefix = f"passport-test-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_two_processes_share_one_limit_through_redis(
    app_config: dict[str, Any], app: Flask, redis_prefix: str
) -> None:
    config = {**app_config, "PASSPORT_RATELIMIT_STORAGE_URI": REDIS_URL,
              "PASSPORT_RATELIMIT_KEY_PREFIX": redis_prefix,
              "PASSPORT_RATELIMIT_PER_IP": "5/minute", "PASSPORT_RATELIMIT_PER_CLIENT": None}
    with app_processes(config) as ports:
        codes = [_token_status(ports[i % 2]) for i in range(7)]
    # Five requests in total across both processes, then both refuse.
    assert codes == [401] * 5 + [429, 429]


def _token_status(port: int) -> int:
    resp = requests.post(f"http://127.0.0.1:{port}/oauth/token",
                         data={"grant_type": "client_credentials"},
                         auth=("nobody", "wrong"), timeout=10)
    if resp.status_code == 429:
        assert resp.json()["error"] == "too_many_requests"
        assert int(resp.headers["Retry-After"]) >= 1
    return resp.status_code


def test_unusable_storage_is_a_clear_start_up_error(app_config: dict[str, Any],
                                                    app: Flask) -> None:
    with pytest.raises(RuntimeError, match="PASSPORT_RATELIMIT_STORAGE_URI"):
        make_app({**app_config, "PASSPORT_RATELIMIT_STORAGE_URI": "nosuchstore://x"})
    with pytest.raises(ValueError, match="PASSPORT_RATELIMIT_STRATEGY"):
        make_app({**app_config, "PASSPORT_RATELIMIT_STRATEGY": "random"})


def test_storage_outage_fails_open(app_config: dict[str, Any], app: Flask,
                                   caplog: pytest.LogCaptureFixture) -> None:
    """Redis down: tokens are still issued (an AS outage is every API's outage), loudly."""
    down = _limited(app_config, per_ip="1/minute", storage_uri="redis://127.0.0.1:1/0")
    http = down.test_client()
    with caplog.at_level(logging.ERROR, logger="flask_passport"):
        codes = [_bogus(http).status_code for _ in range(2)]
    assert codes == [401, 401]
    assert "rate-limit storage error" in caplog.text


# -- the password lockout counts before it checks -----------------------------------------------

GUESSES = 50
LIMIT = 5
RIGHT = "secret-password"


class Burst:
    """Guesses sent all at once; the check under test calls :meth:`hold`, which keeps each
    admitted guess inside the check until the burst ends, so none is counted as failed while
    the others arrive (the widest race a check-then-count limiter can lose)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked: list[str] = []
        self.answered: list[int] = []
        self.release = threading.Event()

    def hold(self, value: str, *, wait: bool = True) -> None:
        with self.lock:
            self.checked.append(value)
        if wait:
            self.release.wait(timeout=60)

    @contextmanager
    def running(self, count: int, guess: Callable[[int], int]) -> Iterator[None]:
        """Start ``count`` guesses; the block runs once each is answered or held."""
        barrier = threading.Barrier(count)

        def run(i: int) -> None:
            barrier.wait()
            status = guess(i)
            with self.lock:
                self.answered.append(status)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with self.lock:
                    if len(self.checked) + len(self.answered) >= count:
                        break
                time.sleep(0.01)
            yield
        finally:
            self.release.set()
            for thread in threads:
                thread.join(timeout=60)


def _pooled(app_config: dict[str, Any], connections: int) -> dict[str, Any]:
    """``app_config`` with a connection for every request in flight (none waits on the pool)."""
    options = {**app_config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), "pool_size": connections + 4,
               "max_overflow": 0, "pool_timeout": 60}
    return {**app_config, "SQLALCHEMY_ENGINE_OPTIONS": options}


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_parallel_password_guesses_evaluate_at_most_the_limit(
    app_config: dict[str, Any], app: Flask, user: Any, storage: str,
    request: pytest.FixtureRequest
) -> None:
    """50 wrong guesses at once evaluate at most ``LIMIT`` passwords, and the right password,
    sent while the admitted guesses are still being checked, is refused (RFC 6749 §4.3.2)."""
    extra = ({"storage_uri": REDIS_URL, "key_prefix": request.getfixturevalue("redis_prefix")}
             if storage == "redis" else {})
    limited = _limited(_pooled(app_config, GUESSES), password_failures=f"{LIMIT}/15minutes",
                       **extra)
    pc = new_client(limited, "password")
    burst = Burst()

    @limited.extensions["passport"].passport.password_validator
    def held_check(found: Any, password: str) -> bool:
        burst.hold(password, wait=password != RIGHT)
        return found is not None and bool(found.check_password(password))

    def attempt(password: str) -> Any:
        return limited.test_client().post("/oauth/token", data={
            "grant_type": "password", "username": user.email, "password": password,
            "client_id": pc.client.id, "client_secret": pc.secret})

    try:
        with burst.running(GUESSES, lambda i: attempt(f"wrong-{i}").status_code):
            right_in_flight = attempt(RIGHT)
    finally:
        with limited.app_context():
            db.engine.dispose()  # its pool holds a connection per guess
    wrong_checked = [password for password in burst.checked if password != RIGHT]
    assert (len(wrong_checked), RIGHT in burst.checked, right_in_flight.status_code) == (
        LIMIT, False, 429)
    assert sorted(burst.answered) == [400] * LIMIT + [429] * (GUESSES - LIMIT)
    _assert_429(right_in_flight)
    # The budget stays used up for the window: the right password is still refused unchecked.
    _assert_429(attempt(RIGHT))
    assert RIGHT not in burst.checked


def test_parallel_user_codes_are_looked_up_at_most_the_limit(
    app_config: dict[str, Any], app: Flask, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 8628 §5.1: 30 wrong user codes entered at once by one user look up at most 10."""
    from flask_login import login_user

    from flask_passport.oauth2 import device as device_flow

    entries, limit = 30, 10
    limited = _limited(_pooled(app_config, entries), user_code_failures=f"{limit}/15minutes")

    @limited.post("/test-login")
    def test_login() -> str:
        login_user(db.session.get(type(user), user.id))
        return "signed in"

    burst = Burst()
    real_lookup = device_flow.find_for_entry

    def held_lookup(ctx: Any, value: str | None, user_id: str) -> Any:
        burst.hold(value or "")
        return real_lookup(ctx, value, user_id)

    monkeypatch.setattr(device_flow, "find_for_entry", held_lookup)

    def enter(i: int) -> int:
        browser = limited.test_client()
        assert browser.post("/test-login").status_code == 200
        page = browser.get("/oauth/device").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', page)
        assert csrf is not None
        return browser.post("/oauth/device", data={
            "csrf_token": csrf.group(1), "user_code": "BCDF-GHJK"}).status_code

    try:
        with burst.running(entries, enter):
            pass
    finally:
        with limited.app_context():
            db.engine.dispose()
    assert (len(burst.checked), sorted(burst.answered)) == (
        limit, [400] * limit + [429] * (entries - limit))


def test_a_refund_never_credits_an_expired_window(app_config: dict[str, Any], app: Flask) -> None:
    limiter = _limited(app_config, password_failures="2/minute").extensions[
        "passport"].rate_limiter
    limiter.password_refund("nobody@example.com")  # nothing counted: nothing to hand back
    assert limiter.password_attempt("nobody@example.com") is None
    assert limiter.password_attempt("NOBODY@example.com ") is None
    assert limiter.password_attempt("nobody@example.com") is not None


# -- the per-client limit counts authenticated clients only -------------------------------------


def test_junk_naming_a_client_does_not_use_up_its_budget(
    app_config: dict[str, Any], app: Flask, user: Any
) -> None:
    """60 requests that merely name a client (wrong secret; a public client with a bad refresh
    token) leave that client's limit alone; they count against their own address."""
    limited = _limited(app_config, per_client="60/minute", per_ip="120/minute")
    http = limited.test_client()
    mc = new_client(limited, "client_credentials")
    public = new_client(limited, "public", grant_types=["password", "refresh_token"])
    attacker = {"REMOTE_ADDR": "10.6.6.6"}
    for _ in range(60):
        assert http.post("/oauth/token", data={"grant_type": "client_credentials"},
                         headers=basic(mc.client.id, "wrong"),
                         environ_base=attacker).status_code == 401
        assert http.post("/oauth/token", data={
            "grant_type": "refresh_token", "client_id": public.client.id,
            "refresh_token": "junk"}, environ_base=attacker).status_code == 400
    # Their own address has used up its 120 requests.
    _assert_429(http.post("/oauth/token", data={"grant_type": "client_credentials"},
                          headers=basic(mc.client.id, mc.secret), environ_base=attacker))
    # The clients themselves, from their own addresses, are not slowed down.
    assert http.post("/oauth/token", data={"grant_type": "client_credentials"},
                     headers=basic(mc.client.id, mc.secret)).status_code == 200
    issued = http.post("/oauth/token", data={
        "grant_type": "password", "client_id": public.client.id, "username": user.email,
        "password": RIGHT})
    assert issued.status_code == 200, issued.json
    assert http.post("/oauth/token", data={
        "grant_type": "refresh_token", "client_id": public.client.id,
        "refresh_token": issued.json["refresh_token"]}).status_code == 200


def test_public_client_is_counted_once_its_grant_proves_it(
    app_config: dict[str, Any], app: Flask, user: Any
) -> None:
    """Over the limit, the grant is rolled back: the refresh token still works afterwards."""
    limited = _limited(app_config, per_client="2/minute")
    http = limited.test_client()
    public = new_client(limited, "public", grant_types=["password", "refresh_token"])
    sign_in = {"grant_type": "password", "client_id": public.client.id,
               "username": user.email, "password": RIGHT}
    tokens = [http.post("/oauth/token", data=sign_in) for _ in range(2)]
    assert [t.status_code for t in tokens] == [200, 200]
    renew = {"grant_type": "refresh_token", "client_id": public.client.id,
             "refresh_token": tokens[0].json["refresh_token"]}
    _assert_429(http.post("/oauth/token", data=renew))
    limited.extensions["passport"].rate_limiter.reset()  # the next window
    assert http.post("/oauth/token", data=renew).status_code == 200
