"""RFC 9728 protected resource metadata and the audience rule of protected routes.

Tokens for another resource are made the way the authorization server makes them for an RFC 8707
``resource`` request: the same row, signed by the same key, with another ``aud``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from conftest import db, new_client
from flask import Flask, jsonify
from helpers import add_routes, bearer, password_token
from standards_support import live_server

from flask_passport import client as client_route
from flask_passport import current_token, require_oauth, scopes
from flask_passport.jose import jws
from flask_passport.oauth2.resource_metadata import (
    build_resource_metadata,
    metadata_url,
    url_problem,
    well_known_path,
)
from flask_passport.resource.resource_server import ResourceServer

ISSUER = "http://localhost"  # the testing app's issuer
API = "http://localhost/api"
MCP = "https://mcp.example.com/mcp"
#: RFC 9728 §2 metadata parameters (and the §3.2 document is a JSON object of only these).
RFC9728_FIELDS = {
    "resource", "authorization_servers", "jwks_uri", "scopes_supported",
    "bearer_methods_supported", "resource_signing_alg_values_supported", "resource_name",
    "resource_documentation", "resource_policy_uri", "resource_tos_uri",
    "tls_client_certificate_bound_access_tokens", "authorization_details_types_supported",
    "dpop_signing_alg_values_supported", "dpop_bound_access_tokens_required",
}


def _claims(value: str) -> dict[str, Any]:
    import base64
    import json

    payload = value.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def _with_aud(app: Flask, value: str, aud: Any) -> str:
    """``value`` re-signed by the server's key with ``aud`` (``None``: without one)."""
    claims = _claims(value)
    claims.pop("aud", None)
    if aud is not None:
        claims["aud"] = aud
    with app.app_context():
        key = app.extensions["passport"].keys().signing_key
    return jws.sign(claims, key, typ="at+jwt")


def _challenge(response: Any) -> dict[str, str]:
    """The auth-params of a ``Bearer`` challenge (RFC 6750 §3)."""
    header = response.headers["WWW-Authenticate"]
    assert header.startswith("Bearer ")
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', header))


def _token(app: Flask, client: Any, user: Any, scope: str = "check-status") -> str:
    created = new_client(app, "password")
    resp = password_token(client, created, user, scope=scope)
    assert resp.status_code == 200, resp.json
    return str(resp.json["access_token"])


def _configure(app: Flask, value: Any) -> None:
    app.config["PASSPORT_PROTECTED_RESOURCE"] = value
    app.extensions["passport"].reload_settings()


# -- the metadata documents (RFC 9728 §2, §3) --------------------------------------------------


def test_the_document_field_by_field(app: Flask, client: Any, passport: Any) -> None:
    passport.protected_resource(API, name="Orders API", scopes=["check-status"],
                                documentation="https://docs.example.com/api")
    resp = client.get("/.well-known/oauth-protected-resource/api")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.json
    assert set(doc) <= RFC9728_FIELDS
    assert doc["resource"] == API  # §3.3: identical to the identifier the URL came from
    assert doc["authorization_servers"] == [ISSUER]  # default: this server's issuer
    assert doc["scopes_supported"] == ["check-status"]
    assert doc["bearer_methods_supported"] == ["header"]  # the guard reads the header only
    assert doc["resource_name"] == "Orders API"
    assert doc["resource_documentation"] == "https://docs.example.com/api"
    assert "jwks_uri" not in doc and "resource_signing_alg_values_supported" not in doc
    assert resp.headers["Cache-Control"] == "public, max-age=300"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    # The authorization server the document names publishes its RFC 8414 metadata.
    meta = client.get("/.well-known/oauth-authorization-server").json
    assert meta["issuer"] == doc["authorization_servers"][0]
    assert meta["protected_resources"] == [API]  # RFC 9728 §4, the other way round
    # The bare URL serves the app's own resource too (clients that do not insert the path).
    assert client.get("/.well-known/oauth-protected-resource").json == doc
    preflight = client.options("/.well-known/oauth-protected-resource/api")
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"


def test_path_insertion_and_unknown_paths(app: Flask, client: Any) -> None:
    """§3.1: the well-known suffix goes between host and path (the path keeps a terminating
    slash, served without it too); the path of another resource is not ours."""
    _configure(app, [{"resource": "http://localhost/api/v1/"}, {"resource": MCP}])
    v1 = client.get("/.well-known/oauth-protected-resource/api/v1/")
    assert v1.status_code == 200 and v1.json["resource"] == "http://localhost/api/v1/"
    assert client.get("/.well-known/oauth-protected-resource/api/v1").json == v1.json
    assert client.get("/.well-known/oauth-protected-resource/mcp").json["resource"] == MCP
    assert client.get("/.well-known/oauth-protected-resource/other").status_code == 404
    assert client.get("/.well-known/oauth-protected-resource").json["resource"] == \
        "http://localhost/api/v1/"
    # Defaults: every scope the server defines, this issuer.
    assert set(v1.json["scopes_supported"]) >= {"check-status", "place-orders"}


def test_no_protected_resource_no_document(app: Flask, client: Any) -> None:
    assert client.get("/.well-known/oauth-protected-resource").status_code == 404
    assert "protected_resources" not in client.get("/.well-known/oauth-authorization-server").json
    _configure(app, API)  # a plain URI is enough
    assert client.get("/.well-known/oauth-protected-resource/api").json["resource"] == API


def test_the_pure_builder() -> None:
    assert well_known_path("https://r.example") == "/.well-known/oauth-protected-resource"
    assert well_known_path("https://r.example/") == "/.well-known/oauth-protected-resource"
    assert metadata_url("https://r.example:8443/a/b/") == \
        "https://r.example:8443/.well-known/oauth-protected-resource/a/b/"
    assert metadata_url("https://r.example/a/b") == \
        "https://r.example/.well-known/oauth-protected-resource/a/b"
    doc = build_resource_metadata("https://r.example", authorization_servers=[],
                                  jwks_uri="https://r.example/jwks",
                                  resource_signing_alg_values_supported=["ES256"])
    assert doc == {"resource": "https://r.example", "jwks_uri": "https://r.example/jwks",
                   "bearer_methods_supported": ["header"],
                   "resource_signing_alg_values_supported": ["ES256"]}
    with pytest.raises(ValueError, match="authorization server"):
        build_resource_metadata("https://r.example", authorization_servers=["ftp://as"])


@pytest.mark.parametrize("uri", [
    "http://api.example.com", "https://api.example.com/#frag", "https://api.example.com/?q=1",
    "/api", "api.example.com", "https://", "https://u:p@api.example.com", "https://a b.example",
    "https://api.example.com/\x00", "", 42, None,
])
def test_bad_resource_identifiers_are_refused(uri: Any, app: Flask, passport: Any) -> None:
    assert url_problem(uri) is not None
    with pytest.raises(ValueError):
        passport.protected_resource(uri)
    if uri is not None:  # resource=None is the app's own resource
        with pytest.raises(ValueError):
            require_oauth(resource=uri)
    assert app.extensions["passport"].settings.protected_resource == ()  # nothing half-set


@pytest.mark.parametrize("uri", ["https://api.example.com", "https://api.example.com/v1/",
                                 "http://127.0.0.1:8000/mcp", "http://localhost", "http://[::1]/"])
def test_good_resource_identifiers(uri: str) -> None:
    assert url_problem(uri) is None


@pytest.mark.parametrize("value, message", [
    (42, "a resource URI, a dict"), ({"name": "x"}, "needs a 'resource'"),
    ({"resource": API, "colour": "red"}, "unknown key 'colour'"),
    ({"resource": API, "scopes": "a b"}, None), ({"resource": API, "scopes": [1]}, "scopes"),
    ({"resource": API, "name": 3}, "name and documentation"),
])
def test_bad_config_shapes(app: Flask, value: Any, message: str | None) -> None:
    if message is None:  # a single string is a one-scope list
        _configure(app, value)
        assert app.extensions["passport"].settings.protected_resource[0].scopes == ("a b",)
        return
    with pytest.raises(ValueError, match=message):
        _configure(app, value)


# -- the audience rule -------------------------------------------------------------------------


def test_without_configuration_only_a_foreign_aud_is_refused(app: Flask, client: Any,
                                                             user: Any) -> None:
    add_routes(app)
    token = _token(app, client, user)
    assert _claims(token)["aud"] == ISSUER  # as before: the issuer stands for the app
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert client.get("/me", headers=bearer(_with_aud(app, token, None))).status_code == 200
    assert client.get("/me", headers=bearer(_with_aud(app, token, [MCP, ISSUER]))
                      ).status_code == 200
    foreign = client.get("/me", headers=bearer(_with_aud(app, token, MCP)))
    assert foreign.status_code == 401 and foreign.json["error"] == "invalid_token"
    assert "resource_metadata" not in _challenge(foreign)  # nothing published
    for bad in ([], [3], "", {"a": 1}):
        assert client.get("/me", headers=bearer(_with_aud(app, token, bad))).status_code == 401


def test_a_protected_resource_is_the_apps_audience(app: Flask, client: Any, user: Any,
                                                   passport: Any) -> None:
    passport.protected_resource(API)
    add_routes(app)
    token = _token(app, client, user)
    assert _claims(token)["aud"] == API  # tokens are issued for the app's resource
    assert client.get("/me", headers=bearer(token)).status_code == 200
    for aud in (MCP, ISSUER, None, [MCP]):
        resp = client.get("/me", headers=bearer(_with_aud(app, token, aud)))
        assert resp.status_code == 401, aud
        assert resp.json["error"] == "invalid_token"
        assert _challenge(resp)["resource_metadata"] == \
            "http://localhost/.well-known/oauth-protected-resource/api"
        assert token.split(".")[2] not in resp.get_data(as_text=True)
        assert token.split(".")[2] not in resp.headers["WWW-Authenticate"]


def test_passport_audience_alone_requires_aud(app: Flask, client: Any, user: Any) -> None:
    app.config["PASSPORT_AUDIENCE"] = "https://api.example.com"
    app.extensions["passport"].reload_settings()
    add_routes(app)
    token = _token(app, client, user)
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert client.get("/me", headers=bearer(_with_aud(app, token, None))).status_code == 401
    assert client.get("/me", headers=bearer(_with_aud(app, token, MCP))).status_code == 401


def test_a_route_of_another_resource(app: Flask, client: Any, user: Any, passport: Any) -> None:
    passport.protected_resource(API)
    passport.protected_resource(MCP, name="MCP server")

    @app.get("/mcp")
    @require_oauth(resource=MCP)
    @scopes("check-status")  # inherits the outer decorator's resource
    def mcp() -> Any:
        return jsonify(ok=True)

    @app.get("/mcp-clients")
    @client_route(resource=MCP)
    def mcp_clients() -> Any:
        return jsonify(ok=True)

    add_routes(app)
    token = _token(app, client, user)
    for_mcp = _with_aud(app, token, MCP)
    assert client.get("/mcp", headers=bearer(for_mcp)).status_code == 200
    assert client.get("/mcp-clients", headers=bearer(for_mcp)).status_code == 200
    refused = client.get("/mcp", headers=bearer(token))  # the app's token is not the MCP's
    assert refused.status_code == 401
    assert _challenge(refused)["resource_metadata"] == \
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    assert client.get("/me", headers=bearer(for_mcp)).status_code == 401  # nor the reverse
    anonymous = client.get("/mcp")
    assert anonymous.status_code == 401 and "error" not in _challenge(anonymous)
    assert _challenge(anonymous)["resource_metadata"].endswith("/oauth-protected-resource/mcp")


def test_userinfo_refuses_a_token_for_another_resource(app: Flask, client: Any, user: Any,
                                                       passport: Any) -> None:
    passport.protected_resource(API)
    token = _token(app, client, user, scope="openid")
    assert client.get("/oauth/userinfo", headers=bearer(token)).status_code == 200
    refused = client.get("/oauth/userinfo", headers=bearer(_with_aud(app, token, MCP)))
    assert refused.status_code == 401 and refused.json["error"] == "invalid_token"
    assert _challenge(refused)["resource_metadata"].endswith("/oauth-protected-resource/api")


def test_cached_tokens_are_checked_per_route(app_config: dict[str, Any], user: Any) -> None:
    """The verified-token cache serves every route; the audience is checked on each."""
    from conftest import make_app

    cached = make_app({**app_config, "PASSPORT_TOKEN_CACHE_TTL": 60})
    with cached.app_context():
        db.create_all()
    cached.extensions["passport"].passport.protected_resource(API)
    cached.extensions["passport"].passport.protected_resource(MCP)

    @cached.get("/mcp")
    @require_oauth(resource=MCP)
    def mcp() -> Any:
        return jsonify(ok=True)

    add_routes(cached)
    http = cached.test_client()
    token = _token(cached, http, user)
    assert http.get("/me", headers=bearer(token)).status_code == 200
    assert http.get("/mcp", headers=bearer(token)).status_code == 401  # same token, cached
    assert http.get("/me", headers=bearer(token)).status_code == 200
    with cached.app_context():
        db.session.remove()


def test_testing_helpers_are_not_refused(app: Flask, client: Any, user: Any,
                                         passport: Any) -> None:
    from flask_passport.testing import acting_as

    passport.protected_resource(API)
    add_routes(app)
    with app.app_context():
        loaded = db.session.get(type(user), user.id)
        with acting_as(app, loaded, ["check-status"]):
            assert client.get("/me").status_code == 200


# -- challenges (RFC 6750 §3, RFC 9728 §5.1) ---------------------------------------------------


def test_challenges_carry_resource_metadata_and_scope(app: Flask, client: Any, user: Any,
                                                      passport: Any) -> None:
    passport.protected_resource(API)
    add_routes(app)
    url = "http://localhost/.well-known/oauth-protected-resource/api"
    anonymous = client.get("/me")
    assert anonymous.status_code == 401
    assert _challenge(anonymous) == {"realm": "api", "resource_metadata": url}
    token = _token(app, client, user)
    step_up = client.get("/orders", headers=bearer(token))
    assert step_up.status_code == 403
    params = _challenge(step_up)
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == "check-status place-orders"  # what to ask for next
    assert params["resource_metadata"] == url
    garbage = client.get("/me", headers=bearer("not.a-token.at-all"))
    assert _challenge(garbage)["resource_metadata"] == url
    assert "not.a-token.at-all" not in garbage.get_data(as_text=True)
    assert "not.a-token.at-all" not in garbage.headers["WWW-Authenticate"]


# -- ResourceServer: another service, JWKS or introspection ------------------------------------


def _service(**kwargs: Any) -> tuple[Flask, ResourceServer]:
    service = Flask("orders_service")
    rs = ResourceServer(service, **kwargs)

    @service.get("/orders")
    @require_oauth()
    def orders() -> Any:
        return jsonify(ok=True, aud=current_token.claims.get("aud"))

    @service.get("/place")
    @require_oauth("place-orders")
    def place() -> Any:
        return jsonify(ok=True)

    return service, rs


SERVICE = "https://orders.example.com/api"


@pytest.mark.parametrize("mode", ["jwks", "introspection"])
def test_resource_server_enforces_its_resource(app: Flask, password_client: Any, user: Any,
                                               mode: str) -> None:
    rs_client = new_client(app, "resource_server")
    with live_server(app) as base:
        extra: dict[str, Any] = {}
        if mode == "introspection":
            extra = {"introspect": True, "client_id": rs_client.client.id,
                     "client_secret": rs_client.secret}
        service, rs = _service(issuer=base, resource=SERVICE, **extra)
        document = rs.protected_resource(name="Orders", scopes=["place-orders"])
        http = service.test_client()
        resp = requests.post(base + "/oauth/token", data={
            "grant_type": "password", "username": user.email, "password": "secret-password",
            "scope": "check-status"}, auth=(password_client.client.id, password_client.secret),
            timeout=10)
        token = resp.json()["access_token"]
        ours = _with_aud(app, token, [SERVICE, "https://other.example"])
        ok = http.get("/orders", headers=bearer(ours))
        assert ok.status_code == 200 and ok.json["aud"] == [SERVICE, "https://other.example"]
        for aud in (base, MCP, None):  # the issuer's own token, another resource's, none
            refused = http.get("/orders", headers=bearer(_with_aud(app, token, aud)))
            assert refused.status_code == 401, aud
            assert _challenge(refused)["error"] == "invalid_token"
            assert _challenge(refused)["resource_metadata"] == \
                "https://orders.example.com/.well-known/oauth-protected-resource/api"
        step_up = http.get("/place", headers=bearer(ours))
        assert step_up.status_code == 403 and _challenge(step_up)["scope"] == "place-orders"
        # Its own metadata, naming the remote issuer.
        served = http.get("/.well-known/oauth-protected-resource/api")
        assert served.status_code == 200 and served.json == document
        assert document == {"resource": SERVICE, "authorization_servers": [base],
                            "scopes_supported": ["place-orders"],
                            "bearer_methods_supported": ["header"], "resource_name": "Orders",
                            # the service verifies DPoP proofs too (RFC 9449 §7)
                            "dpop_signing_alg_values_supported": ["ES256", "RS256", "PS256",
                                                                  "EdDSA", "Ed25519"]}
        assert served.headers["Access-Control-Allow-Origin"] == "*"
        assert http.get("/.well-known/oauth-protected-resource/nope").status_code == 404


def test_resource_server_without_a_resource_keeps_the_old_rule(app: Flask, password_client: Any,
                                                              user: Any) -> None:
    with live_server(app) as base:
        service, _ = _service(issuer=base)
        http = service.test_client()
        token = password_token(app.test_client(), password_client, user).json["access_token"]
        assert http.get("/orders", headers=bearer(token)).status_code == 200  # aud = issuer
        assert http.get("/orders", headers=bearer(_with_aud(app, token, None))
                        ).status_code == 200
        assert http.get("/orders", headers=bearer(_with_aud(app, token, MCP))).status_code == 401
        assert "resource_metadata" not in _challenge(http.get("/orders"))
    with pytest.raises(ValueError):
        ResourceServer(Flask("z"), jwks_uri="http://127.0.0.1:9/jwks", resource="ftp://x")


# -- flask passport check ----------------------------------------------------------------------


def _check_ids(app: Flask) -> set[str]:
    from flask_passport.cli.checks import run_checks

    with app.app_context():
        return {f.id for f in run_checks(app)}


def test_check_findings(app: Flask) -> None:
    _configure(app, API)
    assert not {i for i in _check_ids(app) if i[9:12] == "040" or i[9:12] == "041"}
    _configure(app, "http://api.example.com/#x")
    assert "passport.E040" in _check_ids(app)
    _configure(app, {"resource": API, "authorization_servers": ["https://other-as.example"]})
    assert "passport.E041" in _check_ids(app)
    _configure(app, {"resource": API, "authorization_servers": [ISSUER, "https://b.example"]})
    assert "passport.E041" not in _check_ids(app)
    app.config["PASSPORT_AUDIENCE"] = "https://api.example.com"
    _configure(app, API)
    assert "passport.W040" in _check_ids(app)
    app.config["PASSPORT_AUDIENCE"] = API
    _configure(app, API)
    assert "passport.W040" not in _check_ids(app)


# -- an independent client: oauth4webapi against the running example app ----------------------


def test_oauth4webapi_discovers_the_example_api(authz_server: Any) -> None:
    from helpers import js_client

    base = authz_server.base_url
    machine = authz_server.seed["clients"]["client_credentials"]
    out = js_client("prm_discovery.mjs", {
        "base_url": base, "resource": base, "client_id": machine["id"],
        "client_secret": machine["secret"],
        "expired_token": authz_server.seed["expired_access_token"]})
    well_known = base + "/.well-known/oauth-protected-resource"
    assert out["metadata_url"] == well_known
    assert out["metadata"] == {
        "resource": base, "authorization_servers": [base],
        "scopes_supported": ["check-status", "place-orders"],
        "bearer_methods_supported": ["header"], "resource_name": "flask-passport example API",
        "resource_documentation": base + "/#api",
        "dpop_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"]}
    assert out["mismatch_refused"] is True
    assert out["issuer"] == base
    assert out["allowed"] == {"status": 200}
    assert out["insufficient_scope"]["status"] == 403
    assert out["insufficient_scope"]["parameters"]["error"] == "insufficient_scope"
    assert out["insufficient_scope"]["parameters"]["scope"] == "check-status place-orders"
    assert out["insufficient_scope"]["parameters"]["resource_metadata"] == well_known
    assert out["expired"]["status"] == 401
    assert out["expired"]["parameters"]["error"] == "invalid_token"
    assert out["expired"]["parameters"]["resource_metadata"] == well_known
    assert out["followed"] == out["metadata"] and out["cors"] == "*"


def test_a_foreign_token_authenticates_nobody(app: Flask, client: Any, user: Any,
                                              passport: Any) -> None:
    """After the refusal, the app's hooks see no token and no token user."""
    from flask_login import current_user

    passport.protected_resource(API)
    add_routes(app)
    seen: list[Any] = []

    @app.after_request
    def record(response: Any) -> Any:
        seen.append((current_token, current_user.is_authenticated))
        return response

    token = _token(app, client, user)
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert seen[-1][0] is not None and seen[-1][1] is True
    assert client.get("/me", headers=bearer(_with_aud(app, token, MCP))).status_code == 401
    assert seen[-1] == (None, False)


def test_a_misconfigured_resource_is_reported_not_served(app: Flask, client: Any) -> None:
    _configure(app, "http://api.example.com/v1")  # http off loopback: check says E040
    resp = client.get("/.well-known/oauth-protected-resource/v1")
    assert resp.status_code == 500 and resp.json["error"] == "server_error"
    with pytest.raises(RuntimeError, match="init_app"):
        ResourceServer(jwks_uri="http://127.0.0.1:9/jwks").protected_resource(SERVICE)


def test_the_setter_takes_one_string_or_a_list(app: Flask, client: Any, passport: Any) -> None:
    passport.protected_resource(API, scopes="check-status", authorization_servers=ISSUER)
    doc = client.get("/.well-known/oauth-protected-resource/api").json
    assert doc["scopes_supported"] == ["check-status"]
    assert doc["authorization_servers"] == [ISSUER]
    with pytest.raises(ValueError, match="authorization server"):
        passport.protected_resource(API, authorization_servers=["ftp://as.example"])
    with pytest.raises(ValueError, match="scopes"):
        passport.protected_resource(API, scopes=[""])
    # The failed calls changed nothing.
    assert client.get("/.well-known/oauth-protected-resource/api").json == doc


@pytest.mark.parametrize("path", ["/orders", "/api/v1/"])
def test_oauth4webapi_inserts_the_path(app: Flask, path: str) -> None:
    """§3.1 as an independent client derives it, for identifiers with a path."""
    from helpers import js_client

    with live_server(app) as base:
        _configure(app, {"resource": base + path, "name": "Orders"})
        out = js_client("prm_discovery.mjs", {"resource": base + path, "discovery_only": True})
    assert out["metadata_url"] == base + "/.well-known/oauth-protected-resource" + path
    assert out["metadata"]["resource"] == base + path
    assert out["metadata"]["authorization_servers"] == [base]
    assert out["mismatch_refused"] is True


def test_the_mcp_python_sdk_reads_our_challenges_and_document(app: Flask, user: Any) -> None:
    """The MCP SDK's client helpers (RFC 9728 discovery as MCP clients run it) against a live
    app: the challenge's resource_metadata and scope, then its discovery URLs in order."""
    import asyncio

    utils = pytest.importorskip("mcp.client.auth.utils", reason="the mcp SDK is not installed")
    httpx = pytest.importorskip("httpx2")
    build_protected_resource_metadata_discovery_urls = (
        utils.build_protected_resource_metadata_discovery_urls)
    extract_resource_metadata_from_www_auth = utils.extract_resource_metadata_from_www_auth
    extract_scope_from_www_auth = utils.extract_scope_from_www_auth
    handle_protected_resource_response = utils.handle_protected_resource_response

    add_routes(app)
    with live_server(app) as base:
        _configure(app, {"resource": base + "/api", "scopes": ["check-status"]})
        token = _token(app, app.test_client(), user)
        with httpx.Client(base_url=base) as http:
            anonymous = http.get("/me")
            pointed = extract_resource_metadata_from_www_auth(anonymous)
            step_up = http.get("/orders", headers=bearer(token))
            assert extract_scope_from_www_auth(step_up) == "check-status place-orders"
            urls = build_protected_resource_metadata_discovery_urls(pointed, base + "/api")
            assert urls[0] == base + "/.well-known/oauth-protected-resource/api"
            found = []
            for url in dict.fromkeys(urls):
                answer = http.get(url)
                metadata = asyncio.run(handle_protected_resource_response(answer))
                assert metadata is not None, url
                found.append(metadata)
    assert {str(m.resource).rstrip("/") for m in found} == {base + "/api"}
    assert [str(s).rstrip("/") for s in found[0].authorization_servers] == [base]
    assert found[0].scopes_supported == ["check-status"]


def test_dpop_in_the_document_and_in_dpop_challenges(app: Flask, client: Any, user: Any,
                                                      passport: Any) -> None:
    """RFC 9728 §2 names the DPoP algorithms a resource accepts; §5.1 holds for the DPoP
    scheme's challenges (RFC 9449 §7.1) as for Bearer ones."""
    passport.protected_resource(API)
    add_routes(app)
    doc = client.get("/.well-known/oauth-protected-resource/api").json
    assert doc["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA",
                                                        "Ed25519"]
    assert "dpop_bound_access_tokens_required" not in doc
    token = _token(app, client, user)
    # The DPoP scheme without a proof: a DPoP challenge, still pointing at the metadata.
    resp = client.get("/me", headers={"Authorization": f"DPoP {token}"})
    assert resp.status_code == 401
    header = resp.headers["WWW-Authenticate"]
    assert header.startswith("DPoP ")
    params = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', header))
    assert params["resource_metadata"] == "http://localhost/.well-known/oauth-protected-resource/api"
    assert params["algs"] == "ES256 RS256 PS256 EdDSA Ed25519"
    app.config.update(PASSPORT_DPOP_REQUIRED=True)
    passport.reload_settings(app)
    assert client.get("/.well-known/oauth-protected-resource/api").json[
        "dpop_bound_access_tokens_required"] is True
    app.config.update(PASSPORT_DPOP=False, PASSPORT_DPOP_REQUIRED=False)
    passport.reload_settings(app)
    doc = client.get("/.well-known/oauth-protected-resource/api").json
    assert "dpop_signing_alg_values_supported" not in doc
