"""Refresh token grant (RFC 6749 §6): rotation, reuse detection (RFC 9700 §4.14.2), narrowing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from conftest import db, new_client
from flask import Flask
from helpers import add_routes, bearer, password_token, refresh

from flask_passport.jose import tokens
from flask_passport.storage.models import utcnow


def _issue(client: Any, password_client: Any, user: Any, scope: str = "check-status place-orders"
           ) -> dict[str, Any]:
    resp = password_token(client, password_client, user, scope=scope)
    assert resp.status_code == 200, resp.json
    return resp.json  # type: ignore[no-any-return]


def test_refresh_rotates(app: Flask, client: Any, password_client: Any, user: Any) -> None:
    add_routes(app)
    first = _issue(client, password_client, user)
    resp = refresh(client, password_client, first["refresh_token"])
    assert resp.status_code == 200, resp.json
    assert resp.headers["Cache-Control"] == "no-store"
    second = resp.json
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == "check-status place-orders"
    assert second["token_type"] == "Bearer" and second["expires_in"] == 3600
    # The old access token is revoked with the rotation; the new one works.
    assert client.get("/me", headers=bearer(first["access_token"])).status_code == 401
    assert client.get("/me", headers=bearer(second["access_token"])).status_code == 200
    # And the new refresh token rotates again.
    assert refresh(client, password_client, second["refresh_token"]).status_code == 200


def test_refresh_token_stored_as_digest(app: Flask, client: Any, password_client: Any, user: Any
                                        ) -> None:
    value = _issue(client, password_client, user)["refresh_token"]
    selector, verifier = value.split(".")
    with app.app_context():
        row = db.session.get(app.extensions["passport"].models.RefreshToken, selector)
        assert row.secret_hash == tokens.hash_secret(verifier)
        assert verifier not in row.secret_hash


def test_reuse_revokes_the_family(app: Flask, client: Any, password_client: Any, user: Any
                                  ) -> None:
    add_routes(app)
    first = _issue(client, password_client, user)
    second = refresh(client, password_client, first["refresh_token"]).json
    reused = refresh(client, password_client, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json["error"] == "invalid_grant"
    # The attacker's (or client's) newer tokens die with the family.
    assert refresh(client, password_client, second["refresh_token"]).json["error"] == (
        "invalid_grant")
    assert client.get("/me", headers=bearer(second["access_token"])).status_code == 401
    with app.app_context():
        models = app.extensions["passport"].models
        assert all(db.session.scalars(sa.select(models.RefreshToken.revoked)))
        assert all(db.session.scalars(sa.select(models.AccessToken.revoked)))


def test_reuse_does_not_touch_other_families(app: Flask, client: Any, password_client: Any,
                                             user: Any) -> None:
    add_routes(app)
    a = _issue(client, password_client, user)
    b = _issue(client, password_client, user)
    refresh(client, password_client, a["refresh_token"])
    refresh(client, password_client, a["refresh_token"])  # reuse: family a revoked
    assert client.get("/me", headers=bearer(b["access_token"])).status_code == 200
    assert refresh(client, password_client, b["refresh_token"]).status_code == 200


def test_narrowing_allowed_widening_refused(client: Any, password_client: Any, user: Any) -> None:
    first = _issue(client, password_client, user, scope="check-status")
    wider = refresh(client, password_client, first["refresh_token"],
                    scope="check-status place-orders")
    assert wider.status_code == 400
    assert wider.json["error"] == "invalid_scope"
    # A refused widening does not consume the token.
    narrow_base = _issue(client, password_client, user)
    narrowed = refresh(client, password_client, narrow_base["refresh_token"], scope="check-status")
    assert narrowed.status_code == 200, narrowed.json
    assert narrowed.json["scope"] == "check-status"
    again = refresh(client, password_client, narrowed.json["refresh_token"],
                    scope="place-orders")
    assert again.json["error"] == "invalid_scope"
    ok = refresh(client, password_client, first["refresh_token"])
    assert ok.status_code == 200 and ok.json["scope"] == "check-status"


def test_wildcard_token_may_narrow_to_defined_scopes(client: Any, password_client: Any, user: Any
                                                     ) -> None:
    first = _issue(client, password_client, user, scope="*")
    resp = refresh(client, password_client, first["refresh_token"], scope="place-orders")
    assert resp.status_code == 200 and resp.json["scope"] == "place-orders"
    bad = _issue(client, password_client, user, scope="*")
    resp = refresh(client, password_client, bad["refresh_token"], scope="undefined")
    assert resp.json["error"] == "invalid_scope"


def test_refresh_by_another_client_is_refused(app: Flask, client: Any, password_client: Any,
                                              user: Any) -> None:
    first = _issue(client, password_client, user)
    other = new_client(app, "password")
    resp = refresh(client, other, first["refresh_token"])
    assert resp.status_code == 400 and resp.json["error"] == "invalid_grant"
    # The rightful client can still use it.
    assert refresh(client, password_client, first["refresh_token"]).status_code == 200


def test_expired_refresh_token(app: Flask, client: Any, password_client: Any, user: Any) -> None:
    first = _issue(client, password_client, user)
    with app.app_context():
        model = app.extensions["passport"].models.RefreshToken
        db.session.execute(sa.update(model).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    resp = refresh(client, password_client, first["refresh_token"])
    assert resp.status_code == 400 and resp.json["error"] == "invalid_grant"


def test_revoked_refresh_token_is_not_reuse(app: Flask, client: Any, password_client: Any,
                                            user: Any) -> None:
    """A token revoked by an admin (not rotated) is refused without revoking the family."""
    add_routes(app)
    first = _issue(client, password_client, user)
    second = refresh(client, password_client, first["refresh_token"]).json
    third = _issue(client, password_client, user)
    with app.app_context():
        model = app.extensions["passport"].models.RefreshToken
        selector = third["refresh_token"].split(".")[0]
        db.session.execute(sa.update(model).where(model.id == selector).values(revoked=True))
        db.session.commit()
    assert refresh(client, password_client, third["refresh_token"]).json["error"] == (
        "invalid_grant")
    assert client.get("/me", headers=bearer(second["access_token"])).status_code == 200


def test_garbage_refresh_tokens(client: Any, password_client: Any, user: Any) -> None:
    first = _issue(client, password_client, user)
    selector = first["refresh_token"].split(".")[0]
    for value in ["garbage", f"{selector}.wrong-verifier", "." * 3, "a" * 600 + ".b",
                  "00000000-0000-0000-0000-000000000000.x"]:
        resp = refresh(client, password_client, value)
        assert resp.status_code == 400, value
        assert resp.json["error"] == "invalid_grant", value
    # A wrong verifier must not count as reuse: the real token still works.
    assert refresh(client, password_client, first["refresh_token"]).status_code == 200


def test_missing_refresh_token_parameter(client: Any, password_client: Any) -> None:
    resp = refresh(client, password_client, "")
    assert resp.status_code == 400 and resp.json["error"] == "invalid_request"


def test_refresh_keeps_user_and_lifetime(app: Flask, client: Any, password_client: Any, user: Any,
                                         passport: Any) -> None:
    passport.tokens_expire_in(timedelta(minutes=5))
    first = _issue(client, password_client, user)
    resp = refresh(client, password_client, first["refresh_token"])
    assert resp.json["expires_in"] == 300
    with app.app_context():
        model = app.extensions["passport"].models.AccessToken
        users = set(db.session.scalars(sa.select(model.user_id)))
    assert users == {str(user.id)}


def test_revoking_the_access_token_kills_its_refresh_token(app: Flask, client: Any,
                                                           password_client: Any, user: Any
                                                           ) -> None:
    add_routes(app)
    issued = _issue(client, password_client, user)
    other = _issue(client, password_client, user)
    assert client.post("/logout", headers=bearer(issued["access_token"])).status_code == 200
    resp = refresh(client, password_client, issued["refresh_token"])
    assert resp.status_code == 400 and resp.json["error"] == "invalid_grant"
    # A revocation is not a replay: the user's other sessions live on.
    assert client.get("/me", headers=bearer(other["access_token"])).status_code == 200


def test_failed_refresh_consumes_nothing(app: Flask, client: Any, password_client: Any,
                                         user: Any, tmp_path: Any, private_key_pem: str) -> None:
    """A refresh that fails after the rotation UPDATE (here: no signing key) rolls it back."""
    issued = _issue(client, password_client, user)
    state = app.extensions["passport"]
    app.config["PASSPORT_PRIVATE_KEY"] = None
    app.config["PASSPORT_KEY_PATH"] = str(tmp_path / "missing")
    state.reload_settings()
    failed = refresh(client, password_client, issued["refresh_token"])
    assert failed.status_code == 500 and "flask passport keys" in failed.json["error_description"]
    app.config["PASSPORT_PRIVATE_KEY"] = private_key_pem
    state.reload_settings()
    with app.app_context():
        models = state.models
        assert db.session.scalar(sa.select(sa.func.count()).select_from(models.AccessToken)) == 1
        assert not any(db.session.scalars(sa.select(models.RefreshToken.revoked)))
    ok = refresh(client, password_client, issued["refresh_token"])
    assert ok.status_code == 200, ok.json
