"""grant_type=authorization_code at /oauth/token: binding, expiry, single use, replay, PKCE."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask, jsonify

from flask_passport import require_oauth
from flask_passport.oauth2.pkce import s256
from flask_passport.storage.models import utcnow

REDIRECT = "https://app.example.com/callback"
VERIFIER = "A1b2-C3d4.E5f6_G7h8~" * 3  # 63 characters of the unreserved set


def _me_route(app: Flask) -> None:
    @app.get("/me")
    @require_oauth()
    def me() -> Any:
        from flask_login import current_user

        return jsonify(email=current_user.email)


def obtain_code(client: Any, created: Any, **extra: Any) -> str:
    params = {"client_id": created.client.id, "redirect_uri": REDIRECT, "response_type": "code",
              "scope": "check-status", "state": "st"}
    params.update(extra)
    params = {k: v for k, v in params.items() if v is not None}
    page = client.get("/oauth/authorize?" + urlencode(params))
    assert page.status_code == 200, page.get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                             page.get_data(as_text=True)))
    resp = client.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
    assert resp.status_code == 302
    return parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]


def exchange(client: Any, created: Any, code: str, **extra: Any) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": created.client.id}
    if created.secret:
        data["client_secret"] = created.secret
    data.update(extra)
    return client.post("/oauth/token", data={k: v for k, v in data.items() if v is not None})


def assert_invalid_grant(resp: Any) -> None:
    assert resp.status_code == 400, resp.json
    assert resp.json["error"] == "invalid_grant"
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.fixture
def signed_in(app: Flask, client: Any, authz_login: Any, user: Any) -> Any:
    _me_route(app)
    authz_login(client, user)
    return client


def test_exchange_gives_tokens_that_work(app: Flask, signed_in: Any, authz_client: Any) -> None:
    code = obtain_code(signed_in, authz_client, scope="check-status place-orders")
    resp = exchange(signed_in, authz_client, code)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "check-status place-orders"
    assert body["refresh_token"] and body["expires_in"] == 3600
    me = signed_in.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json == {"email": "taylor@example.com"}
    refreshed = signed_in.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
        "client_id": authz_client.client.id, "client_secret": authz_client.secret})
    assert refreshed.status_code == 200, refreshed.json


def test_code_is_random_stored_as_digest_and_bound(app: Flask, signed_in: Any, user: Any,
                                                   authz_client: Any) -> None:
    code = obtain_code(signed_in, authz_client, code_challenge=s256(VERIFIER),
                       code_challenge_method="S256")
    with app.app_context():
        state = app.extensions["passport"]
        row = state.db.session.scalars(sa.select(state.models.AuthCode)).one()
        assert code.split(".", 1)[0] == row.id
        assert code.split(".", 1)[1] not in (row.secret_hash or "")
        assert len(row.secret_hash) == 64
        assert row.client_id == authz_client.client.id and row.user_id == str(user.id)
        assert row.redirect_uri == REDIRECT and row.redirect_uri_sent is True
        assert row.scopes == ["check-status"]
        assert (row.code_challenge, row.code_challenge_method) == (s256(VERIFIER), "S256")
        assert row.expires_at - row.created_at == timedelta(minutes=10)
    assert len(code.split(".", 1)[1]) >= 43


def test_code_lifetime_is_configurable(app: Flask, signed_in: Any, authz_client: Any) -> None:
    app.extensions["passport"].passport.auth_codes_expire_in(timedelta(minutes=2))
    try:
        obtain_code(signed_in, authz_client)
        with app.app_context():
            state = app.extensions["passport"]
            row = state.db.session.scalars(sa.select(state.models.AuthCode)).one()
            assert row.expires_at - row.created_at == timedelta(minutes=2)
    finally:
        app.extensions["passport"].passport._overrides.pop("PASSPORT_AUTH_CODE_LIFETIME")
        app.extensions["passport"].passport.reload_settings(app)


def test_expired_code_fails(app: Flask, signed_in: Any, authz_client: Any) -> None:
    code = obtain_code(signed_in, authz_client)
    with app.app_context():
        state = app.extensions["passport"]
        state.db.session.execute(sa.update(state.models.AuthCode).values(
            expires_at=utcnow() - timedelta(seconds=1)))
        state.db.session.commit()
    assert_invalid_grant(exchange(signed_in, authz_client, code))


@pytest.mark.parametrize("redirect_uri", [None, REDIRECT + "/", "https://app.example.com/other"])
def test_redirect_uri_must_match_when_it_was_sent(signed_in: Any, authz_client: Any,
                                                  redirect_uri: str | None) -> None:
    code = obtain_code(signed_in, authz_client)
    assert_invalid_grant(exchange(signed_in, authz_client, code, redirect_uri=redirect_uri))
    # The failed attempts did not burn the code.
    assert exchange(signed_in, authz_client, code).status_code == 200


def test_redirect_uri_may_be_omitted_when_it_was_not_sent(signed_in: Any,
                                                          authz_client: Any) -> None:
    code = obtain_code(signed_in, authz_client, redirect_uri=None)
    assert_invalid_grant(exchange(signed_in, authz_client, code, redirect_uri=REDIRECT + "?x"))
    assert exchange(signed_in, authz_client, code, redirect_uri=None).status_code == 200


def test_code_of_another_client_fails(signed_in: Any, authz_client: Any,
                                      authz_make_client: Any) -> None:
    other = authz_make_client("authorization_code", name="Other")
    code = obtain_code(signed_in, authz_client)
    assert_invalid_grant(exchange(signed_in, other, code))


@pytest.mark.parametrize("code", ["", "garbage", "a.b", "x" * 600])
def test_malformed_codes(signed_in: Any, authz_client: Any, code: str) -> None:
    resp = exchange(signed_in, authz_client, code)
    assert resp.status_code == 400
    assert resp.json["error"] in ("invalid_grant", "invalid_request")


def test_wrong_verifier_part_fails(signed_in: Any, authz_client: Any) -> None:
    code = obtain_code(signed_in, authz_client)
    selector = code.split(".", 1)[0]
    assert_invalid_grant(exchange(signed_in, authz_client, selector + ".wrong"))


def test_replay_fails_and_revokes_the_first_tokens(app: Flask, signed_in: Any,
                                                   authz_client: Any) -> None:
    code = obtain_code(signed_in, authz_client)
    first = exchange(signed_in, authz_client, code).json
    auth = {"Authorization": f"Bearer {first['access_token']}"}
    assert signed_in.get("/me", headers=auth).status_code == 200
    # The client rotates its refresh token once before the replay.
    rotated = signed_in.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
        "client_id": authz_client.client.id, "client_secret": authz_client.secret}).json
    assert_invalid_grant(exchange(signed_in, authz_client, code))
    assert signed_in.get("/me", headers=auth).status_code == 401
    rotated_auth = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert signed_in.get("/me", headers=rotated_auth).status_code == 401
    again = signed_in.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": rotated["refresh_token"],
        "client_id": authz_client.client.id, "client_secret": authz_client.secret})
    assert_invalid_grant(again)


def test_client_must_be_allowed_the_grant(app: Flask, signed_in: Any, authz_client: Any) -> None:
    code = obtain_code(signed_in, authz_client)
    with app.app_context():
        state = app.extensions["passport"]
        row = state.db.session.get(state.models.Client, authz_client.client.id)
        row.grant_types = ["client_credentials"]
        state.db.session.commit()
    resp = exchange(signed_in, authz_client, code)
    assert resp.status_code == 400 and resp.json["error"] == "unauthorized_client"


def test_confidential_client_needs_its_secret(signed_in: Any, authz_client: Any) -> None:
    code = obtain_code(signed_in, authz_client)
    resp = exchange(signed_in, authz_client, code, client_secret="wrong")
    assert resp.status_code == 401 and resp.json["error"] == "invalid_client"


# -- PKCE ---------------------------------------------------------------------------------


def test_public_client_with_s256(app: Flask, signed_in: Any, authz_public_client: Any) -> None:
    code = obtain_code(signed_in, authz_public_client, code_challenge=s256(VERIFIER),
                       code_challenge_method="S256")
    resp = exchange(signed_in, authz_public_client, code, code_verifier=VERIFIER)
    assert resp.status_code == 200, resp.json
    me = signed_in.get("/me", headers={"Authorization": f"Bearer {resp.json['access_token']}"})
    assert me.status_code == 200


@pytest.mark.parametrize("verifier", [
    None,                        # missing
    "B" * 63,                    # wrong
    "short",                     # too short
    VERIFIER + "=",              # outside the unreserved set
    "a" * 129,                   # too long
])
def test_bad_verifier_is_invalid_grant(signed_in: Any, authz_public_client: Any,
                                       verifier: str | None) -> None:
    code = obtain_code(signed_in, authz_public_client, code_challenge=s256(VERIFIER),
                       code_challenge_method="S256")
    assert_invalid_grant(exchange(signed_in, authz_public_client, code, code_verifier=verifier))
    assert exchange(signed_in, authz_public_client, code, code_verifier=VERIFIER).status_code == 200


def test_confidential_client_with_pkce(signed_in: Any, authz_client: Any) -> None:
    code = obtain_code(signed_in, authz_client, code_challenge=s256(VERIFIER),
                       code_challenge_method="S256")
    assert_invalid_grant(exchange(signed_in, authz_client, code))
    assert exchange(signed_in, authz_client, code, code_verifier=VERIFIER).status_code == 200


def test_verifier_for_a_code_without_challenge_is_a_downgrade(signed_in: Any,
                                                              authz_client: Any) -> None:
    code = obtain_code(signed_in, authz_client)
    assert_invalid_grant(exchange(signed_in, authz_client, code, code_verifier=VERIFIER))


def test_plain_method_when_enabled(app: Flask, signed_in: Any, authz_public_client: Any) -> None:
    app.config["PASSPORT_PKCE_PLAIN"] = True
    app.extensions["passport"].passport.reload_settings(app)
    code = obtain_code(signed_in, authz_public_client, code_challenge=VERIFIER,
                       code_challenge_method="plain")
    assert_invalid_grant(
        exchange(signed_in, authz_public_client, code, code_verifier=s256(VERIFIER)))
    assert exchange(signed_in, authz_public_client, code, code_verifier=VERIFIER).status_code == 200
