"""Fuzz: dynamic client registration (RFC 7591) and its management (RFC 7592) with arbitrary
JSON, raw and wrongly encoded bodies and odd tokens, in the open mode.

The oracle: never a 5xx; a refused registration stores nothing; every registered client is
public, never first party, with only the code and refresh grants and redirect URIs that are
https or http to a loopback host, without fragment or userinfo.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from conftest import db
from fuzz_support import FuzzWorld, fuzz_settings, fuzz_world
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz_json_api import any_text, json_values, odd_text

__all__ = ["fuzz_world"]

uris = st.one_of(
    st.sampled_from(["https://ok.example/cb", "https://ok.example/cb#frag",
                     "https://user@ok.example/cb", "javascript:alert(1)", "data:text/html,x",
                     "/relative", "http://127.0.0.1:1/cb", "http://localhost/cb",
                     "http://[::1]:8080/cb", "http://evil.example/cb", "com.example.app:/cb",
                     "HTTP://127.0.0.1/cb", "https://\u00e9.example/\u4e2d", "x" * 2100, ""]),
    any_text, odd_text,
)
fields: dict[str, st.SearchStrategy[Any]] = {
    "client_name": st.one_of(any_text, odd_text, json_values),
    "redirect_uris": st.one_of(st.lists(uris, max_size=22), uris, json_values),
    "grant_types": st.one_of(st.lists(st.sampled_from(
        ["authorization_code", "refresh_token", "client_credentials", "password", "implicit",
         "urn:ietf:params:oauth:grant-type:device_code", ""]), max_size=4), json_values),
    "response_types": st.one_of(st.lists(st.sampled_from(["code", "token", "id_token"]),
                                         max_size=3), json_values),
    "token_endpoint_auth_method": st.one_of(st.sampled_from(
        ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]), json_values),
    "application_type": st.one_of(st.sampled_from(["web", "native", "x"]), json_values),
    "scope": st.one_of(st.sampled_from(["check-status", "check-status place-orders", "*",
                                        "nope", ""]), odd_text, json_values),
    "client_uri": uris,
    "contacts": st.one_of(st.lists(st.one_of(any_text, odd_text), max_size=12), json_values),
    "client_secret": st.one_of(any_text, odd_text),
    "client_id": st.one_of(any_text, odd_text),
}


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["object"] * 8 + ["any_json", "raw", "deep"]))
    if kind == "object":
        keys = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=6))
        data = {k: draw(fields[k]) for k in keys}
        if draw(st.booleans()):
            data.setdefault("redirect_uris", ["http://127.0.0.1:9/cb"])
        return json.dumps(data).encode()
    if kind == "any_json":
        return json.dumps(draw(json_values)).encode()
    if kind == "deep":
        return b"[" * draw(st.integers(900, 5000)) + b"]"
    return draw(st.binary(max_size=200))


def _registered(world: FuzzWorld) -> list[Any]:
    with world.app.app_context():
        Client = world.app.extensions["passport"].models.Client
        rows = list(db.session.scalars(sa.select(Client).where(Client.registered.is_(True))))
        db.session.expunge_all()
        return rows


def _check_client(client: Any) -> None:
    assert not client.confidential and not client.first_party
    assert set(client.grant_types) <= {"authorization_code", "refresh_token"}
    for uri in client.redirect_uris:
        parts = urlsplit(uri)
        assert parts.scheme in ("http", "https") and not parts.fragment and "#" not in uri
        assert "@" not in parts.netloc
        assert parts.scheme == "https" or parts.hostname in ("127.0.0.1", "::1", "localhost")


@fuzz_settings(300)
@given(body=bodies(), content_type=st.sampled_from(["application/json"] * 4 + [
    "text/plain", "application/x-www-form-urlencoded"]))
def test_registration_never_fails_and_stores_only_what_is_valid(
        fuzz_world: FuzzWorld, body: bytes, content_type: str) -> None:
    world = fuzz_world
    passport = world.app.extensions["passport"].passport
    passport._set("PASSPORT_REGISTRATION", "open")
    before = len(_registered(world))
    resp = world.send("POST", "/oauth/register", data=body,
                      headers={"Content-Type": content_type})
    assert resp.status_code in (201, 400, 413), resp.status_code
    rows = _registered(world)
    if resp.status_code != 201:
        assert resp.json["error"] in ("invalid_client_metadata", "invalid_redirect_uri",
                                      "invalid_request")
        assert len(rows) == before
        return
    assert len(rows) == before + 1
    for row in rows:
        _check_client(row)


@fuzz_settings(200)
@given(body=bodies(), method=st.sampled_from(["GET", "PUT", "DELETE"]),
       token=st.one_of(st.just("valid"),
                       st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                               max_size=60)),
       same_id=st.booleans())
def test_management_never_fails(fuzz_world: FuzzWorld, body: bytes, method: str, token: str,
                                same_id: bool) -> None:
    world = fuzz_world
    world.app.extensions["passport"].passport._set("PASSPORT_REGISTRATION", "open")
    info = world.send("POST", "/oauth/register", data=json.dumps(
        {"redirect_uris": ["http://127.0.0.1:9/cb"]}), headers={"Content-Type":
                                                                "application/json"}).json
    if same_id and body.startswith(b"{"):
        data = json.loads(body)
        data["client_id"] = info["client_id"]
        body = json.dumps(data).encode()
    bearer = info["registration_access_token"] if token == "valid" else token
    resp = world.send(method, "/oauth/register/" + info["client_id"], data=body,
                      headers={"Content-Type": "application/json",
                               "Authorization": f"Bearer {bearer}"})
    if token != "valid":
        assert resp.status_code == 401
    else:
        assert resp.status_code in (200, 204, 400, 413), resp.status_code
    for row in _registered(world):
        if not row.revoked:
            _check_client(row)
