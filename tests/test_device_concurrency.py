"""Many parallel polls of one approved device code yield exactly one token (RFC 8628 §3.5 with
the single-use claim of a conditional UPDATE), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import new_client
from flask import Flask

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PARALLEL = 20


@pytest.fixture
def app_config(app_config: dict[str, Any], backend: str) -> dict[str, Any]:
    config = dict(app_config, PASSPORT_RATELIMIT_ENABLED=False)
    if backend == "postgresql":
        options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.update(pool_size=PARALLEL + 2, max_overflow=0)
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    else:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    return config


def _approved_code(app: Flask, client: Any, authz_login: Any, user: Any) -> tuple[str, str]:
    device = new_client(app, "device", name="Parallel TV")
    cid = device.client.id
    grant = client.post("/oauth/device/code", data={"client_id": cid}).json
    authz_login(client, user)
    page = client.get("/oauth/device").get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found is not None
    csrf = found.group(1)
    consent = client.post("/oauth/device", data={"csrf_token": csrf,
                                                 "user_code": grant["user_code"]})
    key = re.search(r'name="auth_token" type="hidden" value="([^"]+)"',  # type: ignore[union-attr]
                    consent.get_data(as_text=True)).group(1)
    done = client.post("/oauth/device/decide", data={"csrf_token": csrf, "auth_token": key,
                                                     "approve": "1"})
    assert done.status_code == 200
    return cid, grant["device_code"]


def _poll_in_parallel(app: Flask, cid: str, code: str) -> list[tuple[int, dict[str, Any]]]:
    barrier = threading.Barrier(PARALLEL)
    results: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def poll() -> None:
        test_client = app.test_client()
        barrier.wait(timeout=30)
        resp = test_client.post("/oauth/token", data={"grant_type": GRANT, "device_code": code,
                                                      "client_id": cid})
        with lock:
            results.append((resp.status_code, resp.json))

    threads = [threading.Thread(target=poll) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert len(results) == PARALLEL
    return results


def _token_count(app: Flask) -> int:
    with app.app_context():
        state = app.extensions["passport"]
        return int(state.db.session.scalar(sa.select(sa.func.count()).select_from(
            state.models.AccessToken)))


@pytest.mark.parametrize("interval", [0, 5])
def test_parallel_polls_of_an_approved_code_yield_one_token(
    app: Flask, client: Any, authz_login: Any, user: Any, backend: str, interval: int
) -> None:
    """interval=0 sends every poll to the single-use claim; interval=5 also races the poll
    bookkeeping (the losers are told to slow down)."""
    app.config["PASSPORT_DEVICE_CODE_INTERVAL"] = interval
    app.extensions["passport"].reload_settings()  # re-read the changed config
    cid, code = _approved_code(app, client, authz_login, user)
    results = _poll_in_parallel(app, cid, code)
    winners = [body for status, body in results if status == 200]
    losers = [body for status, body in results if status != 200]
    assert len(winners) == 1, results
    assert "access_token" in winners[0]
    allowed = {"invalid_grant", "temporarily_unavailable"}
    if interval:
        allowed.add("slow_down")
    assert {body["error"] for body in losers} <= allowed, losers
    assert all(status < 500 or status == 503 for status, _ in results)
    if backend == "postgresql":
        # Row locks make every loser wait for the winner, then see the code used (or polled).
        assert "temporarily_unavailable" not in {body["error"] for body in losers}
        if not interval:
            # Every loser reached the claim and found the code consumed.
            assert {body["error"] for body in losers} == {"invalid_grant"}
    assert _token_count(app) == 1
