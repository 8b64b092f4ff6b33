"""The optional verified-token cache: off by default, bounded, never past a token's expiry,
and revocations made in this process take effect at once."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import Flask, jsonify

from flask_passport import scope
from flask_passport.guard import BearerToken, token_cache
from flask_passport.models import utcnow
from flask_passport.oauth2.revocation import revoke_access_tokens
from flask_passport.token_cache import VerifiedTokenCache


def _token(token_id: str, seconds: float = 600) -> BearerToken:
    return BearerToken(token_id, None, "c", ["a"], utcnow() + timedelta(seconds=seconds))


def test_cache_is_bounded_and_expires() -> None:
    cache = VerifiedTokenCache(ttl=30, size=2)
    cache.put("v1", _token("t1"))
    cache.put("v2", _token("t2"))
    assert cache.get("v1") is not None  # v1 is now the most recently used
    cache.put("v3", _token("t3"))
    assert cache.get("v2") is None and cache.get("v1") is not None and len(cache) == 2
    cache.discard_id("t1")
    assert cache.get("v1") is None
    short = VerifiedTokenCache(ttl=30, size=10)
    short.put("v", _token("t", seconds=0.05))  # the token's own expiry wins over the TTL
    time.sleep(0.1)
    assert short.get("v") is None


def test_off_by_default(app: Flask) -> None:
    assert token_cache(app.extensions["passport"]) is None


def _mint(client: Any, machine_client: Any) -> str:
    resp = client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": machine_client.client.id,
        "client_secret": machine_client.secret})
    assert resp.status_code == 200
    return str(resp.json["access_token"])


def test_revocation_in_process_evicts(app: Flask, client: Any, machine_client: Any) -> None:
    app.config["PASSPORT_TOKEN_CACHE_TTL"] = 60
    state = app.extensions["passport"]
    state.passport._version += 1

    @app.get("/cached")
    @scope("check-status")
    def cached() -> Any:
        return jsonify(ok=True)

    value = _mint(client, machine_client)
    headers = {"Authorization": f"Bearer {value}"}
    assert client.get("/cached", headers=headers).status_code == 200
    assert len(token_cache(state)) == 1  # type: ignore[arg-type]
    with app.test_request_context():
        ctx = state.context()
        token_id = next(iter(token_cache(state)._by_id))  # type: ignore[union-attr]
        revoke_access_tokens(ctx, [token_id], "revoked")
        ctx.commit()  # sends access_token_revoked, which evicts the entry
    resp = client.get("/cached", headers=headers)
    assert resp.status_code == 401
    assert "revoked" in resp.json["error_description"]


def test_revocation_elsewhere_waits_for_the_ttl(app: Flask, client: Any, machine_client: Any
                                                ) -> None:
    """A revocation this process did not see (another worker, raw SQL) is honoured once the
    entry ages out: the documented trade-off."""
    app.config["PASSPORT_TOKEN_CACHE_TTL"] = 0.3
    state = app.extensions["passport"]
    state.passport._version += 1

    @app.get("/cached2")
    @scope("check-status")
    def cached2() -> Any:
        return jsonify(ok=True)

    value = _mint(client, machine_client)
    headers = {"Authorization": f"Bearer {value}"}
    assert client.get("/cached2", headers=headers).status_code == 200
    db = app.extensions["sqlalchemy"]
    with app.app_context():
        db.session.execute(db.update(state.models.AccessToken).values(revoked=True))
        db.session.commit()
    assert client.get("/cached2", headers=headers).status_code == 200  # within the TTL
    time.sleep(0.35)
    assert client.get("/cached2", headers=headers).status_code == 401
