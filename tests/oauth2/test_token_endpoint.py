"""POST /oauth/token (RFC 6749 §3.2, §4.3, §4.4, §5): grants, scopes, response shape, errors."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from conftest import db, new_client
from flask import Flask
from helpers import PASSWORD, bearer, client_token, password_token, post_token

from flask_passport.jose import keys as keys_mod


def _assert_no_store(resp: Any) -> None:
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Pragma"] == "no-cache"


def _access_rows(app: Flask) -> list[Any]:
    with app.app_context():
        model = app.extensions["passport"].models.AccessToken
        return list(db.session.scalars(sa.select(model)))


# -- client credentials ------------------------------------------------------------------------

def test_client_credentials_response_shape(app: Flask, client: Any, machine_client: Any) -> None:
    resp = client_token(client, machine_client)
    assert resp.status_code == 200, resp.json
    _assert_no_store(resp)
    body = resp.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "check-status"  # the default scope
    assert "refresh_token" not in body  # RFC 6749 §4.4.3
    assert set(body) == {"token_type", "expires_in", "access_token", "scope"}


def test_client_credentials_jwt_claims(app: Flask, client: Any, machine_client: Any,
                                       private_key_pem: str) -> None:
    resp = client_token(client, machine_client, scope="check-status place-orders")
    token = resp.json["access_token"]
    header = jwt.get_unverified_header(token)
    public = keys_mod.load_private_key(private_key_pem.encode()).public_key()
    kid = keys_mod.SigningKey.from_keys(public).kid
    assert header["alg"] == "RS256"
    assert header["kid"] == kid
    assert header["typ"] == "at+jwt"
    claims = jwt.decode(token, public, algorithms=["RS256"], options={"verify_aud": False})
    cid = machine_client.client.id
    assert claims["client_id"] == cid
    assert claims["sub"] == cid  # RFC 9068 §2.2: no resource owner -> the client
    assert claims["scope"] == "check-status place-orders"
    assert claims["iss"] == "http://localhost"
    assert claims["aud"] == "http://localhost"
    assert claims["exp"] - claims["iat"] == 3600
    rows = _access_rows(app)
    assert [r.id for r in rows] == [claims["jti"]]
    assert rows[0].user_id is None and rows[0].has_user is False


def test_client_credentials_wildcard_scope(client: Any, machine_client: Any) -> None:
    resp = client_token(client, machine_client, scope="*")
    assert resp.status_code == 200, resp.json
    assert resp.json["scope"] == "*"


def test_configured_issuer_is_used(app: Flask, client: Any, machine_client: Any) -> None:
    app.config["PASSPORT_ISSUER"] = "https://auth.example.com/"
    app.extensions["passport"].reload_settings()  # config changed after init (tests only)
    token = client_token(client, machine_client).json["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "https://auth.example.com"


# -- password --------------------------------------------------------------------------------

def test_password_grant_issues_access_and_refresh(app: Flask, client: Any, password_client: Any,
                                                  user: Any) -> None:
    resp = password_token(client, password_client, user, scope="place-orders")
    assert resp.status_code == 200, resp.json
    _assert_no_store(resp)
    body = resp.json
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "place-orders"
    assert body["refresh_token"].count(".") == 1
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == str(user.id)
    assert claims["client_id"] == password_client.client.id
    (row,) = _access_rows(app)
    assert row.user_id == str(user.id)
    assert row.scopes == ["place-orders"]


def test_password_grant_default_and_wildcard_scope(client: Any, password_client: Any, user: Any
                                                   ) -> None:
    assert password_token(client, password_client, user).json["scope"] == "check-status"
    assert password_token(client, password_client, user, scope="*").json["scope"] == "*"


def test_password_grant_wrong_password(client: Any, password_client: Any, user: Any) -> None:
    resp = password_token(client, password_client, user, password="nope")
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_grant"
    _assert_no_store(resp)
    assert "nope" not in resp.get_data(as_text=True)


def test_password_grant_unknown_user(client: Any, password_client: Any, user: Any) -> None:
    resp = password_token(client, password_client, user, username="nobody@example.com")
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_grant"


def test_password_grant_missing_parameters(client: Any, password_client: Any, user: Any) -> None:
    resp = password_token(client, password_client, user, password="")
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_request"


def test_password_grant_disabled_by_default(app: Flask, client: Any, password_client: Any,
                                           user: Any) -> None:
    app.config["PASSPORT_PASSWORD_GRANT"] = False
    app.extensions["passport"].reload_settings()
    resp = password_token(client, password_client, user)
    assert resp.status_code == 400
    assert resp.json["error"] == "unsupported_grant_type"
    assert _access_rows(app) == []


def test_password_grant_uses_find_for_passport_and_validator(app: Flask, client: Any,
                                                            password_client: Any, user: Any
                                                            ) -> None:
    from conftest import User

    calls: list[str] = []

    def find_for_passport(username: str) -> Any:
        calls.append(f"find:{username}")
        return db.session.scalars(sa.select(User).where(User.email == f"{username}@example.com")
                                  ).first()

    def validate(self: Any, password: str) -> bool:
        calls.append(f"validate:{password}")
        return password == "magic"

    User.find_for_passport = staticmethod(find_for_passport)  # type: ignore[attr-defined]
    User.validate_for_passport_password_grant = validate  # type: ignore[attr-defined]
    try:
        ok = password_token(client, password_client, user, username="taylor", password="magic")
        assert ok.status_code == 200, ok.json
        bad = password_token(client, password_client, user, username="taylor",
                             password=PASSWORD)  # the real password is not what counts
        assert bad.json["error"] == "invalid_grant"
    finally:
        del User.find_for_passport  # type: ignore[attr-defined]
        del User.validate_for_passport_password_grant  # type: ignore[attr-defined]
    assert calls == ["find:taylor", "validate:magic", "find:taylor", f"validate:{PASSWORD}"]


# -- scopes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("scope_value", ["unknown", "check-status unknown", "* check-status"])
def test_invalid_scope(app: Flask, client: Any, machine_client: Any, scope_value: str) -> None:
    resp = client_token(client, machine_client, scope=scope_value)
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_scope"
    assert _access_rows(app) == []


def test_client_allowed_scopes_are_enforced(app: Flask, client: Any) -> None:
    limited = new_client(app, "client_credentials", allowed_scopes=["check-status"])
    assert client_token(client, limited, scope="check-status").status_code == 200
    resp = client_token(client, limited, scope="place-orders")
    assert resp.json["error"] == "invalid_scope"


def test_wildcard_refused_for_refresh_grant_only_narrowing(client: Any, password_client: Any,
                                                          user: Any) -> None:
    # `*` is for the password and client credentials grants; a refresh cannot ask for it anew.
    issued = password_token(client, password_client, user).json
    resp = post_token(client, {"grant_type": "refresh_token",
                               "client_id": password_client.client.id,
                               "client_secret": password_client.secret,
                               "refresh_token": issued["refresh_token"], "scope": "*"})
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_scope"


# -- request shape -----------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_other_methods_are_refused(client: Any, method: str) -> None:
    resp = getattr(client, method)("/oauth/token")
    assert resp.status_code == 405
    assert resp.json["error"] == "invalid_request"
    assert resp.headers["Allow"] == "POST"


def test_json_body_is_refused(client: Any, machine_client: Any) -> None:
    resp = client.post("/oauth/token", json={"grant_type": "client_credentials",
                                             "client_id": machine_client.client.id,
                                             "client_secret": machine_client.secret})
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_request"
    assert "x-www-form-urlencoded" in resp.json["error_description"]


def test_missing_and_unknown_grant_type(client: Any, machine_client: Any) -> None:
    base = {"client_id": machine_client.client.id, "client_secret": machine_client.secret}
    resp = post_token(client, base)
    assert (resp.status_code, resp.json["error"]) == (400, "invalid_request")
    resp = post_token(client, {**base, "grant_type": "magic"})
    assert (resp.status_code, resp.json["error"]) == (400, "unsupported_grant_type")


def test_repeated_parameter_is_refused(client: Any, machine_client: Any) -> None:
    body = (f"grant_type=client_credentials&client_id={machine_client.client.id}"
            f"&client_secret={machine_client.secret}&scope=check-status&scope=place-orders")
    resp = client.post("/oauth/token", data=body,
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_request"


def test_oversized_body_is_refused(client: Any) -> None:
    resp = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                             "junk": "x" * 70_000})
    assert resp.status_code == 413
    assert resp.json["error"] == "invalid_request"


def test_grant_not_allowed_for_client(app: Flask, client: Any, machine_client: Any, user: Any
                                      ) -> None:
    resp = password_token(client, machine_client, user)
    assert resp.status_code == 400
    assert resp.json["error"] == "unauthorized_client"
    assert _access_rows(app) == []


def test_missing_keys_give_one_clear_error(app: Flask, client: Any, machine_client: Any,
                                           tmp_path: Any, caplog: Any) -> None:
    app.config["PASSPORT_PRIVATE_KEY"] = None
    app.config["PASSPORT_KEY_PATH"] = str(tmp_path / "nokeys")
    state = app.extensions["passport"]
    state.reload_settings()
    resp = client_token(client, machine_client)
    assert resp.status_code == 500
    assert resp.json["error"] == "server_error"
    assert "flask passport keys" in resp.json["error_description"]
    assert "Traceback" not in caplog.text
    assert _access_rows(app) == []  # nothing half-written


def test_token_usable_on_protected_route(app: Flask, client: Any, password_client: Any,
                                         user: Any) -> None:
    from helpers import add_routes

    add_routes(app)
    token = password_token(client, password_client, user).json["access_token"]
    assert client.get("/me", headers=bearer(token)).json["email"] == user.email


def test_personal_access_client_cannot_get_tokens_over_http(app: Flask, client: Any,
                                                            personal_client: Any, user: Any
                                                            ) -> None:
    cid = personal_client.client.id
    for grant in ("client_credentials", "personal_access", "password"):
        resp = post_token(client, {"grant_type": grant, "client_id": cid,
                                   "username": user.email, "password": PASSWORD})
        assert resp.status_code in (400, 401), (grant, resp.json)
        assert resp.json["error"] in ("unauthorized_client", "unsupported_grant_type",
                                      "invalid_client"), grant
    assert _access_rows(app) == []
