"""RFC 9728 protected resource metadata: the app's API publishes its document, its 401s point
at it, and a token issued for another resource is refused. Then a separate service that only
verifies tokens publishes its own document naming the remote authorization server."""

from __future__ import annotations

import tempfile
from typing import Any

from flask import Flask

from flask_passport import ResourceServer, require_oauth
from flask_passport.jose import jws
from helpers import add_user, installed_app
from myapp import User, db

# [config]
PROTECTED_RESOURCE = {
    "resource": "http://localhost:5000/api",      # https:// in production
    "name": "Orders API",
    "scopes": ["check-status", "place-orders"],
    "documentation": "https://docs.example.com/orders-api",
    # "authorization_servers": defaults to [PASSPORT_ISSUER]
}
# app.config["PASSPORT_PROTECTED_RESOURCE"] = PROTECTED_RESOURCE, or in code:
# passport.protected_resource("http://localhost:5000/api", name="Orders API", ...)
# [/config]


# [mcp-route]
def add_mcp_route(app: Flask) -> None:
    @app.post("/mcp")
    @require_oauth(resource="https://mcp.example.com/mcp")  # its tokens, not the API's
    def mcp() -> dict[str, Any]:
        return {"ok": True}
# [/mcp-route]


# [service]
def create_orders_service(issuer: str, jwks_uri: str) -> Flask:
    service = Flask("orders")
    rs = ResourceServer(service, issuer=issuer, jwks_uri=jwks_uri,
                        resource="https://orders.example.com/api")
    rs.protected_resource(name="Orders service", scopes=["place-orders"])
    return service
# [/service]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp, PASSPORT_PROTECTED_RESOURCE=PROTECTED_RESOURCE)
        add_mcp_route(app)
        add_user(app, "taylor@example.com", "my-password")
        http = app.test_client()

        document = http.get("/.well-known/oauth-protected-resource/api").json
        assert document == {
            "resource": "http://localhost:5000/api",
            "authorization_servers": ["http://localhost:5000"],
            "scopes_supported": ["check-status", "place-orders"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Orders API",
            "resource_documentation": "https://docs.example.com/orders-api",
            # DPoP proofs (RFC 9449) are accepted too: PASSPORT_DPOP, on by default
            "dpop_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"],
        }, document

        challenge = http.get("/api/user").headers["WWW-Authenticate"]
        assert challenge == ('Bearer realm="api", resource_metadata="http://localhost:5000'
                             '/.well-known/oauth-protected-resource/api"'), challenge

        with app.app_context():
            user = db.session.get(User, 1)
            assert user is not None
            token = user.create_token("CLI", ["check-status"]).access_token
            key = app.extensions["passport"].keys().signing_key
        bearer = {"Authorization": f"Bearer {token}"}
        assert http.get("/api/user", headers=bearer).status_code == 200  # aud = the API
        # The same token re-issued for the MCP server: the API refuses it, the MCP route takes it.
        claims = {**jws.verify(token, lambda kid: key if kid == key.kid else None),
                  "aud": "https://mcp.example.com/mcp"}
        for_mcp = {"Authorization": "Bearer " + jws.sign(claims, key, typ="at+jwt")}
        assert http.get("/api/user", headers=for_mcp).status_code == 401
        assert http.post("/mcp", headers=for_mcp).status_code == 200
        assert http.post("/mcp", headers=bearer).status_code == 401

        service = create_orders_service("http://localhost:5000",
                                         "http://127.0.0.1:9/unused-jwks.json").test_client()
        published = service.get("/.well-known/oauth-protected-resource/api").json
        assert published["authorization_servers"] == ["http://localhost:5000"]
    print("protected resource OK")


if __name__ == "__main__":
    main()
