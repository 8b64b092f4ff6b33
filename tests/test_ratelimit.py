"""Rate limiting of the token endpoint (per IP, per client), the password-grant lockout, the
start-up warning without the extra, and one limit shared by two processes through Redis."""

from __future__ import annotations

import builtins
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import make_app, new_client
from flask import Flask
from helpers import app_processes
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


def test_missing_extra_logs_a_warning_and_does_not_crash(
    app_config: dict[str, Any], app: Flask, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real_import = builtins.__import__

    def no_limits(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "limits" or name.startswith("limits."):
            raise ImportError("No module named 'limits'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_limits)
    with caplog.at_level(logging.WARNING, logger="flask_passport"):
        unlimited = _limited(app_config, per_ip="1/minute")
    monkeypatch.undo()
    assert "flask-passport[ratelimit]" in caplog.text
    http = unlimited.test_client()
    assert [_bogus(http).status_code for _ in range(3)] == [401, 401, 401]


def test_two_processes_share_one_limit_through_redis(
    app_config: dict[str, Any], app: Flask, tmp_path: Path
) -> None:
    redis = pytest.importorskip("redis")
    prefix = f"passport-test-{uuid.uuid4().hex}"
    config = {**app_config, "PASSPORT_RATELIMIT_STORAGE_URI": REDIS_URL,
              "PASSPORT_RATELIMIT_KEY_PREFIX": prefix, "PASSPORT_RATELIMIT_PER_IP": "5/minute",
              "PASSPORT_RATELIMIT_PER_CLIENT": None}
    try:
        with app_processes(config) as ports:
            codes = [_token_status(ports[i % 2]) for i in range(7)]
        # Five requests in total across both processes, then both refuse.
        assert codes == [401] * 5 + [429, 429]
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"*{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


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
