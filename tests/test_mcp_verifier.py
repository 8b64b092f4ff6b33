"""flask_passport.integrations.mcp: the MCP SDK's TokenVerifier for Passport's tokens, in
process (the app's keys and rows) and remote (JWKS or introspection), bound to one resource."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
import pytest
from conftest import User, db, new_client
from flask import Flask

from flask_passport.integrations.mcp import PassportTokenVerifier, auth_settings
from flask_passport.jose import tokens
from flask_passport.storage.models import utcnow

RESOURCE = "https://mcp.example.com/mcp"


def mint(app: Flask, *, client_id: str, aud: Any = RESOURCE, user_id: str | None = None,
         scopes: tuple[str, ...] = ("mcp",), issuer: str | None = None,
         lifetime: timedelta = timedelta(hours=1)) -> str:
    """A token row and its JWT, signed with the app's key, for any audience."""
    with app.app_context():
        state = app.extensions["passport"]
        now = utcnow()
        row = state.models.AccessToken(id=tokens.new_id(), user_id=user_id, client_id=client_id,
                                       scopes=list(scopes), created_at=now, updated_at=now,
                                       expires_at=now + lifetime)
        db.session.add(row)
        db.session.commit()
        return tokens.encode_access_token(
            state.keys(), jti=row.id, issuer=issuer or state.issuer(), audience=aud,
            subject=user_id or client_id, client_id=client_id, scopes=list(scopes),
            issued_at=now, expires_at=row.expires_at)


def verify(verifier: PassportTokenVerifier, token: str) -> Any:
    return anyio.run(verifier.verify_token, token)


@pytest.fixture
def parties(app: Flask, user: User) -> tuple[str, str]:
    """A confidential code-grant client's id, and the user's id."""
    return new_client(app, "authorization_code").client.id, str(user.id)


def test_a_token_for_the_resource_is_accepted(app: Flask, parties: tuple[str, str]) -> None:
    client_id, user_id = parties
    token = mint(app, client_id=client_id, user_id=user_id, scopes=("mcp", "check-status"))
    access = verify(PassportTokenVerifier.for_app(app, RESOURCE), token)
    assert access is not None
    assert access.token == token and access.client_id == client_id
    assert access.scopes == ["mcp", "check-status"]
    assert access.resource == RESOURCE and access.subject == user_id
    assert access.expires_at is not None and access.expires_at > utcnow().timestamp()
    with app.app_context():
        assert access.claims and access.claims["iss"] == app.extensions["passport"].issuer()
    listed = mint(app, client_id=client_id, user_id=user_id,
                  aud=["https://api.example.com", RESOURCE])
    assert verify(PassportTokenVerifier.for_app(app, RESOURCE), listed) is not None


@pytest.mark.parametrize("aud", [None, "https://api.example.com", [RESOURCE + "/other"],
                                 RESOURCE + "/", "https://MCP.example.com/mcp"])
def test_a_token_for_another_audience_is_refused(app: Flask, parties: tuple[str, str],
                                                 aud: Any) -> None:
    """RFC 8707 / MCP: valid, unrevoked, our issuer, but issued for another resource (or the
    issuer's default audience): refused, compared exactly."""
    client_id, user_id = parties
    with app.app_context():
        default = app.extensions["passport"].context().audience
    token = mint(app, client_id=client_id, user_id=user_id, aud=aud or default)
    assert verify(PassportTokenVerifier.for_app(app, RESOURCE), token) is None


def test_revoked_expired_foreign_and_malformed_tokens_are_refused(
        app: Flask, parties: tuple[str, str]) -> None:
    client_id, user_id = parties
    verifier = PassportTokenVerifier.for_app(app, RESOURCE)
    revoked = mint(app, client_id=client_id, user_id=user_id)
    assert verify(verifier, revoked) is not None
    with app.app_context():
        jti = tokens.decode_access_token(app.extensions["passport"].keys(), revoked,
                                         audience=RESOURCE)["jti"]
        db.session.get(app.extensions["passport"].models.AccessToken, jti).revoked = True
        db.session.commit()
    assert verify(verifier, revoked) is None  # in process: revocation counts at once
    expired = mint(app, client_id=client_id, user_id=user_id, lifetime=timedelta(seconds=-5))
    assert verify(verifier, expired) is None
    foreign = mint(app, client_id=client_id, user_id=user_id, issuer="https://evil.example")
    assert verify(verifier, foreign) is None
    for junk in ("", "a.b.c", "x" * 10_000, revoked[:-4] + "AAAA"):
        assert verify(verifier, junk) is None


def test_a_revoked_client_s_tokens_are_refused(app: Flask, parties: tuple[str, str]) -> None:
    client_id, user_id = parties
    token = mint(app, client_id=client_id, user_id=user_id)
    with app.app_context():
        db.session.get(app.extensions["passport"].models.Client, client_id).revoked = True
        db.session.commit()
    assert verify(PassportTokenVerifier.for_app(app, RESOURCE), token) is None


def test_a_client_credentials_token_has_no_subject(app: Flask) -> None:
    """RFC 9068 §2.2: sub == client_id is a token with no user."""
    machine = new_client(app, "client_credentials").client.id
    access = verify(PassportTokenVerifier.for_app(app, RESOURCE), mint(app, client_id=machine))
    assert access is not None and access.subject is None and access.client_id == machine


def test_auth_settings() -> None:
    settings = auth_settings("https://auth.example.com", RESOURCE, ["mcp"])
    assert str(settings.issuer_url) == "https://auth.example.com"
    assert str(settings.resource_server_url) == RESOURCE
    assert settings.required_scopes == ["mcp"]
    assert settings.validate_token_resource is True  # the SDK checks AccessToken.resource too
    assert auth_settings("https://auth.example.com", RESOURCE).required_scopes is None


def test_verifier_needs_a_resource_and_an_issuer() -> None:
    with pytest.raises(ValueError):
        PassportTokenVerifier("", issuer="https://auth.example.com")
    with pytest.raises(ValueError):
        PassportTokenVerifier(RESOURCE, issuer="")


# -- remote: the MCP server runs apart from the authorization server -------------------------


def test_remote_jwks_mode(authz_server: Any) -> None:
    server = authz_server
    app, client_id = server.app, server.seed["clients"]["confidential"]["id"]
    user_id = str(server.seed["user"]["id"])
    verifier = PassportTokenVerifier(RESOURCE, issuer=server.base_url)
    import example_app

    def remote_mint(**kwargs: Any) -> str:
        with app.app_context():
            state = app.extensions["passport"]
            now = utcnow()
            row = state.models.AccessToken(id=tokens.new_id(), user_id=user_id,
                                           client_id=client_id, scopes=["mcp"], created_at=now,
                                           updated_at=now, expires_at=now + timedelta(hours=1))
            example_app.db.session.add(row)
            example_app.db.session.commit()
            return tokens.encode_access_token(
                state.keys(), jti=row.id, issuer=kwargs.get("issuer", state.issuer()),
                audience=kwargs.get("aud", RESOURCE), subject=user_id, client_id=client_id,
                scopes=["mcp"], issued_at=now, expires_at=row.expires_at)

    access = verify(verifier, remote_mint())
    assert access is not None and access.subject == user_id and access.resource == RESOURCE
    assert verify(verifier, remote_mint(aud=server.base_url)) is None
    assert verify(verifier, remote_mint(aud="https://api.example.com")) is None
    assert verify(verifier, remote_mint(issuer="https://evil.example")) is None
    assert verify(verifier, "not-a-jwt") is None

    # Introspection (RFC 7662) answers for the token's own client: aud checked here too.
    secret = server.seed["clients"]["confidential"]["secret"]
    introspecting = PassportTokenVerifier(RESOURCE, issuer=server.base_url, introspect=True,
                                          client_id=client_id, client_secret=secret)
    assert verify(introspecting, remote_mint()) is not None
    assert verify(introspecting, remote_mint(aud="https://api.example.com")) is None
    assert verify(introspecting, server.seed["personal_access_token"]) is None


def test_an_unreachable_issuer_refuses_without_raising() -> None:
    """The metadata is read on first use: the MCP server starts, and answers 401 meanwhile."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    verifier = PassportTokenVerifier(RESOURCE, issuer=f"http://127.0.0.1:{port}", timeout=1)
    assert verify(verifier, "a.b.c") is None
