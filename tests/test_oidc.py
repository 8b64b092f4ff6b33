"""OpenID Connect Core on the code flow: id_token claims, nonce, at_hash, auth_time, max_age,
prompt, scopes and consent, userinfo, discovery and RP-initiated logout (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import sqlalchemy as sa
from conftest import db, make_app, new_client
from flask import Flask

from flask_passport import signals
from flask_passport.jose import keys as keys_mod
from flask_passport.oauth2.oidc import token_hash
from flask_passport.oauth2.pkce import s256

REDIRECT = "https://app.example.com/callback"
LOGOUT_URI = "https://app.example.com/signed-out"
VERIFIER = "A1b2-C3d4.E5f6_G7h8~" * 3


def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))


def authorize(client: Any, created: Any, **extra: Any) -> Any:
    params = {"client_id": created.client.id, "redirect_uri": REDIRECT, "response_type": "code",
              "scope": "openid", "state": "st", "nonce": "n-0S6_WzA2Mj"}
    params.update(extra)
    return client.get("/oauth/authorize?" + urlencode(
        {k: v for k, v in params.items() if v is not None}))


def approve_page(client: Any, page: Any) -> dict[str, str]:
    """Approve the consent page (unless consent is skipped); the redirect's query."""
    if page.status_code == 302 and page.headers["Location"].startswith(REDIRECT):
        resp = page  # the user already holds a token covering these scopes
    else:
        assert page.status_code == 200, page.get_data(as_text=True)
        fields = form_fields(page.get_data(as_text=True))
        resp = client.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
    assert resp.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}


def obtain_code(client: Any, created: Any, **extra: Any) -> str:
    return approve_page(client, authorize(client, created, **extra))["code"]


def exchange(client: Any, created: Any, code: str, **extra: Any) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": created.client.id}
    if created.secret:
        data["client_secret"] = created.secret
    data.update(extra)
    return client.post("/oauth/token", data=data)


def verify_id_token(client: Any, value: str, audience: str) -> dict[str, Any]:
    """Verify an ID token the way a relying party does: the JWKS from discovery."""
    config = client.get("/.well-known/openid-configuration").json
    jwks = client.get(urlsplit(config["jwks_uri"]).path).json
    header = jwt.get_unverified_header(value)
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    key = jwt.PyJWK(jwk)
    assert header["alg"] in config["id_token_signing_alg_values_supported"]
    return jwt.decode(value, key.key, algorithms=[header["alg"]], audience=audience,
                      issuer=config["issuer"])


@pytest.fixture
def signed_in(client: Any, authz_login: Any, user: Any) -> Any:
    authz_login(client, user)
    return client


@pytest.fixture
def oidc_client(app: Flask) -> Any:
    return new_client(app, "authorization_code", name="OIDC RP",
                      post_logout_redirect_uris=[LOGOUT_URI])


# -- ID token -----------------------------------------------------------------------------------


def test_openid_scope_yields_a_verifiable_id_token(signed_in: Any, oidc_client: Any,
                                                   user: Any) -> None:
    before = int(time.time())
    code = obtain_code(signed_in, oidc_client, scope="openid check-status")
    resp = exchange(signed_in, oidc_client, code)
    assert resp.status_code == 200, resp.json
    body = resp.json
    claims = verify_id_token(signed_in, body["id_token"], oidc_client.client.id)
    assert claims["sub"] == str(user.id)
    assert claims["aud"] == oidc_client.client.id
    assert claims["iss"] == "http://localhost"
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert before - 5 <= claims["auth_time"] <= claims["iat"] <= int(time.time()) + 1
    assert claims["exp"] - claims["iat"] == 3600
    # §3.1.3.6, computed independently: left half of SHA-256 of the access token.
    digest = hashlib.sha256(body["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert "azp" not in claims  # a single audience: azp is not needed
    assert "email" not in claims  # profile/email claims come from userinfo (§5.4)


def test_no_openid_scope_means_no_id_token(signed_in: Any, oidc_client: Any) -> None:
    code = obtain_code(signed_in, oidc_client, scope="check-status")
    body = exchange(signed_in, oidc_client, code).json
    assert "access_token" in body and "id_token" not in body


def test_without_nonce_the_id_token_has_none(signed_in: Any, oidc_client: Any) -> None:
    code = obtain_code(signed_in, oidc_client, nonce=None)
    claims = jwt.decode(exchange(signed_in, oidc_client, code).json["id_token"],
                        options={"verify_signature": False})
    assert "nonce" not in claims


def test_each_code_carries_its_own_nonce_and_a_replay_gets_no_id_token(
    app: Flask, signed_in: Any, oidc_client: Any
) -> None:
    first = obtain_code(signed_in, oidc_client, nonce="nonce-one")
    second = obtain_code(signed_in, oidc_client, nonce="nonce-two")
    body2 = exchange(signed_in, oidc_client, second).json
    body1 = exchange(signed_in, oidc_client, first).json
    decode = lambda v: jwt.decode(v, options={"verify_signature": False})  # noqa: E731
    assert decode(body1["id_token"])["nonce"] == "nonce-one"
    assert decode(body2["id_token"])["nonce"] == "nonce-two"
    replay = exchange(signed_in, oidc_client, first)
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    assert "id_token" not in replay.json
    # The replay revoked what the first exchange issued (its access token no longer works).
    info = signed_in.get("/oauth/userinfo",
                         headers={"Authorization": f"Bearer {body1['access_token']}"})
    assert info.status_code == 401
    with app.app_context():
        AuthCode = app.extensions["passport"].models.AuthCode
        nonces = set(db.session.scalars(sa.select(AuthCode.nonce)))
    assert nonces == {"nonce-one", "nonce-two"}


def test_oversized_nonce_is_refused_by_redirect(signed_in: Any, oidc_client: Any) -> None:
    resp = authorize(signed_in, oidc_client, nonce="n" * 513)
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["st"]


@pytest.mark.parametrize(("kind", "alg", "hash_fn"), [
    ("ES256", "ES256", hashlib.sha256),
    ("EdDSA", "EdDSA", hashlib.sha512),
])
def test_at_hash_follows_the_signing_algorithm(
    app_config: dict[str, Any], tmp_path: Path, kind: str, alg: str, hash_fn: Any
) -> None:
    config = dict(app_config)
    config["PASSPORT_PRIVATE_KEY"] = keys_mod.private_pem(
        keys_mod.generate_private_key(kind)).decode()
    app = make_app(config)
    with app.app_context():
        db.create_all()
    try:
        from conftest import User

        with app.app_context():
            u = User(email="ec@example.com")
            u.set_password("pw")
            db.session.add(u)
            db.session.commit()
            user_id = u.id

        from flask_login import login_user

        @app.post("/test-login")
        def test_login() -> str:
            login_user(db.session.get(User, user_id))
            return "ok"

        app.login_manager.login_view = "test_login"  # type: ignore[attr-defined]
        created = new_client(app, "authorization_code")
        http = app.test_client()
        http.post("/test-login")
        body = exchange(http, created, obtain_code(http, created)).json
        header = jwt.get_unverified_header(body["id_token"])
        assert header["alg"] == alg
        claims = verify_id_token(http, body["id_token"], created.client.id)
        digest = hash_fn(body["access_token"].encode()).digest()
        half = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
        assert claims["at_hash"] == half == token_hash(body["access_token"], alg)
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def test_refresh_returns_a_new_id_token_with_the_original_auth_time(
    signed_in: Any, oidc_client: Any
) -> None:
    with signed_in.session_transaction() as sess:
        sess["_passport_auth_time"] = int(time.time()) - 120
    body = exchange(signed_in, oidc_client,
                    obtain_code(signed_in, oidc_client, scope="openid check-status")).json
    first = jwt.decode(body["id_token"], options={"verify_signature": False})
    refreshed = signed_in.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
        "client_id": oidc_client.client.id, "client_secret": oidc_client.secret}).json
    second = verify_id_token(signed_in, refreshed["id_token"], oidc_client.client.id)
    assert second["sub"] == first["sub"] and second["aud"] == first["aud"]
    assert second["auth_time"] == first["auth_time"] <= int(time.time()) - 119
    assert "nonce" not in second  # §12.2
    assert second["at_hash"] == token_hash(refreshed["access_token"], "RS256")
    # Narrowed to scopes without openid: no ID token.
    narrowed = signed_in.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"],
        "client_id": oidc_client.client.id, "client_secret": oidc_client.secret,
        "scope": "check-status"})
    assert narrowed.status_code == 200 and "id_token" not in narrowed.json


# -- auth_time, max_age, prompt ---------------------------------------------------------------


def test_max_age_exceeded_forces_a_new_login(signed_in: Any, oidc_client: Any,
                                             user: Any) -> None:
    with signed_in.session_transaction() as sess:
        sess["_passport_auth_time"] = int(time.time()) - 600
    resp = authorize(signed_in, oidc_client, max_age="300")
    assert resp.status_code == 302 and "/test-login" in resp.headers["Location"]
    # The session is kept (a GET signs no one out), but only a new login continues.
    again = authorize(signed_in, oidc_client, max_age="300")
    assert again.status_code == 200 and "Sign in again" in again.get_data(as_text=True)
    before = int(time.time())
    assert signed_in.post("/test-login", data={"user_id": str(user.id)}).status_code == 200
    query = approve_page(signed_in, authorize(signed_in, oidc_client, max_age="300"))
    claims = jwt.decode(exchange(signed_in, oidc_client, query["code"]).json["id_token"],
                        options={"verify_signature": False})
    assert claims["auth_time"] >= before


def test_max_age_within_limit_needs_no_new_login(signed_in: Any, oidc_client: Any) -> None:
    with signed_in.session_transaction() as sess:
        sess["_passport_auth_time"] = int(time.time()) - 100
    query = approve_page(signed_in, authorize(signed_in, oidc_client, max_age="300"))
    claims = jwt.decode(exchange(signed_in, oidc_client, query["code"]).json["id_token"],
                        options={"verify_signature": False})
    assert int(time.time()) - 102 <= claims["auth_time"] <= int(time.time()) - 99


def test_max_age_zero_completes_after_one_login(client: Any, authz_login: Any, user: Any,
                                                oidc_client: Any) -> None:
    authz_login(client, user)
    resp = authorize(client, oidc_client, max_age="0")
    assert resp.status_code == 302 and "/test-login" in resp.headers["Location"]
    authz_login(client, user)
    approve_page(client, authorize(client, oidc_client, max_age="0"))


def test_max_age_with_unknown_login_time_forces_login(signed_in: Any, oidc_client: Any) -> None:
    with signed_in.session_transaction() as sess:
        sess.pop("_passport_auth_time", None)
    resp = authorize(signed_in, oidc_client, max_age="3600")
    assert resp.status_code == 302 and "/test-login" in resp.headers["Location"]


def test_max_age_with_prompt_none_is_login_required(signed_in: Any, oidc_client: Any) -> None:
    with signed_in.session_transaction() as sess:
        sess["_passport_auth_time"] = int(time.time()) - 600
    resp = authorize(signed_in, oidc_client, max_age="60", prompt="none")
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert resp.headers["Location"].startswith(REDIRECT)
    assert query["error"] == ["login_required"] and query["state"] == ["st"]


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "99999999999"])
def test_malformed_max_age_is_invalid_request(signed_in: Any, oidc_client: Any,
                                              value: str) -> None:
    resp = authorize(signed_in, oidc_client, max_age=value)
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["error"] == ["invalid_request"]


def test_prompt_none_answers_login_and_consent_required(client: Any, authz_login: Any,
                                                        user: Any, oidc_client: Any) -> None:
    resp = authorize(client, oidc_client, prompt="none")
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["error"] == ["login_required"]
    authz_login(client, user)
    resp = authorize(client, oidc_client, prompt="none")
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["error"] == ["consent_required"]
    tokens_for(client, oidc_client, "openid")  # the user grants openid once
    resp = authorize(client, oidc_client, prompt="none")
    assert "code" in parse_qs(urlsplit(resp.headers["Location"]).query)


def test_consent_page_lists_the_oidc_scopes(signed_in: Any, oidc_client: Any) -> None:
    page = authorize(signed_in, oidc_client, scope="openid profile email")
    html = page.get_data(as_text=True)
    assert "Sign you in and know who you are" in html
    assert "See your basic profile" in html and "See your email address" in html


# -- userinfo (§5.3) --------------------------------------------------------------------------


def tokens_for(client: Any, created: Any, scope: str) -> dict[str, Any]:
    return exchange(client, created, obtain_code(client, created, scope=scope)).json


def test_userinfo_returns_the_claims_of_the_granted_scopes(signed_in: Any, oidc_client: Any,
                                                           user: Any) -> None:
    body = tokens_for(signed_in, oidc_client, "openid email")
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    resp = signed_in.get("/oauth/userinfo", headers=auth)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert resp.json == {"sub": str(user.id), "email": "taylor@example.com"}
    assert signed_in.post("/oauth/userinfo", headers=auth).json == resp.json
    only_openid = tokens_for(signed_in, oidc_client, "openid")
    assert signed_in.get("/oauth/userinfo", headers={
        "Authorization": f"Bearer {only_openid['access_token']}"}).json == {"sub": str(user.id)}


def test_userinfo_accepts_the_token_in_a_post_body(signed_in: Any, oidc_client: Any) -> None:
    body = tokens_for(signed_in, oidc_client, "openid")
    resp = signed_in.post("/oauth/userinfo", data={"access_token": body["access_token"]})
    assert resp.status_code == 200
    both = signed_in.post("/oauth/userinfo", data={"access_token": body["access_token"]},
                          headers={"Authorization": f"Bearer {body['access_token']}"})
    assert both.status_code == 400 and both.json["error"] == "invalid_request"


def test_userinfo_errors_follow_rfc_6750(app: Flask, signed_in: Any, oidc_client: Any,
                                         machine_client: Any) -> None:
    missing = signed_in.get("/oauth/userinfo")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "error=" not in missing.headers["WWW-Authenticate"]
    bad = signed_in.get("/oauth/userinfo", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    no_openid = tokens_for(signed_in, oidc_client, "check-status")
    resp = signed_in.get("/oauth/userinfo",
                         headers={"Authorization": f"Bearer {no_openid['access_token']}"})
    assert resp.status_code == 403
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
    assert 'scope="openid"' in resp.headers["WWW-Authenticate"]
    machine = signed_in.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": machine_client.client.id,
        "client_secret": machine_client.secret}).json
    resp = signed_in.get("/oauth/userinfo",
                         headers={"Authorization": f"Bearer {machine['access_token']}"})
    assert resp.status_code == 401 and resp.json["error"] == "invalid_token"


def test_claims_hook_on_the_user_model_and_decorator(app: Flask, signed_in: Any,
                                                     oidc_client: Any, user: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import User

    def get_oidc_claims(self: Any, scopes: list[str]) -> dict[str, Any]:
        return {"email": self.email, "email_verified": True, "name": "Taylor Otwell",
                "sub": "forged", "tenant": "acme", "phone_number": "+1 555"}

    monkeypatch.setattr(User, "get_oidc_claims", get_oidc_claims, raising=False)
    body = tokens_for(signed_in, oidc_client, "openid email")
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    # name (profile) and phone_number (phone) were not granted; sub is never overridden.
    assert signed_in.get("/oauth/userinfo", headers=auth).json == {
        "sub": str(user.id), "email": "taylor@example.com", "email_verified": True,
        "tenant": "acme"}

    passport = app.extensions["passport"].passport
    seen: list[list[str]] = []

    @passport.oidc_claims
    def claims(u: Any, scopes: list[str]) -> dict[str, Any]:
        seen.append(scopes)
        return {"email": "hook@example.com"}

    assert signed_in.get("/oauth/userinfo", headers=auth).json == {
        "sub": str(user.id), "email": "hook@example.com"}
    assert seen == [["openid", "email"]]


# -- discovery --------------------------------------------------------------------------------


def test_openid_configuration_is_generated_from_the_configuration(client: Any) -> None:
    resp = client.get("/.well-known/openid-configuration")
    assert resp.status_code == 200
    doc = resp.json
    meta = client.get("/.well-known/oauth-authorization-server").json
    assert {k: doc[k] for k in meta} == meta  # the RFC 8414 document, extended
    assert doc["issuer"] == "http://localhost"
    assert doc["userinfo_endpoint"] == "http://localhost/oauth/userinfo"
    assert doc["end_session_endpoint"] == "http://localhost/oauth/logout"
    assert doc["jwks_uri"] == "http://localhost/.well-known/jwks.json"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["subject_types_supported"] == ["public"]
    assert {"openid", "profile", "email"} <= set(doc["scopes_supported"])
    assert {"sub", "nonce", "at_hash", "auth_time", "email", "name"} <= set(
        doc["claims_supported"])
    assert "address" not in doc["claims_supported"]
    assert doc["request_uri_parameter_supported"] is False
    assert "code" in doc["response_types_supported"]


def test_openid_configuration_for_an_issuer_with_a_path(app_config: dict[str, Any]) -> None:
    config = dict(app_config, PASSPORT_ISSUER="https://id.example.com/tenant")
    app = make_app(config)
    http = app.test_client()
    assert http.get("/.well-known/openid-configuration").status_code == 404
    doc = http.get("/tenant/.well-known/openid-configuration").json
    assert doc["issuer"] == "https://id.example.com/tenant"
    assert doc["userinfo_endpoint"] == "https://id.example.com/oauth/userinfo"


def test_address_and_phone_scopes_are_opt_in(app_config: dict[str, Any]) -> None:
    app = make_app(dict(app_config, PASSPORT_OIDC_SCOPES="openid profile email address phone"))
    doc = app.test_client().get("/.well-known/openid-configuration").json
    assert {"address", "phone"} <= set(doc["scopes_supported"])
    assert {"address", "phone_number"} <= set(doc["claims_supported"])
    with pytest.raises(ValueError, match="not an OpenID Connect scope"):
        make_app(dict(app_config, PASSPORT_OIDC_SCOPES=["openid", "bogus"]))


def test_oidc_disabled(app_config: dict[str, Any]) -> None:
    from flask_passport import Passport

    passport = Passport()
    app = make_app(dict(app_config, PASSPORT_OIDC_ENABLED=False), passport)
    http = app.test_client()
    assert http.get("/.well-known/openid-configuration").status_code == 404
    assert http.get("/oauth/userinfo").status_code == 404
    assert http.get("/oauth/logout").status_code == 404
    assert not passport.has_scope("openid")


# -- RP-initiated logout ----------------------------------------------------------------------


def id_token_of(client: Any, created: Any) -> str:
    return str(tokens_for(client, created, "openid")["id_token"])


def is_signed_in(client: Any, created: Any) -> bool:
    resp = authorize(client, created, prompt="none")
    return "login_required" not in resp.headers["Location"]


def test_logout_with_a_matching_hint_signs_out_and_redirects_with_state(
    app: Flask, signed_in: Any, oidc_client: Any, user: Any
) -> None:
    hint = id_token_of(signed_in, oidc_client)
    ended: list[dict[str, Any]] = []

    def listener(sender: Any, **kwargs: Any) -> None:
        ended.append(kwargs)

    signals.session_ended.connect(listener, app)
    try:
        resp = signed_in.get("/oauth/logout?" + urlencode({
            "id_token_hint": hint, "post_logout_redirect_uri": LOGOUT_URI, "state": "bye"}))
    finally:
        signals.session_ended.disconnect(listener, app)
    assert resp.status_code == 302
    assert resp.headers["Location"] == LOGOUT_URI + "?state=bye"
    assert not is_signed_in(signed_in, oidc_client)
    assert ended and ended[0]["user_id"] == str(user.id)
    assert ended[0]["client"].id == oidc_client.client.id


@pytest.mark.parametrize("uri", [
    LOGOUT_URI + "/", LOGOUT_URI + "?x=1", LOGOUT_URI + "#f", LOGOUT_URI.upper(),
    "https://evil.example/signed-out", REDIRECT, "https://app.example.com/signed-outx",
])
def test_post_logout_redirect_uri_must_match_exactly(signed_in: Any, oidc_client: Any,
                                                     uri: str) -> None:
    hint = id_token_of(signed_in, oidc_client)
    resp = signed_in.get("/oauth/logout?" + urlencode({
        "id_token_hint": hint, "post_logout_redirect_uri": uri}))
    assert resp.status_code == 400 and "Location" not in resp.headers
    assert "not registered" in resp.get_data(as_text=True)
    assert is_signed_in(signed_in, oidc_client)


def test_redirect_uri_needs_a_known_client(signed_in: Any, oidc_client: Any,
                                           authz_client: Any) -> None:
    resp = signed_in.get("/oauth/logout?" + urlencode({"post_logout_redirect_uri": LOGOUT_URI}))
    assert resp.status_code == 400 and "Location" not in resp.headers
    # Another client's id cannot borrow this client's URI, nor contradict the hint.
    hint = id_token_of(signed_in, oidc_client)
    resp = signed_in.get("/oauth/logout?" + urlencode({
        "client_id": authz_client.client.id, "post_logout_redirect_uri": LOGOUT_URI}))
    assert resp.status_code == 400
    resp = signed_in.get("/oauth/logout?" + urlencode({
        "id_token_hint": hint, "client_id": authz_client.client.id}))
    assert resp.status_code == 400 and "does not match" in resp.get_data(as_text=True)


def test_forged_or_access_token_hints_are_refused(signed_in: Any, oidc_client: Any) -> None:
    body = tokens_for(signed_in, oidc_client, "openid")
    forged_key = keys_mod.generate_private_key("RSA")
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    kid = jwt.get_unverified_header(body["id_token"])["kid"]
    forged = jwt.encode(claims, forged_key, algorithm="RS256", headers={"kid": kid})
    for hint in (forged, body["access_token"], "garbage"):
        resp = signed_in.get("/oauth/logout?" + urlencode({
            "id_token_hint": hint, "post_logout_redirect_uri": LOGOUT_URI}))
        assert resp.status_code == 400 and "Location" not in resp.headers
    assert is_signed_in(signed_in, oidc_client)


def test_logout_without_hint_asks_for_confirmation_with_csrf(signed_in: Any,
                                                             oidc_client: Any) -> None:
    resp = signed_in.get("/oauth/logout?" + urlencode({
        "client_id": oidc_client.client.id, "post_logout_redirect_uri": LOGOUT_URI,
        "state": "s1"}))
    assert resp.status_code == 200 and "Sign out?" in resp.get_data(as_text=True)
    assert is_signed_in(signed_in, oidc_client)  # a GET alone signs no one out
    fields = form_fields(resp.get_data(as_text=True))
    bad = signed_in.post("/oauth/logout", data=fields | {"csrf_token": "x", "confirm": "1"})
    assert bad.status_code == 400 and is_signed_in(signed_in, oidc_client)
    ok = signed_in.post("/oauth/logout", data=fields | {"confirm": "1"})
    assert ok.status_code == 302 and ok.headers["Location"] == LOGOUT_URI + "?state=s1"
    assert not is_signed_in(signed_in, oidc_client)
    again = signed_in.post("/oauth/logout", data=fields | {"confirm": "1"})
    assert again.status_code == 400  # single use


def test_logout_cancel_keeps_the_session(signed_in: Any, oidc_client: Any) -> None:
    resp = signed_in.get("/oauth/logout")
    fields = form_fields(resp.get_data(as_text=True))
    cancel = signed_in.post("/oauth/logout", data=fields | {"cancel": "1"})
    assert cancel.status_code == 200 and "still signed in" in cancel.get_data(as_text=True)
    assert is_signed_in(signed_in, oidc_client)


def test_a_hint_for_another_user_asks_for_confirmation(app: Flask, client: Any,
                                                       authz_login: Any, user: Any,
                                                       oidc_client: Any) -> None:
    from conftest import User

    with app.app_context():
        other = User(email="other@example.com")
        other.set_password("pw")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    authz_login(client, user)
    hint = id_token_of(client, oidc_client)
    client.post("/test-login", data={"user_id": str(other_id)})
    resp = client.get("/oauth/logout?" + urlencode({"id_token_hint": hint}))
    assert resp.status_code == 200 and "Sign out?" in resp.get_data(as_text=True)
    assert is_signed_in(client, oidc_client)


def test_logout_when_signed_out_just_redirects(client: Any, oidc_client: Any) -> None:
    resp = client.get("/oauth/logout?" + urlencode({
        "client_id": oidc_client.client.id, "post_logout_redirect_uri": LOGOUT_URI}))
    assert resp.status_code == 302 and resp.headers["Location"] == LOGOUT_URI
    page = client.get("/oauth/logout")
    assert page.status_code == 200 and "signed out" in page.get_data(as_text=True)


def test_expired_id_token_is_still_a_valid_hint(app_config: dict[str, Any], signed_in: Any,
                                                oidc_client: Any, app: Flask) -> None:
    passport = app.extensions["passport"].passport
    passport._set("PASSPORT_ID_TOKEN_LIFETIME", 1)
    hint = id_token_of(signed_in, oidc_client)
    assert jwt.decode(hint, options={"verify_signature": False})["exp"] <= int(time.time()) + 1
    time.sleep(2)
    resp = signed_in.get("/oauth/logout?" + urlencode({
        "id_token_hint": hint, "post_logout_redirect_uri": LOGOUT_URI}))
    assert resp.status_code == 302 and resp.headers["Location"] == LOGOUT_URI


# -- migration ----------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")
def test_migration_adds_post_logout_redirect_uris(tmp_path: Path, app: Flask) -> None:
    from flask import Flask as FlaskApp
    from flask_migrate import Migrate, downgrade, init, upgrade
    from flask_sqlalchemy import SQLAlchemy

    from flask_passport import Passport

    enabled = [lg for lg in logging.Logger.manager.loggerDict.values()
               if isinstance(lg, logging.Logger) and not lg.disabled]
    other_db = SQLAlchemy()
    migrated = FlaskApp("migrated")
    migrated.config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'm.sqlite'}",
                           PASSPORT_PRIVATE_KEY=None)
    other_db.init_app(migrated)
    directory = str(tmp_path / "migrations")
    Migrate(migrated, other_db, directory=directory)
    Passport(migrated, db=other_db)
    try:
        with migrated.app_context():
            init(directory=directory)
            upgrade(directory=directory, revision="passport@head")
            after_up = {c["name"] for c in
                        sa.inspect(other_db.engine).get_columns("oauth_clients")}
            indexes_up = {i["name"] for i in
                          sa.inspect(other_db.engine).get_indexes("oauth_auth_codes")}
            downgrade(directory=directory, revision="b2c0ffee0002")
            after_down = {c["name"] for c in
                          sa.inspect(other_db.engine).get_columns("oauth_clients")}
            indexes_down = {i["name"] for i in
                            sa.inspect(other_db.engine).get_indexes("oauth_auth_codes")}
            other_db.engine.dispose()
    finally:
        for lg in enabled:
            lg.disabled = False
    assert "post_logout_redirect_uris" in after_up
    assert "post_logout_redirect_uris" not in after_down
    assert "ix_oauth_auth_codes_access_token_id" in indexes_up - indexes_down


def test_pkce_public_client_gets_an_id_token(signed_in: Any, authz_public_client: Any) -> None:
    code = obtain_code(signed_in, authz_public_client, code_challenge=s256(VERIFIER),
                       code_challenge_method="S256")
    body = exchange(signed_in, authz_public_client, code, code_verifier=VERIFIER).json
    claims = verify_id_token(signed_in, body["id_token"], authz_public_client.client.id)
    assert claims["nonce"] == "n-0S6_WzA2Mj"


# -- ID-token signing keys: RS256 whatever signs access tokens ----------------------------------


def _use_keys(app: Flask, private: Any, id_token_private: Any = None) -> None:
    """Sign with ``private`` (and ``id_token_private`` for ID tokens) from configuration."""
    app.config["PASSPORT_PRIVATE_KEY"] = keys_mod.private_pem(private).decode()
    app.config["PASSPORT_ID_TOKEN_PRIVATE_KEY"] = (
        keys_mod.private_pem(id_token_private).decode() if id_token_private else None)
    app.extensions["passport"].reload_settings()  # re-read the configuration (and keys)


@pytest.mark.parametrize("kind", ["ES256", "EdDSA"])
def test_id_tokens_are_rs256_when_access_tokens_are_not(app: Flask, signed_in: Any,
                                                        oidc_client: Any, kind: str) -> None:
    """Discovery §3 requires RS256 in id_token_signing_alg_values_supported: with an EC or
    EdDSA signing key, ID tokens are signed by the RSA ID-token key, published in the JWKS."""
    _use_keys(app, keys_mod.generate_private_key(kind), keys_mod.generate_private_key("RSA"))
    config = signed_in.get("/.well-known/openid-configuration").json
    assert config["id_token_signing_alg_values_supported"] == ["RS256", kind]
    assert config["access_token_signing_alg_values_supported"] == [kind]
    body = exchange(signed_in, oidc_client, obtain_code(signed_in, oidc_client)).json
    assert jwt.get_unverified_header(body["access_token"])["alg"] == kind
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "RS256"
    claims = verify_id_token(signed_in, body["id_token"], oidc_client.client.id)
    assert claims["at_hash"] == token_hash(body["access_token"], "RS256")
    # The ID-token key signs ID tokens only: it never verifies an access token.
    with app.app_context():
        keyset = app.extensions["passport"].keys()
        assert keyset.id_token_signing is not None
        assert keyset.verifying_key(keyset.id_token_signing.kid) is None
    # And an id_token_hint it signed is ours (RP-initiated logout without confirmation).
    out = signed_in.get("/oauth/logout?" + urlencode({
        "id_token_hint": body["id_token"], "post_logout_redirect_uri": LOGOUT_URI}))
    assert out.status_code == 302 and out.headers["Location"] == LOGOUT_URI


def test_a_client_gets_its_registered_id_token_algorithm(app: Flask, signed_in: Any) -> None:
    _use_keys(app, keys_mod.generate_private_key("ES256"), keys_mod.generate_private_key("RSA"))
    es_client = new_client(app, "authorization_code", name="ES RP",
                           id_token_signed_response_alg="ES256")
    body = exchange(signed_in, es_client, obtain_code(signed_in, es_client)).json
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "ES256"
    claims = verify_id_token(signed_in, body["id_token"], es_client.client.id)
    assert claims["at_hash"] == token_hash(body["access_token"], "ES256")
    # An algorithm no key of this server has: a clear server_error, no token, no 500.
    ed_client = new_client(app, "authorization_code", name="Ed RP",
                           id_token_signed_response_alg="EdDSA")
    resp = exchange(signed_in, ed_client, obtain_code(signed_in, ed_client))
    assert resp.status_code == 500 and resp.json["error"] == "server_error"
    assert "access_token" not in resp.json


def test_id_token_algorithm_is_validated_at_registration(app: Flask) -> None:
    from flask_passport.storage.clients import ClientError

    for bad in ("none", "HS256", "rs256"):
        with pytest.raises(ClientError, match="id_token_signed_response_alg"):
            new_client(app, "authorization_code", id_token_signed_response_alg=bad)
    result = app.test_cli_runner().invoke(args=[
        "passport", "client", "--name", "RP", "--redirect-uri", REDIRECT, "--id-token-alg",
        "ES256", "--json"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        state = app.extensions["passport"]
        row = state.db.session.get(state.models.Client, __import__("json").loads(
            result.output)["id"])
        assert row.id_token_signed_response_alg == "ES256"


@pytest.mark.parametrize("kind", ["ES256", "EdDSA"])
def test_keys_command_writes_an_rsa_id_token_key_next_to_an_ec_pair(
        app: Flask, tmp_path: Path, kind: str) -> None:
    app.config.update(PASSPORT_PRIVATE_KEY=None, PASSPORT_KEY_PATH=str(tmp_path))
    app.extensions["passport"].reload_settings()
    result = app.test_cli_runner().invoke(args=["passport", "keys", "--type", kind])
    assert result.exit_code == 0, result.output
    id_file = tmp_path / keys_mod.ID_TOKEN_KEY_FILE
    assert id_file.stat().st_mode & 0o777 == 0o600
    assert "RS256 ID tokens" in result.output
    http = app.test_client()
    config = http.get("/.well-known/openid-configuration").json
    assert config["id_token_signing_alg_values_supported"] == ["RS256", kind]
    jwks = http.get("/.well-known/jwks.json").json["keys"]
    assert sorted(k["alg"] for k in jwks) == sorted(["RS256", kind])
    # An existing ID-token key is kept (ID tokens it signed keep verifying) unless --force.
    before = id_file.read_bytes()
    assert app.test_cli_runner().invoke(args=["passport", "keys", "--type", kind,
                                              "--force"]).exit_code == 0
    after = id_file.read_bytes()
    assert after != before
    assert app.test_cli_runner().invoke(args=["passport", "keys", "--rotate"]).exit_code == 0
    assert id_file.read_bytes() == after
