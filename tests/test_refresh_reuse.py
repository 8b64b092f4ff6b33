"""Refresh-token rotation and reuse detection (RFC 9700 §4.14.2), under real concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from conftest import db, make_app, new_client
from flask import Flask
from standards_support import add_routes, basic, bearer, password_token, refresh

from flask_passport import signals


def _family_live(app: Flask, family_id: str | None = None) -> list[Any]:
    with app.app_context():
        RefreshToken = app.extensions["passport"].models.RefreshToken
        rows = db.session.query(RefreshToken).filter(RefreshToken.revoked.is_(False)).all()
        return [r.id for r in rows if family_id is None or r.family_id == family_id]


def test_reuse_of_a_rotated_token_revokes_the_family(app: Flask, client: Any,
                                                     password_client: Any, user: Any) -> None:
    add_routes(app)
    first = password_token(client, password_client, user)
    second = refresh(client, password_client, first["refresh_token"]).json
    reused: list[dict[str, Any]] = []
    with signals.refresh_token_reused.connected_to(lambda s, **kw: reused.append(kw)):
        replay = refresh(client, password_client, first["refresh_token"])
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    assert len(reused) == 1 and reused[0]["family_id"] == first["refresh_token"].split(".")[0]
    # The legitimate successor dies with the family.
    assert refresh(client, password_client, second["refresh_token"]).status_code == 400
    assert client.get("/t/me", headers=bearer(second["access_token"])).status_code == 401
    assert _family_live(app) == []


def test_a_token_revoked_by_the_client_is_not_reuse(app: Flask, client: Any,
                                                    password_client: Any, user: Any) -> None:
    tok = password_token(client, password_client, user)
    client.post("/oauth/revoke", data={"token": tok["refresh_token"]},
                headers=basic(password_client.client.id, password_client.secret))
    reused: list[Any] = []
    with signals.refresh_token_reused.connected_to(lambda s, **kw: reused.append(kw)):
        assert refresh(client, password_client, tok["refresh_token"]).status_code == 400
    assert reused == []


def test_another_client_cannot_use_or_burn_a_refresh_token(
    app: Flask, client: Any, password_client: Any, user: Any
) -> None:
    tok = password_token(client, password_client, user)
    thief = new_client(app, "password", name="thief")
    stolen = refresh(client, thief, tok["refresh_token"])
    assert stolen.status_code == 400 and stolen.json["error"] == "invalid_grant"
    assert refresh(client, password_client, tok["refresh_token"]).status_code == 200


def _grace_app(app_config: dict[str, Any], seconds: int) -> Flask:
    return make_app({**app_config, "PASSPORT_REFRESH_TOKEN_REUSE_GRACE": seconds})


def test_grace_period_protects_only_the_immediate_predecessor(
    app_config: dict[str, Any], app: Flask, user: Any
) -> None:
    graced = _grace_app(app_config, 30)
    http = graced.test_client()
    pc = new_client(graced, "password")
    r1 = password_token(http, pc, user)
    r2 = refresh(http, pc, r1["refresh_token"]).json
    # The response carrying r2 was "lost": r1 again, within the grace period, works once.
    retry = refresh(http, pc, r1["refresh_token"])
    assert retry.status_code == 200, retry.json
    r3 = retry.json
    # r2 (never received) is now dead, and presenting it counts as reuse.
    assert refresh(http, pc, r2["refresh_token"]).status_code == 400
    assert refresh(http, pc, r3["refresh_token"]).status_code == 400  # family revoked
    assert _family_live(graced) == []


def test_grace_never_applies_to_older_ancestors_or_a_third_try(
    app_config: dict[str, Any], app: Flask, user: Any
) -> None:
    graced = _grace_app(app_config, 30)
    http = graced.test_client()
    pc = new_client(graced, "password")
    r1 = password_token(http, pc, user)
    r2 = refresh(http, pc, r1["refresh_token"]).json
    r3 = refresh(http, pc, r2["refresh_token"]).json
    assert refresh(http, pc, r1["refresh_token"]).status_code == 400  # grandparent: reuse
    assert refresh(http, pc, r3["refresh_token"]).status_code == 400
    # A second lost-response retry: allowed once, the third presentation is reuse.
    s1 = password_token(http, pc, user)
    refresh(http, pc, s1["refresh_token"])
    assert refresh(http, pc, s1["refresh_token"]).status_code == 200
    assert refresh(http, pc, s1["refresh_token"]).status_code == 400


def test_grace_never_honours_a_revoked_family(app_config: dict[str, Any], app: Flask,
                                              user: Any) -> None:
    graced = _grace_app(app_config, 30)
    http = graced.test_client()
    pc = new_client(graced, "password")
    r1 = password_token(http, pc, user)
    r2 = refresh(http, pc, r1["refresh_token"]).json
    http.post("/oauth/revoke", data={"token": r2["refresh_token"]},
              headers=basic(pc.client.id, pc.secret))
    assert refresh(http, pc, r1["refresh_token"]).status_code == 400
    assert _family_live(graced) == []


def test_no_grace_by_default(app: Flask, client: Any, password_client: Any, user: Any) -> None:
    r1 = password_token(client, password_client, user)
    refresh(client, password_client, r1["refresh_token"])
    assert refresh(client, password_client, r1["refresh_token"]).status_code == 400
    assert _family_live(app) == []


def _race(app: Flask, n: int, call: Callable[[Any, int], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        http = app.test_client()
        barrier.wait(timeout=30)
        results[i] = call(http, i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_parallel_rotation_has_exactly_one_winner(app: Flask, password_client: Any,
                                                  user: Any) -> None:
    tok = password_token(app.test_client(), password_client, user)
    results = _race(app, 6, lambda http, _i: refresh(http, password_client, tok["refresh_token"]))
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 1, codes
    assert all(c in (200, 400, 503) for c in codes), codes
    # The winner's token is the one live token of the family.
    winner = next(r for r in results if r.status_code == 200).json
    live = _family_live(app)
    assert len(live) in (0, 1)
    if live:
        assert live == [winner["refresh_token"].split(".")[0]]


def test_parallel_reuse_revokes_the_whole_family(app: Flask, password_client: Any,
                                                 user: Any) -> None:
    """An attacker replays a rotated token from several connections while the owner refreshes."""
    http = app.test_client()
    r1 = password_token(http, password_client, user)
    r2 = refresh(http, password_client, r1["refresh_token"]).json

    def call(client: Any, i: int) -> Any:
        token = r2["refresh_token"] if i == 0 else r1["refresh_token"]
        return refresh(client, password_client, token)

    results = _race(app, 5, call)
    assert all(r.status_code in (200, 400, 503) for r in results)
    # Whatever the interleaving, at the end nothing of the family is alive.
    assert _family_live(app) == []
    for r in results:
        if r.status_code == 200:
            assert refresh(http, password_client, r.json["refresh_token"]).status_code == 400
