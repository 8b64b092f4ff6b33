"""Resource indicators (RFC 8707): registering resources, limiting a client to some of them,
and a client credentials token bound to one (its ``aud``)."""

from __future__ import annotations

import base64
import json
import tempfile

from flask_passport import create_client
from helpers import installed_app
from myapp import db, passport

# [config]
RESOURCES = [
    {"uri": "https://api.example.com/orders", "name": "Orders API", "scopes": None},
    {"uri": "https://mcp.example.com/mcp", "name": "Order tools", "scopes": ["check-status"]},
]
# app.config["PASSPORT_RESOURCES"] = RESOURCES
# [/config]


def claims(jwt_value: str) -> dict[str, object]:
    payload = jwt_value.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp, PASSPORT_RESOURCES=RESOURCES)
        # [add-resource]
        passport.add_resource("urn:example:billing", name="Billing", scopes=["place-orders"])
        # [/add-resource]
        with app.app_context():
            assert {r.uri for r in passport.resources()} == {
                "https://api.example.com/orders", "https://mcp.example.com/mcp",
                "urn:example:billing"}
            # [limit-client]
            created = create_client(db.session, passport.models, name="Reports job",
                                    kind="client_credentials",
                                    allowed_resources=["https://api.example.com/orders"])
            db.session.commit()
            # [/limit-client]
            client_id, secret = created.client.id, created.secret
        http = app.test_client()
        # [token-request]
        answer = http.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
            "scope": "check-status", "resource": "https://api.example.com/orders"})
        # [/token-request]
        assert answer.status_code == 200, answer.json
        assert claims(answer.json["access_token"])["aud"] == "https://api.example.com/orders"
        refused = http.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
            "resource": "https://mcp.example.com/mcp"})
        assert refused.status_code == 400 and refused.json["error"] == "invalid_target"
        print("resources OK")


if __name__ == "__main__":
    main()
