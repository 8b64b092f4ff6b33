"""OAuth Client ID Metadata Documents: an https URL as client_id, resolved by fetching the
document (oauth2/client_metadata_document.py) at /oauth/authorize, /oauth/token, revocation and
introspection; every bad document or URL is a clear error and stores nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import sqlalchemy as sa
from conftest import db, make_app, new_client
from document_server import DocumentServer, document_server
from flask import Flask

from flask_passport.oauth2 import client_metadata_document
from flask_passport.oauth2.pkce import s256
from flask_passport.storage.models import utcnow

__all__ = ["document_server"]  # a fixture, imported to be used

REDIRECT = "http://127.0.0.1:7777/callback"
VERIFIER = "A1b2-C3d4.E5f6_G7h8~" * 3


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # The document server listens on loopback: development mode lets fetches reach it.
    return {**app_config, "PASSPORT_CLIENT_ID_METADATA_DOCUMENTS": True,
            "PASSPORT_OUTBOUND_ALLOW_PRIVATE": True, "PASSPORT_ISSUER": "http://localhost"}


@pytest.fixture
def signed_in(client: Any, authz_login: Any, user: Any) -> Any:
    authz_login(client, user)
    return client


def document(url: str, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"client_id": url, "client_name": "Tool Box",
                           "redirect_uris": [REDIRECT], "grant_types": ["authorization_code",
                                                                        "refresh_token"],
                           "token_endpoint_auth_method": "none",
                           "client_uri": "https://toolbox.example/"}
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def publish(server: DocumentServer, path: str = "/client.json", **changes: Any) -> str:
    url = server.url(path)
    server.serve(path, document(url, **changes))
    return url


def authorize(client: Any, client_id: str, **extra: Any) -> Any:
    params = {"client_id": client_id, "redirect_uri": REDIRECT, "response_type": "code",
              "scope": "check-status", "state": "st", "code_challenge": s256(VERIFIER),
              "code_challenge_method": "S256"}
    params.update(extra)
    return client.get("/oauth/authorize?" + urlencode(
        {k: v for k, v in params.items() if v is not None}))


def approve(client: Any, page: Any) -> str:
    assert page.status_code == 200, page.get_data(as_text=True)
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                             page.get_data(as_text=True)))
    resp = client.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]


def exchange(client: Any, client_id: str, code: str, **extra: Any) -> Any:
    return client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": client_id, "code_verifier": VERIFIER, **extra})


def document_rows(app: Flask) -> list[Any]:
    with app.app_context():
        Client = app.extensions["passport"].models.Client
        return list(db.session.scalars(
            sa.select(Client).where(Client.metadata_document_url.is_not(None))))


def assert_error_page(resp: Any, error: str, *fragments: str) -> None:
    """A 400 page on the server (never a redirect to the unproven URI) naming the error."""
    assert resp.status_code == 400, resp.status_code
    assert "Location" not in resp.headers
    text = resp.get_data(as_text=True)
    assert error in text, text
    for fragment in fragments:
        assert fragment in text, text


# -- the whole flow ------------------------------------------------------------------------

def test_code_flow_with_pkce_and_a_url_client_id(app: Flask, signed_in: Any,
                                                  document_server: DocumentServer) -> None:
    url = publish(document_server)
    page = authorize(signed_in, url)
    text = page.get_data(as_text=True)
    # The host is what the user can trust; the name is only what the document says.
    assert "127.0.0.1" in text and "passport-client-host" in text
    code = approve(signed_in, page)
    token = exchange(signed_in, url, code)
    assert token.status_code == 200, token.json
    claims = jwt.decode(token.json["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == url
    refreshed = signed_in.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": token.json["refresh_token"],
        "client_id": url})
    assert refreshed.status_code == 200, refreshed.json
    access = refreshed.json["access_token"]
    # Introspection is for confidential clients (resource servers); they see the URL.
    public = signed_in.post("/oauth/introspect", data={"token": access, "client_id": url})
    assert public.status_code == 401 and public.json["error"] == "invalid_client"
    rs = new_client(app, "resource_server", name="API")
    auth = (rs.client.id, rs.secret)
    seen = signed_in.post("/oauth/introspect", data={"token": access}, auth=auth)
    assert seen.status_code == 200 and seen.json["active"] is True
    assert seen.json["client_id"] == url
    revoked = signed_in.post("/oauth/revoke", data={"token": access, "client_id": url})
    assert revoked.status_code == 200
    gone = signed_in.post("/oauth/introspect", data={"token": access}, auth=auth)
    assert gone.json == {"active": False}
    (row,) = document_rows(app)
    assert row.metadata_document_url == url and not row.confidential
    assert row.name == "Tool Box" and row.redirect_uris == [REDIRECT]
    assert document_server.hits["/client.json"] == 1  # the row is the cache


def test_a_document_client_pushes_then_authorizes(app: Flask, signed_in: Any,
                                                  document_server: DocumentServer) -> None:
    # RFC 9126 §2.1/§4: the pushed request is the client's as it names itself (its URL; the
    # row id is never accepted in its place), so the URL uses the request_uri.
    url = publish(document_server)
    pushed = signed_in.post("/oauth/par", data={
        "client_id": url, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "check-status", "state": "st", "code_challenge": s256(VERIFIER),
        "code_challenge_method": "S256"})
    assert pushed.status_code == 201, pushed.json
    request_uri = pushed.json["request_uri"]
    (row,) = document_rows(app)
    refused = signed_in.get("/oauth/authorize?" + urlencode(
        {"client_id": row.id, "request_uri": request_uri}))
    assert refused.status_code == 400  # the row id does not stand for the URL
    page = signed_in.get("/oauth/authorize?" + urlencode(
        {"client_id": url, "request_uri": request_uri}))
    token = exchange(signed_in, url, approve(signed_in, page))
    assert token.status_code == 200, token.json


@pytest.mark.parametrize("url,shown", [
    ("https://\u0430pple.com/client.json", "xn--pple-43d.com"),  # Cyrillic a: a homoglyph
    ("https://B\u00fccher.Example:8443/c.json", "xn--bcher-kva.example:8443"),
    ("https://toolbox.example/c.json", "toolbox.example"),
    ("https://[2001:db8::1]/c.json", "[2001:db8::1]"),
])
def test_the_consent_host_is_the_ascii_host_that_is_fetched(url: str, shown: str) -> None:
    # The consent page names the host first, as proven by the fetch: show the IDNA form the
    # fetch resolves (outbound.check_host), never Unicode that can imitate another domain.
    class Row:
        metadata_document_url = url

    assert client_metadata_document.host_of(Row()) == shown


def test_metadata_advertises_support(client: Any) -> None:
    doc = client.get("/.well-known/oauth-authorization-server").json
    assert doc["client_id_metadata_document_supported"] is True


def test_off_by_default(tmp_path: Any, private_key_pem: str,
                        document_server: DocumentServer) -> None:
    app = make_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'off.sqlite'}",
                    "PASSPORT_PRIVATE_KEY": private_key_pem,
                    "PASSPORT_OUTBOUND_ALLOW_PRIVATE": True})
    with app.app_context():
        db.create_all()
    try:
        url = publish(document_server)
        client = app.test_client()
        meta = client.get("/.well-known/oauth-authorization-server").json
        assert "client_id_metadata_document_supported" not in meta
        resp = authorize(client, url)
        assert_error_page(resp, "invalid_client")
        token = exchange(client, url, "x")
        assert token.status_code == 401 and token.json["error"] == "invalid_client"
        assert document_server.hits == {}
    finally:
        with app.app_context():
            db.drop_all()


# -- bad documents: a page, nothing stored -------------------------------------------------

@pytest.mark.parametrize("changes,message", [
    ({"client_id": "https://other.example/client.json"}, "client_id is not the URL"),
    ({"redirect_uris": None}, "no redirect_uris"),
    ({"redirect_uris": []}, "no redirect_uris"),
    ({"redirect_uris": [REDIRECT + "#frag"]}, "fragment"),
    ({"redirect_uris": ["javascript:alert(1)"]}, "not allowed"),
    ({"redirect_uris": ["http://evil.example/cb"]}, "loopback"),
    ({"token_endpoint_auth_method": "client_secret_basic"}, "shared secret"),
    ({"token_endpoint_auth_method": "client_secret_post"}, "shared secret"),
    ({"token_endpoint_auth_method": "private_key_jwt"}, "not supported"),
    ({"token_endpoint_auth_method": "tls_client_auth"}, "must be none"),
    ({"client_secret": "s3cret"}, "client_secret"),
    ({"grant_types": ["client_credentials"]}, "grant_types"),
    ({"grant_types": ["authorization_code", "password"]}, "grant_types"),
    ({"grant_types": [{"a": 1}]}, "grant_types"),
    ({"grant_types": "authorization_code"}, "grant_types"),
    ({"redirect_uris": REDIRECT}, "redirect_uris"),
    ({"redirect_uris": [{"uri": REDIRECT}]}, "redirect_uris"),
    ({"token_endpoint_auth_method": ["none"]}, "must be none"),
    ({"client_name": 42}, "client_name"),
    ({"client_name": "x" * 300}, "client_name"),
    ({"client_name": "Tool\x00Box"}, "client_name"),
    # Bidirectional controls could make the consent page read as another name or domain.
    ({"client_name": "moc.elppa\u202e"}, "bidirectional"),
    ({"client_name": "Tool\u2067Box\u2069"}, "bidirectional"),
    ({"client_name": "Tool\u200fBox"}, "bidirectional"),
    ({"logo_uri": "javascript:alert(1)"}, "logo_uri"),
    ({"client_uri": "http://evil.example/"}, "client_uri"),
    ({"scope": "not-a-scope"}, "scope"),
])
def test_invalid_documents_are_refused(app: Flask, signed_in: Any,
                                       document_server: DocumentServer,
                                       changes: dict[str, Any], message: str) -> None:
    url = publish(document_server, **changes)
    resp = authorize(signed_in, url)
    assert_error_page(resp, "invalid_client", message)
    assert document_rows(app) == []


@pytest.mark.parametrize("kind,options,message", [
    ("not json", {"raw": b"<html>hi</html>"}, "not valid JSON"),
    ("array", {"raw": b'[{"client_id": "x"}]'}, "not a JSON object"),
    ("huge", {"raw": b'{"pad": "' + b"x" * 6000 + b'"}'}, "larger than 5120"),
    ("not found", {"raw": b"{}", "status": 404}, "HTTP 404"),
])
def test_unusable_responses_are_refused(app: Flask, signed_in: Any,
                                        document_server: DocumentServer, kind: str,
                                        options: dict[str, Any], message: str) -> None:
    url = document_server.url("/client.json")
    document_server.serve("/client.json", **options)
    assert_error_page(authorize(signed_in, url), "invalid_client", message)
    assert document_rows(app) == []


def test_a_redirecting_document_is_refused(app: Flask, signed_in: Any,
                                           document_server: DocumentServer) -> None:
    target = publish(document_server, "/real.json")
    url = document_server.redirect("/client.json", target)
    assert_error_page(authorize(signed_in, url), "invalid_client", "redirect")
    assert "/real.json" not in document_server.hits
    assert document_rows(app) == []


def test_a_slow_document_times_out(app: Flask, signed_in: Any, document_server: DocumentServer,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_metadata_document, "FETCH_TIMEOUT", 0.5)
    url = document_server.url("/client.json")
    document_server.serve("/client.json", document(url), delay=2)
    assert_error_page(authorize(signed_in, url), "invalid_client", "timed out")
    assert document_rows(app) == []


@pytest.mark.parametrize("suffix,message", [
    ("/client.json#frag", "fragment"),
    ("/client.json?v=1", "query"),
    ("/a/../client.json", "path segments"),
    ("/a/%2e%2e/client.json", "path segments"),
    ("/./client.json", "path segments"),
    ("", "path"),
    ("/", "path"),
    ("/" + "a" * 2050, "2048"),
])
def test_bad_client_id_urls_are_refused_before_any_fetch(
        app: Flask, signed_in: Any, document_server: DocumentServer, suffix: str,
        message: str) -> None:
    url = f"http://127.0.0.1:{document_server.port}{suffix}"
    assert_error_page(authorize(signed_in, url), "invalid_request", message)
    token = exchange(signed_in, url, "x")
    assert token.status_code == 401 and token.json["error"] == "invalid_client"
    assert document_server.hits == {}
    assert document_rows(app) == []


@pytest.mark.parametrize("url,message", [
    ("https://user:pw@toolbox.example/client.json", "userinfo"),
    ("http://toolbox.example/client.json", "https"),
    ("https://toolbox.example/client json", "whitespace"),
])
def test_more_bad_urls(signed_in: Any, url: str, message: str) -> None:
    assert_error_page(authorize(signed_in, url), "invalid_request", message)


def test_private_addresses_are_refused_in_production(
        tmp_path: Any, private_key_pem: str, document_server: DocumentServer,
        authz_login: Any) -> None:
    app = make_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.sqlite'}",
                    "PASSPORT_PRIVATE_KEY": private_key_pem,
                    "PASSPORT_CLIENT_ID_METADATA_DOCUMENTS": True})
    with app.app_context():
        db.create_all()
    try:
        client = app.test_client()
        for url in ("https://169.254.169.254/latest/client.json",
                    "https://10.0.0.1/client.json", "https://[::1]/client.json",
                    f"https://localhost:{document_server.port}/client.json",
                    f"https://127.0.0.1:{document_server.port}/client.json"):
            assert_error_page(authorize(client, url), "invalid_client", "private")
        # Plain http is development only, even to loopback.
        url = publish(document_server)
        assert_error_page(authorize(client, url), "invalid_request", "https")
        assert document_server.hits == {}
        assert document_rows(app) == []
    finally:
        with app.app_context():
            db.drop_all()


def test_an_unregistered_redirect_uri_is_a_page(app: Flask, signed_in: Any,
                                                document_server: DocumentServer) -> None:
    url = publish(document_server)
    resp = authorize(signed_in, url, redirect_uri="http://127.0.0.1:7777/other")
    assert_error_page(resp, "invalid_request", "does not match")


# -- identity: the URL, never the row id ---------------------------------------------------

def test_the_row_id_does_not_stand_for_the_url(app: Flask, signed_in: Any,
                                               document_server: DocumentServer) -> None:
    url = publish(document_server)
    code = approve(signed_in, authorize(signed_in, url))
    (row,) = document_rows(app)
    assert_error_page(authorize(signed_in, row.id), "invalid_client")
    resp = exchange(signed_in, row.id, code)
    assert resp.status_code == 401 and resp.json["error"] == "invalid_client"
    assert exchange(signed_in, url, code).status_code == 200


def test_a_document_client_sends_no_secret(app: Flask, signed_in: Any,
                                           document_server: DocumentServer) -> None:
    url = publish(document_server)
    code = approve(signed_in, authorize(signed_in, url))
    resp = exchange(signed_in, url, code, client_secret="anything")
    assert resp.status_code == 401 and resp.json["error"] == "invalid_client"


def test_a_revoked_document_client_is_refused_without_a_fetch(
        app: Flask, signed_in: Any, document_server: DocumentServer) -> None:
    url = publish(document_server)
    approve(signed_in, authorize(signed_in, url))
    with app.app_context():
        Client = app.extensions["passport"].models.Client
        db.session.execute(sa.update(Client).values(revoked=True))
        db.session.commit()
    assert_error_page(authorize(signed_in, url), "invalid_client", "revoked")
    assert document_server.hits["/client.json"] == 1


# -- caching: the row is used until the document's lifetime ends ---------------------------

def _expire(app: Flask) -> None:
    with app.app_context():
        Client = app.extensions["passport"].models.Client
        db.session.execute(sa.update(Client).values(
            metadata_document_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def test_max_age_sets_the_lifetime_within_bounds(app: Flask, signed_in: Any,
                                                 document_server: DocumentServer) -> None:
    url = document_server.url("/client.json")
    document_server.serve("/client.json", document(url),
                          headers={"Cache-Control": "max-age=999999999"})
    approve(signed_in, authorize(signed_in, url))
    (row,) = document_rows(app)
    lifetime = row.metadata_document_expires_at - utcnow()
    assert timedelta(hours=23) < lifetime <= timedelta(hours=24)


def test_an_expired_row_is_refreshed_from_the_document(app: Flask, signed_in: Any,
                                                       document_server: DocumentServer) -> None:
    url = publish(document_server)
    approve(signed_in, authorize(signed_in, url))
    publish(document_server, client_name="Tool Box 2")
    approve(signed_in, authorize(signed_in, url))
    assert document_rows(app)[0].name == "Tool Box"  # still fresh
    _expire(app)
    approve(signed_in, authorize(signed_in, url))
    (row,) = document_rows(app)
    assert row.name == "Tool Box 2" and document_server.hits["/client.json"] == 2


def test_an_expired_row_whose_document_broke_is_refused(
        app: Flask, signed_in: Any, document_server: DocumentServer) -> None:
    url = publish(document_server)
    code = approve(signed_in, authorize(signed_in, url))
    publish(document_server, client_id="https://other.example/client.json")
    _expire(app)
    assert_error_page(authorize(signed_in, url), "invalid_client", "client_id is not the URL")
    resp = exchange(signed_in, url, code)
    assert resp.status_code == 401 and resp.json["error"] == "invalid_client"
    assert document_rows(app)[0].name == "Tool Box"  # left as it was


def test_no_store_fetches_every_time(app: Flask, signed_in: Any,
                                     document_server: DocumentServer) -> None:
    url = document_server.url("/client.json")
    document_server.serve("/client.json", document(url), headers={"Cache-Control": "no-store"})
    code = approve(signed_in, authorize(signed_in, url))
    assert exchange(signed_in, url, code).status_code == 200
    # The authorize page and the token request fetch; the decision reads the row it made.
    assert document_server.hits["/client.json"] == 2
    assert len(document_rows(app)) == 1


# -- where the client shows ----------------------------------------------------------------

def test_the_client_marks_its_document(app: Flask, signed_in: Any,
                                       document_server: DocumentServer) -> None:
    url = publish(document_server)
    approve(signed_in, authorize(signed_in, url))
    (row,) = document_rows(app)
    assert row.to_dict()["metadata_document_url"] == url
    assert row.to_dict()["registered"] is True


def test_purge_removes_unused_document_clients(app: Flask, signed_in: Any,
                                               document_server: DocumentServer) -> None:
    url = publish(document_server)
    authorize(signed_in, url)
    assert len(document_rows(app)) == 1
    with app.app_context():
        Client = app.extensions["passport"].models.Client
        db.session.execute(sa.update(Client).values(created_at=utcnow() - timedelta(days=40)))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["passport", "purge",
                                                "--unused-registrations", "30"])
    assert result.exit_code == 0, result.output
    assert document_rows(app) == []
    # The URL still works: the next request fetches the document again.
    approve(signed_in, authorize(signed_in, url))
    assert len(document_rows(app)) == 1


def test_the_authorized_applications_api_marks_document_clients(
        app: Flask, signed_in: Any, document_server: DocumentServer) -> None:
    from flask_passport.storage.management import token_with_client

    url = publish(document_server)
    assert exchange(signed_in, url, approve(signed_in, authorize(signed_in, url))).status_code \
        == 200
    with app.app_context():
        models = app.extensions["passport"].models
        token = db.session.scalars(sa.select(models.AccessToken)).one()
        client = db.session.get(models.Client, token.client_id)
        assert token_with_client(token, client)["client"]["metadata_document_url"] == url


ODD_VALUES: list[Any] = [None, 0, 1.5, True, "", "x" * 5000, "a\x00b", [], {}, [1], [None],
                         [{"a": 1}], ["javascript:alert(1)"], {"a": [1]}]
FIELDS = ("client_id", "client_name", "redirect_uris", "grant_types", "response_types",
          "token_endpoint_auth_method", "client_uri", "logo_uri", "tos_uri", "policy_uri",
          "scope", "contacts", "application_type", "software_id", "client_secret",
          "id_token_signed_response_alg")


def test_any_odd_member_is_an_oauth_error_never_a_crash(app: Flask) -> None:
    from flask_passport.oauth2.errors import OAuthError

    url = "https://toolbox.example/client.json"
    with app.test_request_context():
        ctx = app.extensions["passport"].context()
        for name in FIELDS:
            for value in ODD_VALUES:
                doc = document(url)
                doc[name] = value
                try:
                    client_metadata_document.validate_document(ctx, url, doc)
                except OAuthError as exc:
                    assert exc.error == "invalid_client" and exc.status == 401


def test_oauth4webapi_completes_the_flow_on_the_running_example_app(
        tmp_path: Any, private_key_pem: str, document_server: DocumentServer) -> None:
    """An independent client (panva's oauth4webapi) with a URL client_id against the example
    app served on loopback: discovery, PKCE, iss and state checks, the public code exchange."""
    import socket
    import threading

    from helpers import js_client
    from werkzeug.serving import make_server

    import example_app
    from example_app.commands import DEMO_EMAIL, DEMO_PASSWORD, seed_data

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    issuer = f"http://127.0.0.1:{port}"
    app = example_app.create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/example.sqlite",
        "PASSPORT_PRIVATE_KEY": private_key_pem, "PASSPORT_KEY_PATH": str(tmp_path),
        "PASSPORT_ISSUER": issuer, "PASSPORT_CLIENT_ID_METADATA_DOCUMENTS": True,
        "PASSPORT_OUTBOUND_ALLOW_PRIVATE": True})
    with app.app_context():
        seed_data(port)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        redirect = f"{issuer}/callback"
        url = publish(document_server, redirect_uris=[redirect])
        result = js_client("cimd_code_flow.mjs", {
            "issuer": issuer, "client_id": url, "redirect_uri": redirect,
            "email": DEMO_EMAIL, "password": DEMO_PASSWORD, "api": f"{issuer}/api/user"})
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            example_app.db.session.remove()
            example_app.db.engine.dispose()
    assert result == {"supported": True, "consent_names_host": True, "client_id_claim": url,
                      "email": DEMO_EMAIL, "has_refresh_token": True}


def test_a_row_made_by_a_parallel_request_is_refreshed_not_duplicated(
        app: Flask, signed_in: Any, document_server: DocumentServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two first requests for one URL both fetch; the second insert hits the unique URL and
    refreshes the winner's row inside a savepoint, so its own request goes on."""
    url = publish(document_server)
    approve(signed_in, authorize(signed_in, url))
    publish(document_server, client_name="Tool Box 2")
    real_find = client_metadata_document.find
    calls: list[str] = []

    def find_missing_once(ctx: Any, wanted: str) -> Any:
        calls.append(wanted)
        return None if len(calls) == 1 else real_find(ctx, wanted)  # as if not yet committed

    monkeypatch.setattr(client_metadata_document, "find", find_missing_once)
    code = approve(signed_in, authorize(signed_in, url))
    monkeypatch.undo()
    assert exchange(signed_in, url, code).status_code == 200
    (row,) = document_rows(app)
    assert row.name == "Tool Box 2"


def test_random_url_client_ids_never_fail_the_server(
        app: Flask, signed_in: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """URL-shaped client_ids built from awkward pieces: always a 400 page or 401 JSON, never a
    5xx; every name resolves to a private address here, so nothing leaves the machine."""
    import random
    import socket

    def private(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port))]

    def no_connection(*args: Any) -> None:
        raise AssertionError("a refused client_id made a connection")

    monkeypatch.setattr(socket, "getaddrinfo", private)
    monkeypatch.setattr(socket.socket, "connect", no_connection)
    app.config["PASSPORT_OUTBOUND_ALLOW_PRIVATE"] = False  # production rules
    app.extensions["passport"].passport.reload_settings(app)
    pieces = ["https://", "http://", "HTTPS://", "a.example", "[::1]", "[fe80::1%25eth0]",
              ":443", ":0", ":99999", "/", "/c.json", "/..", "/%2e", "?q", "#f", "@", "user@",
              "%00", "\x00", " ", "\u00e9", "xn--", "[", "]", "//", "\\", "é.example", ":",
              "a" * 300]
    rng = random.Random(7)
    for _ in range(110):  # within PASSPORT_RATELIMIT_PER_IP (120/minute)
        client_id = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        if not client_id.lower().startswith(("https://", "http://")):
            client_id = "https://" + client_id
        page = authorize(signed_in, client_id)
        assert page.status_code == 400, (client_id, page.status_code)
        token = exchange(signed_in, client_id, "x")
        assert token.status_code in (400, 401, 429), (client_id, token.status_code)
    assert document_rows(app) == []


def test_authorize_requests_that_may_fetch_are_rate_limited_per_address(
        tmp_path: Any, private_key_pem: str, document_server: DocumentServer) -> None:
    """GET /oauth/authorize is open to anyone; with a URL client_id each one may make the server
    fetch, so those count per address (other authorization requests do not)."""
    app = make_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'rl.sqlite'}",
                    "PASSPORT_PRIVATE_KEY": private_key_pem,
                    "PASSPORT_CLIENT_ID_METADATA_DOCUMENTS": True,
                    "PASSPORT_OUTBOUND_ALLOW_PRIVATE": True,
                    "PASSPORT_RATELIMIT_PER_IP": "3/minute"})
    with app.app_context():
        db.create_all()
    try:
        client = app.test_client()
        statuses = [authorize(client, document_server.url(f"/c{i}.json")).status_code
                    for i in range(4)]
        assert statuses == [400, 400, 400, 429]
        assert len(document_server.hits) == 3
        assert authorize(client, "not-a-url").status_code == 400  # not counted
    finally:
        with app.app_context():
            db.drop_all()
