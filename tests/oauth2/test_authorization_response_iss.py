"""RFC 9207 (``iss`` in every authorization response) and the refusal of request objects
(OpenID Connect Core §6: ``request_not_supported`` / ``request_uri_not_supported``)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from conftest import make_app, new_client
from flask import Flask

REDIRECT = "https://app.example.com/callback"


def _authorize(http: Any, created: Any, **extra: str) -> Any:
    params = {"client_id": created.client.id, "redirect_uri": REDIRECT, "response_type": "code",
              "scope": "check-status", "state": "st-9207"}
    params.update(extra)
    return http.get("/oauth/authorize?" + urlencode(params))


def _response(resp: Any, metadata: dict[str, Any]) -> dict[str, str]:
    """What an RFC 9207 client does with a redirect: with the server advertising
    ``authorization_response_iss_parameter_supported``, ``iss`` must be present and equal the
    metadata's ``issuer`` exactly (§2.4), or the response is dropped."""
    assert resp.status_code == 302, resp.get_data(as_text=True)
    location = urlsplit(resp.headers["Location"])
    assert location._replace(query="", fragment="").geturl() == REDIRECT
    params = {k: v[0] for k, v in parse_qs(location.fragment or location.query).items()}
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert params.get("iss") == metadata["issuer"], params
    assert params["state"] == "st-9207"
    return params


def _form(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))


def test_success_and_every_error_redirect_carry_iss(app: Flask, client: Any, authz_login: Any,
                                                     user: Any, authz_client: Any) -> None:
    meta = client.get("/.well-known/oauth-authorization-server").json
    # Errors found while validating, before anyone signs in.
    assert _response(_authorize(client, authz_client, scope="nope"), meta)["error"] \
        == "invalid_scope"
    assert _response(_authorize(client, authz_client, prompt="none"), meta)["error"] \
        == "login_required"
    authz_login(client, user)
    # Denied, then approved (the code).
    page = _authorize(client, authz_client)
    denied = client.post("/oauth/authorize", data=_form(page.get_data(as_text=True))
                         | {"deny": "Deny"})
    assert _response(denied, meta)["error"] == "access_denied"
    page = _authorize(client, authz_client)
    approved = client.post("/oauth/authorize", data=_form(page.get_data(as_text=True))
                           | {"approve": "Authorize"})
    assert _response(approved, meta)["code"]


def test_implicit_fragment_carries_iss(app: Flask, client: Any, authz_login: Any, user: Any,
                                       authz_public_client: Any) -> None:
    app.extensions["passport"].passport.enable_implicit_grant()
    try:
        meta = client.get("/.well-known/oauth-authorization-server").json
        authz_login(client, user)
        page = _authorize(client, authz_public_client, response_type="token")
        resp = client.post("/oauth/authorize", data=_form(page.get_data(as_text=True))
                           | {"approve": "Authorize"})
        assert _response(resp, meta)["access_token"]
        assert not urlsplit(resp.headers["Location"]).query
    finally:
        app.extensions["passport"].passport.enable_implicit_grant(False)


def test_iss_is_the_configured_issuer_whatever_the_host(app_config: dict[str, Any],
                                                        app: Flask) -> None:
    configured = make_app({**app_config, "PASSPORT_ISSUER": "https://auth.example.com"})
    created = new_client(configured, "authorization_code")
    http = configured.test_client()
    meta = http.get("/.well-known/oauth-authorization-server").json
    resp = http.get("/oauth/authorize?" + urlencode({
        "client_id": created.client.id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "nope", "state": "st-9207"}), base_url="http://attacker.example")
    assert _response(resp, meta)["iss"] == "https://auth.example.com"


def test_request_uris_not_from_par_are_refused_by_redirect(client: Any,
                                                          authz_client: Any) -> None:
    meta = client.get("/.well-known/oauth-authorization-server").json
    assert meta["request_uri_parameter_supported"] is False
    # Refused even when the plain parameters alone would make a valid request.
    params = _response(_authorize(client, authz_client,
                                  request_uri="https://app.example.com/request.jwt"), meta)
    assert params["error"] == "request_uri_not_supported"


@pytest.mark.parametrize(("param", "value", "error"), [
    # RFC 9101: an unsigned request object is refused, never read as plain parameters.
    ("request", "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.", "invalid_request_object"),
    # RFC 9126: an unknown pushed request's reference.
    ("request_uri", "urn:ietf:params:oauth:request_uri:abc", "invalid_request_uri"),
])
def test_bad_request_objects_and_references_are_a_page(client: Any, authz_client: Any,
                                                       param: str, value: str,
                                                       error: str) -> None:
    resp = _authorize(client, authz_client, **{param: value})
    assert resp.status_code == 400 and "Location" not in resp.headers
    assert error in resp.get_data(as_text=True)


@pytest.mark.parametrize("param", ["request", "request_uri"])
def test_request_objects_with_an_unproven_redirect_are_an_error_page(
        client: Any, authz_client: Any, param: str) -> None:
    """Before the client and its redirect URI are proven, never a redirect (RFC 9700
    §4.1.1): the unsupported parameter changes nothing about that."""
    for resp in (
        _authorize(client, authz_client, redirect_uri="https://evil.example/cb", **{param: "x"}),
        client.get("/oauth/authorize?" + urlencode({
            "client_id": "unknown", "redirect_uri": REDIRECT, "response_type": "code",
            param: "x"})),
    ):
        assert resp.status_code == 400 and "Location" not in resp.headers


def test_openid_configuration_advertises_iss_and_request_objects(client: Any) -> None:
    doc = client.get("/.well-known/openid-configuration").json
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["request_parameter_supported"] is True
    assert doc["request_uri_parameter_supported"] is False
