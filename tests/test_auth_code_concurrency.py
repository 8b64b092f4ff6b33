"""Twenty parallel exchanges of one code yield exactly one token (conditional UPDATE)."""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

REDIRECT = "https://app.example.com/callback"
PARALLEL = 20


@pytest.fixture
def app_config(app_config: dict[str, Any], backend: str) -> dict[str, Any]:
    config = dict(app_config)
    if backend == "postgresql":
        options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.update(pool_size=PARALLEL + 2, max_overflow=0)
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    else:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    return config


def test_parallel_exchanges_yield_exactly_one_token(app: Flask, client: Any, authz_login: Any,
                                                    user: Any, authz_client: Any,
                                                    backend: str) -> None:
    authz_login(client, user)
    page = client.get("/oauth/authorize?" + urlencode({
        "client_id": authz_client.client.id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "check-status"}))
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                             page.get_data(as_text=True)))
    location = client.post("/oauth/authorize", data=fields | {"approve": "1"}).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]

    barrier = threading.Barrier(PARALLEL)
    results: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def redeem() -> None:
        test_client = app.test_client()
        barrier.wait(timeout=30)
        resp = test_client.post("/oauth/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": authz_client.client.id, "client_secret": authz_client.secret})
        with lock:
            results.append((resp.status_code, resp.json))

    threads = [threading.Thread(target=redeem) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == PARALLEL
    winners = [body for status, body in results if status == 200]
    losers = [body for status, body in results if status != 200]
    assert len(winners) == 1, results
    assert {body["error"] for body in losers} <= {"invalid_grant", "temporarily_unavailable"}
    assert all(status < 500 or status == 503 for status, _ in results)
    if backend == "postgresql":
        # Row locks make every loser wait for the winner, then see the code used.
        assert {body["error"] for body in losers} == {"invalid_grant"}
    with app.app_context():
        state = app.extensions["passport"]
        count = state.db.session.scalar(sa.select(sa.func.count()).select_from(
            state.models.AccessToken))
        assert count == 1
        # Losing the race is a replay: the winner's token is revoked (RFC 6749 §4.1.2), so
        # an attacker who races the real client does not keep a working token.
        if {body["error"] for body in losers} == {"invalid_grant"}:
            token = state.db.session.scalars(sa.select(state.models.AccessToken)).one()
            assert token.revoked is True
