"""RFC 8414 metadata and the JWKS: generated from the configuration, every URL really routes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import jwt
from conftest import db, make_app
from flask import Flask
from standards_support import cc_token

from flask_passport.oauth2.errors import invalid_grant


def _meta(http: Any) -> dict[str, Any]:
    resp = http.get("/.well-known/oauth-authorization-server")
    assert resp.status_code == 200
    return resp.json  # type: ignore[no-any-return]


def test_default_metadata_matches_configuration(app: Flask, client: Any) -> None:
    meta = _meta(client)
    assert meta["issuer"] == "http://localhost"
    assert meta["token_endpoint"] == "http://localhost/oauth/token"
    assert meta["revocation_endpoint"] == "http://localhost/oauth/revoke"
    assert meta["introspection_endpoint"] == "http://localhost/oauth/introspect"
    assert meta["jwks_uri"] == "http://localhost/.well-known/jwks.json"
    assert set(meta["grant_types_supported"]) == {
        "authorization_code", "client_credentials", "password", "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code"}
    assert meta["device_authorization_endpoint"] == "http://localhost/oauth/device/code"
    assert "personal_access" not in meta["grant_types_supported"]
    # OIDC is on by default (PASSPORT_OIDC_ENABLED): its scopes come first.
    assert meta["scopes_supported"] == ["openid", "profile", "email", "check-status",
                                        "place-orders"]
    assert meta["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "none", "private_key_jwt",
        "client_secret_jwt"]
    assert meta["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "private_key_jwt", "client_secret_jwt"]
    for endpoint in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert meta[f"{endpoint}_auth_signing_alg_values_supported"] == [
            "RS256", "PS256", "ES256", "ES384", "EdDSA", "Ed25519", "HS256", "HS384", "HS512"]
    # The code grant is registered by default: the authorize endpoint, "code" and S256 only.
    assert meta["authorization_endpoint"] == "http://localhost/oauth/authorize"
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert client.get(urlsplit(meta["authorization_endpoint"]).path).status_code != 404
    # Every advertised endpoint exists.
    for key in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert client.post(urlsplit(meta[key]).path).status_code != 404, key
    assert client.get(urlsplit(meta["jwks_uri"]).path).status_code == 200


def test_client_auth_methods_follow_configuration(app_config: dict[str, Any], app: Flask) -> None:
    only_keys = make_app({**app_config, "PASSPORT_CLIENT_AUTH_METHODS": "private_key_jwt none"})
    meta = _meta(only_keys.test_client())
    assert meta["token_endpoint_auth_methods_supported"] == ["private_key_jwt", "none"]
    assert meta["introspection_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert meta["token_endpoint_auth_signing_alg_values_supported"] == [
        "RS256", "PS256", "ES256", "ES384", "EdDSA", "Ed25519"]
    secrets = make_app({**app_config, "PASSPORT_CLIENT_AUTH_METHODS": ["client_secret_basic"]})
    meta = _meta(secrets.test_client())
    assert "token_endpoint_auth_signing_alg_values_supported" not in meta


def test_disabled_grants_are_not_advertised(app_config: dict[str, Any], app: Flask) -> None:
    off = make_app({**app_config, "PASSPORT_PASSWORD_GRANT": False})
    meta = _meta(off.test_client())
    assert "password" not in meta["grant_types_supported"]
    assert "implicit" not in meta["grant_types_supported"]


def test_code_grant_implicit_and_plain_pkce_follow_configuration(
    app_config: dict[str, Any], app: Flask
) -> None:
    def fake_code_grant(ctx: Any, request: Any, client: Any) -> dict[str, Any]:
        raise invalid_grant("test stand-in")

    on = make_app({**app_config, "PASSPORT_IMPLICIT_GRANT": True, "PASSPORT_PKCE_PLAIN": True,
                   "PASSPORT_ISSUER": "https://auth.example.com/"})
    on.extensions["passport"].passport._token_endpoint.register("authorization_code",
                                                               fake_code_grant)
    meta = _meta(on.test_client())
    assert meta["issuer"] == "https://auth.example.com"
    assert meta["authorization_endpoint"] == "https://auth.example.com/oauth/authorize"
    assert meta["token_endpoint"] == "https://auth.example.com/oauth/token"
    assert meta["response_types_supported"] == ["code", "token"]
    assert "implicit" in meta["grant_types_supported"]
    assert "authorization_code" in meta["grant_types_supported"]
    assert meta["code_challenge_methods_supported"] == ["S256", "plain"]
    strict = make_app({**app_config})
    strict.extensions["passport"].passport._token_endpoint.register("authorization_code",
                                                                   fake_code_grant)
    meta = _meta(strict.test_client())
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert "implicit" not in meta["grant_types_supported"]


def test_configured_issuer_is_every_tokens_iss(app_config: dict[str, Any], app: Flask) -> None:
    from conftest import new_client

    issued = make_app({**app_config, "PASSPORT_ISSUER": "https://auth.example.com"})
    http = issued.test_client()
    mc = new_client(issued, "client_credentials")
    token = cc_token(http, mc)["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == _meta(http)["issuer"] == "https://auth.example.com"


def test_jwks_lists_the_signing_key_with_kid(app: Flask, client: Any,
                                             machine_client: Any) -> None:
    token = cc_token(client, machine_client)["access_token"]
    resp = client.get("/.well-known/jwks.json")
    assert resp.status_code == 200
    assert "max-age" in resp.headers["Cache-Control"]
    keys = resp.json["keys"]
    header = jwt.get_unverified_header(token)
    assert [k["kid"] for k in keys] == [header["kid"]]
    assert keys[0]["alg"] == header["alg"] == "RS256"
    assert keys[0]["use"] == "sig" and "d" not in keys[0]  # never the private half
    key = jwt.PyJWK(keys[0])
    with app.app_context():
        db.session.remove()
    assert jwt.decode(token, key.key, algorithms=["RS256"], audience="http://localhost")["jti"]


def test_issuer_with_a_path_is_served_at_the_rfc_8414_location(app_config: dict[str, Any],
                                                               app: Flask) -> None:
    tenant = make_app({**app_config, "PASSPORT_ISSUER": "https://auth.example.com/tenant-a"})
    http = tenant.test_client()
    meta = http.get("/.well-known/oauth-authorization-server/tenant-a")
    assert meta.status_code == 200
    assert meta.json["issuer"] == "https://auth.example.com/tenant-a"
    assert http.get("/.well-known/oauth-authorization-server").status_code == 404
    assert http.get("/.well-known/oauth-authorization-server/other").status_code == 404
    # Without a path in the issuer, only the root location answers.
    assert app.test_client().get("/.well-known/oauth-authorization-server/x").status_code == 404


def test_issuer_never_comes_from_the_host_header(app_config: dict[str, Any], app: Flask,
                                                 machine_client: Any) -> None:
    """A client chooses the Host header: the issuer, every published URL and every token's
    ``iss``/``aud`` stay the app's own (the testing fallback here, the configured one below)."""
    from conftest import new_client

    forged = app.test_client()
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        doc = forged.get(path, base_url="http://attacker.example").json
        assert doc["issuer"] == "http://localhost"
        assert not [v for v in doc.values() if "attacker" in str(v)]
    device_client = new_client(app, "device")
    device = forged.post("/oauth/device/code", data={"client_id": device_client.client.id},
                         base_url="http://attacker.example")
    assert device.json["verification_uri"] == "http://localhost/oauth/device"
    token = forged.post("/oauth/token", base_url="http://attacker.example", data={
        "grant_type": "client_credentials"}, auth=(machine_client.client.id,
                                                   machine_client.secret)).json["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == claims["aud"] == "http://localhost"

    configured = make_app({**app_config, "PASSPORT_ISSUER": "https://auth.example.com"})
    mc = new_client(configured, "client_credentials")
    http = configured.test_client()
    assert _meta(http)["issuer"] == "https://auth.example.com"
    doc = http.get("/.well-known/openid-configuration", base_url="http://attacker.example").json
    assert doc["issuer"] == "https://auth.example.com"
    assert doc["token_endpoint"] == "https://auth.example.com/oauth/token"
    token = http.post("/oauth/token", base_url="http://attacker.example", data={
        "grant_type": "client_credentials"}, auth=(mc.client.id, mc.secret)).json["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == claims["aud"] == "https://auth.example.com"


def test_issuer_from_server_name_and_an_error_in_production(app_config: dict[str, Any],
                                                            app: Flask) -> None:
    import pytest

    from flask_passport.cli.checks import run_checks
    from flask_passport.settings import IssuerNotConfigured

    named = make_app({**app_config, "SERVER_NAME": "auth.example.com",
                      "PREFERRED_URL_SCHEME": "https", "APPLICATION_ROOT": "/id"})
    assert named.extensions["passport"].issuer() == "https://auth.example.com/id"
    production = make_app({**app_config, "TESTING": False})
    with pytest.raises(IssuerNotConfigured, match="PASSPORT_ISSUER"):
        production.extensions["passport"].issuer()
    with production.app_context():
        with pytest.raises(IssuerNotConfigured, match="PASSPORT_ISSUER"):
            production.extensions["passport"].context()
        found = {f.id: f for f in run_checks(production)}
    assert found["passport.E006"].level == "error"
    assert "PASSPORT_ISSUER" in str(found["passport.E006"])
    debug = make_app({**app_config, "TESTING": False, "DEBUG": True})
    assert debug.extensions["passport"].issuer() == "http://localhost"
    with debug.app_context():
        assert "passport.W007" in {f.id for f in run_checks(debug)}


def test_a_token_made_outside_a_request_has_iss_and_aud(app: Flask, user: Any,
                                                        personal_client: Any) -> None:
    """``user.create_token`` in a CLI command or a job: the same ``iss`` and ``aud`` as in a
    request, and the app's own guard and PyJWT with ``iss``+``aud`` accept it."""
    from flask_passport.resource.guard import verify_bearer

    with app.app_context():
        owner = db.session.get(type(user), user.id)
        token = owner.create_token("job token", ["check-status"]).access_token
        state = app.extensions["passport"]
        assert verify_bearer(state, token).user_id == str(user.id)
        key = state.keys().signing_key
    claims = jwt.decode(token, key.public_key, algorithms=["RS256"], issuer="http://localhost",
                        audience="http://localhost",
                        options={"require": ["iss", "aud", "exp", "sub", "jti"]})
    assert claims["sub"] == str(user.id)
