"""Dynamic client registration (RFC 7591) and its management (RFC 7592) at /oauth/register."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import db
from flask import Flask
from test_auth_code_grant import VERIFIER, _me_route

from flask_passport.oauth2.pkce import s256
from flask_passport.oauth2.registration import RegistrationRefused

INITIAL_TOKEN = "initial-access-token-for-tests-0123456789"
LOOPBACK = "http://127.0.0.1:33418/callback"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def registration_mode() -> str | None:
    """PASSPORT_REGISTRATION of the test's app; a test parametrizes it to change it."""
    return "open"


@pytest.fixture
def app_config(app_config: dict[str, Any], registration_mode: str | None) -> dict[str, Any]:
    config = dict(app_config, PASSPORT_REGISTRATION=registration_mode)
    config["PASSPORT_REGISTRATION_INITIAL_TOKENS"] = [
        hashlib.sha256(INITIAL_TOKEN.encode()).hexdigest()]
    return config


def register(http: Any, body: Any, token: str | None = None, **kwargs: Any) -> Any:
    headers = dict(JSON)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return http.post("/oauth/register", data=data, headers={**headers, **kwargs})


def client_count(app: Flask) -> int:
    with app.app_context():
        Client = app.extensions["passport"].models.Client
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(Client)) or 0)


MCP_CLIENT = {"client_name": "MCP Inspector", "redirect_uris": [LOOPBACK],
              "grant_types": ["authorization_code", "refresh_token"],
              "response_types": ["code"], "token_endpoint_auth_method": "none"}


def test_open_registration_answers_rfc7591_client_information(app: Flask, client: Any) -> None:
    resp = register(client, MCP_CLIENT | {"scope": "check-status",
                                          "client_uri": "https://inspector.example"})
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert resp.headers["Cache-Control"] == "no-store"
    # RFC 7591 §3.2.1, field by field.
    assert isinstance(body["client_id"], str) and body["client_id"]
    assert isinstance(body["client_id_issued_at"], int)
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    assert body["client_name"] == "MCP Inspector"
    assert body["redirect_uris"] == [LOOPBACK]
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert body["token_endpoint_auth_method"] == "none"
    assert body["scope"] == "check-status"
    assert body["client_uri"] == "https://inspector.example"
    assert body["registration_access_token"]
    assert body["registration_client_uri"] == \
        f"http://localhost/oauth/register/{body['client_id']}"
    with app.app_context():
        row = db.session.get(app.extensions["passport"].models.Client, body["client_id"])
        assert row.registered and not row.confidential and not row.first_party
        # Only the digest of the registration access token is stored.
        assert row.registration_token_hash == hashlib.sha256(
            body["registration_access_token"].encode()).hexdigest()
        assert row.to_dict()["registered"] is True


def test_open_registration_fills_in_a_public_auth_method(client: Any) -> None:
    body = {k: v for k, v in MCP_CLIENT.items() if k != "token_endpoint_auth_method"}
    resp = register(client, body)
    assert resp.status_code == 201
    assert resp.json["token_endpoint_auth_method"] == "none"


def test_registered_public_client_completes_the_pkce_flow(app: Flask, client: Any,
                                                         authz_login: Any, user: Any) -> None:
    import re
    from urllib.parse import parse_qs, urlencode, urlsplit

    _me_route(app)
    registered = register(client, MCP_CLIENT).json
    authz_login(client, user)
    # RFC 8252 §7.3: a loopback redirect may use another port than the one registered.
    redirect = "http://127.0.0.1:50123/callback"
    params = {"client_id": registered["client_id"], "redirect_uri": redirect,
              "response_type": "code", "scope": "check-status", "state": "st",
              "code_challenge": s256(VERIFIER), "code_challenge_method": "S256"}
    page = client.get("/oauth/authorize?" + urlencode(params))
    assert page.status_code == 200, page.get_data(as_text=True)  # consent: never first party
    assert "registered itself: its name is not verified" in page.get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                             page.get_data(as_text=True)))
    decided = client.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
    assert decided.headers["Location"].startswith(redirect)
    code = parse_qs(urlsplit(decided.headers["Location"]).query)["code"][0]
    without_pkce = client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "client_id": registered["client_id"]})
    assert without_pkce.status_code == 400  # a public client must prove PKCE
    page = client.get("/oauth/authorize?" + urlencode(params))
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                             page.get_data(as_text=True)))
    decided = client.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
    code = parse_qs(urlsplit(decided.headers["Location"]).query)["code"][0]
    tokens = client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "client_id": registered["client_id"], "code_verifier": VERIFIER})
    assert tokens.status_code == 200, tokens.json
    me = client.get("/me", headers={"Authorization": f"Bearer {tokens.json['access_token']}"})
    assert me.json == {"email": "taylor@example.com"}
    refreshed = client.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens.json["refresh_token"],
        "client_id": registered["client_id"]})
    assert refreshed.status_code == 200, refreshed.json


@pytest.mark.parametrize("registration_mode", ["token"])
def test_token_gated_confidential_client_gets_client_credentials(client: Any) -> None:
    body = {"client_name": "Nightly job", "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic", "scope": "check-status"}
    assert register(client, body).status_code == 401
    resp = register(client, body, token=INITIAL_TOKEN)
    assert resp.status_code == 201, resp.json
    info = resp.json
    assert info["client_secret"] and info["client_secret_expires_at"] == 0
    assert info["response_types"] == [] and info["redirect_uris"] == []
    got = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                            "scope": "check-status"},
                      auth=(info["client_id"], info["client_secret"]))
    assert got.status_code == 200, got.json
    assert got.json["scope"] == "check-status"
    wrong = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                        auth=(info["client_id"], "not-the-secret"))
    assert wrong.status_code == 401


@pytest.mark.parametrize("registration_mode", ["token"])
def test_initial_access_token_is_checked(app: Flask, client: Any) -> None:
    before = client_count(app)
    for token in (None, "wrong", INITIAL_TOKEN + "x", INITIAL_TOKEN[:-1]):
        resp = register(client, MCP_CLIENT, token=token)
        assert resp.status_code == 401, (token, resp.json)
        assert resp.json["error"] == "invalid_token"
        assert resp.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert client_count(app) == before
    # A token-gated endpoint may register custom-scheme native apps.
    native = register(client, MCP_CLIENT | {"application_type": "native",
                                            "redirect_uris": ["com.example.app:/cb"]},
                      token=INITIAL_TOKEN)
    assert native.status_code == 201, native.json


@pytest.mark.parametrize("registration_mode", [None])
def test_off_by_default(app: Flask, client: Any) -> None:
    assert app.extensions["passport"].settings.registration is None
    resp = register(client, MCP_CLIENT)
    assert resp.status_code == 404
    assert client.get("/oauth/register/anything").status_code == 404
    meta = client.get("/.well-known/oauth-authorization-server").json
    assert "registration_endpoint" not in meta


def test_metadata_advertises_the_endpoint_when_on(client: Any) -> None:
    meta = client.get("/.well-known/oauth-authorization-server").json
    assert meta["registration_endpoint"] == "http://localhost/oauth/register"


def test_settings_refuse_plain_initial_tokens(app: Flask) -> None:
    from flask_passport.settings import _registration

    with pytest.raises(ValueError, match="digests"):
        _registration("token", [INITIAL_TOKEN])
    with pytest.raises(ValueError, match="at least one"):
        _registration("token", [])
    with pytest.raises(ValueError, match="PASSPORT_REGISTRATION"):
        _registration("closed", [])


BAD_REQUESTS: list[tuple[str, Any, str]] = [
    ("javascript", MCP_CLIENT | {"redirect_uris": ["javascript:alert(1)"]},
     "invalid_redirect_uri"),
    ("data", MCP_CLIENT | {"redirect_uris": ["data:text/html,<script>alert(1)</script>"]},
     "invalid_redirect_uri"),
    ("fragment", MCP_CLIENT | {"redirect_uris": ["https://app.example/cb#x"]},
     "invalid_redirect_uri"),
    ("userinfo", MCP_CLIENT | {"redirect_uris": ["https://user@app.example/cb"]},
     "invalid_redirect_uri"),
    ("http non-loopback", MCP_CLIENT | {"redirect_uris": ["http://app.example/cb"]},
     "invalid_redirect_uri"),
    ("custom scheme in open mode", MCP_CLIENT | {"redirect_uris": ["com.example:/cb"],
                                                 "application_type": "native"},
     "invalid_redirect_uri"),
    ("relative", MCP_CLIENT | {"redirect_uris": ["/callback"]}, "invalid_redirect_uri"),
    ("control char", MCP_CLIENT | {"redirect_uris": ["https://app.example/c\u0000b"]},
     "invalid_redirect_uri"),
    ("too long", MCP_CLIENT | {"redirect_uris": ["https://app.example/" + "a" * 2100]},
     "invalid_redirect_uri"),
    ("too many", MCP_CLIENT | {"redirect_uris": [f"https://app.example/{i}" for i in range(21)]},
     "invalid_redirect_uri"),
    ("not a list", MCP_CLIENT | {"redirect_uris": "https://app.example/cb"},
     "invalid_redirect_uri"),
    ("no redirect", MCP_CLIENT | {"redirect_uris": []}, "invalid_redirect_uri"),
    ("unknown grant", MCP_CLIENT | {"grant_types": ["authorization_code", "password"]},
     "invalid_client_metadata"),
    ("implicit", MCP_CLIENT | {"grant_types": ["implicit"]}, "invalid_client_metadata"),
    ("grant not a list", MCP_CLIENT | {"grant_types": "authorization_code"},
     "invalid_client_metadata"),
    ("response type token", MCP_CLIENT | {"response_types": ["token"]},
     "invalid_client_metadata"),
    ("secret in open mode", MCP_CLIENT | {"token_endpoint_auth_method": "client_secret_post"},
     "invalid_client_metadata"),
    ("unknown auth method", MCP_CLIENT | {"token_endpoint_auth_method": "private_key_jwt"},
     "invalid_client_metadata"),
    ("client credentials open", MCP_CLIENT | {"grant_types": ["client_credentials"]},
     "invalid_client_metadata"),
    ("application type", MCP_CLIENT | {"application_type": "desktop"},
     "invalid_client_metadata"),
    ("unknown scope", MCP_CLIENT | {"scope": "check-status admin"}, "invalid_client_metadata"),
    ("scope not a string", MCP_CLIENT | {"scope": ["check-status"]},
     "invalid_client_metadata"),
    ("name control char", MCP_CLIENT | {"client_name": "evil\u202e\u0007"},
     "invalid_client_metadata"),
    ("name bidi U+202A", MCP_CLIENT | {"client_name": "Tool\u202aBox"},
     "invalid_client_metadata"),
    ("name bidi U+202E", MCP_CLIENT | {"client_name": "Tool\u202eBox"},
     "invalid_client_metadata"),
    ("name bidi U+2066", MCP_CLIENT | {"client_name": "Tool\u2066Box"},
     "invalid_client_metadata"),
    ("name bidi U+2069", MCP_CLIENT | {"client_name": "Tool\u2069Box"},
     "invalid_client_metadata"),
    ("name bidi U+200E", MCP_CLIENT | {"client_name": "Tool\u200eBox"},
     "invalid_client_metadata"),
    ("name bidi U+200F", MCP_CLIENT | {"client_name": "Tool\u200fBox"},
     "invalid_client_metadata"),
    ("name bidi U+061C", MCP_CLIENT | {"client_name": "Tool\u061cBox"},
     "invalid_client_metadata"),
    ("name too long", MCP_CLIENT | {"client_name": "n" * 256}, "invalid_client_metadata"),
    ("name not a string", MCP_CLIENT | {"client_name": 42}, "invalid_client_metadata"),
    ("javascript client_uri", MCP_CLIENT | {"client_uri": "javascript:alert(1)"},
     "invalid_client_metadata"),
    ("http client_uri", MCP_CLIENT | {"logo_uri": "http://tracker.example/logo.png"},
     "invalid_client_metadata"),
    ("contacts", MCP_CLIENT | {"contacts": "admin@example.com"}, "invalid_client_metadata"),
    ("id token alg", MCP_CLIENT | {"id_token_signed_response_alg": "none"},
     "invalid_client_metadata"),
    ("non-JSON", "client_name=x&redirect_uris=http://127.0.0.1/cb", "invalid_client_metadata"),
    ("JSON array", "[1, 2]", "invalid_client_metadata"),
    ("JSON string", '"hello"', "invalid_client_metadata"),
    ("truncated JSON", '{"client_name": ', "invalid_client_metadata"),
    ("bad UTF-8", b'{"client_name": "\xff\xfe"}', "invalid_client_metadata"),
    ("duplicate member", '{"redirect_uris": ["https://a.example/cb"], '
     '"redirect_uris": ["javascript:x"]}', "invalid_client_metadata"),
    ("deep nesting", "[" * 10_000 + "]" * 10_000, "invalid_client_metadata"),
]


@pytest.mark.parametrize("label,body,error", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_registration_is_an_rfc7591_error_and_stores_nothing(
        app: Flask, client: Any, label: str, body: Any, error: str) -> None:
    before = client_count(app)
    resp = register(client, body)
    assert resp.status_code == 400, (label, resp.status_code, resp.get_data(as_text=True))
    assert resp.json["error"] == error, resp.json
    assert resp.json["error_description"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert client_count(app) == before


def test_wrong_content_type_and_oversized_bodies(app: Flask, client: Any) -> None:
    before = client_count(app)
    form = client.post("/oauth/register", data=json.dumps(MCP_CLIENT),
                       headers={"Content-Type": "text/plain"})
    assert form.status_code == 400 and form.json["error"] == "invalid_client_metadata"
    huge = register(client, MCP_CLIENT | {"software_id": "x" * 70_000})
    assert huge.status_code == 413 and huge.json["error"] == "invalid_request"
    assert client_count(app) == before


def manage(http: Any, info: dict[str, Any], method: str, token: str | None = None,
           body: Any = None) -> Any:
    token = info["registration_access_token"] if token is None else token
    path = "/oauth/register/" + info["client_id"]
    kwargs: dict[str, Any] = {"headers": {"Authorization": f"Bearer {token}"}}
    if body is not None:
        kwargs["data"] = json.dumps(body)
        kwargs["headers"] |= JSON
    return http.open(path, method=method, **kwargs)


def test_rfc7592_read_update_delete(app: Flask, client: Any) -> None:
    info = register(client, MCP_CLIENT).json
    read = manage(client, info, "GET")
    assert read.status_code == 200 and read.headers["Cache-Control"] == "no-store"
    assert read.json["client_id"] == info["client_id"]
    assert read.json["registration_access_token"] == info["registration_access_token"]
    assert read.json["registration_client_uri"] == info["registration_client_uri"]
    assert read.json["redirect_uris"] == [LOOPBACK]

    new = "https://inspector.example/callback"
    update = {"client_id": info["client_id"], "client_name": "Renamed", "redirect_uris": [new],
              "grant_types": ["authorization_code"], "token_endpoint_auth_method": "none"}
    put = manage(client, info, "PUT", body=update)
    assert put.status_code == 200, put.json
    assert put.json["client_name"] == "Renamed" and put.json["redirect_uris"] == [new]
    assert put.json["grant_types"] == ["authorization_code"]  # PUT replaces
    assert manage(client, info, "GET").json["client_name"] == "Renamed"

    bad_updates = [
        update | {"client_id": "someone-else"},
        {k: v for k, v in update.items() if k != "client_id"},
        update | {"registration_access_token": "mine"},
        update | {"client_id_issued_at": 1},
        update | {"redirect_uris": ["javascript:alert(1)"]},
        update | {"client_secret": "chosen-by-client"},
        update | {"client_secret": "\ud800"},  # a lone surrogate: not even hashable text
        update | {"grant_types": ["authorization_code", "password"]},
    ]
    for bad in bad_updates:
        resp = manage(client, info, "PUT", body=bad)
        assert resp.status_code == 400, (bad, resp.json)
        assert resp.json["error"] in ("invalid_client_metadata", "invalid_redirect_uri")
    assert manage(client, info, "GET").json["redirect_uris"] == [new]

    deleted = manage(client, info, "DELETE")
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert manage(client, info, "GET").status_code == 401
    with app.app_context():
        row = db.session.get(app.extensions["passport"].models.Client, info["client_id"])
        assert row.revoked and row.registration_token_hash is None


def test_wrong_registration_access_token_is_401(app: Flask, client: Any,
                                                authz_client: Any) -> None:
    info = register(client, MCP_CLIENT).json
    other = register(client, MCP_CLIENT).json
    attempts = [
        (info, "wrong"),
        (info, info["registration_access_token"] + "x"),
        (info, other["registration_access_token"]),  # another client's token
        ({"client_id": "no-such-client"}, info["registration_access_token"]),
        # A client made by an administrator has no registration to manage.
        ({"client_id": authz_client.client.id}, info["registration_access_token"]),
    ]
    for target, token in attempts:
        for method in ("GET", "PUT", "DELETE"):
            resp = manage(client, target, method, token=token,
                          body=MCP_CLIENT | {"client_id": target["client_id"]})
            assert resp.status_code == 401, (target, method, resp.json)
            assert resp.json["error"] == "invalid_token"
            assert resp.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    no_header = client.get("/oauth/register/" + info["client_id"])
    assert no_header.status_code == 401
    basic = client.get("/oauth/register/" + info["client_id"],
                       auth=(info["client_id"], info["registration_access_token"]))
    assert basic.status_code == 401
    assert manage(client, info, "GET").status_code == 200  # untouched


def test_registration_policy_hook_refuses_and_adjusts(app: Flask, client: Any) -> None:
    passport = app.extensions["passport"].passport
    seen: list[dict[str, Any]] = []

    @passport.registration_policy
    def policy(metadata: dict[str, Any], *, client: Any) -> dict[str, Any] | None:
        seen.append(metadata)
        if metadata["client_name"] == "Blocked":
            raise RegistrationRefused("This software may not register here.")
        if metadata["client_name"] == "Sneaky":
            return metadata | {"redirect_uris": ["javascript:alert(1)"]}
        return metadata | {"scope": "check-status"}

    before = client_count(app)
    refused = register(client, MCP_CLIENT | {"client_name": "Blocked"})
    assert refused.status_code == 400
    assert refused.json == {"error": "invalid_client_metadata",
                            "error_description": "This software may not register here."}
    # What the hook returns is validated again.
    sneaky = register(client, MCP_CLIENT | {"client_name": "Sneaky"})
    assert sneaky.status_code == 400 and sneaky.json["error"] == "invalid_redirect_uri"
    assert client_count(app) == before
    adjusted = register(client, MCP_CLIENT)
    assert adjusted.status_code == 201 and adjusted.json["scope"] == "check-status"
    assert seen[-1]["token_endpoint_auth_method"] == "none"  # it saw validated metadata


def test_purge_unused_registrations(app: Flask, client: Any, authz_client: Any) -> None:
    from datetime import timedelta

    from flask_passport.storage.models import utcnow

    stale = register(client, MCP_CLIENT).json
    used = register(client, MCP_CLIENT).json
    deleted = register(client, MCP_CLIENT).json
    fresh = register(client, MCP_CLIENT).json
    assert manage(client, deleted, "DELETE").status_code == 204
    with app.app_context():
        models = app.extensions["passport"].models
        old = utcnow() - timedelta(days=40)
        for info in (stale, used, deleted):
            db.session.get(models.Client, info["client_id"]).created_at = old
        db.session.get(models.Client, authz_client.client.id).created_at = old
        db.session.add(models.AccessToken(client_id=used["client_id"], scopes=[],
                                          revoked=False, expires_at=utcnow(),
                                          created_at=utcnow() - timedelta(days=2)))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["passport", "purge",
                                                "--unused-registrations", "30"])
    assert result.exit_code == 0, result.output
    assert "Purged 2 unused registered clients" in result.output
    with app.app_context():
        Client = app.extensions["passport"].models.Client
        remaining = set(db.session.scalars(sa.select(Client.id)))
    assert stale["client_id"] not in remaining and deleted["client_id"] not in remaining
    assert {used["client_id"], fresh["client_id"], authz_client.client.id} <= remaining


def test_registration_is_rate_limited_per_address(app_config: dict[str, Any]) -> None:
    from conftest import make_app

    app = make_app(app_config | {"PASSPORT_RATELIMIT_PER_IP": "3/minute"})
    with app.app_context():
        db.create_all()
    try:
        http = app.test_client()
        codes = [register(http, MCP_CLIENT).status_code for _ in range(4)]
        assert codes == [201, 201, 201, 429]
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@pytest.mark.parametrize("registration_mode", ["token"])
def test_confidential_update_checks_the_current_secret(client: Any) -> None:
    body = {"client_name": "Job", "grant_types": ["client_credentials"]}
    info = register(client, body, token=INITIAL_TOKEN).json
    assert info["token_endpoint_auth_method"] == "client_secret_basic"  # RFC 7591 §2 default
    update = body | {"client_id": info["client_id"]}
    for wrong in ("not-the-secret", "\ud800", 42):  # a lone surrogate is not even hashable
        resp = manage(client, info, "PUT", body=update | {"client_secret": wrong})
        assert resp.status_code == 400, (wrong, resp.json)
        assert resp.json["error"] == "invalid_client_metadata"
    same = manage(client, info, "PUT", body=update | {"client_secret": info["client_secret"],
                                                      "client_name": "Nightly"})
    assert same.status_code == 200 and same.json["client_name"] == "Nightly"
    assert "client_secret" not in same.json and same.json["client_secret_expires_at"] == 0
    public = manage(client, info, "PUT", body=update | {"token_endpoint_auth_method": "none",
                                                        "grant_types": ["authorization_code"],
                                                        "redirect_uris": [LOOPBACK]})
    assert public.status_code == 400  # no switch between confidential and public


@pytest.mark.parametrize("name", ["Tool\u202eBox", "Tool\u2068Box", "Tool\u061cBox"])
def test_create_client_refuses_bidi_controls_in_the_name(app: Flask, name: str) -> None:
    # The same rule for clients made by the CLI and create_client as for registration.
    from flask_passport.storage.clients import ClientError, create_client

    with app.app_context(), pytest.raises(ClientError, match="bidirectional"):
        create_client(db.session, app.extensions["passport"].models, name=name, kind="public",
                      redirect_uris=["https://app.example/cb"])


def test_the_consent_page_isolates_the_client_name(app: Flask, client: Any, authz_login: Any,
                                                   user: Any) -> None:
    # <bdi> keeps a name registered before the rule (or any RTL text) from reordering the
    # sentence around it (HTML "bdi" element, Unicode UAX #9 isolation).
    from conftest import new_client

    created = new_client(app, "public", name="\u05e9\u05dc\u05d5\u05dd App",
                         redirect_uris=["https://app.example/cb"])
    authz_login(client, user)
    page = client.get("/oauth/authorize", query_string={
        "client_id": created.client.id, "redirect_uri": "https://app.example/cb",
        "response_type": "code", "code_challenge": s256(VERIFIER),
        "code_challenge_method": "S256"})
    assert page.status_code == 200
    assert "<strong><bdi>\u05e9\u05dc\u05d5\u05dd App</bdi></strong>" in page.get_data(as_text=True)
