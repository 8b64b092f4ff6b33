"""Protected routes (RFC 6750): decorators, current_user/current_token, forged and dead tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from conftest import User, db
from flask import Flask
from helpers import add_routes, bearer, client_token, password_token

from flask_passport import scope as scope_route
from flask_passport.jose import keys as keys_mod
from flask_passport.jose import tokens
from flask_passport.storage.models import utcnow


@pytest.fixture
def routes(app: Flask) -> Flask:
    add_routes(app)
    return app


@pytest.fixture
def user_token(routes: Flask, client: Any, password_client: Any, user: Any) -> str:
    resp = password_token(client, password_client, user, scope="check-status")
    assert resp.status_code == 200, resp.json
    return str(resp.json["access_token"])


@pytest.fixture
def machine_token(routes: Flask, client: Any, machine_client: Any) -> str:
    return str(client_token(client, machine_client, scope="check-status").json["access_token"])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    h, p, s = token.split(".")
    pad = lambda x: x + "=" * (-len(x) % 4)  # noqa: E731
    return (json.loads(base64.urlsafe_b64decode(pad(h))),
            json.loads(base64.urlsafe_b64decode(pad(p))), s)


def _assemble(header: dict[str, Any], payload: dict[str, Any], signature: str) -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()),
                     signature])


def _rs256(header: dict[str, Any], payload: dict[str, Any], pem: str) -> str:
    """Sign with our real key, whatever the header says (PyJWT refuses odd headers)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key = keys_mod.load_private_key(pem.encode())
    h = _b64(json.dumps(header).encode())
    p = _b64(json.dumps(payload).encode())
    sig = key.sign(f"{h}.{p}".encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg]
    return f"{h}.{p}.{_b64(sig)}"


def _assert_invalid_token(resp: Any) -> None:
    assert resp.status_code == 401, resp.get_data(as_text=True)
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert resp.json["error"] == "invalid_token"


# -- happy paths ---------------------------------------------------------------------------------

def test_user_token_sets_current_user_and_token(client: Any, user_token: str, user: Any) -> None:
    resp = client.get("/me", headers=bearer(user_token))
    assert resp.status_code == 200
    assert resp.json["id"] == user.id and resp.json["email"] == user.email
    claims = jwt.decode(user_token, options={"verify_signature": False})
    assert resp.json["token"] == claims["jti"]


def test_no_session_cookie_is_set(client: Any, user_token: str) -> None:
    resp = client.get("/me", headers=bearer(user_token))
    assert resp.status_code == 200
    assert "Set-Cookie" not in resp.headers
    assert client.get_cookie("session") is None
    # The next request without a token is not logged in.
    _assert_unauthenticated(client.get("/me"))


def _assert_unauthenticated(resp: Any) -> None:
    assert resp.status_code == 401
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer realm=")
    assert "error=" not in challenge  # RFC 6750 §3.1: no error code without credentials


def test_no_credentials(client: Any, routes: Flask) -> None:
    _assert_unauthenticated(client.get("/me"))
    _assert_unauthenticated(client.get("/status"))


def test_bearer_only_from_authorization_header(client: Any, user_token: str) -> None:
    _assert_unauthenticated(client.get(f"/me?access_token={user_token}"))
    _assert_unauthenticated(client.get("/me", data={"access_token": user_token}))
    _assert_unauthenticated(client.get("/me", headers={"Authorization": f"Token {user_token}"}))
    client.set_cookie("access_token", user_token)
    _assert_unauthenticated(client.get("/me"))


def test_lowercase_bearer_scheme_is_accepted(client: Any, user_token: str) -> None:
    resp = client.get("/me", headers={"Authorization": f"bearer {user_token}"})
    assert resp.status_code == 200


def test_empty_bearer_is_invalid_request(client: Any, routes: Flask) -> None:
    resp = client.get("/me", headers={"Authorization": "Bearer "})
    assert resp.status_code == 400
    assert 'error="invalid_request"' in resp.headers["WWW-Authenticate"]


# -- scopes ---------------------------------------------------------------------------------------

def test_scopes_all_required(client: Any, routes: Flask, password_client: Any, user: Any) -> None:
    one = password_token(client, password_client, user, scope="check-status").json
    both = password_token(client, password_client, user,
                          scope="check-status place-orders").json
    star = password_token(client, password_client, user, scope="*").json
    resp = client.get("/orders", headers=bearer(one["access_token"]))
    assert resp.status_code == 403
    challenge = resp.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="check-status place-orders"' in challenge
    assert resp.json["error"] == "insufficient_scope"
    assert client.get("/orders", headers=bearer(both["access_token"])).status_code == 200
    assert client.get("/orders", headers=bearer(star["access_token"])).status_code == 200


def test_require_oauth_with_scope(client: Any, user_token: str) -> None:
    resp = client.get("/place", headers=bearer(user_token))
    assert resp.status_code == 403
    assert 'scope="place-orders"' in resp.headers["WWW-Authenticate"]


def test_scope_any(client: Any, routes: Flask, password_client: Any, user: Any,
                   machine_client: Any) -> None:
    place = password_token(client, password_client, user, scope="place-orders").json
    assert client.get("/status", headers=bearer(place["access_token"])).status_code == 200
    machine = client_token(client, machine_client, scope="check-status").json
    resp = client.get("/status", headers=bearer(machine["access_token"]))
    assert resp.status_code == 200 and resp.json["user_id"] is None
    # A token with no scopes at all.
    from conftest import new_client

    with routes.app_context():
        u = db.session.get(User, user.id)
        new_client(routes, "personal_access")
        empty = u.create_token("no scopes", []).access_token
    resp = client.get("/status", headers=bearer(empty))
    assert resp.status_code == 403
    assert 'scope="check-status place-orders"' in resp.headers["WWW-Authenticate"]


def test_client_route_accepts_machine_tokens(client: Any, machine_token: str, user_token: str,
                                             machine_client: Any) -> None:
    resp = client.get("/jobs", headers=bearer(machine_token))
    assert resp.status_code == 200 and resp.json["client_id"] == machine_client.client.id
    assert client.get("/jobs", headers=bearer(user_token)).status_code == 200


def test_client_route_checks_scopes(client: Any, routes: Flask, machine_client: Any) -> None:
    token = client_token(client, machine_client, scope="place-orders").json["access_token"]
    resp = client.get("/jobs", headers=bearer(token))
    assert resp.status_code == 403
    assert 'scope="check-status"' in resp.headers["WWW-Authenticate"]


def test_client_token_is_never_a_user(client: Any, machine_token: str) -> None:
    """GHSA-349c-2h2f-mxf6: a client-credentials token must not reach user routes."""
    resp = client.get("/me", headers=bearer(machine_token))
    _assert_invalid_token(resp)
    assert client.get("/orders", headers=bearer(machine_token)).status_code == 401


def test_client_token_whose_client_id_equals_a_user_id(app: Flask, client: Any, routes: Flask,
                                                       machine_client: Any) -> None:
    """Even with ``sub`` equal to an existing user's id, a client token is not that user."""
    with app.app_context():
        db.session.add(User(id=4242, email="x@example.com", password_hash="x"))
        model = app.extensions["passport"].models.Client
        db.session.commit()
        assert db.session.get(model, machine_client.client.id) is not None
    token = client_token(client, machine_client).json["access_token"]
    _assert_invalid_token(client.get("/me", headers=bearer(token)))


# -- dead tokens --------------------------------------------------------------------------------

def _token_model(app: Flask) -> Any:
    return app.extensions["passport"].models.AccessToken


def test_revoked_token(app: Flask, client: Any, user_token: str) -> None:
    with app.app_context():
        db.session.execute(sa.update(_token_model(app)).values(revoked=True))
        db.session.commit()
    _assert_invalid_token(client.get("/me", headers=bearer(user_token)))


def test_expired_token_by_row(app: Flask, client: Any, user_token: str) -> None:
    with app.app_context():
        db.session.execute(sa.update(_token_model(app)).values(
            expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    _assert_invalid_token(client.get("/me", headers=bearer(user_token)))


def test_expired_token_by_claim(app: Flask, client: Any, user_token: str,
                                private_key_pem: str) -> None:
    header, payload, _ = _parts(user_token)
    payload["exp"] = int((utcnow() - timedelta(minutes=1)).timestamp())
    payload["iat"] = payload["nbf"] = payload["exp"] - 60
    forged = jwt.encode(payload, private_key_pem, algorithm="RS256", headers=header)
    resp = client.get("/me", headers=bearer(forged))
    _assert_invalid_token(resp)
    assert "expired" in resp.json["error_description"]


def test_deleted_token_row(app: Flask, client: Any, user_token: str) -> None:
    with app.app_context():
        db.session.execute(sa.delete(_token_model(app)))
        db.session.commit()
    _assert_invalid_token(client.get("/me", headers=bearer(user_token)))


def test_revoked_client(app: Flask, client: Any, user_token: str) -> None:
    with app.app_context():
        db.session.execute(sa.update(app.extensions["passport"].models.Client).values(
            revoked=True))
        db.session.commit()
    _assert_invalid_token(client.get("/me", headers=bearer(user_token)))


def test_deleted_user(app: Flask, client: Any, user_token: str, user: Any) -> None:
    with app.app_context():
        db.session.execute(sa.delete(User).where(User.id == user.id))
        db.session.commit()
    _assert_invalid_token(client.get("/me", headers=bearer(user_token)))


def test_current_token_revoke(app: Flask, client: Any, user_token: str) -> None:
    assert client.post("/logout", headers=bearer(user_token)).status_code == 200
    _assert_invalid_token(client.get("/me", headers=bearer(user_token)))


# -- forged tokens -----------------------------------------------------------------------------

def test_garbage_tokens(client: Any, routes: Flask) -> None:
    for value in ["garbage", "a.b.c", "a.b", "....", "eyJhbGciOiJSUzI1NiJ9.e30.",
                  "\u00e9t\u00e9.x.y"]:
        _assert_invalid_token(client.get("/me", headers=bearer(value)))


def test_alg_none(client: Any, user_token: str) -> None:
    header, payload, _ = _parts(user_token)
    for alg in ("none", "None", "NONE"):
        forged = _assemble({**header, "alg": alg}, payload, "")
        _assert_invalid_token(client.get("/me", headers=bearer(forged)))


def test_hs256_signed_with_public_key(client: Any, user_token: str, private_key_pem: str) -> None:
    """Algorithm confusion: an HMAC token keyed with the public PEM must be refused."""
    public_pem = keys_mod.public_pem(keys_mod.load_private_key(private_key_pem.encode()))
    header, payload, _ = _parts(user_token)
    h = _b64(json.dumps({**header, "alg": "HS256"}).encode())
    p = _b64(json.dumps(payload).encode())
    sig = _b64(hmac.new(public_pem, f"{h}.{p}".encode(), hashlib.sha256).digest())
    _assert_invalid_token(client.get("/me", headers=bearer(f"{h}.{p}.{sig}")))


def test_wrong_kid(client: Any, user_token: str, private_key_pem: str) -> None:
    header, payload, _ = _parts(user_token)
    for kid in ("other", None, 123, ["x"]):
        hdr = {**header, "kid": kid}
        if kid is None:
            hdr.pop("kid")
        forged = _rs256(hdr, payload, private_key_pem)
        _assert_invalid_token(client.get("/me", headers=bearer(forged)))


def test_signed_by_another_key(client: Any, user_token: str) -> None:
    other = keys_mod.generate_private_key("RSA", 2048)
    header, payload, _ = _parts(user_token)
    forged = jwt.encode(payload, keys_mod.private_pem(other), algorithm="RS256", headers=header)
    _assert_invalid_token(client.get("/me", headers=bearer(forged)))


def test_tampered_payload(app: Flask, client: Any, user_token: str, password_client: Any) -> None:
    with app.app_context():
        db.session.add(User(id=999, email="victim@example.com", password_hash="x"))
        db.session.commit()
    _, payload, signature = _parts(user_token)
    head = user_token.split(".")[0]
    for change in ({"sub": "999"}, {"scope": "check-status place-orders"},
                   {"exp": payload["exp"] + 3600}):
        body = _b64(json.dumps({**payload, **change}).encode())
        forged = f"{head}.{body}.{signature}"
        _assert_invalid_token(client.get("/me", headers=bearer(forged)))


def test_oversized_token(client: Any, user_token: str, private_key_pem: str) -> None:
    header, payload, _ = _parts(user_token)
    payload["pad"] = "x" * (tokens.MAX_TOKEN_LENGTH + 10)
    big = jwt.encode(payload, private_key_pem, algorithm="RS256", headers=header)
    _assert_invalid_token(client.get("/me", headers=bearer(big)))


def test_crit_header(client: Any, user_token: str, private_key_pem: str) -> None:
    header, payload, _ = _parts(user_token)
    forged = jwt.encode(payload, private_key_pem, algorithm="RS256",
                        headers={**header, "crit": ["exp"]})
    _assert_invalid_token(client.get("/me", headers=bearer(forged)))


def test_missing_jti(client: Any, user_token: str, private_key_pem: str) -> None:
    header, payload, _ = _parts(user_token)
    payload.pop("jti")
    forged = jwt.encode(payload, private_key_pem, algorithm="RS256", headers=header)
    _assert_invalid_token(client.get("/me", headers=bearer(forged)))


def test_signed_with_our_key_but_no_row(client: Any, user_token: str, private_key_pem: str
                                        ) -> None:
    """Only tokens this server issued (and recorded) are accepted, even with a valid signature."""
    header, payload, _ = _parts(user_token)
    payload["jti"] = "00000000-0000-0000-0000-000000000000"
    forged = jwt.encode(payload, private_key_pem, algorithm="RS256", headers=header)
    _assert_invalid_token(client.get("/me", headers=bearer(forged)))


def test_the_row_not_the_claims_decides_the_user(app: Flask, client: Any, user_token: str,
                                                 private_key_pem: str, user: Any) -> None:
    """A validly-signed token whose claims differ from its row is judged by its row."""
    with app.app_context():
        db.session.add(User(id=777, email="other@example.com", password_hash="x"))
        db.session.commit()
    header, payload, _ = _parts(user_token)
    payload["sub"] = "777"
    payload["scope"] = "*"
    twisted = jwt.encode(payload, private_key_pem, algorithm="RS256", headers=header)
    resp = client.get("/me", headers=bearer(twisted))
    assert resp.status_code == 200 and resp.json["id"] == user.id
    assert client.get("/orders", headers=bearer(twisted)).status_code == 403


def test_missing_keys_on_protected_route(app: Flask, client: Any, user_token: str, tmp_path: Any
                                         ) -> None:
    app.config["PASSPORT_PRIVATE_KEY"] = None
    app.config["PASSPORT_KEY_PATH"] = str(tmp_path / "none")
    app.extensions["passport"].reload_settings()
    resp = client.get("/me", headers=bearer(user_token))
    assert resp.status_code == 500
    assert "flask passport keys" in resp.json["error_description"]


def test_error_body_never_echoes_the_token(client: Any, user_token: str) -> None:
    bad = user_token[:-4] + "AAAA"
    resp = client.get("/me", headers=bearer(bad))
    assert resp.status_code == 401
    assert user_token.split(".")[2][:20] not in resp.get_data(as_text=True)
    assert user_token.split(".")[2][:20] not in resp.headers["WWW-Authenticate"]


def test_client_token_does_not_borrow_the_session_user(app: Flask, client: Any, routes: Flask,
                                                       machine_client: Any, user: Any) -> None:
    """A bearer request is judged by its token alone: a client token plus a browser session
    cookie must not make ``current_user`` the session's user."""
    from flask_login import current_user, login_user

    @app.get("/whoami-any")
    def whoami_any() -> Any:  # a plain route: the session decides
        return {"user": current_user.get_id() if current_user.is_authenticated else None}

    @app.post("/session-login")
    def session_login() -> Any:
        login_user(db.session.get(User, user.id))
        return {"ok": True}

    @app.get("/status-who")
    @scope_route("check-status")
    def status_who() -> Any:
        return {"user": current_user.get_id() if current_user.is_authenticated else None}

    assert client.post("/session-login").status_code == 200
    assert client.get("/whoami-any").json == {"user": str(user.id)}
    token = client_token(client, machine_client).json["access_token"]
    resp = client.get("/status-who", headers=bearer(token))
    assert resp.status_code == 200
    assert resp.json == {"user": None}
