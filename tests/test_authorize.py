"""GET/POST/DELETE /oauth/authorize: validation order, login, prompt, consent, approve, deny."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask

from flask_passport import signals

REDIRECT = "https://app.example.com/callback"


def get_authorize(client: Any, **params: Any) -> Any:
    return client.get("/oauth/authorize?" + urlencode(params, doseq=True))


def code_params(created: Any, **extra: Any) -> dict[str, Any]:
    params = {"client_id": created.client.id, "redirect_uri": REDIRECT, "response_type": "code",
              "scope": "check-status", "state": "xyz-state"}
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))


def redirect_query(resp: Any) -> dict[str, str]:
    assert resp.status_code == 302, resp.get_data(as_text=True)
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def assert_error_page(resp: Any, status: int = 400) -> None:
    assert resp.status_code == status
    assert "Location" not in resp.headers
    assert resp.mimetype == "text/html"
    assert "cannot be completed" in resp.get_data(as_text=True)


# -- 1. validation order: client, then redirect URI (never a redirect before both) ----------


def test_missing_client_id_is_an_error_page(client: Any) -> None:
    assert_error_page(get_authorize(client, response_type="code", redirect_uri=REDIRECT))


def test_unknown_client_is_an_error_page(client: Any) -> None:
    assert_error_page(get_authorize(client, client_id="nope", response_type="code",
                                    redirect_uri=REDIRECT))


def update_client(app: Flask, client_id: str, **values: Any) -> None:
    with app.app_context():
        state = app.extensions["passport"]
        row = state.db.session.get(state.models.Client, client_id)
        for key, value in values.items():
            setattr(row, key, value)
        state.db.session.commit()


def test_revoked_client_is_an_error_page(app: Flask, client: Any, authz_client: Any) -> None:
    update_client(app, authz_client.client.id, revoked=True)
    assert_error_page(get_authorize(client, **code_params(authz_client)))


def test_client_without_the_grant_is_an_error_page(client: Any, machine_client: Any) -> None:
    resp = get_authorize(client, **code_params(machine_client))
    assert_error_page(resp)
    assert "unauthorized_client" in resp.get_data(as_text=True)


def test_duplicated_client_id_is_an_error_page(client: Any, authz_client: Any) -> None:
    query = urlencode(code_params(authz_client)) + "&client_id=" + authz_client.client.id
    assert_error_page(client.get("/oauth/authorize?" + query))


def test_bad_redirect_uri_wins_over_every_later_error(client: Any, authz_client: Any) -> None:
    # Unsupported response type, bad scope, prompt=none: still a page, never a redirect.
    resp = get_authorize(client, client_id=authz_client.client.id, response_type="bogus",
                         redirect_uri="https://evil.example/callback", scope="nope",
                         prompt="none", state="s")
    assert_error_page(resp)
    assert "evil.example" not in resp.get_data(as_text=True)


def test_duplicated_redirect_uri_is_an_error_page(client: Any, authz_client: Any) -> None:
    query = urlencode(code_params(authz_client)) + "&" + urlencode({"redirect_uri": REDIRECT})
    assert_error_page(client.get("/oauth/authorize?" + query))


@pytest.mark.parametrize("presented", [
    REDIRECT + "/",                                  # trailing slash
    REDIRECT + "?extra=1",                           # extra query
    REDIRECT + "#frag",                              # fragment
    REDIRECT + "x",                                  # path suffix
    "https://app.example.com/Callback",              # case of the path
    "HTTPS://app.example.com/callback",              # case of the scheme
    "https://APP.example.com/callback",              # case of the host
    "https://app.example.com:8443/callback",         # another port, not loopback
    "https://user@app.example.com/callback",         # userinfo
    "http://app.example.com/callback",               # scheme
    "",                                              # empty
])
def test_redirect_uri_must_match_exactly(client: Any, authz_client: Any, presented: str) -> None:
    assert_error_page(get_authorize(client, **code_params(authz_client, redirect_uri=presented)))


@pytest.mark.parametrize(("registered", "presented", "ok"), [
    ("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb", True),
    ("http://127.0.0.1:8000/cb", "http://127.0.0.1:9/cb", True),
    ("http://[::1]:8000/cb", "http://[::1]:60000/cb", True),
    ("http://127.0.0.1:8000/cb", "http://127.0.0.1:9/cb/", False),
    ("http://127.0.0.1:8000/cb", "http://127.0.0.1:9/cb?x=1", False),
    ("http://127.0.0.1:8000/cb", "http://localhost:8000/cb", False),
    ("http://localhost:8000/cb", "http://127.0.0.1:8000/cb", False),
    ("http://localhost:8000/cb", "http://localhost:9000/cb", False),
    ("https://127.0.0.1:8000/cb", "https://127.0.0.1:9000/cb", False),
    ("http://127.0.0.1:8000/cb", "http://127.0.0.1:99999/cb", False),
    ("http://127.0.0.1:8000/cb", "http://127.0.0.1:9/cb#f", False),
    ("http://127.0.0.1:8000/cb", "http://127.0.0.2:8000/cb", False),
])
def test_loopback_port_exception(client: Any, authz_login: Any, user: Any, authz_make_client: Any,
                                 registered: str, presented: str, ok: bool) -> None:
    created = authz_make_client("authorization_code", redirect_uris=[registered])
    authz_login(client, user)
    resp = get_authorize(client, **code_params(created, redirect_uri=presented))
    if ok:
        assert resp.status_code == 200
        assert "Authorization request" in resp.get_data(as_text=True)
    else:
        assert_error_page(resp)


def test_redirect_uri_may_be_omitted_with_one_registered(client: Any, authz_login: Any, user: Any,
                                                         authz_client: Any) -> None:
    authz_login(client, user)
    resp = get_authorize(client, **code_params(authz_client, redirect_uri=None))
    assert resp.status_code == 200
    approved = client.post("/oauth/authorize", data=form_fields(resp.get_data(as_text=True))
                           | {"approve": "Authorize"})
    assert "code" in redirect_query(approved)


def test_redirect_uri_required_with_several_registered(client: Any, authz_make_client: Any) -> None:
    created = authz_make_client("authorization_code",
                          redirect_uris=[REDIRECT, "https://app.example.com/other"])
    assert_error_page(get_authorize(client, **code_params(created, redirect_uri=None)))


# -- after the client and redirect URI are proven: errors go back with state ---------------


@pytest.mark.parametrize(("extra", "error"), [
    ({"response_type": None}, "invalid_request"),
    ({"response_type": "id_token"}, "unsupported_response_type"),
    ({"response_type": "token"}, "unsupported_response_type"),  # implicit grant is off
    ({"scope": "check-status nope"}, "invalid_scope"),
    ({"scope": "*"}, "invalid_scope"),
    ({"code_challenge_method": "S256"}, "invalid_request"),
    ({"code_challenge": "a" * 43, "code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": "a" * 43}, "invalid_request"),  # method absent = plain, off
    ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
    ({"code_challenge": "a" * 42 + "=", "code_challenge_method": "S256"}, "invalid_request"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"prompt": "bogus"}, "invalid_request"),
])
def test_errors_redirect_back_with_state(client: Any, authz_login: Any, user: Any,
                                         authz_client: Any, extra: dict[str, Any],
                                         error: str) -> None:
    authz_login(client, user)
    query = redirect_query(get_authorize(client, **code_params(authz_client, **extra)))
    assert query["error"] == error
    assert query["error_description"]
    assert query["state"] == "xyz-state"
    assert "code" not in query


@pytest.mark.parametrize("mode", ["form_post", "fragment", "web_message"])
def test_an_unserved_response_mode_is_refused(client: Any, authz_login: Any, user: Any,
                                              authz_client: Any, mode: str) -> None:
    """A client asking for another response mode would never see the code answered in the
    query: it is told so, in the query it will read."""
    authz_login(client, user)
    resp = get_authorize(client, **code_params(authz_client, response_mode=mode))
    query = redirect_query(resp)
    assert query["error"] == "invalid_request" and "response_mode" in query["error_description"]
    assert query["state"] == "xyz-state" and "code" not in query


def test_the_default_response_mode_may_be_named(client: Any, authz_login: Any, user: Any,
                                                authz_client: Any) -> None:
    authz_login(client, user)
    resp = get_authorize(client, **code_params(authz_client, response_mode="query"))
    assert resp.status_code == 200 and "Authorization request" in resp.get_data(as_text=True)


def test_duplicated_parameter_after_proof_redirects(client: Any, authz_client: Any) -> None:
    query_string = urlencode(code_params(authz_client)) + "&scope=place-orders"
    query = redirect_query(client.get("/oauth/authorize?" + query_string))
    assert query["error"] == "invalid_request"


def test_public_client_must_send_a_challenge(client: Any, authz_public_client: Any) -> None:
    query = redirect_query(get_authorize(client, **code_params(authz_public_client)))
    assert query["error"] == "invalid_request"
    assert "PKCE" in query["error_description"]


def test_errors_keep_the_registered_query(client: Any, authz_make_client: Any) -> None:
    created = authz_make_client("authorization_code", redirect_uris=[REDIRECT + "?tenant=7"])
    resp = get_authorize(client, **code_params(created, redirect_uri=REDIRECT + "?tenant=7",
                                                 response_type="bogus"))
    query = redirect_query(resp)
    assert query["tenant"] == "7"
    assert query["error"] == "unsupported_response_type"


# -- login --------------------------------------------------------------------------------


def test_anonymous_user_goes_to_the_login_view_and_back(client: Any, authz_login: Any, user: Any,
                                                        authz_client: Any) -> None:
    resp = get_authorize(client, **code_params(authz_client))
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/test-login"
    next_url = parse_qs(location.query)["next"][0]
    assert next_url.startswith("/oauth/authorize?")
    authz_login(client, user)
    back = client.get(next_url)
    assert back.status_code == 200
    assert "Acme Reader" in back.get_data(as_text=True)


def test_no_login_view_gives_a_clear_401(client: Any, authz_client: Any) -> None:
    resp = get_authorize(client, **code_params(authz_client))
    assert resp.status_code == 401
    assert "login_view" in resp.get_data(as_text=True)


# -- prompt -------------------------------------------------------------------------------


def test_prompt_none_when_signed_out(client: Any, authz_login: Any, authz_client: Any) -> None:
    query = redirect_query(get_authorize(client, **code_params(authz_client, prompt="none")))
    assert query["error"] == "login_required"
    assert query["state"] == "xyz-state"


def test_prompt_none_when_consent_is_needed(client: Any, authz_login: Any, user: Any,
                                           authz_client: Any) -> None:
    authz_login(client, user)
    query = redirect_query(get_authorize(client, **code_params(authz_client, prompt="none")))
    assert query["error"] == "consent_required"


def test_prompt_none_with_first_party_client_issues_a_code(
        app: Flask, client: Any, authz_login: Any, user: Any, authz_client: Any) -> None:
    update_client(app, authz_client.client.id, first_party=True)
    authz_login(client, user)
    query = redirect_query(get_authorize(client, **code_params(authz_client, prompt="none")))
    assert query["code"] and query["state"] == "xyz-state"


def test_prompt_login_forces_a_new_sign_in_without_looping(client: Any, authz_login: Any, user: Any,
                                                           authz_client: Any) -> None:
    authz_login(client, user)
    params = code_params(authz_client, prompt="login")
    resp = get_authorize(client, **params)
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == "/test-login"
    # Back without a new sign-in (a login page that skips its form): no consent page, no
    # redirect loop, but an offer to sign in again.
    again = get_authorize(client, **params)
    assert again.status_code == 200
    text = again.get_data(as_text=True)
    assert "Sign in again" in text and "Authorization request" not in text
    authz_login(client, user)
    shown = get_authorize(client, **params)
    assert shown.status_code == 200
    assert "Authorization request" in shown.get_data(as_text=True)


def test_prompt_login_on_a_get_does_not_sign_the_user_out(client: Any, authz_login: Any,
                                                         user: Any, authz_client: Any) -> None:
    """A cross-site link with prompt=login is a GET: it must not end the user's session."""
    authz_login(client, user)
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        resp = get_authorize(client, **code_params(authz_client, **extra))
        assert resp.status_code == 302
        # Still signed in: a login-required route answers.
        assert client.get("/oauth/clients").status_code == 200


def test_prompt_login_needs_a_login_newer_than_the_request(app: Flask, client: Any,
                                                          authz_login: Any, user: Any,
                                                          authz_client: Any) -> None:
    """A login recorded before the request (an old session) never satisfies prompt=login."""
    authz_login(client, user)
    params = code_params(authz_client, prompt="login")
    get_authorize(client, **params)
    with client.session_transaction() as sess:
        sess["_passport_auth_time"] = sess["_passport_reauth"]["at"] - 1
    assert "Authorization request" not in get_authorize(client, **params).get_data(as_text=True)
    with client.session_transaction() as sess:
        sess["_passport_auth_time"] = sess["_passport_reauth"]["at"]
    assert "Authorization request" in get_authorize(client, **params).get_data(as_text=True)


def test_reauthenticate_signs_out_on_a_post_with_csrf_only(client: Any, authz_login: Any,
                                                          user: Any, authz_client: Any) -> None:
    authz_login(client, user)
    params = code_params(authz_client, prompt="login")
    get_authorize(client, **params)
    page = get_authorize(client, **params)
    # Without the page's CSRF token (a cross-site form): refused, still signed in.
    assert_error_page(client.post("/oauth/reauthenticate"))
    assert client.get("/oauth/clients").status_code == 200
    resp = client.post("/oauth/reauthenticate", data=form_fields(page.get_data(as_text=True)))
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/test-login" and "prompt%3Dlogin" in location.query
    assert client.get("/oauth/clients").status_code == 401
    authz_login(client, user)
    assert "Authorization request" in get_authorize(client, **params).get_data(as_text=True)


def test_prompt_consent_always_asks(app: Flask, client: Any, authz_login: Any, user: Any,
                                   authz_client: Any) -> None:
    update_client(app, authz_client.client.id, first_party=True)
    authz_login(client, user)
    resp = get_authorize(client, **code_params(authz_client, prompt="consent"))
    assert resp.status_code == 200
    assert "Authorization request" in resp.get_data(as_text=True)


# -- skipping consent -----------------------------------------------------------------------


def test_first_party_client_skips_consent(app: Flask, client: Any, authz_login: Any, user: Any,
                                         authz_client: Any) -> None:
    update_client(app, authz_client.client.id, first_party=True)
    authz_login(client, user)
    assert redirect_query(get_authorize(client, **code_params(authz_client)))["code"]


def test_a_covering_token_skips_consent(client: Any, authz_login: Any, user: Any,
                                        authz_client: Any) -> None:
    authz_login(client, user)
    params = code_params(authz_client, scope="check-status place-orders")
    page = get_authorize(client, **params)
    approved = client.post("/oauth/authorize", data=form_fields(page.get_data(as_text=True))
                           | {"approve": "Authorize"})
    code = redirect_query(approved)["code"]
    token = client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": authz_client.client.id, "client_secret": authz_client.secret})
    assert token.status_code == 200
    # A subset of the granted scopes: no page.
    again = get_authorize(client, **code_params(authz_client, scope="place-orders"))
    assert redirect_query(again)["code"]
    # prompt=consent still asks.
    assert get_authorize(client, **code_params(authz_client, prompt="consent")).status_code == 200


def test_a_narrower_token_does_not_skip_consent(client: Any, authz_login: Any, user: Any,
                                                authz_client: Any) -> None:
    authz_login(client, user)
    page = get_authorize(client, **code_params(authz_client))
    approved = client.post("/oauth/authorize", data=form_fields(page.get_data(as_text=True))
                           | {"approve": "Authorize"})
    client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": redirect_query(approved)["code"],
        "redirect_uri": REDIRECT, "client_id": authz_client.client.id,
        "client_secret": authz_client.secret})
    wider = get_authorize(client, **code_params(authz_client, scope="check-status place-orders"))
    assert wider.status_code == 200


def test_skips_authorization_can_be_overridden(app: Flask, client: Any, authz_login: Any, user: Any,
                                               authz_client: Any) -> None:
    models = app.extensions["passport"].models
    original = models.Client.skips_authorization
    models.Client.skips_authorization = lambda self, u, scopes: scopes == ["check-status"]
    try:
        authz_login(client, user)
        assert redirect_query(get_authorize(client, **code_params(authz_client)))["code"]
        wider = get_authorize(client, **code_params(authz_client, scope="place-orders"))
        assert wider.status_code == 200
    finally:
        models.Client.skips_authorization = original


# -- the consent page and the decision ------------------------------------------------------


def test_consent_page_shows_client_and_scopes(client: Any, authz_login: Any, user: Any,
                                              authz_client: Any) -> None:
    authz_login(client, user)
    resp = get_authorize(client, **code_params(authz_client, scope="check-status place-orders"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Acme Reader" in html
    assert "Check order status" in html and "Place orders" in html
    assert html.count("<form") == 1
    assert 'name="approve"' in html and 'name="deny"' in html
    # Only the CSRF token and the single-use key travel in the form: no editable state.
    assert set(form_fields(html)) == {"csrf_token", "auth_token"}
    assert re.findall(r"<input[^>]*>", html) == re.findall(r'<input[^>]*type="hidden"[^>]*>', html)
    assert "xyz-state" not in html
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "/oauth/passport-static/authorize.css" in html
    with client.get("/oauth/passport-static/authorize.css") as css:
        assert css.status_code == 200
        assert b".passport-approve" in css.data


def test_approve_redirects_with_code_and_state(app: Flask, client: Any, authz_login: Any, user: Any,
                                               authz_client: Any) -> None:
    seen: list[str] = []

    def approved(sender: Any, **kw: Any) -> None:
        seen.append("approved")

    def issued(sender: Any, **kw: Any) -> None:
        seen.append("issued")

    authz_login(client, user)
    page = get_authorize(client, **code_params(authz_client))
    with signals.authorization_approved.connected_to(approved), \
            signals.auth_code_issued.connected_to(issued):
        resp = client.post("/oauth/authorize", data=form_fields(page.get_data(as_text=True))
                           | {"approve": "Authorize"})
    query = redirect_query(resp)
    assert query["code"] and query["state"] == "xyz-state"
    assert set(query) == {"code", "state", "iss"} and query["iss"] == "http://localhost"
    assert seen == ["approved", "issued"]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_deny_redirects_with_access_denied(client: Any, authz_login: Any, user: Any,
                                           authz_client: Any, method: str) -> None:
    denied: list[Any] = []
    authz_login(client, user)
    page = get_authorize(client, **code_params(authz_client))
    fields = form_fields(page.get_data(as_text=True))
    with signals.authorization_denied.connected_to(lambda s, **kw: denied.append(kw["client"])):
        if method == "POST":
            resp = client.post("/oauth/authorize", data=fields | {"deny": "Cancel"})
        else:
            resp = client.delete("/oauth/authorize", data=fields)
    query = redirect_query(resp)
    assert query["error"] == "access_denied"
    assert query["state"] == "xyz-state"
    assert "code" not in query
    assert len(denied) == 1


def test_post_without_or_with_wrong_csrf_is_refused(client: Any, authz_login: Any, user: Any,
                                                    authz_client: Any) -> None:
    authz_login(client, user)
    fields = form_fields(get_authorize(client, **code_params(authz_client)).get_data(as_text=True))
    no_csrf = {"auth_token": fields["auth_token"], "approve": "Authorize"}
    assert_error_page(client.post("/oauth/authorize", data=no_csrf))
    wrong = fields | {"csrf_token": "x" * 43, "approve": "Authorize"}
    assert_error_page(client.post("/oauth/authorize", data=wrong))


def test_the_consent_key_is_single_use(client: Any, authz_login: Any, user: Any,
                                       authz_client: Any) -> None:
    authz_login(client, user)
    fields = form_fields(get_authorize(client, **code_params(authz_client)).get_data(as_text=True))
    first = client.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
    assert redirect_query(first)["code"]
    assert_error_page(client.post("/oauth/authorize", data=fields | {"approve": "Authorize"}))
    assert_error_page(client.post("/oauth/authorize",
                                  data=fields | {"auth_token": "made-up", "approve": "1"}))


def test_the_consent_is_bound_to_the_user(app: Flask, client: Any, authz_login: Any, user: Any,
                                          authz_client: Any) -> None:
    authz_login(client, user)
    fields = form_fields(get_authorize(client, **code_params(authz_client)).get_data(as_text=True))
    with app.app_context():
        state = app.extensions["passport"]
        other = state.user_model(email="other@example.com")
        other.set_password("x")
        state.db.session.add(other)
        state.db.session.commit()
        other_id = other.id
    with client.session_transaction() as sess:
        sess["_user_id"] = str(other_id)
    assert_error_page(client.post("/oauth/authorize", data=fields | {"approve": "Authorize"}))


def test_post_when_signed_out_is_refused(client: Any, authz_login: Any, user: Any,
                                         authz_client: Any) -> None:
    authz_login(client, user)
    fields = form_fields(get_authorize(client, **code_params(authz_client)).get_data(as_text=True))
    with client.session_transaction() as sess:
        sess.pop("_user_id", None)
    resp = client.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
    assert resp.status_code == 401
    assert "Location" not in resp.headers


def test_template_override(app_config: dict[str, Any], tmp_path: Any, user: Any,
                           authz_client: Any, authz_login: Any, client: Any, app: Flask) -> None:
    from jinja2 import ChoiceLoader, FileSystemLoader

    folder = tmp_path / "templates" / "passport"
    folder.mkdir(parents=True)
    (folder / "authorize.html").write_text(
        "<h1>My brand</h1><p>{{ client.name }}</p>"
        "{% for s in scopes %}<i>{{ s.id }}</i>{% endfor %}"
        "<form method=post action='{{ url_for('passport.decide') }}'>{{ form.csrf_token() }}"
        "{{ form.auth_token() }}<button name=approve value=1>Go</button></form>")
    app.jinja_loader = ChoiceLoader([FileSystemLoader(str(tmp_path / "templates")),
                                     app.jinja_loader])
    authz_login(client, user)
    page = get_authorize(client, **code_params(authz_client))
    html = page.get_data(as_text=True)
    assert "My brand" in html and "Acme Reader" in html and "<i>check-status</i>" in html
    resp = client.post("/oauth/authorize", data=form_fields(html) | {"approve": "1"})
    assert redirect_query(resp)["code"]



@pytest.mark.parametrize("change", [{"revoked": True}, {"redirect_uris": ["https://x.example/cb"]},
                                    {"grant_types": ["client_credentials"]}])
def test_client_changed_while_deciding(app: Flask, client: Any, authz_login: Any, user: Any,
                                       authz_client: Any, change: dict[str, Any]) -> None:
    authz_login(client, user)
    fields = form_fields(get_authorize(client, **code_params(authz_client)).get_data(as_text=True))
    update_client(app, authz_client.client.id, **change)
    assert_error_page(client.post("/oauth/authorize", data=fields | {"approve": "Authorize"}))


def test_prompt_login_when_signed_out_does_not_loop(client: Any, authz_login: Any, user: Any,
                                                    authz_client: Any) -> None:
    params = code_params(authz_client, prompt="login")
    assert urlsplit(get_authorize(client, **params).headers["Location"]).path == "/test-login"
    authz_login(client, user)
    assert get_authorize(client, **params).status_code == 200


def test_no_code_is_stored_before_approval(app: Flask, client: Any, authz_login: Any, user: Any,
                                           authz_client: Any) -> None:
    import sqlalchemy as sa

    authz_login(client, user)
    get_authorize(client, **code_params(authz_client))
    with app.app_context():
        state = app.extensions["passport"]
        count = state.db.session.scalar(
            sa.select(sa.func.count()).select_from(state.models.AuthCode))
    assert count == 0


def test_overlong_state_is_refused_without_echo(client: Any, authz_client: Any) -> None:
    query = redirect_query(get_authorize(client, **code_params(authz_client, state="s" * 1025)))
    assert query["error"] == "invalid_request" and "state" not in query


def test_many_open_consent_pages_keep_the_session_small(client: Any, authz_login: Any, user: Any,
                                                        authz_client: Any) -> None:
    from flask_passport.oauth2.pending import MAX_OPEN

    authz_login(client, user)
    keys = []
    for i in range(MAX_OPEN + 2):
        page = get_authorize(client, **code_params(authz_client, state=f"{i}" + "s" * 1000))
        keys.append(form_fields(page.get_data(as_text=True)))
        cookie = page.headers.get("Set-Cookie", "")
        assert len(cookie) < 1000  # the pending requests are not in the cookie
    # The newest page still works; the oldest were dropped.
    assert redirect_query(client.post("/oauth/authorize", data=keys[-1] | {"approve": "1"}))[
        "code"]
    assert_error_page(client.post("/oauth/authorize", data=keys[0] | {"approve": "1"}))


def test_database_fault_is_a_page_not_a_500(app: Flask, client: Any, authz_login: Any,
                                            user: Any, authz_client: Any) -> None:
    authz_login(client, user)
    fields = form_fields(get_authorize(client, **code_params(authz_client)).get_data(as_text=True))
    with app.app_context():
        state = app.extensions["passport"]
        state.models.AuthCode.__table__.drop(state.db.engine)
    resp = client.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
    assert resp.status_code == 503 and "Location" not in resp.headers
    assert "Try again later" in resp.get_data(as_text=True)


# -- consent rules: public clients, revoked approvals, single-use pending approvals ---------

LOOPBACK = "http://127.0.0.1/callback"
VERIFIER = "v" * 43


def _pkce_params(created: Any, redirect: str, **extra: Any) -> dict[str, Any]:
    from flask_passport.oauth2.pkce import s256

    return code_params(created, redirect_uri=redirect, code_challenge=s256(VERIFIER),
                       code_challenge_method="S256", **extra)


def _approve(client: Any, page: Any) -> Any:
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post("/oauth/authorize", data=form_fields(page.get_data(as_text=True))
                       | {"approve": "Authorize"})


def _count(app: Flask, model: str) -> int:
    import sqlalchemy as sa

    with app.app_context():
        state = app.extensions["passport"]
        return int(state.db.session.scalar(
            sa.select(sa.func.count()).select_from(getattr(state.models, model))))


def test_a_public_client_is_never_reapproved_silently(
        app: Flask, client: Any, authz_login: Any, user: Any, authz_make_client: Any) -> None:
    """RFC 8252 §8.6: a native app's earlier approval does not stand for a request from any
    loopback port: another local process could be asking."""
    native = authz_make_client("public", name="Native CLI", redirect_uris=[LOOPBACK])
    authz_login(client, user)
    first = _approve(client, get_authorize(client, **_pkce_params(
        native, "http://127.0.0.1:53123/callback")))
    code = parse_qs(urlsplit(first.headers["Location"]).query)["code"][0]
    token = client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": native.client.id,
        "redirect_uri": "http://127.0.0.1:53123/callback", "code_verifier": VERIFIER})
    assert token.status_code == 200
    # The user holds a live token covering the scopes; a request from another port still gets
    # the consent page, which names the port the code would go to.
    again = get_authorize(client, **_pkce_params(native, "http://127.0.0.1:60999/callback"))
    assert again.status_code == 200
    assert "You will be redirected to <strong>127.0.0.1:60999</strong>" in again.get_data(
        as_text=True)
    assert _count(app, "AuthCode") == 1


def test_an_earlier_approval_stands_only_for_the_registered_redirect_uri(
        app: Flask, client: Any, authz_login: Any, user: Any, authz_make_client: Any) -> None:
    """A confidential client's earlier approval skips consent for its registered redirect URI,
    not for another loopback port (RFC 8252 §7.3's exception proves nothing about who listens
    there: another local process could)."""
    web = authz_make_client("authorization_code", name="Local web app",
                            redirect_uris=["http://127.0.0.1:5000/callback"])
    authz_login(client, user)
    first = _approve(client, get_authorize(client, **_pkce_params(
        web, "http://127.0.0.1:5000/callback")))
    code = parse_qs(urlsplit(first.headers["Location"]).query)["code"][0]
    token = client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": web.client.id,
        "client_secret": web.secret, "redirect_uri": "http://127.0.0.1:5000/callback",
        "code_verifier": VERIFIER})
    assert token.status_code == 200
    same = get_authorize(client, **_pkce_params(web, "http://127.0.0.1:5000/callback"))
    assert same.status_code == 302 and "code=" in same.headers["Location"]
    other_port = get_authorize(client, **_pkce_params(web, "http://127.0.0.1:9999/callback"))
    assert other_port.status_code == 200
    assert "You will be redirected to <strong>127.0.0.1:9999</strong>" in other_port.get_data(
        as_text=True)
    assert _count(app, "AuthCode") == 2


def test_a_first_party_public_client_still_skips_consent(
        app: Flask, client: Any, authz_login: Any, user: Any, authz_make_client: Any) -> None:
    native = authz_make_client("public", name="Own app", redirect_uris=[LOOPBACK],
                               first_party=True)
    authz_login(client, user)
    resp = get_authorize(client, **_pkce_params(native, "http://127.0.0.1:4000/callback"))
    assert resp.status_code == 302 and "code=" in resp.headers["Location"]


def test_the_consent_page_names_the_redirect_host(client: Any, authz_login: Any, user: Any,
                                                  authz_client: Any) -> None:
    authz_login(client, user)
    page = get_authorize(client, **code_params(authz_client)).get_data(as_text=True)
    assert "You will be redirected to <strong>app.example.com</strong>" in page


def test_a_revoked_token_does_not_let_consent_be_skipped(
        app: Flask, client: Any, authz_login: Any, user: Any, authz_client: Any) -> None:
    authz_login(client, user)
    code = redirect_query(_approve(client, get_authorize(client, **code_params(authz_client))))[
        "code"]
    token = client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": authz_client.client.id, "client_secret": authz_client.secret}).json
    # While the token is live, consent is skipped (a confidential client) ...
    assert redirect_query(get_authorize(client, **code_params(authz_client)))["code"]
    assert client.post("/oauth/revoke", data={
        "token": token["access_token"], "client_id": authz_client.client.id,
        "client_secret": authz_client.secret}).status_code == 200
    # ... once revoked, it no longer stands for an approval.
    assert get_authorize(client, **code_params(authz_client)).status_code == 200


def test_replaying_an_approval_yields_one_code(app: Flask, client: Any, authz_login: Any,
                                               user: Any, authz_client: Any) -> None:
    """The same form with the same (pre-approval) session cookie, posted four times."""
    authz_login(client, user)
    page = get_authorize(client, **code_params(authz_client))
    fields = form_fields(page.get_data(as_text=True)) | {"approve": "Authorize"}
    cookie = client.get_cookie("session").value
    codes = []
    for _ in range(4):
        client.set_cookie("session", cookie)
        resp = client.post("/oauth/authorize", data=fields)
        if resp.status_code == 302:
            codes.append(redirect_query(resp)["code"])
        else:
            assert_error_page(resp)
    assert len(codes) == 1
    assert _count(app, "AuthCode") == 1
    assert _count(app, "PendingAuthorization") == 0


def test_parallel_approvals_yield_one_code(app: Flask, client: Any, authz_login: Any, user: Any,
                                           authz_client: Any) -> None:
    import threading

    authz_login(client, user)
    page = get_authorize(client, **code_params(authz_client))
    fields = form_fields(page.get_data(as_text=True)) | {"approve": "Authorize"}
    cookie = client.get_cookie("session").value
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def answer() -> None:
        other = app.test_client()
        other.set_cookie("session", cookie)
        barrier.wait()
        statuses.append(other.post("/oauth/authorize", data=fields).status_code)

    threads = [threading.Thread(target=answer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 400, 400, 400]
    assert _count(app, "AuthCode") == 1


def test_a_pending_approval_is_bound_to_its_user(app: Flask, client: Any, authz_login: Any,
                                                 user: Any, authz_client: Any) -> None:
    from conftest import User, db

    authz_login(client, user)
    fields = form_fields(get_authorize(client, **code_params(authz_client)).get_data(as_text=True))
    with app.app_context():
        other = User(email="mallory@example.com")
        other.set_password("x")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    mallory = app.test_client()
    mallory.post("/test-login", data={"user_id": str(other_id)})
    csrf = form_fields(get_authorize(mallory, **code_params(authz_client)).get_data(
        as_text=True))["csrf_token"]
    assert_error_page(mallory.post("/oauth/authorize", data=fields | {
        "csrf_token": csrf, "approve": "Authorize"}))
    # The owner's page still works.
    assert redirect_query(client.post("/oauth/authorize", data=fields | {"approve": "1"}))["code"]


def test_the_pending_approval_is_kept_server_side(app: Flask, client: Any, authz_login: Any,
                                                  user: Any, authz_client: Any) -> None:
    import sqlalchemy as sa

    authz_login(client, user)
    page = get_authorize(client, **code_params(authz_client, state="the-state"))
    key = form_fields(page.get_data(as_text=True))["auth_token"]
    with client.session_transaction() as sess:
        assert "the-state" not in str(dict(sess))
    with app.app_context():
        state = app.extensions["passport"]
        Pending = state.models.PendingAuthorization
        row = state.db.session.scalars(sa.select(Pending)).one()
        assert row.request["state"] == "the-state" and row.user_id == str(user.id)
        assert key not in (row.id, row.secret_hash) and row.secret_hash not in key
