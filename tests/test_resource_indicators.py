"""Resource indicators (RFC 8707): registered resources, the ``resource`` parameter at
/oauth/authorize, the device authorization endpoint and every token grant, audience-bound
tokens, narrowing (never widening), the consent screen, introspection, the CLI and the JSON API,
and Authlib driving code + PKCE with ``resource`` against the running example app."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import sqlalchemy as sa
from conftest import db, make_app, new_client
from flask import Flask

from flask_passport import Passport, Resource
from flask_passport.oauth2 import resource_indicators
from flask_passport.oauth2.errors import OAuthError
from flask_passport.oauth2.pkce import s256

API = "https://api.example.com/orders"
MCP = "https://mcp.example.com/mcp"
BILLING = "urn:example:billing"
REDIRECT = "https://app.example.com/callback"
VERIFIER = "A1b2-C3d4.E5f6_G7h8~" * 3
DEFAULT_AUDIENCE = "http://localhost"  # the testing app's issuer (no PASSPORT_AUDIENCE)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["PASSPORT_RESOURCES"] = [
        {"uri": API, "name": "Orders API", "scopes": None},
        {"uri": MCP, "name": "Order tools (MCP)", "scopes": ["check-status"]},
    ]
    return app_config


@pytest.fixture
def passport(app: Flask) -> Passport:
    passport: Passport = app.extensions["passport"].passport
    passport.add_resource(BILLING, name="Billing", scopes=["place-orders"])
    return passport


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})  # type: ignore[no-any-return]


def count(app: Flask, model: str) -> int:
    with app.app_context():
        table = getattr(app.extensions["passport"].models, model)
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def token_request(http: Any, created: Any, grant_type: str, resources: list[str] = (),
                  **extra: str) -> Any:
    data: list[tuple[str, str]] = [("grant_type", grant_type), ("client_id", created.client.id)]
    if created.secret:
        data.append(("client_secret", created.secret))
    data.extend(extra.items())
    data.extend(("resource", r) for r in resources)
    return http.post("/oauth/token", data=urlencode(data),
                     content_type="application/x-www-form-urlencoded")


def assert_oauth_error(resp: Any, error: str) -> None:
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.json["error"] == error, resp.json
    assert resp.json["error_description"]
    assert resp.headers["Cache-Control"] == "no-store"


# -- registered resources ----------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["/relative/path", "api.example.com", "https://api.example.com/#x",
                                 "https://api.example.com/\x00", "https:///no-host", "",
                                 "https://api.example.com/ space", "h" * 2049])
def test_resource_uris_are_checked_when_registered(uri: str) -> None:
    with pytest.raises(ValueError):
        Resource(uri, name="API")
    with pytest.raises(ValueError):
        Passport().add_resource(uri, name="API")


def test_resources_config_is_checked_at_load(app_config: dict[str, Any]) -> None:
    for bad in ([{"uri": "/api", "name": "API"}], [{"uri": API}], [{"uri": API, "name": "A",
                                                                    "scopes": "check-status"}],
                [{"uri": API, "name": "A"}, {"uri": API, "name": "B"}],
                [{"uri": API, "name": "A", "audience": "x"}], "https://api.example.com"):
        with pytest.raises(ValueError):
            make_app({**app_config, "PASSPORT_RESOURCES": bad})


def test_resources_are_per_app(app: Flask, passport: Passport, app_config: dict[str, Any]
                               ) -> None:
    with app.app_context():
        by_uri = {r.uri: r for r in passport.resources()}
    assert set(by_uri) == {API, MCP, BILLING}
    assert by_uri[MCP] == Resource(MCP, "Order tools (MCP)", ("check-status",))
    assert by_uri[BILLING].to_dict() == {"uri": BILLING, "name": "Billing",
                                         "scopes": ["place-orders"]}
    # Another Passport (another app) sees only its own configuration.
    other = Passport()
    assert not other._resources


def test_parse_rules() -> None:
    assert resource_indicators.parse([API, API, MCP]) == [API, MCP]
    for values in ([f"https://api.example.com/{i}" for i in range(11)], ["/api"],
                   [API + "#frag"], ["https://api.example.com/\x00"],
                   ["https://api.example.com/\x07"], ["https://api.example.com/" + "a" * 2048],
                   [""]):
        with pytest.raises(OAuthError) as exc:
            resource_indicators.parse(values)
        assert exc.value.error == "invalid_target"
    assert resource_indicators.audience([API]) == API
    assert resource_indicators.audience([API, MCP]) == [API, MCP]
    assert resource_indicators.audience(None) is None


# -- client credentials and password grants ----------------------------------------------------


def test_client_credentials_token_is_audience_bound(app: Flask, client: Any, passport: Passport,
                                                    machine_client: Any) -> None:
    plain = token_request(client, machine_client, "client_credentials")
    assert claims(plain.json["access_token"])["aud"] == DEFAULT_AUDIENCE
    one = token_request(client, machine_client, "client_credentials", [API])
    assert one.status_code == 200, one.json
    assert claims(one.json["access_token"])["aud"] == API
    both = token_request(client, machine_client, "client_credentials", [API, BILLING],
                         scope="place-orders")
    assert both.status_code == 200, both.json
    assert claims(both.json["access_token"])["aud"] == [API, BILLING]
    with app.app_context():
        AccessToken = passport.models.AccessToken
        row = db.session.get(AccessToken, claims(both.json["access_token"])["jti"])
        assert row.resources == [API, BILLING]


@pytest.mark.parametrize("resources", [
    [API + "#fragment"], ["/orders"], ["orders"],
    [f"https://api.example.com/{i}" for i in range(11)],
    ["https://api.example.com/\x00"], ["https://api.example.com/\x1b"],
    ["https://api.example.com/" + "a" * 2048], ["https://unknown.example.com/"],
])
def test_bad_resources_are_invalid_target_and_store_nothing(
        app: Flask, client: Any, passport: Passport, machine_client: Any,
        password_client: Any, user: Any, resources: list[str]) -> None:
    before = count(app, "AccessToken")
    assert_oauth_error(token_request(client, machine_client, "client_credentials", resources),
                       "invalid_target")
    assert_oauth_error(token_request(client, password_client, "password", resources,
                                     username="taylor@example.com",
                                     password="secret-password"), "invalid_target")
    assert count(app, "AccessToken") == before
    assert count(app, "RefreshToken") == 0


def test_a_client_is_limited_to_its_allowed_resources(app: Flask, client: Any,
                                                      passport: Passport) -> None:
    limited = new_client(app, "client_credentials", allowed_resources=[API])
    assert token_request(client, limited, "client_credentials", [API]).status_code == 200
    assert_oauth_error(token_request(client, limited, "client_credentials", [MCP]),
                       "invalid_target")
    assert_oauth_error(token_request(client, limited, "client_credentials", [API, MCP]),
                       "invalid_target")
    assert count(app, "AccessToken") == 1


def test_a_scope_no_requested_resource_allows_is_invalid_scope(
        app: Flask, client: Any, passport: Passport, machine_client: Any) -> None:
    assert_oauth_error(token_request(client, machine_client, "client_credentials", [MCP],
                                     scope="place-orders"), "invalid_scope")
    assert_oauth_error(token_request(client, machine_client, "client_credentials", [MCP],
                                     scope="*"), "invalid_scope")
    # One of the resources allowing it is enough.
    ok = token_request(client, machine_client, "client_credentials", [MCP, BILLING],
                       scope="check-status place-orders")
    assert ok.status_code == 200 and ok.json["scope"] == "check-status place-orders"
    # The default scope (check-status) is kept only where a resource allows it.
    billing = token_request(client, machine_client, "client_credentials", [BILLING])
    assert billing.status_code == 200 and billing.json["scope"] == ""
    assert count(app, "AccessToken") == 2


# -- refresh: narrow, never widen --------------------------------------------------------------


def _password_tokens(client: Any, password_client: Any, resources: list[str],
                     **extra: str) -> dict[str, Any]:
    resp = token_request(client, password_client, "password", resources,
                         username="taylor@example.com", password="secret-password", **extra)
    assert resp.status_code == 200, resp.json
    return resp.json  # type: ignore[no-any-return]


def test_refresh_may_narrow_each_time_but_never_widen(
        app: Flask, client: Any, passport: Passport, password_client: Any, user: Any) -> None:
    first = _password_tokens(client, password_client, [API, MCP])
    assert claims(first["access_token"])["aud"] == [API, MCP]

    narrowed = token_request(client, password_client, "refresh_token", [MCP],
                             refresh_token=first["refresh_token"])
    assert narrowed.status_code == 200, narrowed.json
    assert claims(narrowed.json["access_token"])["aud"] == MCP
    # The new refresh token still holds the whole grant (RFC 8707 §2.2).
    whole = token_request(client, password_client, "refresh_token",
                          refresh_token=narrowed.json["refresh_token"])
    assert claims(whole.json["access_token"])["aud"] == [API, MCP]

    tokens_before = count(app, "AccessToken")
    for wider in ([BILLING], [API, BILLING], ["https://unknown.example.com/"]):
        refused = token_request(client, password_client, "refresh_token", wider,
                                refresh_token=whole.json["refresh_token"])
        assert_oauth_error(refused, "invalid_target")
    assert count(app, "AccessToken") == tokens_before
    # Nothing was rotated by the refused requests: the refresh token still works.
    again = token_request(client, password_client, "refresh_token", [API],
                          refresh_token=whole.json["refresh_token"])
    assert again.status_code == 200 and claims(again.json["access_token"])["aud"] == API


def test_refresh_of_a_grant_without_resources_cannot_add_one(
        app: Flask, client: Any, passport: Passport, password_client: Any, user: Any) -> None:
    plain = _password_tokens(client, password_client, [])
    assert claims(plain["access_token"])["aud"] == DEFAULT_AUDIENCE
    assert_oauth_error(token_request(client, password_client, "refresh_token", [API],
                                     refresh_token=plain["refresh_token"]), "invalid_target")
    kept = token_request(client, password_client, "refresh_token",
                         refresh_token=plain["refresh_token"])
    assert claims(kept.json["access_token"])["aud"] == DEFAULT_AUDIENCE


def test_refresh_scopes_follow_the_narrowed_resources(
        app: Flask, client: Any, passport: Passport, password_client: Any, user: Any) -> None:
    first = _password_tokens(client, password_client, [API, MCP],
                             scope="check-status place-orders")
    # Without ``scope``: the grant's scopes, kept only where the narrowed resource allows.
    narrowed = token_request(client, password_client, "refresh_token", [MCP],
                             refresh_token=first["refresh_token"])
    assert narrowed.json["scope"] == "check-status"
    # Asking for a scope the narrowed resource does not allow: invalid_scope.
    assert_oauth_error(token_request(client, password_client, "refresh_token", [MCP],
                                     scope="place-orders",
                                     refresh_token=narrowed.json["refresh_token"]),
                       "invalid_scope")


def test_refresh_rechecks_the_clients_allowed_resources(
        app: Flask, client: Any, passport: Passport, password_client: Any, user: Any) -> None:
    first = _password_tokens(client, password_client, [API])
    with app.app_context():
        row = db.session.get(passport.models.Client, password_client.client.id)
        row.allowed_resources = [MCP]
        db.session.commit()
    assert_oauth_error(token_request(client, password_client, "refresh_token",
                                     refresh_token=first["refresh_token"]), "invalid_target")


# -- authorization code ------------------------------------------------------------------------


@pytest.fixture
def signed_in(client: Any, authz_login: Any, user: Any, passport: Passport) -> Any:
    authz_login(client, user)
    return client


def authorize_url(created: Any, resources: list[str], **extra: str) -> str:
    params: list[tuple[str, str]] = [
        ("client_id", created.client.id), ("redirect_uri", REDIRECT), ("response_type", "code"),
        ("scope", "check-status"), ("state", "st-1"), ("code_challenge", s256(VERIFIER)),
        ("code_challenge_method", "S256")]
    params = [(k, extra.pop(k, v)) for k, v in params]
    params.extend(extra.items())
    params.extend(("resource", r) for r in resources)
    return "/oauth/authorize?" + urlencode(params)


def consent(http: Any, url: str) -> tuple[str, str]:
    """The consent page's HTML and the redirect after approving it."""
    page = http.get(url)
    assert page.status_code == 200, page.headers.get("Location")
    html = page.get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    resp = http.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
    assert resp.status_code == 302
    return html, resp.headers["Location"]


def code_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


def exchange(http: Any, created: Any, code: str, resources: list[str] = ()) -> Any:
    return token_request(http, created, "authorization_code", resources, code=code,
                         redirect_uri=REDIRECT, code_verifier=VERIFIER)


def test_code_keeps_its_resources_and_the_token_may_narrow_them(
        app: Flask, signed_in: Any, authz_client: Any, passport: Passport) -> None:
    html, location = consent(signed_in, authorize_url(authz_client, [API, MCP]))
    # The consent screen names what the client asks access to.
    assert "Orders API" in html and API in html
    assert "Order tools (MCP)" in html and MCP in html
    code = code_of(location)
    with app.app_context():
        AuthCode = passport.models.AuthCode
        assert db.session.scalars(sa.select(AuthCode.resources)).one() == [API, MCP]

    # Adding a resource the user did not approve: refused, and the code stays usable.
    assert_oauth_error(exchange(signed_in, authz_client, code, [BILLING]), "invalid_target")
    assert_oauth_error(exchange(signed_in, authz_client, code, [MCP + "#x"]), "invalid_target")
    assert count(app, "AccessToken") == 0
    narrowed = exchange(signed_in, authz_client, code, [MCP])
    assert narrowed.status_code == 200, narrowed.json
    assert claims(narrowed.json["access_token"])["aud"] == MCP
    # Its refresh token holds both approved resources.
    refreshed = token_request(signed_in, authz_client, "refresh_token",
                              refresh_token=narrowed.json["refresh_token"])
    assert claims(refreshed.json["access_token"])["aud"] == [API, MCP]


def test_code_without_resource_param_gets_all_approved(
        signed_in: Any, authz_client: Any) -> None:
    _, location = consent(signed_in, authorize_url(authz_client, [API]))
    resp = exchange(signed_in, authz_client, code_of(location))
    assert claims(resp.json["access_token"])["aud"] == API


def test_code_approved_without_resources_cannot_gain_one(
        signed_in: Any, authz_client: Any) -> None:
    html, location = consent(signed_in, authorize_url(authz_client, []))
    assert "passport-resources" not in html
    assert_oauth_error(exchange(signed_in, authz_client, code_of(location), [API]),
                       "invalid_target")
    resp = exchange(signed_in, authz_client, code_of(location))
    assert claims(resp.json["access_token"])["aud"] == DEFAULT_AUDIENCE


@pytest.mark.parametrize("resources", [
    [API + "#frag"], ["/relative"], ["https://unknown.example.com/"],
    ["https://api.example.com/\x00"], [f"https://api.example.com/{i}" for i in range(11)],
    ["https://api.example.com/" + "b" * 2048],
])
def test_authorize_refuses_bad_resources_with_a_redirect(
        app: Flask, signed_in: Any, authz_client: Any, resources: list[str]) -> None:
    resp = signed_in.get(authorize_url(authz_client, resources))
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["error"] == ["invalid_target"]
    assert query["state"] == ["st-1"] and query["iss"] == [DEFAULT_AUDIENCE]
    assert count(app, "PendingAuthorization") == 0 and count(app, "AuthCode") == 0


def test_authorize_refuses_disallowed_resource_and_scope(
        app: Flask, signed_in: Any, passport: Passport) -> None:
    limited = new_client(app, "authorization_code", allowed_resources=[MCP])
    resp = signed_in.get(authorize_url(limited, [API]))
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["error"] == ["invalid_target"]
    resp = signed_in.get(authorize_url(limited, [MCP], scope="place-orders"))
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["error"] == ["invalid_scope"] and query["state"] == ["st-1"]
    assert count(app, "PendingAuthorization") == 0


def test_authorize_never_redirects_before_the_client_is_proven(signed_in: Any,
                                                               authz_client: Any) -> None:
    url = authorize_url(authz_client, [API + "#frag"], redirect_uri="https://evil.example/cb")
    resp = signed_in.get(url)
    assert resp.status_code == 400 and "Location" not in resp.headers


def test_an_earlier_approval_does_not_cover_another_resource(
        app: Flask, signed_in: Any, authz_client: Any) -> None:
    _, location = consent(signed_in, authorize_url(authz_client, [API]))
    assert exchange(signed_in, authz_client, code_of(location)).status_code == 200
    # The same scopes for the same resource: the earlier approval stands (no page).
    again = signed_in.get(authorize_url(authz_client, [API]))
    assert again.status_code == 302 and "code=" in again.headers["Location"]
    # Another resource: the user is asked.
    other = signed_in.get(authorize_url(authz_client, [MCP]))
    assert other.status_code == 200 and "Order tools (MCP)" in other.get_data(as_text=True)


def test_resources_survive_the_switch_account_query(authz_client: Any) -> None:
    from flask_passport.oauth2.authorization import AuthorizationRequest

    request = AuthorizationRequest(client_id="c", redirect_uri=REDIRECT, redirect_uri_sent=True,
                                   response_type="code", scopes=["check-status"],
                                   resources=[API, MCP])
    assert [v for k, v in request.to_query() if k == "resource"] == [API, MCP]
    assert AuthorizationRequest.from_dict(request.to_dict()).resources == [API, MCP]


# -- device authorization grant ----------------------------------------------------------------


def test_device_flow_keeps_and_narrows_resources(app: Flask, client: Any, passport: Passport,
                                                 user: Any, authz_login: Any) -> None:
    device = new_client(app, "device", name="TV")
    bad = client.post("/oauth/device/code", data=urlencode(
        [("client_id", device.client.id), ("resource", API + "#x")]),
        content_type="application/x-www-form-urlencoded")
    assert_oauth_error(bad, "invalid_target")
    assert count(app, "DeviceCode") == 0
    start = client.post("/oauth/device/code", data=urlencode(
        [("client_id", device.client.id), ("resource", API), ("resource", MCP)]),
        content_type="application/x-www-form-urlencoded")
    assert start.status_code == 200, start.json
    # The user enters the code and sees the resources on the consent page.
    authz_login(client, user)
    page = client.get("/oauth/device")
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                             page.get_data(as_text=True)))
    entered = client.post("/oauth/device", data={"csrf_token": fields["csrf_token"],
                                                 "user_code": start.json["user_code"]})
    html = entered.get_data(as_text=True)
    assert entered.status_code == 200 and "Orders API" in html and MCP in html
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    assert client.post("/oauth/device/decide",
                       data=fields | {"approve": "Authorize"}).status_code == 200
    wider = token_request(client, device, DEVICE_GRANT, [BILLING],
                          device_code=start.json["device_code"])
    assert_oauth_error(wider, "invalid_target")
    with app.app_context():  # the refused poll counted as a poll: let the next one through
        DeviceCode = passport.models.DeviceCode
        db.session.execute(sa.update(DeviceCode).values(last_polled_at=None))
        db.session.commit()
    resp = token_request(client, device, DEVICE_GRANT, [API],
                         device_code=start.json["device_code"])
    assert resp.status_code == 200, resp.json
    assert claims(resp.json["access_token"])["aud"] == API


# -- introspection, personal access tokens -----------------------------------------------------


def test_introspection_reports_the_tokens_own_audience(
        app: Flask, client: Any, passport: Passport, password_client: Any, user: Any) -> None:
    import base64

    rs = new_client(app, "resource_server")
    basic = base64.b64encode(f"{rs.client.id}:{rs.secret}".encode()).decode()
    tokens = _password_tokens(client, password_client, [API, MCP])
    narrowed = token_request(client, password_client, "refresh_token", [MCP],
                             refresh_token=tokens["refresh_token"]).json
    for value, aud in ((narrowed["access_token"], MCP),
                       (narrowed["refresh_token"], [API, MCP])):
        body = client.post("/oauth/introspect", data={"token": value},
                           headers={"Authorization": f"Basic {basic}"}).json
        assert body["active"] is True and body["aud"] == aud


def test_personal_access_tokens_are_unchanged(app: Flask, passport: Passport, user: Any,
                                              personal_client: Any) -> None:
    with app.app_context():
        u = db.session.merge(user)
        result = u.create_token("CLI", ["check-status"])
        assert claims(result.access_token)["aud"] == DEFAULT_AUDIENCE
        assert result.token.resources is None


# -- client management ---------------------------------------------------------------------------


def test_cli_client_resource_option(app: Flask, passport: Passport) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["passport", "client", "--client", "--name", "Jobs",
                                 "--resource", API, "--resource", MCP, "--json"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["allowed_resources"] == [API, MCP]
    refused = runner.invoke(args=["passport", "client", "--client", "--name", "Jobs",
                                  "--resource", "https://unknown.example.com/"])
    assert refused.exit_code != 0 and "not a registered resource" in refused.output
    everything = json.loads(runner.invoke(args=["passport", "client", "--client", "--name",
                                                "Any", "--json"]).output)
    assert everything["allowed_resources"] is None


def test_clients_json_api_shows_and_accepts_allowed_resources(
        app: Flask, client: Any, user: Any, passport: Passport) -> None:
    from management_helpers import login

    headers = login(client, user)
    made = client.post("/oauth/clients", headers=headers, json={
        "name": "Shop", "redirect": REDIRECT, "allowed_resources": [API]})
    assert made.status_code == 201, made.json
    assert made.json["allowed_resources"] == [API]
    unknown = client.post("/oauth/clients", headers=headers, json={
        "name": "Shop", "redirect": REDIRECT, "allowed_resources": [API + "/other"]})
    assert unknown.status_code == 422 and "allowed_resources" in unknown.json["errors"]
    for wrong in ("https://api.example.com/orders", [1]):
        bad = client.post("/oauth/clients", headers=headers, json={
            "name": "Shop", "redirect": REDIRECT, "allowed_resources": wrong})
        assert bad.status_code == 422, bad.json
    updated = client.put(f"/oauth/clients/{made.json['id']}", headers=headers, json={
        "name": "Shop", "redirect": REDIRECT, "allowed_resources": None})
    assert updated.status_code == 200 and updated.json["allowed_resources"] is None
    kept = client.put(f"/oauth/clients/{made.json['id']}", headers=headers, json={
        "name": "Shop", "redirect": REDIRECT})
    assert kept.json["allowed_resources"] is None


# -- interop: Authlib's OAuth2Session against the running example app --------------------------


def test_authlib_code_pkce_with_resource_gets_an_audience_bound_token(
        authz_server: Any, private_key_pem: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session
    from cryptography.hazmat.primitives import serialization
    from test_authlib_client import approve, signed_in_browser

    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain HTTP on 127.0.0.1
    server = authz_server
    resource = server.base_url + "/api"
    server.app.config["PASSPORT_RESOURCES"] = [{"uri": resource, "name": "Example API"}]
    server.app.extensions["passport"].passport.reload_settings(server.app)

    info = server.seed["clients"]["public"]
    oauth = OAuth2Session(info["id"], redirect_uri=info["redirect_uri"], scope="check-status",
                          code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = generate_token(64)
    url, state = oauth.create_authorization_url(server.base_url + "/oauth/authorize",
                                                code_verifier=verifier, resource=resource)
    assert "resource=" in url
    location = approve(server, signed_in_browser(server), url)
    assert f"state={state}" in location and "code=" in location
    token = oauth.fetch_token(server.base_url + "/oauth/token", authorization_response=location,
                              code_verifier=verifier, resource=resource)
    public_key = serialization.load_pem_private_key(
        private_key_pem.encode(), password=None).public_key()
    verified = jwt.decode(token["access_token"], public_key, algorithms=["RS256"],
                          audience=resource, issuer=server.base_url)
    assert verified["aud"] == resource and verified["client_id"] == info["id"]
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token["access_token"], public_key, algorithms=["RS256"],
                   audience=server.base_url)

    # A resource the server does not know: Authlib sees RFC 8707's invalid_target.
    url, _ = oauth.create_authorization_url(server.base_url + "/oauth/authorize",
                                            code_verifier=verifier,
                                            resource=server.base_url + "/elsewhere")
    location = approve(server, signed_in_browser(server), url)
    assert parse_qs(urlsplit(location).query)["error"] == ["invalid_target"]
