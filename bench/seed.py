"""Seeding the benchmark databases and minting pools of single-use credentials.

Everything is written with the apps' own models (ours: flask_passport's; the reference: the
Authlib app's), in this process, before and between the timed runs. Pools of refresh tokens
are bulk-inserted with Core ``executemany`` (no JWT signing needed: the refresh grant never
reads the old JWT), so a fresh pool for each run costs well under a second.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

EMAIL = "bench@example.com"
PASSWORD = "bench-password"
#: The same cheap password hash on both servers: the password scenario measures the servers,
#: not the KDF (Werkzeug's default scrypt costs ~50 ms and would hide everything else).
HASH_METHOD = "pbkdf2:sha256:1000"


class Ours:
    """The example app in this process, for seeding and minting (env must be set first)."""

    def __init__(self) -> None:
        from example_app import create_app, db

        self.app = create_app()
        self.db = db
        self.state = self.app.extensions["passport"]

    def seed(self) -> dict[str, Any]:
        from example_app.models import User
        from flask_passport.storage.clients import create_client

        with self.app.app_context():
            self.db.drop_all()
            self.db.create_all()
            session, models = self.db.session, self.state.models
            user = User(email=EMAIL, name="Bench",
                        password_hash=generate_password_hash(PASSWORD, method=HASH_METHOD))
            session.add(user)
            machine = create_client(session, models, name="bench cc", kind="client_credentials")
            password = create_client(session, models, name="bench pw", kind="password")
            code = create_client(session, models, name="bench code", kind="authorization_code",
                                 redirect_uris=["http://127.0.0.1:9/callback"])
            create_client(session, models, name="bench personal", kind="personal_access")
            resource = create_client(session, models, name="bench resource server",
                                     kind="client_credentials",
                                     grant_types=["client_credentials", "introspect"])
            session.commit()
            pat = user.create_token("bench", ["check-status", "place-orders"]).access_token
            grants = set(self.state.passport._token_endpoint.grants)
            rules = {r.rule for r in self.app.url_map.iter_rules()}
            return {
                "user_id": user.id,
                "machine": (machine.client.id, machine.secret),
                "password": (password.client.id, password.secret),
                "code": (code.client.id, code.secret),
                "resource": (resource.client.id, resource.secret),
                "pat": pat,
                "has_code_grant": "authorization_code" in grants,
                "introspect_path": next((r for r in rules if r.endswith("/introspect")), None),
            }

    def mint_refresh_tokens(self, n: int, user_id: int, client_id: str) -> list[str]:
        """``n`` live refresh tokens (with their access-token rows), bulk-inserted."""
        from flask_passport.jose import tokens
        from flask_passport.storage.models import utcnow

        models = self.state.models
        now = utcnow()
        access, refresh, plain = [], [], []
        for _ in range(n):
            at_id = tokens.new_id()
            selector, value, digest = tokens.make_opaque_token()
            access.append({"id": at_id, "user_id": str(user_id), "client_id": client_id,
                           "name": None, "scopes": ["check-status"], "revoked": False,
                           "created_at": now, "updated_at": now,
                           "expires_at": now + timedelta(hours=1)})
            refresh.append({"id": selector, "secret_hash": digest, "access_token_id": at_id,
                            "family_id": selector, "revoked": False, "created_at": now,
                            "expires_at": now + timedelta(days=14)})
            plain.append(value)
        with self.app.app_context(), self.db.engine.begin() as conn:
            conn.execute(sa.insert(models.AccessToken.__table__), access)
            conn.execute(sa.insert(models.RefreshToken.__table__), refresh)
        return plain

    def mint_auth_codes(self, n: int, user_id: int, client_id: str, redirect_uri: str
                        ) -> list[str]:
        """``n`` unused auth codes, assuming the code grant stores codes like refresh tokens
        (``<id>.<verifier>``, SHA-256 digest of the verifier)."""
        from flask_passport.jose import tokens
        from flask_passport.storage.models import utcnow

        models = self.state.models
        now = utcnow()
        rows, plain = [], []
        for _ in range(n):
            selector, value, digest = tokens.make_opaque_token()
            rows.append({"id": selector, "secret_hash": digest, "user_id": str(user_id),
                         "client_id": client_id, "scopes": ["check-status"],
                         "redirect_uri": redirect_uri, "redirect_uri_sent": True,
                         "code_challenge": None, "code_challenge_method": None, "nonce": None,
                         "auth_time": now, "revoked": False, "access_token_id": None,
                         "created_at": now, "expires_at": now + timedelta(minutes=10)})
            plain.append(value)
        with self.app.app_context(), self.db.engine.begin() as conn:
            conn.execute(sa.insert(models.AuthCode.__table__), rows)
        return plain


class Reference:
    """The Authlib reference app in this process (env must be set first)."""

    def __init__(self) -> None:
        from bench import authlib_app

        self.mod = authlib_app
        self.app = authlib_app.create_app()
        self.db = authlib_app.db

    def seed(self) -> dict[str, Any]:
        m = self.mod
        with self.app.app_context():
            self.db.drop_all()
            self.db.create_all()
            user = m.AUser(email=EMAIL,
                           password_hash=generate_password_hash(PASSWORD, method=HASH_METHOD))
            self.db.session.add(user)
            out: dict[str, Any] = {}
            for name, grant_types in (("machine", ["client_credentials"]),
                                      ("password", ["password", "refresh_token"])):
                client = m.AClient(client_id=uuid.uuid4().hex,
                                   client_secret=secrets.token_urlsafe(32),
                                   client_id_issued_at=int(time.time()))
                client.set_client_metadata({
                    "client_name": f"bench {name}", "grant_types": grant_types,
                    "scope": "check-status place-orders",
                    "token_endpoint_auth_method": "client_secret_post",
                })
                self.db.session.add(client)
                out[name] = (client.client_id, client.client_secret)
            self.db.session.commit()
            out["user_id"] = user.id
        return out

    def mint_refresh_tokens(self, n: int, user_id: int, client_id: str) -> list[str]:
        now = int(time.time())
        rows, plain = [], []
        for _ in range(n):
            value = secrets.token_urlsafe(32)
            rows.append({"jti": str(uuid.uuid4()), "client_id": client_id, "user_id": user_id,
                         "scope": "check-status", "refresh_token": value, "issued_at": now,
                         "expires_in": 3600, "revoked": False})
            plain.append(value)
        with self.app.app_context(), self.db.engine.begin() as conn:
            conn.execute(sa.insert(self.mod.AToken.__table__), rows)
        return plain


def set_env(env: dict[str, str]) -> None:
    os.environ.update(env)
