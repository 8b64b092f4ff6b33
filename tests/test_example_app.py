"""The example app: login/logout (CSRF, same-site next), home page, seed, and the code flow."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

import example_app
from example_app.commands import seed_data


@pytest.fixture
def demo(tmp_path: Any, private_key_pem: str) -> Iterator[Flask]:
    app = example_app.create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'example.sqlite'}",
        "PASSPORT_KEY_PATH": str(tmp_path / "keys"),
        "SERVER_NAME": "127.0.0.1:5099",
        "PASSPORT_ISSUER": "http://127.0.0.1:5099",
    })
    (tmp_path / "keys").mkdir()
    yield app
    with app.app_context():
        example_app.db.session.remove()
        example_app.db.engine.dispose()


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))


def sign_in(client: Any, email: str, password: str, next_url: str | None = None) -> Any:
    url = "/login" + (f"?next={next_url}" if next_url else "")
    fields = hidden_fields(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": fields["csrf_token"], "email": email,
                                  "password": password})


def test_seed_json_from_an_empty_key_folder(demo: Flask, tmp_path: Any) -> None:
    result = demo.test_cli_runner().invoke(args=["seed", "--json", "--port", "5099"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"user", "clients", "scopes", "personal_access_token"}
    assert set(data["clients"]) == {"confidential", "public", "password", "client_credentials",
                                    "personal"}
    assert data["clients"]["public"]["redirect_uri"] == "http://127.0.0.1:5099/callback"
    assert (tmp_path / "keys" / "oauth-private.key").exists() or demo.config.get(
        "PASSPORT_PRIVATE_KEY")


def test_login_page_has_the_contract_fields(demo: Flask) -> None:
    html = demo.test_client().get("/login").get_data(as_text=True)
    assert 'name="email"' in html and 'name="password"' in html
    assert re.search(r'<input[^>]*name="csrf_token"[^>]*type="hidden"|'
                     r'<input[^>]*type="hidden"[^>]*name="csrf_token"', html)
    assert '<label for="email">' in html and '<label for="password">' in html


def test_login_needs_csrf_and_right_password(demo: Flask) -> None:
    with demo.app_context():
        seed = seed_data(5099)
    client = demo.test_client()
    client.get("/login")
    no_csrf = client.post("/login", data={"email": seed["user"]["email"],
                                          "password": seed["user"]["password"]})
    assert no_csrf.status_code == 400
    wrong = sign_in(client, seed["user"]["email"], "nope")
    assert wrong.status_code == 400 and "incorrect" in wrong.get_data(as_text=True)
    ok = sign_in(client, seed["user"]["email"], seed["user"]["password"], "/client")
    assert ok.status_code == 302 and ok.headers["Location"] == "/client"
    assert "Signed in as" in client.get("/").get_data(as_text=True)
    assert client.get("/logout").status_code == 405  # a link cannot sign anyone out
    assert client.post("/logout").status_code == 400  # nor a cross-site POST without CSRF
    assert "Signed in as" in client.get("/").get_data(as_text=True)
    with client.session_transaction() as sess:
        token = sess["_passport_csrf"]
    client.post("/logout", data={"csrf_token": token})
    assert "Signed in as" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("next_url", ["//evil.example/x", "https://evil.example/",
                                      "/\\evil.example", "javascript:alert(1)"])
def test_next_must_be_same_site(demo: Flask, next_url: str) -> None:
    with demo.app_context():
        seed = seed_data(5099)
    client = demo.test_client()
    from urllib.parse import quote

    resp = sign_in(client, seed["user"]["email"], seed["user"]["password"], quote(next_url))
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_home_page_links_to_everything(demo: Flask) -> None:
    html = demo.test_client().get("/").get_data(as_text=True)
    for href in ("/login", "/client", "/oauth/authorize", "/api/user", "/api/orders",
                 "/api/status"):
        assert f'href="{href}"' in html, href


def test_session_cookie_works_over_plain_http(demo: Flask) -> None:
    assert demo.config["SESSION_COOKIE_SECURE"] is False
    resp = demo.test_client().get("/login")
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" not in cookie and "HttpOnly" in cookie


def test_client_demo_starts_a_pkce_request(demo: Flask) -> None:
    with demo.app_context():
        seed = seed_data(5099)
    client = demo.test_client()
    resp = client.get("/client/start")
    assert resp.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}
    assert query["client_id"] == seed["clients"]["public"]["id"]
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == "http://127.0.0.1:5099/callback"
    # Signed out: the authorize endpoint sends the user to /login and back.
    login = client.get(resp.headers["Location"])
    assert urlsplit(login.headers["Location"]).path == "/login"
    bad = client.get("/callback?code=x&state=forged")
    assert bad.status_code == 400 and "state" in bad.get_data(as_text=True)


def test_seeded_token_verifies_with_iss_and_aud(tmp_path: Any, private_key_pem: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed runs outside any request, with no PASSPORT_ISSUER in the environment: its
    personal access token still names the example app's issuer and audience, so the package's
    own JWKS ResourceServer and a standard verifier (PyJWT with iss+aud) accept it."""
    import jwt
    import requests
    from conftest import serve_example_app
    from flask import jsonify

    from flask_passport import current_token, require_oauth
    from flask_passport.resource.resource_server import ResourceServer

    monkeypatch.delenv("PASSPORT_ISSUER", raising=False)
    running = serve_example_app(tmp_path, private_key_pem, own_issuer=False)
    server = next(running)
    try:
        issuer = "http://127.0.0.1:5000"
        assert server.app.config["PASSPORT_ISSUER"] == issuer == example_app.DEFAULT_ISSUER
        pat = server.seed["personal_access_token"]
        jwks_uri = server.base_url + "/.well-known/jwks.json"
        service = Flask("orders_service")
        ResourceServer(service, issuer=issuer, audience=issuer, jwks_uri=jwks_uri)

        @service.get("/me")
        @require_oauth()
        def me() -> Any:
            return jsonify(user_id=current_token.user_id)

        resp = service.test_client().get("/me", headers={"Authorization": f"Bearer {pat}"})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        keys = requests.get(jwks_uri, timeout=10).json()["keys"]
    finally:
        next(running, None)
    header = jwt.get_unverified_header(pat)
    key = jwt.PyJWK(next(k for k in keys if k["kid"] == header["kid"]))
    claims = jwt.decode(pat, key.key, algorithms=[header["alg"]], issuer=issuer,
                        audience=issuer, options={"require": ["iss", "aud", "exp", "sub"]})
    assert resp.json == {"user_id": claims["sub"]}


@pytest.fixture
def bystander() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on another loopback port that records every request it gets: the
    server a forged Host header would point the demos' fetches at."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(f"{self.command} {self.path}")
            body = b'{"issuer": "http://attacker.example"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_demo_clients_never_fetch_from_the_host_header(
        authz_server: Any, bystander: tuple[str, list[str]]) -> None:
    """The demos' server-side calls (discovery, token, JWKS, userinfo, /api/user) go to the
    configured issuer whatever Host the request names."""
    host, seen = bystander
    forged = f"http://{host}"
    seed = authz_server.seed
    http = authz_server.app.test_client()
    with http.session_transaction(base_url=forged) as sess:
        sess["oidc_demo_pending"] = {"state": "s1", "nonce": "n1", "verifier": "v" * 43,
                                     "client_id": seed["oidc_client"]["id"]}
        sess["demo_client"] = {"state": "s2", "verifier": "v" * 43,
                               "client_id": seed["clients"]["public"]["id"]}
    oidc = http.get("/oidc-demo/callback?state=s1&code=forged.code", base_url=forged)
    client = http.get("/callback?state=s2&code=forged.code", base_url=forged)
    page = http.get("/oidc-demo", base_url=forged).get_data(as_text=True)
    assert seen == []
    # Both reached the real token endpoint, which refused the made-up code.
    assert oidc.status_code == 400 and "invalid_grant" in oidc.get_data(as_text=True)
    assert client.status_code == 400 and "invalid_grant" in client.get_data(as_text=True)
    assert seed["oidc_client"]["redirect_uri"] in page and host not in page


def test_a_deleted_users_id_is_never_given_again(demo: Flask) -> None:
    """On SQLite the example's users table is AUTOINCREMENT: the browser session (or anything
    else) of a deleted user never comes to mean the next account."""
    from example_app.models import User

    with demo.app_context():
        example_app.db.create_all()
        first = User(email="first@example.com")
        first.set_password("pw")
        example_app.db.session.add(first)
        example_app.db.session.commit()
        gone = first.id
        example_app.db.session.delete(first)
        example_app.db.session.commit()
        second = User(email="second@example.com")
        second.set_password("pw")
        example_app.db.session.add(second)
        example_app.db.session.commit()
        assert second.id != gone
