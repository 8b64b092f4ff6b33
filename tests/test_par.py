"""Pushed authorization requests (RFC 9126): POST /oauth/par and request_uri at /oauth/authorize."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import make_app, new_client
from flask import Flask
from helpers import js_client
from test_authlib_client import approve as browser_approve
from test_authlib_client import signed_in_browser
from test_authorize import (
    REDIRECT,
    assert_error_page,
    code_params,
    form_fields,
    get_authorize,
    redirect_query,
    update_client,
)

from flask_passport.oauth2.par import REQUEST_URI_PREFIX
from flask_passport.settings import Settings
from flask_passport.storage.models import utcnow

VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(
    b"=").decode()


def basic(created: Any) -> dict[str, str]:
    raw = f"{created.client.id}:{created.secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def push(client: Any, created: Any, **params: Any) -> Any:
    """POST /oauth/par as ``created`` (Basic for a confidential client, else client_id)."""
    body = {k: v for k, v in code_params(created, **params).items()}
    headers = basic(created) if created.secret else {}
    if created.secret:
        body.pop("client_id", None)
    return client.post("/oauth/par", data=body, headers=headers)


def pushed_uri(client: Any, created: Any, **params: Any) -> str:
    resp = push(client, created, **params)
    assert resp.status_code == 201, resp.get_json()
    return str(resp.get_json()["request_uri"])


def use(client: Any, created: Any, request_uri: str, **extra: Any) -> Any:
    return get_authorize(client, client_id=created.client.id, request_uri=request_uri, **extra)


def approve(client: Any, page: Any) -> Any:
    assert page.status_code == 200, page.get_data(as_text=True)
    fields = form_fields(page.get_data(as_text=True)) | {"approve": "Authorize"}
    return client.post("/oauth/authorize", data=fields)


def _rows(app: Flask) -> list[Any]:
    with app.app_context():
        state = app.extensions["passport"]
        return list(state.db.session.scalars(sa.select(state.models.PushedAuthorization)))


# -- the endpoint ------------------------------------------------------------------------------


def test_push_then_authorize_then_token(app: Flask, client: Any, authz_login: Any, user: Any,
                                        authz_client: Any) -> None:
    resp = push(client, authz_client, scope="check-status place-orders")
    assert resp.status_code == 201
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.get_json()
    assert body["expires_in"] == 60 and set(body) == {"request_uri", "expires_in"}
    assert body["request_uri"].startswith(REQUEST_URI_PREFIX)
    authz_login(client, user)
    page = use(client, authz_client, body["request_uri"])
    assert "place-orders" in page.get_data(as_text=True) or "Place orders" in page.get_data(
        as_text=True)
    query = redirect_query(approve(client, page))
    assert query["state"] == "xyz-state" and query["iss"]
    token = client.post("/oauth/token", headers=basic(authz_client), data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT})
    assert token.status_code == 200, token.get_json()
    assert token.get_json()["scope"] == "check-status place-orders"


def test_public_client_pushes_with_its_client_id_and_pkce(
        client: Any, authz_login: Any, user: Any, authz_public_client: Any) -> None:
    assert push(client, authz_public_client).get_json()["error"] == "invalid_request"  # no PKCE
    uri = pushed_uri(client, authz_public_client, code_challenge=CHALLENGE,
                     code_challenge_method="S256")
    authz_login(client, user)
    query = redirect_query(approve(client, use(client, authz_public_client, uri)))
    token = client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT,
        "client_id": authz_public_client.client.id, "code_verifier": VERIFIER})
    assert token.status_code == 200, token.get_json()


def test_only_a_digest_of_the_reference_is_stored(app: Flask, client: Any,
                                                  authz_client: Any) -> None:
    uri = pushed_uri(client, authz_client)
    reference = uri.removeprefix(REQUEST_URI_PREFIX)
    [row] = _rows(app)
    assert row.id == hashlib.sha256(reference.encode()).hexdigest()
    assert reference not in str(row.request) and reference not in row.id


@pytest.mark.parametrize(("params", "error"), [
    ({"scope": "unknown-scope"}, "invalid_scope"),
    ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
    ({"response_type": "id_token"}, "unsupported_response_type"),
    ({"code_challenge_method": "S256"}, "invalid_request"),
    ({"prompt": "sometimes"}, "invalid_request"),
    ({"request_uri": REQUEST_URI_PREFIX + "a" * 43}, "invalid_request"),
    ({"request_uri": "https://client.example/req.jwt"}, "invalid_request"),
])
def test_push_validates_like_the_authorization_endpoint(
        app: Flask, client: Any, authz_client: Any, params: dict[str, str], error: str) -> None:
    resp = push(client, authz_client, **params)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == error
    assert resp.headers["Cache-Control"] == "no-store"
    assert _rows(app) == []


def test_push_needs_client_authentication(app: Flask, client: Any, authz_client: Any) -> None:
    wrong = {"Authorization": "Basic " + base64.b64encode(
        f"{authz_client.client.id}:wrong".encode()).decode()}
    resp = client.post("/oauth/par", data={"response_type": "code"}, headers=wrong)
    assert resp.status_code == 401 and resp.get_json()["error"] == "invalid_client"
    resp = client.post("/oauth/par", data={"response_type": "code"})
    assert resp.status_code == 401 and resp.get_json()["error"] == "invalid_client"
    # A confidential client naming itself without its secret is not authenticated.
    resp = client.post("/oauth/par", data=code_params(authz_client))
    assert resp.status_code == 401
    assert _rows(app) == []


def test_push_is_post_only_form_encoded_and_size_limited(client: Any, authz_client: Any) -> None:
    resp = client.get("/oauth/par")
    assert resp.status_code == 405 and resp.headers["Allow"] == "POST"
    resp = client.post("/oauth/par", json=code_params(authz_client), headers=basic(authz_client))
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_request"
    resp = client.post("/oauth/par", data={"state": "x" * 70_000}, headers=basic(authz_client))
    assert resp.status_code == 413
    resp = client.post("/oauth/par", data={"state": "a\x00b"}, headers=basic(authz_client))
    assert resp.status_code == 400


def test_push_is_rate_limited_per_address(app: Flask, app_config: dict[str, Any],
                                          authz_client: Any) -> None:
    limited = make_app({**app_config, "PASSPORT_RATELIMIT_PER_IP": "2/minute",
                        "PASSPORT_RATELIMIT_PER_CLIENT": None})
    test_client = limited.test_client()
    statuses = [push(test_client, authz_client).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]


def test_push_is_rate_limited_per_client(app: Flask, app_config: dict[str, Any],
                                         authz_client: Any) -> None:
    limited = make_app({**app_config, "PASSPORT_RATELIMIT_PER_IP": None,
                        "PASSPORT_RATELIMIT_PER_CLIENT": "1/minute"})
    test_client = limited.test_client()
    assert push(test_client, authz_client).status_code == 201
    resp = push(test_client, authz_client)
    assert resp.status_code == 429 and resp.get_json()["error"] == "too_many_requests"


# -- using the request_uri ---------------------------------------------------------------------


def test_a_request_uri_is_single_use(client: Any, authz_login: Any, user: Any,
                                     authz_client: Any) -> None:
    uri = pushed_uri(client, authz_client)
    authz_login(client, user)
    assert use(client, authz_client, uri).status_code == 200
    again = use(client, authz_client, uri)
    assert_error_page(again)
    assert "invalid_request_uri" in again.get_data(as_text=True)


def test_concurrent_uses_of_a_request_uri_have_one_winner(
        app: Flask, client: Any, authz_login: Any, user: Any, authz_client: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every use has read the row before any deletes it: the conditional DELETE alone
    decides, and exactly one use proceeds."""
    import sqlalchemy

    from flask_passport.oauth2 import par as par_module

    uri = pushed_uri(client, authz_client)
    authz_login(client, user)
    cookie = client.get_cookie("session").value
    barrier = threading.Barrier(4)
    all_read = threading.Barrier(4, timeout=10)

    class DeleteAfterAllRead:
        def __getattr__(self, name: str) -> Any:
            return getattr(sqlalchemy, name)

        def delete(self, *args: Any, **kwargs: Any) -> Any:
            with contextlib.suppress(threading.BrokenBarrierError):
                all_read.wait()
            return sqlalchemy.delete(*args, **kwargs)

    monkeypatch.setattr(par_module, "sa", DeleteAfterAllRead())
    statuses: list[int] = []

    def attempt() -> None:
        other = app.test_client()
        other.set_cookie("session", cookie)
        barrier.wait()
        statuses.append(use(other, authz_client, uri).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 400, 400, 400]
    assert _rows(app) == []


def test_an_expired_request_uri_is_refused(app: Flask, client: Any, authz_login: Any,
                                           user: Any, authz_client: Any) -> None:
    uri = pushed_uri(client, authz_client)
    with app.app_context():
        state = app.extensions["passport"]
        Pushed = state.models.PushedAuthorization
        state.db.session.execute(sa.update(Pushed).values(
            expires_at=utcnow() - timedelta(seconds=1)))
        state.db.session.commit()
    authz_login(client, user)
    resp = use(client, authz_client, uri)
    assert_error_page(resp)
    assert "invalid_request_uri" in resp.get_data(as_text=True)


def test_another_clients_request_uri_is_refused_without_redirect(
        app: Flask, client: Any, authz_login: Any, user: Any, authz_client: Any) -> None:
    other = new_client(app, "authorization_code", name="Other")
    uri = pushed_uri(client, authz_client)
    authz_login(client, user)
    resp = use(client, other, uri)
    assert_error_page(resp)
    assert "invalid_request_uri" in resp.get_data(as_text=True)
    # Not spent by the wrong client: its own client can still use it.
    assert use(client, authz_client, uri).status_code == 200


@pytest.mark.parametrize("request_uri", [
    REQUEST_URI_PREFIX, REQUEST_URI_PREFIX + "x" * 43, REQUEST_URI_PREFIX + "a\x00" * 30,
    REQUEST_URI_PREFIX + "é" * 40, REQUEST_URI_PREFIX + "a" * 5000])
def test_unknown_or_malformed_request_uris_are_a_page(
        client: Any, authz_login: Any, user: Any, authz_client: Any, request_uri: str) -> None:
    authz_login(client, user)
    resp = use(client, authz_client, request_uri)
    assert_error_page(resp)
    assert "invalid_request_uri" in resp.get_data(as_text=True)


def test_pushed_parameters_win_over_the_query(client: Any, authz_login: Any, user: Any,
                                              authz_client: Any) -> None:
    """RFC 9126 §4: only client_id and request_uri are read from the query."""
    uri = pushed_uri(client, authz_client, state="pushed-state")
    authz_login(client, user)
    page = use(client, authz_client, uri, state="query-state", scope="place-orders",
               redirect_uri="https://evil.example/cb", prompt="none")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Place orders" not in html and "evil.example" not in html
    query = redirect_query(approve(client, page))
    assert query["state"] == "pushed-state"


def test_a_request_uri_not_from_par_is_not_supported(client: Any, authz_client: Any) -> None:
    resp = get_authorize(client, **code_params(authz_client),
                         request_uri="https://client.example/request.jwt")
    assert redirect_query(resp)["error"] == "request_uri_not_supported"


def test_a_signed_out_user_signs_in_and_comes_back(client: Any, authz_login: Any, user: Any,
                                                   authz_client: Any, app: Flask) -> None:
    """The request_uri is spent at first use; the request waits server-side, bound to this
    browser, while the user signs in (longer than the request_uri's lifetime may be)."""
    uri = pushed_uri(client, authz_client)
    resp = use(client, authz_client, uri)
    assert resp.status_code == 302 and "/test-login" in resp.headers["Location"]
    assert _rows(app) == []
    # Another browser cannot use it any more.
    assert_error_page(use(app.test_client(), authz_client, uri))
    authz_login(client, user)
    page = use(client, authz_client, uri)
    assert redirect_query(approve(client, page))["code"]
    assert_error_page(use(client, authz_client, uri))


def test_switching_accounts_keeps_a_pushed_request_pushed(
        app: Flask, client: Any, authz_login: Any, user: Any, authz_client: Any) -> None:
    """The consent page's "Not you?" makes the request again: a pushed one is pushed again,
    so a client required to push is not refused, and the pushed state survives."""
    update_client(app, authz_client.client.id, require_pushed_authorization_requests=True)
    authz_login(client, user)
    page = use(client, authz_client, pushed_uri(client, authz_client, state="pushed-state"))
    fields = form_fields(page.get_data(as_text=True))
    resp = client.post("/oauth/authorize/switch-account", data=fields)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert "request_uri=urn" in location and "state" not in location
    back = client.get(location)
    assert back.status_code == 302 and "/test-login" in back.headers["Location"]
    authz_login(client, user)
    again = client.get(location)
    query = redirect_query(approve(client, again))
    assert query["state"] == "pushed-state" and query["code"]


# -- requiring PAR -----------------------------------------------------------------------------


def test_require_par_globally(app: Flask, client: Any, authz_login: Any, user: Any,
                              authz_client: Any) -> None:
    app.config["PASSPORT_REQUIRE_PAR"] = True
    app.extensions["passport"].reload_settings()
    authz_login(client, user)
    query = redirect_query(get_authorize(client, **code_params(authz_client)))
    assert query["error"] == "invalid_request" and "push" in query["error_description"]
    assert use(client, authz_client, pushed_uri(client, authz_client)).status_code == 200
    metadata = client.get("/.well-known/oauth-authorization-server").get_json()
    assert metadata["require_pushed_authorization_requests"] is True


def test_require_par_per_client(app: Flask, client: Any, authz_login: Any, user: Any,
                                authz_client: Any) -> None:
    other = new_client(app, "authorization_code", name="Other")
    update_client(app, authz_client.client.id, require_pushed_authorization_requests=True)
    authz_login(client, user)
    assert redirect_query(get_authorize(client, **code_params(authz_client)))["error"] == \
        "invalid_request"
    assert get_authorize(client, **code_params(other)).status_code == 200
    assert use(client, authz_client, pushed_uri(client, authz_client)).status_code == 200


def test_cli_require_par(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=[
        "passport", "client", "--name", "Strict", "--redirect-uri", REDIRECT, "--require-par",
        "--json"])
    assert result.exit_code == 0, result.output
    import json

    client_id = json.loads(result.output)["id"]
    with app.app_context():
        state = app.extensions["passport"]
        assert state.db.session.get(state.models.Client, client_id) \
            .require_pushed_authorization_requests is True


def test_registration_metadata_field(app: Flask, client: Any) -> None:
    app.config["PASSPORT_REGISTRATION"] = "open"
    app.extensions["passport"].reload_settings()
    body = {"redirect_uris": ["https://app.example.com/cb"],
            "require_pushed_authorization_requests": True}
    resp = client.post("/oauth/register", json=body)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["require_pushed_authorization_requests"] is True
    with app.app_context():
        state = app.extensions["passport"]
        row = state.db.session.get(state.models.Client, resp.get_json()["client_id"])
        assert row.require_pushed_authorization_requests is True
    bad = client.post("/oauth/register", json=body | {
        "require_pushed_authorization_requests": "yes"})
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_client_metadata"


# -- metadata and settings ---------------------------------------------------------------------


def test_metadata_names_the_endpoint(client: Any) -> None:
    metadata = client.get("/.well-known/oauth-authorization-server").get_json()
    assert metadata["pushed_authorization_request_endpoint"] == "http://localhost/oauth/par"
    assert metadata["require_pushed_authorization_requests"] is False


def test_par_lifetime_setting() -> None:
    def load(value: Any) -> Settings:
        return Settings.load({"PASSPORT_PAR_LIFETIME": value}, {}, instance_path="/i",
                             environ={})

    assert load(90).par_lifetime == 90 and load("600").par_lifetime == 600
    for bad in (4, 601, "soon", -1):
        with pytest.raises(ValueError, match="PASSPORT_PAR_LIFETIME"):
            load(bad)


def test_par_lifetime_is_the_answers_expires_in(app: Flask, client: Any,
                                                authz_client: Any) -> None:
    app.config["PASSPORT_PAR_LIFETIME"] = 120
    app.extensions["passport"].reload_settings()
    assert push(client, authz_client).get_json()["expires_in"] == 120
    [row] = _rows(app)
    assert row.expires_at - row.created_at == timedelta(seconds=120)


def test_revoked_clients_pushed_requests_are_refused(app: Flask, client: Any, authz_login: Any,
                                                     user: Any, authz_client: Any) -> None:
    uri = pushed_uri(client, authz_client)
    update_client(app, authz_client.client.id, revoked=True)
    authz_login(client, user)
    resp = use(client, authz_client, uri)
    assert resp.status_code == 400 and "Location" not in resp.headers


# -- an independent client: oauth4webapi 3.8.9 (tests/js_clients/par_flow.mjs) -----------------


@pytest.mark.parametrize("kind", ["confidential", "public"])
def test_oauth4webapi_pushes_and_completes_the_flow(authz_server: Any, kind: str) -> None:
    server = authz_server
    info = server.seed["clients"][kind]
    config = {"issuer": server.base_url, "client_id": info["id"],
              "redirect_uri": info["redirect_uri"], "scope": "check-status place-orders"}
    if kind == "confidential":
        config["client_secret"] = info["secret"]
    pushed = js_client("par_flow.mjs", config | {"step": "push"})
    assert pushed["status"] == 201
    assert pushed["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert pushed["metadata_endpoint"] == server.base_url + "/oauth/par"
    # Only client_id and request_uri travel through the browser.
    assert "code_challenge" not in pushed["authorization_url"]
    browser = signed_in_browser(server)
    callback = browser_approve(server, browser, pushed["authorization_url"])
    assert callback.startswith(info["redirect_uri"] + "?")
    token = js_client("par_flow.mjs", config | {
        "step": "exchange", "callback": callback, "code_verifier": pushed["code_verifier"],
        "state": pushed["state"]})
    assert token["has_access_token"] and token["token_type"].lower() == "bearer"
    assert set(token["scope"].split()) == {"check-status", "place-orders"}
    # The request_uri was used once: the browser cannot open it again.
    again = browser.get(pushed["authorization_url"], timeout=10, allow_redirects=False)
    assert again.status_code == 400 and "invalid_request_uri" in again.text
