"""Each step of the authorize endpoint's validation (``oauth2/authorization.py``) alone.

The endpoint-level tests (``tests/test_authorize.py``) pin the order of the steps; these pin what
each one accepts and refuses, with a stand-in for the parts of the ``Context`` it reads.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from flask_passport.oauth2 import authorization as authz
from flask_passport.oauth2.authorization import (
    AuthorizationPageError,
    AuthorizationRedirectError,
    AuthorizationRequest,
)

REDIRECT = "https://app.example.com/callback"
S256_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 Appendix B


def _request() -> AuthorizationRequest:
    return AuthorizationRequest(client_id="c", redirect_uri=REDIRECT, redirect_uri_sent=True,
                                response_type="code", scopes=[], state="s")


def _ctx(*, implicit: bool = False, pkce_plain: bool = False, clients: Any = None,
         pkce_required: str = "public") -> Any:
    settings = SimpleNamespace(implicit_grant=implicit, pkce_plain=pkce_plain,
                               client_id_metadata_documents=False,
                               pkce_required=pkce_required)
    session = SimpleNamespace(get=lambda model, key: (clients or {}).get(key))
    return SimpleNamespace(settings=settings, session=session,
                           models=SimpleNamespace(Client=object), issuer="https://as.example")


def _client(**extra: Any) -> Any:
    grants = extra.pop("grants", ("authorization_code",))
    values = {"id": "c", "public_id": extra.get("id", "c"), "revoked": False,
              "confidential": False, "redirect_uris": [REDIRECT],
              "has_grant_type": lambda g: g in grants} | extra
    return SimpleNamespace(**values)


def _error(exc: pytest.ExceptionInfo[Any]) -> tuple[str, str]:
    return exc.value.error, exc.value.description


# -- the client and its redirect URI: a page, never a redirect ---------------------------------

def test_client_step_refuses_a_missing_unknown_or_revoked_client_on_a_page() -> None:
    ctx = _ctx(clients={"c": _client(), "gone": _client(revoked=True)})
    for params in ({}, {"client_id": "nobody"}, {"client_id": "gone"},
                   {"client_id": "c\x00"}, {"client_id": "c" * 65}):
        with pytest.raises(AuthorizationPageError):
            authz._client(ctx, params, set())
    with pytest.raises(AuthorizationPageError, match="twice"):
        authz._client(ctx, {"client_id": "c"}, {"client_id"})
    assert authz._client(ctx, {"client_id": "c"}, set()).id == "c"


def test_client_step_refuses_a_response_type_the_client_may_not_use() -> None:
    ctx = _ctx(clients={"c": _client(grants=("client_credentials",))})
    with pytest.raises(AuthorizationPageError) as exc:
        authz._client(ctx, {"client_id": "c", "response_type": "code"}, set())
    assert exc.value.error == "unauthorized_client"


def test_redirect_uri_step_matches_exactly_and_builds_the_request() -> None:
    client = _client(redirect_uris=[REDIRECT, "https://app.example.com/other"])
    with pytest.raises(AuthorizationPageError, match="required"):
        authz._redirect_uri(_ctx(), client, {}, set())
    with pytest.raises(AuthorizationPageError, match="does not match"):
        authz._redirect_uri(_ctx(), client, {"redirect_uri": REDIRECT + "/"}, set())
    request = authz._redirect_uri(_ctx(), client, {"redirect_uri": REDIRECT, "state": "x"},
                                  set())
    assert (request.redirect_uri, request.redirect_uri_sent, request.state) \
        == (REDIRECT, True, "x")
    assert request.issuer == "https://as.example"


# -- after the redirect URI: errors go back to the client --------------------------------------

def test_request_uris_are_refused_by_name() -> None:
    with pytest.raises(AuthorizationRedirectError) as exc:
        authz._request_uri(_request(), {"request_uri": "https://x"})
    assert exc.value.error == "request_uri_not_supported"
    authz._request_uri(_request(), {"scope": "a"})


@pytest.mark.parametrize(("params", "duplicated", "message"), [
    ({"scope": "a"}, {"scope"}, "The scope parameter was sent more than once."),
    ({"scope": "a" * 4097}, set(), "The scope parameter is too long."),
    ({"state": "s" * 1025}, set(), "The state parameter is too long."),
    ({"scope": "a\x00"}, set(), "The scope parameter contains a NUL character."),
])
def test_parameter_syntax_step(params: dict[str, str], duplicated: set[str],
                               message: str) -> None:
    with pytest.raises(AuthorizationRedirectError) as exc:
        authz._parameter_syntax(_request(), params, duplicated)
    assert _error(exc) == ("invalid_request", message)


def test_parameter_syntax_step_accepts_a_state_longer_than_other_parameters_may_be() -> None:
    authz._parameter_syntax(_request(), {"state": "s" * 1024}, set())


def test_response_type_step() -> None:
    cases = [(None, False, "invalid_request"), ("id_token", False, "unsupported_response_type"),
             ("token", False, "unsupported_response_type")]
    for response_type, implicit, error in cases:
        with pytest.raises(AuthorizationRedirectError) as exc:
            authz._response_type(_ctx(implicit=implicit), _request(), response_type)
        assert exc.value.error == error
    request = _request()
    authz._response_type(_ctx(implicit=True), request, "token")
    assert request.response_type == "token"


@pytest.mark.parametrize(("params", "message"), [
    ({"prompt": "bogus"}, "The prompt value 'bogus' is unknown."),
    ({"prompt": "none login"}, "prompt=none cannot be combined with other values."),
    ({"max_age": "-1"}, None),
    ({"max_age": "soon"}, None),
    ({"nonce": "n" * 513}, "The nonce parameter is too long."),
])
def test_oidc_parameters_step_refuses(params: dict[str, str], message: str | None) -> None:
    with pytest.raises(AuthorizationRedirectError) as exc:
        authz._oidc_parameters(_request(), params)
    assert exc.value.error == "invalid_request"
    if message is not None:
        assert exc.value.description == message


def test_oidc_parameters_step_keeps_prompt_and_max_age() -> None:
    request = _request()
    authz._oidc_parameters(request, {"prompt": "login  consent", "max_age": "300"})
    assert (request.prompt, request.max_age) == (["login", "consent"], 300)


def test_pkce_step() -> None:
    public, confidential = _client(), _client(confidential=True)
    refusals = [({}, public, "must use PKCE"),
                ({"code_challenge_method": "S256"}, confidential, "without a code_challenge"),
                ({"code_challenge": S256_CHALLENGE}, public, "must be S256"),  # plain, off
                ({"code_challenge": "short", "code_challenge_method": "S256"}, public,
                 "malformed")]
    for params, client, message in refusals:
        with pytest.raises(AuthorizationRedirectError, match=message):
            authz._pkce(_ctx(), _request(), client, params)
    request = _request()
    authz._pkce(_ctx(), request, confidential, {})
    assert request.code_challenge is None
    with pytest.raises(AuthorizationRedirectError, match="must use PKCE"):
        authz._pkce(_ctx(pkce_required="all"), _request(), confidential, {})
    authz._pkce(_ctx(), request, public,
                {"code_challenge": S256_CHALLENGE, "code_challenge_method": "S256"})
    assert (request.code_challenge, request.code_challenge_method) == (S256_CHALLENGE, "S256")
