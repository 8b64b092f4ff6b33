"""Revocation (RFC 7009), introspection (RFC 7662), metadata (RFC 8414), the JWKS and key
rotation, custom claims, per-client policy, rate limits and ``flask passport check``."""

from __future__ import annotations

import base64
import tempfile
from typing import Any

import jwt

from flask_passport import create_client
from helpers import add_user, installed_app
from myapp import db, passport


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = installed_app(tmp, PASSPORT_RATELIMIT_ENABLED=False, PASSPORT_PASSWORD_GRANT=True,
                            PASSPORT_ISSUER="https://shop.example",
                            # What `flask passport check` needs besides the settings below:
                            # a long random key, and no Flask-Migrate expected (create_all).
                            SECRET_KEY="s" * 48, PASSPORT_MIGRATIONS=False)
        add_user(app, "taylor@example.com", "my-password")

        # [claims]
        @passport.token_claims
        def claims(token: Any, client: Any, user: Any, grant_type: str) -> dict[str, Any]:
            # Called for every access token; reserved claims (sub, scope, exp...) are dropped.
            return {"email": user.email if user else None, "sub": "ignored"}
        # [/claims]

        with app.app_context():
            # [clients]
            mobile = create_client(db.session, passport.models, name="Mobile app",
                                   kind="password")
            # A resource server registered as a client: it may introspect, and gets no tokens.
            orders_api = create_client(db.session, passport.models, name="Orders API",
                                       kind="resource_server")
            # Per-client policy: only these scopes, and 10-minute access tokens.
            kiosk = create_client(db.session, passport.models, name="Kiosk", kind="password",
                                  allowed_scopes=["check-status"], access_token_lifetime=600)
            db.session.commit()
            # [/clients]
            mob = (mobile.client.id, mobile.secret)
            rs = (orders_api.client.id, orders_api.secret)
            kiosk_id, kiosk_secret = kiosk.client.id, kiosk.secret
        http = app.test_client()

        def password_tokens(client_id: str, secret: str, scope: str) -> Any:
            return http.post("/oauth/token", data={
                "grant_type": "password", "username": "taylor@example.com",
                "password": "my-password", "scope": scope}, headers=basic(client_id, secret))

        issued = password_tokens(*mob, "check-status").json
        access, refresh = issued["access_token"], issued["refresh_token"]
        payload = jwt.decode(access, options={"verify_signature": False})
        assert payload["email"] == "taylor@example.com" and payload["sub"] == "1"

        # Per-client policy: asking outside allowed_scopes is an error, never filtered.
        outside = password_tokens(kiosk_id, kiosk_secret, "place-orders")
        assert outside.status_code == 400 and outside.json["error"] == "invalid_scope"
        assert password_tokens(kiosk_id, kiosk_secret, "check-status").json["expires_in"] == 600

        # [introspect]
        answer = http.post("/oauth/introspect", data={"token": access},
                           headers=basic(*rs))  # the resource server's credentials
        # {"active": true, "scope": "check-status", "client_id": "...", "sub": "1",
        #  "token_type": "Bearer", "exp": ..., "iat": ..., "nbf": ..., "iss": ..., "aud": ...,
        #  "jti": "..."}
        # [/introspect]
        info = answer.json
        assert info["active"] is True and info["sub"] == "1" and info["client_id"] == mob[0]
        assert info["token_type"] == "Bearer" and info["iss"] == "https://shop.example"
        # Any other client may ask about its own tokens only: another client's is inactive.
        own = http.post("/oauth/introspect", data={"token": access}, headers=basic(*mob))
        assert own.json["active"] is True
        hidden = http.post("/oauth/introspect", data={"token": access},
                           headers=basic(kiosk_id, kiosk_secret))
        assert hidden.json == {"active": False}

        # [revoke]
        # The app signs the user out: it revokes its refresh token, which revokes the whole
        # family and the access tokens issued with it.
        answer = http.post("/oauth/revoke", headers=basic(*mob), data={
            "token": refresh, "token_type_hint": "refresh_token"})
        assert answer.status_code == 200 and answer.json == {}
        # [/revoke]
        for token in (access, refresh):
            assert http.post("/oauth/introspect", data={"token": token},
                             headers=basic(*rs)).json == {"active": False}
        assert http.get("/api/user", headers={"Authorization": f"Bearer {access}"}
                        ).status_code == 401
        # Unknown tokens and other clients' tokens answer 200 too: no oracle.
        assert http.post("/oauth/revoke", data={"token": "nonsense"},
                         headers=basic(*mob)).status_code == 200

        # [metadata]
        metadata = http.get("/.well-known/oauth-authorization-server").json
        # [/metadata]
        assert metadata["issuer"] == "https://shop.example"
        assert metadata["token_endpoint"] == "https://shop.example/oauth/token"
        assert metadata["jwks_uri"] == "https://shop.example/.well-known/jwks.json"
        assert metadata["code_challenge_methods_supported"] == ["S256"]
        assert "password" in metadata["grant_types_supported"]

        # [rotate]
        jwks = http.get("/.well-known/jwks.json").json
        assert len(jwks["keys"]) == 1
        old_token = password_tokens(*mob, "check-status").json["access_token"]

        cli = app.test_cli_runner()
        rotated = cli.invoke(args=["passport", "keys", "--rotate"])
        assert rotated.exit_code == 0, rotated.output
        # Both keys are published; tokens signed by the retired key keep working.
        jwks = http.get("/.well-known/jwks.json").json
        assert len(jwks["keys"]) == 2
        assert http.get("/api/user", headers={"Authorization": f"Bearer {old_token}"}
                        ).status_code == 200
        new_token = password_tokens(*mob, "check-status").json["access_token"]
        assert jwt.get_unverified_header(new_token)["kid"] != \
            jwt.get_unverified_header(old_token)["kid"]

        # Pruning keeps the retired key until its tokens may have expired; --force drops it.
        assert "Pruned 0" in cli.invoke(args=["passport", "keys", "--prune"]).output
        assert "Pruned 1" in cli.invoke(args=["passport", "keys", "--prune", "--force"]).output
        # [/rotate]
        assert http.get("/api/user", headers={"Authorization": f"Bearer {old_token}"}
                        ).status_code == 401
        assert http.get("/api/user", headers={"Authorization": f"Bearer {new_token}"}
                        ).status_code == 200

        # [check]
        report = cli.invoke(args=["passport", "check"])
        # passport.W003 (warning): The password grant is enabled.
        #     HINT: RFC 9700 §2.4: the client sees the user's password. Keep it for trusted
        #     first-party clients only, or turn it off.
        # passport.W008 (warning): Rate limiting is disabled.
        #     HINT: Set PASSPORT_RATELIMIT_ENABLED = True to slow down credential guessing.
        # passport.W090 (info): PASSPORT_PROFILE = 'oauth2.1' (draft-ietf-oauth-v2-1) would
        #     refuse: PASSPORT_PASSWORD_GRANT = True (the resource owner password credentials
        #     grant); clients registered for the password grant: 0190... (Mobile app).
        #     HINT: Nothing is wrong today. To plan the switch, change these settings and
        #     clients first (see the profiles page of the documentation), then set
        #     PASSPORT_PROFILE.
        # System check identified 2 issue(s) (0 error(s)) and 1 note(s).
        # [/check]
        assert report.exit_code == 0, report.output
        assert "identified 2 issue(s) (0 error(s)) and 1 note(s)." in report.output
        assert "passport.W090 (info)" in report.output and "(Mobile app)" in report.output
        assert "passport.W003" in report.output and "passport.W008" in report.output
        strict = cli.invoke(args=["passport", "check", "--fail-level", "warning"])
        assert strict.exit_code == 1

    with tempfile.TemporaryDirectory() as tmp:
        # [rate-limit]
        app = installed_app(tmp, PASSPORT_RATELIMIT_ENABLED=True,
                            PASSPORT_RATELIMIT_STORAGE_URI="memory://",  # redis://... in prod
                            PASSPORT_RATELIMIT_PER_IP="3/minute")
        http = app.test_client()
        guess = {"grant_type": "client_credentials", "client_id": "some-client",
                 "client_secret": "wrong"}
        answers = [http.post("/oauth/token", data=guess) for _ in range(4)]
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert answers[-1].json["error"] == "too_many_requests"
        assert int(answers[-1].headers["Retry-After"]) > 0
        # Failed client authentication counts against the address, not the client it names.
        elsewhere = http.post("/oauth/token", data=guess,
                              environ_base={"REMOTE_ADDR": "192.0.2.7"})
        assert elsewhere.status_code == 401
        # [/rate-limit]
    print("standards OK")


if __name__ == "__main__":
    main()
