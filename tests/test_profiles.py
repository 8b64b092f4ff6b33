"""PASSPORT_PROFILE: what "oauth2.1" and "fapi2" refuse, at init_app and at the endpoints."""

from __future__ import annotations

import base64
import re
import time
import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import sqlalchemy as sa
from conftest import make_app, new_client
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, jsonify

from flask_passport import profiles, require_oauth
from flask_passport.cli.checks import ClientFacts, check_profile, run_checks
from flask_passport.jose import keys as keys_mod
from flask_passport.oauth2.pkce import s256
from flask_passport.profiles import ProfileError
from flask_passport.settings import DEFAULTS, Settings

REDIRECT = "https://app.example.com/callback"
VERIFIER = "A1b2-C3d4.E5f6_G7h8~" * 3

#: What make_app turns on that oauth2.1 refuses (the test app enables the password grant).
OAUTH21 = {"PASSPORT_PROFILE": "oauth2.1", "PASSPORT_PASSWORD_GRANT": False}


def _load(config: dict[str, Any], overrides: dict[str, Any] | None = None) -> Settings:
    return Settings.load(config, overrides or {}, instance_path="/tmp")


def _use_profile(app: Flask, **config: Any) -> None:
    app.config.update(OAUTH21 | {k.upper(): v for k, v in config.items()})
    app.extensions["passport"].reload_settings()


@pytest.fixture
def signed_in(app: Flask, client: Any, authz_login: Any, user: Any) -> Any:
    @app.get("/me")
    @require_oauth()
    def me() -> Any:
        from flask_login import current_user

        return jsonify(email=current_user.email)

    authz_login(client, user)
    return client


def _authorize(http: Any, created: Any, **extra: Any) -> Any:
    """GET /oauth/authorize; on the consent page, approve it."""
    params = {"client_id": created.client.id, "redirect_uri": REDIRECT, "response_type": "code",
              "scope": "check-status", "state": "st"} | extra
    page = http.get("/oauth/authorize?" + urlencode({k: v for k, v in params.items()
                                                     if v is not None}))
    if page.status_code != 200:
        return page
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                             page.get_data(as_text=True)))
    return http.post("/oauth/authorize", data=fields | {"approve": "Authorize"})


def _redirect_query(resp: Any) -> dict[str, str]:
    assert resp.status_code == 302, resp.get_data(as_text=True)
    location = urlsplit(resp.headers["Location"])
    return {k: v[0] for k, v in parse_qs(location.query or location.fragment).items()}


def _exchange(http: Any, created: Any, code: str, **extra: Any) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": created.client.id, "client_secret": created.secret} | extra
    return http.post("/oauth/token", data={k: v for k, v in data.items() if v is not None})


# -- the settings ------------------------------------------------------------------------------


def test_no_profile_changes_nothing() -> None:
    s = _load({})
    assert s.profile is None and s.pkce_required == "public"
    assert s.auth_code_lifetime == timedelta(minutes=10)


def test_oauth21_pins_its_settings() -> None:
    s = _load({"PASSPORT_PROFILE": "oauth2.1"})
    assert s.profile == "oauth2.1"
    assert (s.implicit_grant, s.password_grant, s.pkce_plain) == (False, False, False)
    assert s.pkce_required == "all" and s.refresh_token_reuse_grace == 0
    # Explicit values the profile agrees with are fine.
    agreed = _load({"PASSPORT_PROFILE": "oauth2.1", "PASSPORT_PKCE_REQUIRED": "all",
                    "PASSPORT_IMPLICIT_GRANT": False, "PASSPORT_PKCE_PLAIN": "false"})
    assert agreed.pkce_required == "all" and agreed.pkce_plain is False


@pytest.mark.parametrize(("key", "value"), [
    ("PASSPORT_IMPLICIT_GRANT", True),
    ("PASSPORT_PASSWORD_GRANT", True),
    ("PASSPORT_PASSWORD_GRANT", "on"),
    ("PASSPORT_PKCE_PLAIN", True),
    ("PASSPORT_PKCE_REQUIRED", "public"),
    ("PASSPORT_REFRESH_TOKEN_REUSE_GRACE", 30),
])
def test_oauth21_refuses_contradicting_settings(key: str, value: Any) -> None:
    with pytest.raises(ProfileError, match=f"PASSPORT_PROFILE = 'oauth2.1': {key} is set "
                                           "explicitly to .*remove the setting"):
        _load({"PASSPORT_PROFILE": "oauth2.1", key: value})
    _load({key: value})  # fine without the profile


def test_a_setter_contradicting_the_profile_is_refused_too() -> None:
    with pytest.raises(ProfileError, match="PASSPORT_IMPLICIT_GRANT"):
        _load({"PASSPORT_PROFILE": "oauth2.1"}, {"PASSPORT_IMPLICIT_GRANT": True})


def test_unknown_profile_and_pkce_required_values() -> None:
    with pytest.raises(ValueError, match=r"PASSPORT_PROFILE must be None, 'oauth2\.1' or 'fapi2'"):
        _load({"PASSPORT_PROFILE": "OAuth 2.1"})
    with pytest.raises(ValueError, match="PASSPORT_PKCE_REQUIRED must be 'public' or 'all'"):
        _load({"PASSPORT_PKCE_REQUIRED": "confidential"})


def test_contradiction_is_an_error_at_init_app(app_config: dict[str, Any]) -> None:
    # make_app turns the password grant on, as an app that had it would.
    with pytest.raises(ProfileError, match="PASSPORT_PASSWORD_GRANT is set explicitly to True"):
        make_app({**app_config, "PASSPORT_PROFILE": "oauth2.1"})


def test_fapi2_refuses_long_codes_and_whatever_it_lacks() -> None:
    with pytest.raises(ProfileError, match=r"PASSPORT_AUTH_CODE_LIFETIME is set explicitly to "
                                           r"600 seconds.*set it to 60 seconds"):
        _load({"PASSPORT_PROFILE": "fapi2", "PASSPORT_AUTH_CODE_LIFETIME": 600})
    lacking = [rule.key for rule in profiles.FAPI2_PENDING if rule.key not in DEFAULTS]
    if lacking:  # a FAPI server without PAR, DPoP or private_key_jwt would not be one
        with pytest.raises(ProfileError, match=f"it requires {lacking[0]}"):
            _load({"PASSPORT_PROFILE": "fapi2"})
    else:
        assert _load({"PASSPORT_PROFILE": "fapi2"}).auth_code_lifetime == timedelta(seconds=60)


def test_every_rule_names_a_spec_and_its_value_passes() -> None:
    for profile in profiles.PROFILES:
        for rule in profiles.rules(profile):
            assert rule.spec and rule.refuses and rule.key.startswith("PASSPORT_")
            assert rule.accepts(rule.value), rule.key


# -- oauth2.1 at the endpoints -----------------------------------------------------------------


def test_implicit_is_unsupported_response_type(app: Flask, signed_in: Any,
                                                authz_public_client: Any) -> None:
    _use_profile(app)
    query = _redirect_query(_authorize(signed_in, authz_public_client, response_type="token",
                                       code_challenge=s256(VERIFIER),
                                       code_challenge_method="S256"))
    assert query["error"] == "unsupported_response_type" and query["state"] == "st"
    assert query["iss"] == "http://localhost"  # RFC 9207


def test_password_grant_is_unsupported_grant_type(app: Flask, client: Any,
                                                  password_client: Any, user: Any) -> None:
    _use_profile(app)
    resp = client.post("/oauth/token", data={
        "grant_type": "password", "client_id": password_client.client.id,
        "client_secret": password_client.secret, "username": user.email, "password": "secret"})
    assert resp.status_code == 400 and resp.json["error"] == "unsupported_grant_type"
    # The same answer without valid client credentials: the grant is off for everyone.
    resp = client.post("/oauth/token", data={"grant_type": "password", "client_id": "nobody",
                                             "username": user.email, "password": "secret"})
    assert resp.status_code == 400 and resp.json["error"] == "unsupported_grant_type"


def test_confidential_client_without_pkce_is_invalid_request(app: Flask, signed_in: Any,
                                                             authz_client: Any) -> None:
    # Without the profile a confidential client may skip PKCE ...
    code = _redirect_query(_authorize(signed_in, authz_client))["code"]
    assert _exchange(signed_in, authz_client, code).status_code == 200
    # ... with it, it may not.
    _use_profile(app)
    query = _redirect_query(_authorize(signed_in, authz_client))
    assert query["error"] == "invalid_request" and "PKCE" in query["error_description"]
    code = _redirect_query(_authorize(signed_in, authz_client, code_challenge=s256(VERIFIER),
                                      code_challenge_method="S256"))["code"]
    resp = _exchange(signed_in, authz_client, code, code_verifier=VERIFIER)
    assert resp.status_code == 200, resp.json


def test_code_issued_without_pkce_before_the_switch_is_refused(app: Flask, signed_in: Any,
                                                               authz_client: Any) -> None:
    code = _redirect_query(_authorize(signed_in, authz_client))["code"]
    _use_profile(app)
    resp = _exchange(signed_in, authz_client, code)
    assert resp.status_code == 400 and resp.json["error"] == "invalid_grant"


def test_plain_pkce_is_invalid_request(app: Flask, signed_in: Any,
                                       authz_public_client: Any) -> None:
    _use_profile(app)
    for method in ("plain", None):  # RFC 7636 §4.3: no method means plain
        query = _redirect_query(_authorize(signed_in, authz_public_client,
                                           code_challenge=VERIFIER, code_challenge_method=method))
        assert query["error"] == "invalid_request" and "S256" in query["error_description"]


def test_plain_code_issued_before_the_switch_is_refused(app: Flask, signed_in: Any,
                                                        authz_public_client: Any) -> None:
    app.config["PASSPORT_PKCE_PLAIN"] = True
    app.extensions["passport"].reload_settings()
    code = _redirect_query(_authorize(signed_in, authz_public_client, code_challenge=VERIFIER,
                                      code_challenge_method="plain"))["code"]
    del app.config["PASSPORT_PKCE_PLAIN"]
    _use_profile(app)
    resp = _exchange(signed_in, authz_public_client, code, code_verifier=VERIFIER)
    assert resp.status_code == 400 and resp.json["error"] == "invalid_grant"


def _pkce_token(http: Any, created: Any, scope: str = "check-status") -> dict[str, Any]:
    code = _redirect_query(_authorize(http, created, scope=scope, code_challenge=s256(VERIFIER),
                                      code_challenge_method="S256"))["code"]
    resp = _exchange(http, created, code, code_verifier=VERIFIER)
    assert resp.status_code == 200, resp.json
    return dict(resp.json)


def test_query_string_tokens_are_refused(app: Flask, signed_in: Any,
                                         authz_public_client: Any) -> None:
    """draft-ietf-oauth-v2-1 drops RFC 6750 §2.3; the header (and, at userinfo, the form
    body of §2.2) still work."""
    _use_profile(app)
    token = _pkce_token(signed_in, authz_public_client, "openid check-status")["access_token"]
    anonymous = app.test_client()
    resp = anonymous.get(f"/me?access_token={token}")
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = anonymous.get(f"/oauth/userinfo?access_token={token}")
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert anonymous.post("/oauth/userinfo", data={"access_token": token}).status_code == 200


def test_public_refresh_tokens_are_one_time_use(app: Flask, signed_in: Any,
                                                authz_public_client: Any) -> None:
    _use_profile(app)
    first = _pkce_token(signed_in, authz_public_client)["refresh_token"]
    data = {"grant_type": "refresh_token", "client_id": authz_public_client.client.id,
            "refresh_token": first}
    rotated = signed_in.post("/oauth/token", data=data)
    assert rotated.status_code == 200 and rotated.json["refresh_token"] != first
    again = signed_in.post("/oauth/token", data=data)
    assert again.status_code == 400 and again.json["error"] == "invalid_grant"


# -- metadata (RFC 8414) -----------------------------------------------------------------------


def test_metadata_reflects_oauth21(app: Flask, client: Any) -> None:
    app.config.update(PASSPORT_IMPLICIT_GRANT=True, PASSPORT_PKCE_PLAIN=True)
    app.extensions["passport"].reload_settings()
    loose = client.get("/.well-known/oauth-authorization-server").json
    assert "password" in loose["grant_types_supported"] and "implicit" in \
        loose["grant_types_supported"]
    assert loose["code_challenge_methods_supported"] == ["S256", "plain"]
    del app.config["PASSPORT_IMPLICIT_GRANT"], app.config["PASSPORT_PKCE_PLAIN"]
    _use_profile(app)
    meta = client.get("/.well-known/oauth-authorization-server").json
    assert "password" not in meta["grant_types_supported"]
    assert "implicit" not in meta["grant_types_supported"]
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True



# -- flask passport check ----------------------------------------------------------------------

#: A strong secret key, no Flask-Migrate, an https issuer: the other checks have nothing to say.
QUIET: dict[str, Any] = {"SECRET_KEY": "k" * 48, "PASSPORT_MIGRATIONS": False,
                         "PASSPORT_ISSUER": "https://auth.example.com"}


def _findings(app: Flask) -> dict[str, Any]:
    with app.app_context():
        return {f.id: f for f in run_checks(app)}


def test_check_without_profile_previews_oauth21(app: Flask, app_config: dict[str, Any],
                                                password_client: Any, authz_client: Any,
                                                signed_in: Any) -> None:
    # (With nothing to refuse there is no note: test_checks.test_hardened_settings_pass.)
    assert _redirect_query(_authorize(signed_in, authz_client))["code"]  # a code without PKCE
    quiet = make_app({**app_config, **QUIET, "PASSPORT_PASSWORD_GRANT": False,
                      "PASSPORT_REFRESH_TOKEN_REUSE_GRACE": 10})
    found = _findings(quiet)
    assert set(found) == {"passport.W090"}
    note = found["passport.W090"]
    assert note.level == "info"
    assert "PASSPORT_REFRESH_TOKEN_REUSE_GRACE = 10" in note.message
    assert f"password grant: {password_client.client.id}" in note.message
    assert f"without S256 PKCE: {authz_client.client.id}" in note.message
    # A note never fails the command, even with --fail-level warning.
    result = quiet.test_cli_runner().invoke(args=["passport", "check", "--fail-level", "warning"])
    assert result.exit_code == 0, result.output
    assert "passport.W090 (info)" in result.output
    assert "identified 0 issue(s) (0 error(s)) and 1 note(s)." in result.output


def test_check_with_oauth21_lists_refused_clients(app: Flask, app_config: dict[str, Any],
                                                  password_client: Any, authz_client: Any,
                                                  signed_in: Any) -> None:
    _redirect_query(_authorize(signed_in, authz_client))  # a code without PKCE
    strict = make_app({**app_config, **QUIET, **OAUTH21})
    found = _findings(strict)
    assert set(found) == {"passport.E090", "passport.W091"}
    assert found["passport.E090"].level == "error"
    assert password_client.client.id in found["passport.E090"].message
    assert authz_client.client.id in found["passport.W091"].message
    result = strict.test_cli_runner().invoke(args=["passport", "check"])
    assert result.exit_code == 1 and "passport.E090 (error)" in result.output


def test_check_with_fapi2_refuses_public_and_secret_clients() -> None:
    settings = SimpleNamespace(profile="fapi2", pkce_required="all")
    clients = [
        ClientFacts("spa", "SPA", ("authorization_code", "refresh_token"), confidential=False),
        ClientFacts("web", "Web", ("authorization_code",), confidential=True),
        ClientFacts("jwt", "JWT", ("authorization_code",), True, auth_method="private_key_jwt"),
        ClientFacts("pat", "Personal", ("personal_access",), confidential=False),
        ClientFacts("rs", "API", ("introspect",), confidential=True),
        ClientFacts("old", "Old", ("password",), confidential=True,
                    auth_method="private_key_jwt"),
    ]
    found = {f.id: f for f in check_profile(settings, clients)}
    assert set(found) == {"passport.E090", "passport.E091", "passport.E092"}
    assert "spa (SPA)" in found["passport.E091"].message
    assert "pat (" not in found["passport.E091"].message  # never at the token endpoint
    assert found["passport.E092"].message.endswith(": web (Web).")  # not jwt, not rs
    assert "old (Old)" in found["passport.E090"].message


def test_a_refused_setter_call_is_taken_back(app: Flask, client: Any) -> None:
    _use_profile(app)
    passport = app.extensions["passport"].passport
    with pytest.raises(ProfileError, match="PASSPORT_IMPLICIT_GRANT"):
        passport.enable_implicit_grant()
    settings = app.extensions["passport"].settings
    assert settings.profile == "oauth2.1" and settings.implicit_grant is False
    app.extensions["passport"].reload_settings()  # nothing left behind to fail later
    assert "PASSPORT_IMPLICIT_GRANT" not in passport._overrides


# -- fapi2 at the endpoints --------------------------------------------------------------------

ISSUER = "http://localhost"
TOKEN_URL = ISSUER + "/oauth/token"
CLIENT_KEY = ec.generate_private_key(ec.SECP256R1())


def _fapi2(app: Flask) -> None:
    app.config.update(OAUTH21 | {"PASSPORT_PROFILE": "fapi2"})
    app.extensions["passport"].reload_settings()


def _assertion(client_id: str, aud: str = ISSUER) -> dict[str, str]:
    """RFC 7523 §2.2 client authentication signed with the client's registered key."""
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60,
              "jti": uuid.uuid4().hex}
    return {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": jwt.encode(claims, CLIENT_KEY, algorithm="ES256",
                                           headers={"kid": "k1"})}


class DPoPKey:
    """A client's DPoP key and the proofs it signs (RFC 9449 §4.2)."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.jwk = keys_mod.public_jwk(self.private.public_key())

    def proof(self, method: str = "POST", url: str = TOKEN_URL) -> str:
        claims = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
        return jwt.encode(claims, self.private, algorithm="ES256",
                          headers={"typ": "dpop+jwt", "jwk": self.jwk})


@pytest.fixture
def fapi_client(app: Flask) -> Any:
    """A confidential authorization code client authenticating with private_key_jwt."""
    jwks = {"keys": [{**keys_mod.public_jwk(CLIENT_KEY.public_key()), "kid": "k1",
                      "use": "sig"}]}
    return new_client(app, "authorization_code", name="Bank app",
                      auth_method="private_key_jwt", jwks=jwks)


def _push(http: Any, created: Any, **extra: Any) -> Any:
    data = {"client_id": created.client.id, "response_type": "code", "redirect_uri": REDIRECT,
            "scope": "check-status", "state": "st", "code_challenge": s256(VERIFIER),
            "code_challenge_method": "S256", **_assertion(created.client.id)} | extra
    return http.post("/oauth/par", data={k: v for k, v in data.items() if v is not None})


def _fapi_code(http: Any, created: Any) -> str:
    pushed = _push(http, created)
    assert pushed.status_code == 201, pushed.json
    page = http.get("/oauth/authorize?" + urlencode(
        {"client_id": created.client.id, "request_uri": pushed.json["request_uri"]}))
    assert page.status_code == 200, page.get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                             page.get_data(as_text=True)))
    query = _redirect_query(http.post("/oauth/authorize", data=fields | {"approve": "Authorize"}))
    assert query["iss"] == ISSUER  # RFC 9207
    return query["code"]


def _fapi_exchange(http: Any, created: Any, code: str, proof: str | None) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER, **_assertion(created.client.id)}
    return http.post("/oauth/token", data=data, headers={"DPoP": proof} if proof else {})


def test_fapi2_flow_par_private_key_jwt_dpop(app: Flask, signed_in: Any,
                                             fapi_client: Any) -> None:
    _fapi2(app)
    code = _fapi_code(signed_in, fapi_client)
    # A token request without DPoP fails, and leaves the code usable.
    bare = _fapi_exchange(signed_in, fapi_client, code, None)
    assert bare.status_code == 400 and bare.json["error"] == "invalid_dpop_proof"
    key = DPoPKey()
    resp = _fapi_exchange(signed_in, fapi_client, code, key.proof())
    assert resp.status_code == 200, resp.json
    assert resp.json["token_type"] == "DPoP"
    claims = jwt.decode(resp.json["access_token"], options={"verify_signature": False})
    assert claims["cnf"]["jkt"]  # RFC 9449 §6.1: sender-constrained


def test_fapi2_refuses_plain_bearer_clients(app: Flask, signed_in: Any, authz_client: Any,
                                            authz_public_client: Any) -> None:
    """A client_secret_basic client and a public client both fail at the token endpoint,
    DPoP proof or not."""
    _fapi2(app)
    for created in (authz_client, authz_public_client):
        data = {"grant_type": "authorization_code", "code": "x" * 40, "redirect_uri": REDIRECT,
                "code_verifier": VERIFIER}
        headers = {"DPoP": DPoPKey().proof()}
        if created.secret:
            raw = f"{created.client.id}:{created.secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        else:
            data["client_id"] = created.client.id
        resp = signed_in.post("/oauth/token", data=data, headers=headers)
        assert resp.status_code == 401, (created.client.id, resp.json)
        assert resp.json["error"] == "invalid_client"


def test_fapi2_authorization_requests_must_be_pushed(app: Flask, signed_in: Any,
                                                     fapi_client: Any) -> None:
    _fapi2(app)
    query = _redirect_query(_authorize(signed_in, fapi_client, code_challenge=s256(VERIFIER),
                                       code_challenge_method="S256"))
    assert query["error"] == "invalid_request" and "push" in query["error_description"]
    # Pushed without PKCE: refused at /oauth/par already.
    resp = _push(signed_in, fapi_client, code_challenge=None, code_challenge_method=None)
    assert resp.status_code == 400 and resp.json["error"] == "invalid_request"


def test_fapi2_codes_live_60_seconds(app: Flask, signed_in: Any, fapi_client: Any) -> None:
    _fapi2(app)
    code = _fapi_code(signed_in, fapi_client)
    with app.app_context():
        from conftest import db

        rows = list(db.session.scalars(sa.select(app.extensions["passport"].models.AuthCode)))
        assert code and len(rows) == 1
        assert rows[0].expires_at - rows[0].created_at == timedelta(seconds=60)


def test_metadata_reflects_fapi2(app: Flask, client: Any) -> None:
    _fapi2(app)
    meta = client.get("/.well-known/oauth-authorization-server").json
    assert meta["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert meta["require_pushed_authorization_requests"] is True
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "password" not in meta["grant_types_supported"]
    assert meta["dpop_signing_alg_values_supported"]
