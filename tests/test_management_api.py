"""The session JSON APIs: /oauth/clients, /oauth/scopes, /oauth/personal-access-tokens,
/oauth/tokens — authentication, CSRF, ownership, validation — on every backend."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from conftest import db, new_client
from flask import Flask
from management_helpers import CSRF, login, make_user

from flask_passport import signals

JSON_ROUTES = [
    ("get", "/oauth/clients"),
    ("post", "/oauth/clients"),
    ("put", "/oauth/clients/abc"),
    ("delete", "/oauth/clients/abc"),
    ("post", "/oauth/clients/abc/secret"),
    ("get", "/oauth/scopes"),
    ("get", "/oauth/personal-access-tokens"),
    ("post", "/oauth/personal-access-tokens"),
    ("delete", "/oauth/personal-access-tokens/abc"),
    ("get", "/oauth/tokens"),
    ("delete", "/oauth/tokens/abc"),
    ("post", "/oauth/token/refresh"),
]
STATE_CHANGING = [r for r in JSON_ROUTES if r[0] != "get"]


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_every_route_needs_a_logged_in_user(client: Any, method: str, path: str) -> None:
    resp = getattr(client, method)(path, json={}, headers={"X-CSRF-Token": CSRF})
    assert resp.status_code == 401
    assert "log in" in resp.json["message"]


@pytest.mark.parametrize(("method", "path"), STATE_CHANGING)
def test_every_state_changing_route_needs_the_csrf_header(client: Any, user: Any, method: str,
                                                           path: str) -> None:
    login(client, user)
    for headers in ({}, {"X-CSRF-Token": "wrong" * 9}):
        resp = getattr(client, method)(path, json={"name": "x"}, headers=headers)
        assert resp.status_code == 403, (path, resp.json)
        assert "CSRF" in resp.json["message"]
    # X-XSRF-Token is accepted too (axios sends it); then the route itself answers.
    resp = getattr(client, method)(path, json={"name": "x"}, headers={"X-XSRF-Token": CSRF})
    assert resp.status_code != 403


def test_a_bearer_token_does_not_open_the_session_apis(app: Flask, client: Any, user: Any,
                                                       personal_client: Any) -> None:
    with app.app_context():
        token = db.session.get(type(user), user.id).create_token("t").access_token
    resp = client.get("/oauth/clients", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401


def test_client_lifecycle(app: Flask, client: Any, user: Any) -> None:
    h = login(client, user)
    assert client.get("/oauth/clients").json == []
    resp = client.post("/oauth/clients", headers=h, json={
        "name": "My App", "redirect": "https://my.app/cb, https://my.app/cb2"})
    assert resp.status_code == 201, resp.json
    created = resp.json
    assert created["name"] == "My App" and created["confidential"] is True
    assert created["redirect_uris"] == ["https://my.app/cb", "https://my.app/cb2"]
    secret = created["secret"]
    assert len(secret) >= 40
    cid = created["id"]
    # The secret is shown once: never in the listing, stored only as a digest.
    listing = client.get("/oauth/clients").json
    assert [c["id"] for c in listing] == [cid]
    assert "secret" not in listing[0] and secret not in client.get("/oauth/clients").text
    with app.app_context():
        row = db.session.get(app.extensions["passport"].models.Client, cid)
        assert row.secret_hash != secret and row.check_secret(secret)
        assert row.user_id == str(user.id)
    resp = client.put(f"/oauth/clients/{cid}", headers=h,
                      json={"name": "Renamed", "redirect_uris": ["https://new.app/cb"]})
    assert resp.status_code == 200, resp.json
    assert resp.json["name"] == "Renamed" and resp.json["redirect_uris"] == ["https://new.app/cb"]
    assert "secret" not in resp.json
    # Regenerate: a new secret, the old one no longer checks.
    resp = client.post(f"/oauth/clients/{cid}/secret", headers=h)
    assert resp.status_code == 200
    new_secret = resp.json["secret"]
    assert new_secret != secret
    with app.app_context():
        row = db.session.get(app.extensions["passport"].models.Client, cid)
        assert row.check_secret(new_secret) and not row.check_secret(secret)
    assert client.delete(f"/oauth/clients/{cid}", headers=h).status_code == 204
    assert client.get("/oauth/clients").json == []
    assert client.put(f"/oauth/clients/{cid}", headers=h,
                      json={"name": "x", "redirect": "https://a.b/c"}).status_code == 404


def test_public_client_has_no_secret(client: Any, user: Any) -> None:
    h = login(client, user)
    resp = client.post("/oauth/clients", headers=h, json={
        "name": "SPA", "redirect_uris": ["http://127.0.0.1:8000/cb"], "confidential": False})
    assert resp.status_code == 201
    assert resp.json["secret"] is None and resp.json["confidential"] is False
    resp = client.post(f"/oauth/clients/{resp.json['id']}/secret", headers=h)
    assert resp.status_code == 422
    assert resp.json["errors"]["secret"]


@pytest.mark.parametrize(("payload", "field", "fragment"), [
    ({"redirect": "https://a.b/c"}, "name", "required"),
    ({"name": "  ", "redirect": "https://a.b/c"}, "name", "required"),
    ({"name": "n" * 256, "redirect": "https://a.b/c"}, "name", "255"),
    ({"name": "x"}, "redirect_uris", "At least one"),
    ({"name": "x", "redirect": "/relative"}, "redirect_uris", "absolute"),
    ({"name": "x", "redirect": "https://a.b/c#frag"}, "redirect_uris", "fragment"),
    ({"name": "x", "redirect": "https://u:p@a.b/c"}, "redirect_uris", "user information"),
    ({"name": "x", "redirect": "javascript:alert(1)"}, "redirect_uris", "not allowed"),
    ({"name": "x", "redirect_uris": [1, 2]}, "redirect_uris", "list of strings"),
    # Shown on the consent page, where bidi controls could reorder what the user reads.
    ({"name": "My\u202eppA", "redirect": "https://a.b/c"}, "name", "bidirectional"),
    ({"name": "My\u2066App", "redirect": "https://a.b/c"}, "name", "bidirectional"),
    ({"name": "x", "redirect": "https://a.b/c", "confidential": "yes"}, "confidential",
     "true or false"),
])
def test_client_validation_messages(app: Flask, client: Any, user: Any, payload: dict[str, Any],
                                    field: str, fragment: str) -> None:
    h = login(client, user)
    resp = client.post("/oauth/clients", headers=h, json=payload)
    assert resp.status_code == 422
    assert resp.json["message"]
    assert any(fragment in m for m in resp.json["errors"][field]), resp.json
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            app.extensions["passport"].models.Client)) == 0


def test_update_validation_and_non_json_body(client: Any, user: Any) -> None:
    h = login(client, user)
    cid = client.post("/oauth/clients", headers=h,
                      json={"name": "A", "redirect": "https://a.b/c"}).json["id"]
    resp = client.put(f"/oauth/clients/{cid}", headers=h, json={"name": "", "redirect": ""})
    assert resp.status_code == 422
    assert set(resp.json["errors"]) == {"name", "redirect_uris"}
    resp = client.put(f"/oauth/clients/{cid}", headers={**h, "Content-Type": "application/json"},
                      data="not json")
    assert resp.status_code == 422 and "JSON object" in resp.json["message"]
    resp = client.post("/oauth/clients", headers=h, json=["a", "list"])
    assert resp.status_code == 422
    assert client.get("/oauth/clients").json[0]["name"] == "A"


def test_a_user_sees_and_changes_only_their_own_clients(app: Flask, client: Any, user: Any
                                                        ) -> None:
    other = make_user(app, "other@example.com")
    theirs = new_client(app, "authorization_code", user_id=str(other.id), name="Theirs")
    cli_client = new_client(app, "authorization_code", name="Server-wide")  # user_id None
    h = login(client, user)
    assert client.get("/oauth/clients").json == []
    for cid in (theirs.client.id, cli_client.client.id, "no-such-id", "x" * 500):
        assert client.put(f"/oauth/clients/{cid}", headers=h,
                          json={"name": "Mine", "redirect": "https://a.b/c"}).status_code == 404
        assert client.post(f"/oauth/clients/{cid}/secret", headers=h).status_code == 404
        assert client.delete(f"/oauth/clients/{cid}", headers=h).status_code == 404
    with app.app_context():
        row = db.session.get(app.extensions["passport"].models.Client, theirs.client.id)
        assert row.name == "Theirs" and not row.revoked and row.check_secret(theirs.secret)


def test_deleting_a_client_revokes_its_tokens(app: Flask, client: Any, user: Any) -> None:
    h = login(client, user)
    created = client.post("/oauth/clients", headers=h,
                          json={"name": "A", "redirect": "https://a.b/c"}).json
    models = app.extensions["passport"].models
    with app.app_context():
        from flask_passport.oauth2.issuer import issue_token

        ctx = app.extensions["passport"].context()
        row = db.session.get(models.Client, created["id"])
        issued = issue_token(ctx, client=row, user_id=str(user.id), scopes=["check-status"],
                             lifetime=ctx.settings.access_token_lifetime,
                             grant_type="authorization_code", with_refresh=True)
        ctx.commit()
        token_id = issued.token.id
    revoked: list[tuple[str, str]] = []

    def on_revoked(sender: Any, **kw: Any) -> None:
        revoked.append((kw.get("token_id") or kw["refresh_token_id"], kw["reason"]))

    with signals.access_token_revoked.connected_to(on_revoked), \
            signals.refresh_token_revoked.connected_to(on_revoked):
        assert client.delete(f"/oauth/clients/{created['id']}", headers=h).status_code == 204
    assert (token_id, "client_deleted") in revoked
    assert len(revoked) == 2  # the access token and its refresh token
    with app.app_context():
        assert db.session.get(models.AccessToken, token_id).revoked
        assert all(r.revoked for r in db.session.scalars(sa.select(models.RefreshToken)))
    # The refresh token no longer works: the client is revoked.
    resp = client.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": issued.refresh_token,
        "client_id": created["id"], "client_secret": created["secret"]})
    assert resp.status_code in (400, 401)


def test_scopes_lists_the_defined_scopes(client: Any, user: Any) -> None:
    login(client, user)
    listed = client.get("/oauth/scopes").json
    # OpenID Connect is on by default: its scopes are defined first, with descriptions.
    assert [s["id"] for s in listed[:3]] == ["openid", "profile", "email"]
    assert all(s["description"] for s in listed[:3])
    assert listed[3:] == [
        {"id": "check-status", "description": "Check order status"},
        {"id": "place-orders", "description": "Place orders"},
    ]


def _protected(app: Flask) -> None:
    from flask import jsonify
    from flask_login import current_user

    from flask_passport import require_oauth

    @app.get("/api/user")
    @require_oauth()
    def api_user() -> Any:
        return jsonify(id=current_user.id)


def test_personal_access_token_lifecycle(app: Flask, client: Any, user: Any,
                                         personal_client: Any) -> None:
    _protected(app)
    h = login(client, user)
    created: list[Any] = []
    with signals.access_token_created.connected_to(
            lambda sender, **kw: created.append(kw["grant_type"])):
        resp = client.post("/oauth/personal-access-tokens", headers=h,
                           json={"name": "CLI", "scopes": ["place-orders"]})
    assert resp.status_code == 201, resp.json
    assert created == ["personal_access"]
    jwt_value, token = resp.json["accessToken"], resp.json["token"]
    assert token["name"] == "CLI" and token["scopes"] == ["place-orders"]
    listing = client.get("/oauth/personal-access-tokens").json
    assert [t["id"] for t in listing] == [token["id"]]
    assert jwt_value not in client.get("/oauth/personal-access-tokens").text
    fresh = app.test_client()
    auth = {"Authorization": f"Bearer {jwt_value}"}
    assert fresh.get("/api/user", headers=auth).json == {"id": user.id}
    # Personal tokens are not "authorized applications".
    assert client.get("/oauth/tokens").json == []
    assert client.delete(f"/oauth/tokens/{token['id']}", headers=h).status_code == 404
    reasons: list[str] = []
    with signals.access_token_revoked.connected_to(
            lambda sender, **kw: reasons.append(kw["reason"])):
        assert client.delete(f"/oauth/personal-access-tokens/{token['id']}",
                             headers=h).status_code == 204
    assert reasons == ["user_revoked"]
    assert fresh.get("/api/user", headers=auth).status_code == 401
    assert client.get("/oauth/personal-access-tokens").json == []
    assert client.delete(f"/oauth/personal-access-tokens/{token['id']}",
                         headers=h).status_code == 404


@pytest.mark.parametrize(("payload", "field", "fragment"), [
    ({"scopes": []}, "name", "required"),
    ({"name": "n" * 256}, "name", "255"),
    ({"name": "x", "scopes": ["no-such-scope"]}, "scopes", "Unknown scope: no-such-scope"),
    ({"name": "x", "scopes": "check-status"}, "scopes", "list"),
])
def test_personal_token_validation(app: Flask, client: Any, user: Any, personal_client: Any,
                                   payload: dict[str, Any], field: str, fragment: str) -> None:
    h = login(client, user)
    resp = client.post("/oauth/personal-access-tokens", headers=h, json=payload)
    assert resp.status_code == 422
    assert any(fragment in m for m in resp.json["errors"][field]), resp.json
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            app.extensions["passport"].models.AccessToken)) == 0


def test_personal_token_without_personal_client_is_a_clear_422(client: Any, user: Any) -> None:
    h = login(client, user)
    resp = client.post("/oauth/personal-access-tokens", headers=h, json={"name": "x"})
    assert resp.status_code == 422
    assert "flask passport install" in resp.json["message"]


def test_personal_tokens_of_other_users_are_invisible(app: Flask, client: Any, user: Any,
                                                     personal_client: Any) -> None:
    other = make_user(app, "other@example.com")
    with app.app_context():
        theirs = db.session.get(type(other), other.id).create_token("theirs").token.id
    h = login(client, user)
    assert client.get("/oauth/personal-access-tokens").json == []
    assert client.delete(f"/oauth/personal-access-tokens/{theirs}", headers=h).status_code == 404
    with app.app_context():
        assert not db.session.get(app.extensions["passport"].models.AccessToken, theirs).revoked


def test_authorized_applications(app: Flask, client: Any, user: Any, password_client: Any
                                 ) -> None:
    _protected(app)
    other = make_user(app, "other@example.com")
    grant = app.test_client().post("/oauth/token", data={
        "grant_type": "password", "client_id": password_client.client.id,
        "client_secret": password_client.secret, "username": user.email,
        "password": "secret-password"}).json
    their_grant = app.test_client().post("/oauth/token", data={
        "grant_type": "password", "client_id": password_client.client.id,
        "client_secret": password_client.secret, "username": other.email,
        "password": "pw"}).json
    h = login(client, user)
    listing = client.get("/oauth/tokens").json
    assert len(listing) == 1
    assert listing[0]["client"] == {"id": password_client.client.id,
                                    "name": password_client.client.name, "registered": False,
                                    "metadata_document_url": None}
    token_id = listing[0]["id"]
    with app.app_context():
        models = app.extensions["passport"].models
        their_id = db.session.scalars(sa.select(models.AccessToken.id).where(
            models.AccessToken.user_id == str(other.id))).one()
    assert client.delete(f"/oauth/tokens/{their_id}", headers=h).status_code == 404
    events: list[tuple[str, str]] = []
    with signals.access_token_revoked.connected_to(
            lambda s, **kw: events.append(("access", kw["reason"]))), \
            signals.refresh_token_revoked.connected_to(
                lambda s, **kw: events.append(("refresh", kw["reason"]))):
        assert client.delete(f"/oauth/tokens/{token_id}", headers=h).status_code == 204
    assert sorted(events) == [("access", "user_revoked"), ("refresh", "user_revoked")]
    assert client.get("/oauth/tokens").json == []
    api = app.test_client()
    assert api.get("/api/user", headers={
        "Authorization": f"Bearer {grant['access_token']}"}).status_code == 401
    resp = api.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
        "client_id": password_client.client.id, "client_secret": password_client.secret})
    assert resp.status_code == 400 and resp.json["error"] == "invalid_grant"
    # The other user's grant is untouched.
    assert api.get("/api/user", headers={
        "Authorization": f"Bearer {their_grant['access_token']}"}).json == {"id": other.id}


def test_oversized_body_is_refused_unread(client: Any, user: Any) -> None:
    h = login(client, user)
    resp = client.post("/oauth/clients", headers={**h, "Content-Type": "application/json"},
                       data=b'{"name": "' + b"a" * 70_000 + b'"}')
    assert resp.status_code == 413 and "too large" in resp.json["message"]


@pytest.mark.parametrize(("method", "path"), [("POST", "/oauth/clients"),
                                             ("POST", "/oauth/personal-access-tokens")])
def test_deeply_nested_json_is_a_422_not_a_500(client: Any, user: Any, method: str,
                                               path: str) -> None:
    """Python's JSON decoder raises RecursionError on deep nesting: small enough to pass the
    body cap, it must still be an answer, not a crash."""
    h = login(client, user)
    body = b'{"a":' * 5000 + b"1" + b"}" * 5000
    resp = client.open(path, method=method, data=body,
                       headers={**h, "Content-Type": "application/json"})
    assert resp.status_code == 422, resp.status_code
    assert resp.json["message"] == "The request body must be a JSON object."


def test_responses_are_not_cached(client: Any, user: Any) -> None:
    h = login(client, user)
    assert client.get("/oauth/clients").headers["Cache-Control"] == "no-store"
    resp = client.post("/oauth/clients", headers=h,
                       json={"name": "A", "redirect": "https://a.b/c"})
    assert resp.headers["Cache-Control"] == "no-store"  # it carries the secret


def test_passport_components_helper(app: Flask, client: Any, user: Any) -> None:
    from flask import render_template_string

    login(client, user)
    with app.test_request_context():
        from flask import session

        session["_passport_csrf"] = CSRF
        html = str(render_template_string("{{ passport_components() }}"))
    assert f'<meta name="csrf-token" content="{CSRF}">' in html
    assert '<script src="/oauth/passport-static/components.js" data-passport-base="/oauth" defer>' \
        in html
    js = client.get("/oauth/passport-static/components.js")
    assert js.status_code == 200 and "passport-personal-access-tokens" in js.text
    js.close()
