"""The consent page's "Not you? Sign out": a CSRF-checked POST that signs the user out and
starts the same authorization request again (passport.switch_account)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from conftest import User, db
from flask import Flask
from management_helpers import make_user
from test_authorize import code_params, form_fields, get_authorize, redirect_query

from flask_passport import signals
from flask_passport.oauth2.authorization import AuthorizationRequest, validate_request

SWITCH = "/oauth/authorize/switch-account"


def other_user(app: Flask) -> User:
    return make_user(app, "jordan@example.com")


def consent_page(client: Any, created: Any, **extra: Any) -> str:
    resp = get_authorize(client, **code_params(created, **extra))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return str(resp.get_data(as_text=True))


def signed_in(client: Any) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def test_the_button_is_part_of_the_one_consent_form(client: Any, authz_login: Any, user: Any,
                                                    authz_client: Any) -> None:
    authz_login(client, user)
    html = consent_page(client, authz_client)
    assert html.count("<form") == 1
    form = html[html.index("<form"):html.index("</form>")]
    assert f'formaction="{SWITCH}"' in form and "Not you?" in form
    # After approve and deny, so Enter and the first Tabs reach those.
    assert form.index('name="deny"') < form.index('name="switch_account"')


def test_sign_out_and_back_to_the_same_request_as_another_user(
        app: Flask, client: Any, authz_login: Any, user: Any, authz_public_client: Any) -> None:
    ended: list[dict[str, Any]] = []
    pkce = {"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256", "nonce": "n-0S6"}
    authz_login(client, user)
    fields = form_fields(consent_page(client, authz_public_client, **pkce))
    with signals.session_ended.connected_to(lambda sender, **kw: ended.append(kw)):
        resp = client.post(SWITCH, data=fields | {"switch_account": "1"})
    assert resp.status_code == 302
    assert resp.headers["Cache-Control"] == "no-store"
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/oauth/authorize"
    assert dict(parse_qsl(location.query)) == code_params(authz_public_client, **pkce)
    assert not signed_in(client)
    assert ended == [{"user_id": str(user.id), "client": None}]
    # Signed out, the request sends the browser to the login view and back to it.
    login = client.get(resp.headers["Location"])
    assert login.status_code == 302 and "/test-login?next=" in login.headers["Location"]
    jordan = other_user(app)
    authz_login(client, jordan)
    again = client.get(resp.headers["Location"])
    assert again.status_code == 200 and "jordan@example.com" in again.get_data(as_text=True)
    code = redirect_query(client.post("/oauth/authorize", data=form_fields(
        again.get_data(as_text=True)) | {"approve": "Authorize"}))["code"]
    with app.app_context():
        state = app.extensions["passport"]
        row = state.db.session.get(state.models.AuthCode, code.split(".")[0])
        assert row is not None and str(row.user_id) == str(jordan.id)


def test_the_old_consent_key_is_spent(client: Any, authz_login: Any, user: Any,
                                      authz_client: Any) -> None:
    authz_login(client, user)
    fields = form_fields(consent_page(client, authz_client))
    assert client.post(SWITCH, data=fields).status_code == 302
    authz_login(client, user)
    resp = client.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
    assert resp.status_code == 400 and "Location" not in resp.headers


def test_without_the_csrf_token_nobody_is_signed_out(client: Any, authz_login: Any, user: Any,
                                                    authz_client: Any) -> None:
    authz_login(client, user)
    fields = form_fields(consent_page(client, authz_client))
    for data in ({"auth_token": fields["auth_token"]},
                 {"auth_token": fields["auth_token"], "csrf_token": "forged-" + "x" * 40}):
        resp = client.post(SWITCH, data=data)
        assert resp.status_code == 400 and "Location" not in resp.headers
        assert signed_in(client)
    # A link (GET) cannot sign anyone out either.
    assert client.get(SWITCH + "?" + "&".join(f"{k}={v}" for k, v in fields.items())
                      ).status_code == 405
    assert signed_in(client)


def test_another_users_or_an_unknown_key_signs_nobody_out(
        app: Flask, client: Any, authz_login: Any, user: Any, authz_client: Any) -> None:
    authz_login(client, user)
    fields = form_fields(consent_page(client, authz_client))
    assert client.post(SWITCH, data=fields | {"auth_token": "made-up"}).status_code == 400
    assert signed_in(client)
    # A consent key issued to taylor, posted while jordan is signed in in this session.
    authz_login(client, other_user(app))
    resp = client.post(SWITCH, data=fields)
    assert resp.status_code == 400 and "Location" not in resp.headers
    assert signed_in(client)


def test_no_button_without_a_login_view(app: Flask, client: Any, user: Any,
                                        authz_client: Any) -> None:
    from flask_login import login_user

    @app.post("/sso-login")
    def sso_login() -> str:  # an app signing users in without a login_view
        login_user(db.session.get(User, user.id))
        return "ok"

    client.post("/sso-login")
    html = consent_page(client, authz_client)
    assert 'name="approve"' in html and "switch_account" not in html


def test_to_query_makes_the_same_request_again(app: Flask, authz_client: Any) -> None:
    with app.app_context():
        ctx = app.extensions["passport"].context()
        for extra in ({}, {"prompt": "login consent", "max_age": "60", "nonce": "abc",
                           "scope": "check-status place-orders", "state": None},
                      {"redirect_uri": None}):
            params = code_params(authz_client, **extra)
            first, _ = validate_request(ctx, params.items())
            query = first.to_query()
            again, _ = validate_request(ctx, query)
            assert again == first
            assert ("redirect_uri" in dict(query)) == ("redirect_uri" in params)
            # What the consent page keeps server-side gives the same query.
            assert AuthorizationRequest.from_dict(first.to_dict()).to_query() == query
