"""End to end with ``PASSPORT_PROFILE = "fapi2"``: an independent client (panva's oauth4webapi)
completes a FAPI 2.0-style flow against the running example server (PAR, ``private_key_jwt``,
S256 PKCE, ``iss`` in the authorization response, a DPoP-bound access token at the API), and the
profile refuses what a plain bearer client would do (FAPI 2.0 Security Profile §5.3.2)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from helpers import js_client
from test_authlib_client import approve, signed_in_browser

from flask_passport.jose import keys as keys_mod
from flask_passport.storage.clients import create_client

REDIRECT_URI = "http://127.0.0.1:9/cb"  # never contacted: the test reads the Location header


class Fapi2Server:
    def __init__(self, app: Any, port: int, seed: dict[str, Any]) -> None:
        self.app, self.port, self.seed = app, port, seed
        self.base_url = f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def fapi2_server(tmp_path_factory: pytest.TempPathFactory, private_key_pem: str
                 ) -> Iterator[Fapi2Server]:
    """The example app (as tests/conftest.py serve_example_app starts it) with the fapi2
    profile; the example's password grant is switched off, as the profile demands."""
    import socket
    import threading

    from werkzeug.serving import make_server

    import example_app
    from example_app.commands import seed_data

    tmp_dir = tmp_path_factory.mktemp("fapi2")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = example_app.create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_dir}/example.sqlite",
        "PASSPORT_PRIVATE_KEY": private_key_pem,
        "PASSPORT_KEY_PATH": str(tmp_dir),
        "PASSPORT_ISSUER": f"http://127.0.0.1:{port}",
        "PASSPORT_PROFILE": "fapi2",
        "PASSPORT_PASSWORD_GRANT": False,
        "PASSPORT_RATELIMIT_ENABLED": False,
    })
    with app.app_context():
        seed = seed_data(port)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Fapi2Server(app, port, seed)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            example_app.db.session.remove()
            example_app.db.engine.dispose()


def make_client(server: Fapi2Server, kind: str, **kwargs: Any) -> str:
    import example_app

    with server.app.app_context():
        models = server.app.extensions["passport"].models
        created = create_client(example_app.db.session, models, name=f"fapi2 {kind}", kind=kind,
                                **kwargs)
        example_app.db.session.commit()
        return str(created.client.id)


def private_jwk(private_key: Any, kid: str) -> dict[str, Any]:
    return {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private_key)),
            "alg": "ES256", "kid": kid}


def public_jwks(private_key: Any, kid: str) -> dict[str, Any]:
    return {"keys": [{**keys_mod.public_jwk(private_key.public_key()), "kid": kid}]}


def client_assertion(server: Fapi2Server, client_id: str, private_key: Any, kid: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": client_id, "sub": client_id, "aud": server.base_url,
                       "jti": uuid.uuid4().hex, "iat": now, "exp": now + 60},
                      private_key, algorithm="ES256", headers={"kid": kid})


def test_oauth4webapi_fapi2_flow(fapi2_server: Fapi2Server) -> None:
    server = fapi2_server
    client_key = ec.generate_private_key(ec.SECP256R1())
    client_id = make_client(server, "authorization_code", redirect_uris=[REDIRECT_URI],
                            auth_method="private_key_jwt",
                            jwks=public_jwks(client_key, "fapi2-1"))
    config = {"issuer": server.base_url, "client_id": client_id,
              "private_jwk": private_jwk(client_key, "fapi2-1"), "redirect_uri": REDIRECT_URI,
              "scope": "check-status", "resource": server.base_url + "/api/user"}

    pushed = js_client("fapi2_flow.mjs", {**config, "step": "push"})
    print("fapi2 push:", {k: pushed[k] for k in ("request_uri", "metadata")})
    assert pushed["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert pushed["metadata"]["require_pushed_authorization_requests"] is True
    assert pushed["metadata"]["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]

    browser = signed_in_browser(server)
    location = approve(server, browser, server.base_url + "/oauth/authorize?" + urlencode(
        {"client_id": client_id, "request_uri": pushed["request_uri"]}))
    assert location.startswith(REDIRECT_URI + "?"), location
    query = parse_qs(urlsplit(location).query)
    assert query["iss"] == [server.base_url] and query["code"]

    result = js_client("fapi2_flow.mjs", {
        **config, "step": "exchange", "callback": location, "state": pushed["state"],
        "code_verifier": pushed["code_verifier"], "dpop_jwk": pushed["dpop_jwk"]})
    print("fapi2 exchange:", {k: v for k, v in result.items() if k != "access_token"})
    dpop_public = {k: v for k, v in pushed["dpop_jwk"].items() if k in ("kty", "crv", "x", "y")}
    assert result["token_type"] == "DPoP" and result["processed_token_type"] == "dpop"
    assert result["cnf_jkt"] == keys_mod.thumbprint(dpop_public)
    assert result["api_status"] == 200
    assert result["api_body"]["email"] == server.seed["user"]["email"]

    # The same DPoP-bound token without its key, as a plain bearer token: refused.
    as_bearer = requests.get(server.base_url + "/api/user", timeout=10,
                             headers={"Authorization": f"Bearer {result['access_token']}"})
    print("fapi2 bearer replay:", as_bearer.status_code, as_bearer.headers.get("WWW-Authenticate"))
    assert as_bearer.status_code == 401

    # An authorization request not pushed first: refused (RFC 9126 §5).
    plain = browser.get(server.base_url + "/oauth/authorize", timeout=10, allow_redirects=False,
                        params={"client_id": client_id, "response_type": "code",
                                "redirect_uri": REDIRECT_URI, "scope": "check-status",
                                "state": "s", "code_challenge": "x" * 43,
                                "code_challenge_method": "S256"})
    print("fapi2 plain authorize:", plain.status_code, plain.headers.get("Location"))
    assert plain.status_code == 302
    refused = parse_qs(urlsplit(plain.headers["Location"]).query)
    assert refused["error"] == ["invalid_request"] and "push" in refused["error_description"][0]
    assert "code" not in refused


def test_fapi2_refuses_secret_clients(fapi2_server: Fapi2Server) -> None:
    """A client_secret_basic client cannot get a token, not even with a correct secret."""
    server = fapi2_server
    info = server.seed["clients"]["client_credentials"]
    resp = requests.post(server.base_url + "/oauth/token", timeout=10,
                         auth=(info["id"], info["secret"]),
                         data={"grant_type": "client_credentials", "scope": "check-status"})
    print("fapi2 client_secret_basic:", resp.status_code, resp.json())
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"


def test_fapi2_refuses_token_requests_without_dpop(fapi2_server: Fapi2Server) -> None:
    """A private_key_jwt client whose token request has no DPoP proof gets no token; the same
    request with everything else unchanged is what the flow above makes with a proof."""
    server = fapi2_server
    key = ec.generate_private_key(ec.SECP256R1())
    client_id = make_client(server, "client_credentials", auth_method="private_key_jwt",
                            jwks=public_jwks(key, "fapi2-cc"))
    resp = requests.post(server.base_url + "/oauth/token", timeout=10, data={
        "grant_type": "client_credentials", "scope": "check-status",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion(server, client_id, key, "fapi2-cc")})
    print("fapi2 no DPoP proof:", resp.status_code, resp.json())
    assert resp.status_code == 400
    assert resp.json()["error"] in ("invalid_dpop_proof", "invalid_request")
    assert "access_token" not in resp.json()
