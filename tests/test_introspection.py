"""RFC 7662 introspection at POST /oauth/introspect: who may call it, and every token state."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import jwt
import pytest
from conftest import db, make_app, new_client
from flask import Flask
from standards_support import basic, bearer, cc_token, password_token, refresh

from flask_passport.jose import keys as keys_mod
from flask_passport.storage.models import utcnow


@pytest.fixture
def rs(app: Flask) -> Any:
    return new_client(app, "resource_server", name="orders API")


def _introspect(http: Any, rs: Any, token: str, hint: str | None = None) -> dict[str, Any]:
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    resp = http.post("/oauth/introspect", data=data, headers=basic(rs.client.id, rs.secret))
    assert resp.status_code == 200, resp.json
    assert resp.headers["Cache-Control"] == "no-store"
    return resp.json  # type: ignore[no-any-return]


def test_active_access_token_has_every_field(app: Flask, client: Any, rs: Any,
                                             password_client: Any, user: Any) -> None:
    tok = password_token(client, password_client, user, scope="check-status place-orders")
    body = _introspect(client, rs, tok["access_token"])
    claims = jwt.decode(tok["access_token"], options={"verify_signature": False})
    assert body["active"] is True
    assert body["scope"] == "check-status place-orders"
    assert body["client_id"] == password_client.client.id
    assert body["sub"] == str(user.id)
    assert body["token_type"] == "Bearer"
    for name in ("exp", "iat", "iss", "aud", "jti"):
        assert body[name] == claims[name], name
    assert body["iss"] == "http://localhost"


def test_refresh_token_and_client_token(app: Flask, client: Any, rs: Any, password_client: Any,
                                        machine_client: Any, user: Any) -> None:
    tok = password_token(client, password_client, user)
    body = _introspect(client, rs, tok["refresh_token"], "refresh_token")
    assert body["active"] is True and body["token_type"] == "refresh_token"
    assert body["client_id"] == password_client.client.id and body["sub"] == str(user.id)
    cc = cc_token(client, machine_client)
    body = _introspect(client, rs, cc["access_token"])
    assert body["active"] is True and body["sub"] == machine_client.client.id


def test_inactive_states(app: Flask, client: Any, rs: Any, password_client: Any,
                         user: Any) -> None:
    first = password_token(client, password_client, user)
    second = refresh(client, password_client, first["refresh_token"]).json
    # Rotated: the old pair is inactive, the new pair active.
    assert _introspect(client, rs, first["access_token"]) == {"active": False}
    assert _introspect(client, rs, first["refresh_token"]) == {"active": False}
    assert _introspect(client, rs, second["access_token"])["active"] is True
    # Unknown, garbage, oversized.
    assert _introspect(client, rs, "nonsense") == {"active": False}
    assert _introspect(client, rs, "abc.def") == {"active": False}
    # Revoked through RFC 7009.
    client.post("/oauth/revoke", data={"token": second["access_token"]},
                headers=basic(password_client.client.id, password_client.secret))
    assert _introspect(client, rs, second["access_token"]) == {"active": False}
    assert _introspect(client, rs, second["refresh_token"]) == {"active": False}


def test_revoked_client_makes_its_tokens_inactive(app: Flask, client: Any, rs: Any,
                                                  password_client: Any, user: Any) -> None:
    tok = password_token(client, password_client, user)
    with app.app_context():
        row = db.session.get(app.extensions["passport"].models.Client, password_client.client.id)
        row.revoked = True
        db.session.commit()
    assert _introspect(client, rs, tok["access_token"]) == {"active": False}
    assert _introspect(client, rs, tok["refresh_token"]) == {"active": False}


def test_expired_tokens_are_inactive(app_config: dict[str, Any], app: Flask, user: Any) -> None:
    short = make_app({**app_config, "PASSPORT_ACCESS_TOKEN_LIFETIME": 1,
                      "PASSPORT_REFRESH_TOKEN_LIFETIME": 1})
    http = short.test_client()
    pc, rs = new_client(short, "password"), new_client(short, "resource_server")
    tok = password_token(http, pc, user)
    time.sleep(2.1)
    # The JWT's own exp has passed (so it no longer verifies) and the rows have expired.
    assert _introspect(http, rs, tok["access_token"]) == {"active": False}
    assert _introspect(http, rs, tok["refresh_token"]) == {"active": False}


def test_expired_rows_are_inactive(app: Flask, client: Any, rs: Any, password_client: Any,
                                   user: Any) -> None:
    """The row's expiry is checked too, independently of the JWT's exp."""
    tok = password_token(client, password_client, user)
    assert _introspect(client, rs, tok["access_token"])["active"] is True
    assert _introspect(client, rs, tok["refresh_token"])["active"] is True
    with app.app_context():
        models = app.extensions["passport"].models
        past = utcnow() - timedelta(seconds=1)
        db.session.query(models.AccessToken).update({"expires_at": past})
        db.session.query(models.RefreshToken).update({"expires_at": past})
        db.session.commit()
    assert _introspect(client, rs, tok["access_token"]) == {"active": False}
    assert _introspect(client, rs, tok["refresh_token"]) == {"active": False}


def _forge(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(sign(signing_input.encode()))


def test_unverifiable_tokens_are_inactive_and_refused(
    app: Flask, client: Any, rs: Any, password_client: Any, user: Any
) -> None:
    """RFC 8725 §3.1-§3.2: alg none, HS256 with the public key, crit, foreign key, oversized."""
    from standards_support import add_routes

    add_routes(app)
    tok = password_token(client, password_client, user)
    claims = jwt.decode(tok["access_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(tok["access_token"])
    with app.app_context():
        keyset = app.extensions["passport"].keys()
    public_pem = keys_mod.public_pem(keyset.signing_key.public_key)
    forged = {
        "alg_none": _forge({**header, "alg": "none"}, claims, lambda _m: b""),
        "hs256_public_key": _forge({**header, "alg": "HS256"}, claims,
                                   lambda m: hmac.new(public_pem, m, hashlib.sha256).digest()),
        "foreign_key": jwt.encode(claims, keys_mod.generate_private_key("RSA"), "RS256",
                                  headers={"kid": header["kid"]}),
        "crit": jwt.encode(claims, keyset.signing_key.private_key, "RS256",
                           headers={"kid": header["kid"], "crit": ["exp"]}),
        "oversized": jwt.encode({**claims, "pad": "x" * 9000}, keyset.signing_key.private_key,
                                "RS256", headers={"kid": header["kid"]}),
        "wrong_issuer_unknown_jti": jwt.encode(
            {**claims, "jti": "00000000-0000-0000-0000-000000000000"},
            keyset.signing_key.private_key, "RS256", headers={"kid": header["kid"]}),
    }
    oversized = forged.pop("oversized")
    too_long = client.post("/oauth/introspect", data={"token": oversized},
                           headers=basic(rs.client.id, rs.secret))
    assert too_long.status_code == 400 and too_long.json["error"] == "invalid_request"
    assert client.get("/t/me", headers=bearer(oversized)).status_code == 401
    for name, value in forged.items():
        assert _introspect(client, rs, value) == {"active": False}, name
        assert client.get("/t/me", headers=bearer(value)).status_code == 401, name
    # The genuine token still works (the forgeries did not break anything).
    assert client.get("/t/me", headers=bearer(tok["access_token"])).status_code == 200


def test_who_may_introspect(app: Flask, client: Any, rs: Any, password_client: Any,
                            machine_client: Any, user: Any) -> None:
    tok = password_token(client, password_client, user)
    data = {"token": tok["access_token"]}
    none = client.post("/oauth/introspect", data=data)
    assert none.status_code == 401 and none.json["error"] == "invalid_client"
    wrong = client.post("/oauth/introspect", data=data, headers=basic(rs.client.id, "nope"))
    assert wrong.status_code == 401
    # Without the introspect permission a client sees its own tokens, and another client's
    # token is inactive to it, like an unknown one (RFC 7662 §2.2): existence is not leaked.
    own = client.post("/oauth/introspect", data=data,
                      headers=basic(password_client.client.id, password_client.secret))
    assert own.status_code == 200 and own.json["active"] is True
    assert own.json["client_id"] == password_client.client.id
    own_refresh = client.post("/oauth/introspect", data={"token": tok["refresh_token"]},
                              headers=basic(password_client.client.id, password_client.secret))
    assert own_refresh.json["active"] is True
    for value in (tok["access_token"], tok["refresh_token"]):
        other = client.post("/oauth/introspect", data={"token": value},
                            headers=basic(machine_client.client.id, machine_client.secret))
        assert other.status_code == 200 and other.json == {"active": False}
    # ...while the machine client's own token is active to it and to the resource server.
    mine = cc_token(client, machine_client)["access_token"]
    for caller in (machine_client, rs):
        seen = client.post("/oauth/introspect", data={"token": mine},
                           headers=basic(caller.client.id, caller.secret))
        assert seen.json["active"] is True and seen.json["client_id"] == machine_client.client.id
    public = new_client(app, "public", grant_types=["introspect"],
                        redirect_uris=["https://x.example/cb"])
    pub = client.post("/oauth/introspect", data={**data, "client_id": public.client.id})
    assert pub.status_code == 401
    # Body credentials work as well as Basic.
    body = client.post("/oauth/introspect", data={**data, "client_id": rs.client.id,
                                                  "client_secret": rs.secret})
    assert body.status_code == 200 and body.json["active"] is True
    missing = client.post("/oauth/introspect", data={}, headers=basic(rs.client.id, rs.secret))
    assert missing.status_code == 400 and missing.json["error"] == "invalid_request"
    # The resource-server client gets no tokens itself.
    cc = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                     headers=basic(rs.client.id, rs.secret))
    assert cc.status_code == 400 and cc.json["error"] == "unauthorized_client"


def test_introspection_writes_nothing(app: Flask, client: Any, rs: Any, password_client: Any,
                                      user: Any) -> None:
    tok = password_token(client, password_client, user)
    with app.app_context():
        AccessToken = app.extensions["passport"].models.AccessToken
        before = [(r.id, r.revoked, r.updated_at) for r in db.session.query(AccessToken)]
    _introspect(client, rs, tok["access_token"])
    with app.app_context():
        after = [(r.id, r.revoked, r.updated_at) for r in db.session.query(AccessToken)]
    assert before == after
    assert utcnow() - after[0][2] < timedelta(minutes=1)
