"""A real external client: Authlib's OAuth2Session drives code + PKCE and refresh against the
example app served on loopback (werkzeug in a thread, temp SQLite database)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session


@pytest.fixture(autouse=True)
def _loopback_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # The example server is plain HTTP on 127.0.0.1; Authlib refuses that unless told.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


def signed_in_browser(server: Any) -> requests.Session:
    """A requests session playing the user's browser, signed in through the login form."""
    browser = requests.Session()
    html = browser.get(server.base_url + "/login", timeout=10).text
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert csrf
    resp = browser.post(server.base_url + "/login", timeout=10, allow_redirects=False, data={
        "csrf_token": csrf.group(1), "email": server.seed["user"]["email"],
        "password": server.seed["user"]["password"]})
    assert resp.status_code == 302
    return browser


def approve(server: Any, browser: requests.Session, url: str) -> str:
    page = browser.get(url, timeout=10, allow_redirects=False)
    if page.status_code == 302:  # consent skipped: the user already granted these scopes
        return str(page.headers["Location"])
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text))
    resp = browser.post(server.base_url + "/oauth/authorize", timeout=10, allow_redirects=False,
                        data=fields | {"approve": "Authorize"})
    assert resp.status_code == 302
    return str(resp.headers["Location"])


@pytest.mark.parametrize("kind", ["confidential", "public"])
def test_authlib_code_pkce_and_refresh(authz_server: Any, kind: str) -> None:
    server = authz_server
    info = server.seed["clients"][kind]
    token_url = server.base_url + "/oauth/token"
    kwargs: dict[str, Any] = {"client_secret": info["secret"]} if kind == "confidential" else {
        "token_endpoint_auth_method": "none"}
    oauth = OAuth2Session(info["id"], redirect_uri=info["redirect_uri"],
                          scope="check-status place-orders", code_challenge_method="S256",
                          **kwargs)
    verifier = generate_token(64)
    url, state = oauth.create_authorization_url(server.base_url + "/oauth/authorize",
                                                code_verifier=verifier)
    location = approve(server, signed_in_browser(server), url)
    assert location.startswith(info["redirect_uri"] + "?")
    assert f"state={state}" in location
    token = oauth.fetch_token(token_url, authorization_response=location,
                              code_verifier=verifier)
    assert token["token_type"] == "Bearer" and token["refresh_token"]
    user = oauth.get(server.base_url + "/api/user", timeout=10)
    assert user.status_code == 200 and user.json()["email"] == server.seed["user"]["email"]
    assert oauth.get(server.base_url + "/api/orders", timeout=10).status_code == 200

    old_access = token["access_token"]
    refreshed = oauth.refresh_token(token_url)
    assert refreshed["access_token"] != old_access
    assert oauth.get(server.base_url + "/api/user", timeout=10).status_code == 200
    stale = requests.get(server.base_url + "/api/user", timeout=10,
                         headers={"Authorization": f"Bearer {old_access}"})
    assert stale.status_code == 401


def test_authlib_replayed_code_is_refused(authz_server: Any) -> None:
    server = authz_server
    info = server.seed["clients"]["public"]
    oauth = OAuth2Session(info["id"], redirect_uri=info["redirect_uri"],
                          token_endpoint_auth_method="none", code_challenge_method="S256")
    verifier = generate_token(64)
    url, _ = oauth.create_authorization_url(server.base_url + "/oauth/authorize",
                                            code_verifier=verifier)
    location = approve(server, signed_in_browser(server), url)
    oauth.fetch_token(server.base_url + "/oauth/token", authorization_response=location,
                      code_verifier=verifier)
    from authlib.integrations.base_client.errors import OAuthError

    with pytest.raises(OAuthError) as info_exc:
        oauth.fetch_token(server.base_url + "/oauth/token", authorization_response=location,
                          code_verifier=verifier)
    assert info_exc.value.error == "invalid_grant"
    assert oauth.get(server.base_url + "/api/user", timeout=10).status_code == 401


def test_authlib_introspects_its_own_tokens(authz_server: Any) -> None:
    """Authlib's ``introspect_token`` as a plain confidential client (no introspect
    permission): its own tokens are described, a token of another client is inactive."""
    server = authz_server
    info = server.seed["clients"]["confidential"]
    oauth = OAuth2Session(info["id"], info["secret"], redirect_uri=info["redirect_uri"],
                          scope="check-status", code_challenge_method="S256")
    verifier = generate_token(64)
    url, _ = oauth.create_authorization_url(server.base_url + "/oauth/authorize",
                                            code_verifier=verifier)
    location = approve(server, signed_in_browser(server), url)
    token = oauth.fetch_token(server.base_url + "/oauth/token", authorization_response=location,
                              code_verifier=verifier)
    endpoint = server.base_url + "/oauth/introspect"
    access = oauth.introspect_token(endpoint, token=token["access_token"])
    assert access.status_code == 200, access.text
    assert access.json()["active"] is True and access.json()["client_id"] == info["id"]
    assert access.json()["token_type"] == "Bearer"
    refresh = oauth.introspect_token(endpoint, token=token["refresh_token"],
                                     token_type_hint="refresh_token")
    assert refresh.json()["active"] is True and refresh.json()["token_type"] == "refresh_token"
    other = server.seed["clients"]["client_credentials"]
    machine = OAuth2Session(other["id"], other["secret"])
    machine_token = machine.fetch_token(server.base_url + "/oauth/token",
                                        grant_type="client_credentials")
    foreign = oauth.introspect_token(endpoint, token=machine_token["access_token"])
    assert foreign.status_code == 200 and foreign.json() == {"active": False}
