"""RFC 7009 revocation at POST /oauth/revoke: ownership, cascades, signals."""

from __future__ import annotations

import time
from typing import Any

from conftest import make_app, new_client
from flask import Flask
from standards_support import add_routes, basic, bearer, password_token, refresh

from flask_passport import signals


def _revoke(http: Any, c: Any, token: str, hint: str | None = None) -> Any:
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    return http.post("/oauth/revoke", data=data, headers=basic(c.client.id, c.secret))


def test_revoking_access_token_revokes_its_refresh_token(
    app: Flask, client: Any, password_client: Any, user: Any
) -> None:
    add_routes(app)
    tok = password_token(client, password_client, user)
    revoked: list[dict[str, Any]] = []
    refresh_revoked: list[dict[str, Any]] = []
    # connected_to removes only these receivers (the package's own, e.g. the token cache's
    # eviction, must stay connected for later tests).
    with (
        signals.access_token_revoked.connected_to(lambda s, **kw: revoked.append(kw)),
        signals.refresh_token_revoked.connected_to(lambda s, **kw: refresh_revoked.append(kw)),
    ):
        resp = _revoke(client, password_client, tok["access_token"], "access_token")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert client.get("/t/me", headers=bearer(tok["access_token"])).status_code == 401
    assert refresh(client, password_client, tok["refresh_token"]).json["error"] == "invalid_grant"
    assert [r["reason"] for r in revoked] == ["revoked"]
    assert len(refresh_revoked) == 1


def test_revoking_refresh_token_revokes_the_family_and_access_tokens(
    app: Flask, client: Any, password_client: Any, user: Any
) -> None:
    add_routes(app)
    first = password_token(client, password_client, user)
    second = refresh(client, password_client, first["refresh_token"]).json
    # The hint is wrong on purpose: the server must search the other kind too (RFC 7009 §2.1).
    assert _revoke(client, password_client, second["refresh_token"], "access_token").status_code \
        == 200
    assert client.get("/t/me", headers=bearer(second["access_token"])).status_code == 401
    assert refresh(client, password_client, second["refresh_token"]).status_code == 400


def test_cross_client_revocation_is_a_silent_no_op(
    app: Flask, client: Any, password_client: Any, user: Any
) -> None:
    add_routes(app)
    victim = password_token(client, password_client, user)
    attacker = new_client(app, "password", name="attacker")
    for token, hint in ((victim["access_token"], None), (victim["refresh_token"], None),
                        (victim["refresh_token"], "refresh_token")):
        resp = _revoke(client, attacker, token, hint)
        assert resp.status_code == 200  # RFC 7009: no oracle for other clients' tokens
    assert client.get("/t/me", headers=bearer(victim["access_token"])).status_code == 200
    assert refresh(client, password_client, victim["refresh_token"]).status_code == 200


def test_unknown_token_and_bad_requests(app: Flask, client: Any, password_client: Any) -> None:
    assert _revoke(client, password_client, "not-a-token").status_code == 200
    assert _revoke(client, password_client, "a.b.c").status_code == 200
    missing = client.post("/oauth/revoke", data={},
                          headers=basic(password_client.client.id, password_client.secret))
    assert missing.status_code == 400 and missing.json["error"] == "invalid_request"
    wrong = client.post("/oauth/revoke", data={"token": "x"},
                        headers=basic(password_client.client.id, "wrong"))
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    anonymous = client.post("/oauth/revoke", data={"token": "x"})
    assert anonymous.status_code == 401
    get = client.get("/oauth/revoke")
    assert get.status_code == 405 and get.headers["Allow"] == "POST"
    json_body = client.post("/oauth/revoke", json={"token": "x"},
                            headers=basic(password_client.client.id, password_client.secret))
    assert json_body.status_code == 400


def test_public_client_revokes_its_own_token(app: Flask, client: Any, user: Any,
                                             password_client: Any) -> None:
    public = new_client(app, "public")
    # A public client cannot get a password token here; it can still call revoke with its id.
    resp = client.post("/oauth/revoke", data={"token": "unknown", "client_id": public.client.id})
    assert resp.status_code == 200


def test_expired_access_token_revocation_still_revokes_refresh(
    app_config: dict[str, Any], user: Any
) -> None:
    """An expired JWT still names its grant: revoking it must kill the refresh token."""
    short = make_app({**app_config, "PASSPORT_ACCESS_TOKEN_LIFETIME": 1})
    http = short.test_client()
    pc = new_client(short, "password")
    from conftest import User, db

    with short.app_context():
        u = User(email="short@example.com")
        u.set_password("secret-password")
        db.session.add(u)
        db.session.commit()
        u = db.session.get(User, u.id)
        db.session.expunge(u)
    tok = password_token(http, pc, u)
    time.sleep(2.1)
    assert _revoke(http, pc, tok["access_token"]).status_code == 200
    assert refresh(http, pc, tok["refresh_token"]).json["error"] == "invalid_grant"
