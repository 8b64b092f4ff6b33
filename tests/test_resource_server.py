"""A separate Flask service (no database) protecting routes with the same decorators, by JWT
against the live JWKS or by introspection."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from conftest import new_client
from flask import Flask, jsonify
from standards_support import basic, bearer, live_server

from flask_passport import client as client_route
from flask_passport import current_token, require_oauth, scopes
from flask_passport.resource.resource_server import ResourceServer


def _service(**kwargs: Any) -> tuple[Flask, ResourceServer]:
    service = Flask("orders_service")
    rs = ResourceServer(service, **kwargs)

    @service.get("/me")
    @require_oauth()
    def me() -> Any:
        from flask_login import current_user

        return jsonify(id=current_user.get_id(), scopes=current_token.scopes)

    @service.get("/orders")
    @require_oauth()
    @scopes("place-orders")
    def orders() -> Any:
        return jsonify(ok=True)

    @service.get("/jobs")
    @client_route("check-status")
    def jobs() -> Any:
        return jsonify(client_id=current_token.client_id)

    return service, rs


def _token(base: str, pc: Any, user: Any, scope: str = "check-status") -> dict[str, Any]:
    resp = requests.post(base + "/oauth/token", data={
        "grant_type": "password", "username": user.email, "password": "secret-password",
        "scope": scope}, auth=(pc.client.id, pc.secret), timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_jwt_mode_verifies_against_the_live_jwks(app: Flask, password_client: Any,
                                                 machine_client: Any, user: Any) -> None:
    with live_server(app) as base:
        service, rs = _service(issuer=base, audience=base)
        http = service.test_client()
        tok = _token(base, password_client, user)
        me = http.get("/me", headers=bearer(tok["access_token"]))
        assert me.status_code == 200 and me.json == {"id": str(user.id),
                                                     "scopes": ["check-status"]}
        denied = http.get("/orders", headers=bearer(tok["access_token"]))
        assert denied.status_code == 403
        assert 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]
        assert http.get("/me").status_code == 401
        assert http.get("/me", headers=bearer("garbage")).status_code == 401
        # A client-credentials token (RFC 6749 §4.4: it stands for no user) is refused on a user
        # route but accepted on a client route.
        cc = requests.post(base + "/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(machine_client.client.id, machine_client.secret),
                           timeout=10).json()
        assert http.get("/me", headers=bearer(cc["access_token"])).status_code == 401
        jobs = http.get("/jobs", headers=bearer(cc["access_token"]))
        assert jobs.status_code == 200 and jobs.json["client_id"] == machine_client.client.id
        assert rs.jwks is not None and rs.jwks.fetches == 1  # cached across requests


def test_jwt_mode_refetches_the_jwks_on_an_unknown_kid(app_config: dict[str, Any], app: Flask,
                                                       tmp_path: Any, user: Any) -> None:
    from conftest import db, make_app

    file_app = make_app({**app_config, "PASSPORT_PRIVATE_KEY": None,
                         "PASSPORT_KEY_PATH": str(tmp_path / "keys")})
    assert file_app.test_cli_runner().invoke(args=["passport", "keys"]).exit_code == 0
    pc = new_client(file_app, "password")
    with live_server(file_app) as base:
        service, rs = _service(issuer=base, refetch_interval=0)
        http = service.test_client()
        first = _token(base, pc, user)
        assert http.get("/me", headers=bearer(first["access_token"])).status_code == 200
        rotated = file_app.test_cli_runner().invoke(args=["passport", "keys", "--rotate"])
        assert rotated.exit_code == 0
        second = _token(base, pc, user)
        assert http.get("/me", headers=bearer(second["access_token"])).status_code == 200
        assert http.get("/me", headers=bearer(first["access_token"])).status_code == 200
        assert rs.jwks is not None and rs.jwks.fetches == 2
    with file_app.app_context():
        db.session.remove()


def test_introspection_mode_sees_revocation_at_once(app: Flask, password_client: Any,
                                                    user: Any) -> None:
    rs_client = new_client(app, "resource_server")
    with live_server(app) as base:
        service, _ = _service(issuer=base, introspect=True, client_id=rs_client.client.id,
                              client_secret=rs_client.secret)
        jwt_service, _ = _service(issuer=base)
        tok = _token(base, password_client, user, scope="check-status place-orders")
        http, jwt_http = service.test_client(), jwt_service.test_client()
        assert http.get("/orders", headers=bearer(tok["access_token"])).status_code == 200
        revoked = requests.post(base + "/oauth/revoke", data={"token": tok["access_token"]},
                                headers=basic(password_client.client.id, password_client.secret),
                                timeout=10)
        assert revoked.status_code == 200
        assert http.get("/orders", headers=bearer(tok["access_token"])).status_code == 401
        # JWT mode cannot know: the token stays valid until it expires (documented trade-off).
        assert jwt_http.get("/orders", headers=bearer(tok["access_token"])).status_code == 200


def test_misconfiguration_is_explained() -> None:
    with pytest.raises(ValueError, match="jwks_uri"):
        ResourceServer(Flask("x"))
    with pytest.raises(ValueError, match="client_secret"):
        ResourceServer(Flask("y"), jwks_uri="http://127.0.0.1:9/jwks", introspect=True,
                       introspection_endpoint="http://127.0.0.1:9/i", client_id="a")


def test_metadata_url_follows_rfc_8414() -> None:
    from flask_passport.resource.resource_server import metadata_url

    assert metadata_url("https://a.example") == \
        "https://a.example/.well-known/oauth-authorization-server"
    assert metadata_url("https://a.example/tenant/") == \
        "https://a.example/.well-known/oauth-authorization-server/tenant"
