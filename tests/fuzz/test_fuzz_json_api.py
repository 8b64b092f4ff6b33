"""Fuzz: the session JSON APIs (clients, scopes, personal access tokens, authorized tokens,
cookie refresh) with arbitrary JSON, raw and wrongly encoded bodies, odd ids and CSRF headers.

The oracle: never a 5xx; state changes only with the session's CSRF token; another user's client
is never changed, revoked or given a new secret; every client created has only valid redirect
URIs (absolute, no fragment, no userinfo).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

from fuzz_support import FuzzWorld, fuzz_settings, fuzz_world
from hypothesis import given
from hypothesis import strategies as st

from flask_passport.storage.clients import create_client

__all__ = ["fuzz_world"]

any_text = st.text(max_size=30)
# Lone surrogates and control characters: valid JSON escapes, not storable text.
odd_text = st.one_of(
    st.text(st.characters(categories=["Cs", "Cc"]), min_size=1, max_size=3),
    st.builds(lambda a, b: a + b, any_text, st.sampled_from(["\ud800", "\x00", "\udfff\x7f"])),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)
uri_values = st.one_of(
    st.sampled_from(["https://ok.example/cb", "https://ok.example/cb#frag",
                     "https://user@ok.example/cb", "javascript:alert(1)", "/relative",
                     "https://a.example/cb,https://b.example/cb", "http://127.0.0.1:1/cb",
                     "x" * 2100, "https://\u00e9.example/\u4e2d", "\x00", ""]),
    any_text,
    odd_text,
)
field_values: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(odd_text, any_text, st.sampled_from(["App", " ", "n" * 300]), json_values),
    "redirect": st.one_of(uri_values, json_values),
    "redirect_uris": st.one_of(st.lists(uri_values, max_size=25), uri_values, json_values),
    "confidential": st.one_of(st.booleans(), json_values),
    "scopes": st.one_of(st.lists(st.sampled_from(["check-status", "place-orders", "*", "x"]),
                                 max_size=3), json_values),
}


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["nearly_valid"] * 6 + ["object"] * 4 + [
        "any_json", "surrogate", "raw", "huge", "form", "empty"]))
    if kind == "object":
        keys = draw(st.lists(st.sampled_from(sorted(field_values)), unique=True, max_size=4))
        data = {k: draw(field_values[k]) for k in keys}
        data.update(draw(st.dictionaries(any_text, json_values, max_size=2)))
        return json.dumps(data).encode(), "application/json"
    if kind == "nearly_valid":  # a valid body with one field fuzzed: reaches the writes
        data = {"name": "App", "redirect_uris": ["https://ok.example/cb"],
                "scopes": ["check-status"]}
        key = draw(st.sampled_from(sorted(field_values)))
        data[key] = draw(field_values[key])
        return json.dumps(data).encode(), "application/json"
    if kind == "any_json":
        return json.dumps(draw(json_values)).encode(), "application/json"
    if kind == "surrogate":  # lone surrogates are valid JSON escapes but not valid text
        return (b'{"name": "\\ud800x", "redirect_uris": ["https://ok.example/\\udfff"], '
                b'"scopes": ["\\ud83d"]}'), "application/json"
    if kind == "raw":
        return draw(st.binary(max_size=80)), draw(st.sampled_from(
            ["application/json", "application/json; charset=latin-1", "text/plain"]))
    if kind == "huge":
        return b'{"name": "' + b"a" * 70_000 + b'"}', "application/json"
    if kind == "form":
        return b"name=App&redirect=https%3A%2F%2Fok.example%2Fcb", \
            "application/x-www-form-urlencoded"
    return b"", "application/json"


def test_json_api_fuzz(fuzz_world: FuzzWorld) -> None:
    world = fuzz_world
    app = world.app
    state = app.extensions["passport"]
    with app.app_context():
        ctx = state.context()
        theirs = create_client(ctx.session, ctx.models, name="Their app",
                               redirect_uris=["https://theirs.example/cb"],
                               user_id=str(world.other_user_id))
        mine = create_client(ctx.session, ctx.models, name="My app",
                             redirect_uris=["https://mine.example/cb"],
                             user_id=str(world.user_id))
        ctx.commit()
        theirs_id, theirs_secret, mine_id = theirs.client.id, theirs.secret, mine.client.id
    world.login(world.user_id)
    csrf = world.csrf_token()
    ids = st.one_of(st.sampled_from([mine_id, mine_id, theirs_id, world.authz.client.id]),
                    any_text,
                    st.sampled_from(["..", "%00", "x" * 300, "\u00e9", "1 OR 1=1"]))
    writes = [("POST", "/oauth/clients"), ("PUT", "/oauth/clients/{id}"),
              ("POST", "/oauth/personal-access-tokens")]
    others = [
        ("GET", "/oauth/clients"), ("POST", "/oauth/clients/{id}/secret"),
        ("DELETE", "/oauth/clients/{id}"), ("GET", "/oauth/scopes"),
        ("GET", "/oauth/personal-access-tokens"), ("DELETE", "/oauth/personal-access-tokens/{id}"),
        ("GET", "/oauth/tokens"), ("DELETE", "/oauth/tokens/{id}"),
        ("POST", "/oauth/token/refresh"), ("PATCH", "/oauth/clients/{id}"),
    ]
    # Half the requests write a body: those reach validation and the database.
    routes = st.one_of(st.sampled_from(writes), st.sampled_from(others))

    @fuzz_settings(120)
    @given(route=routes, target=ids, body=bodies(),
           csrf_kind=st.sampled_from(["valid"] * 4 + ["missing", "junk", "xsrf"]),
           junk=any_text, logged_in=st.sampled_from([True] * 5 + [False]))
    def run(route: tuple[str, str], target: str, body: tuple[bytes, str], csrf_kind: str,
            junk: str, logged_in: bool) -> None:
        world.login(world.user_id if logged_in else None)
        if logged_in:
            with world.http.session_transaction() as sess:
                sess["_passport_csrf"] = csrf
        method, template = route
        path = template.replace("{id}", quote(target, safe=""))
        headers = {"Content-Type": body[1]}
        if csrf_kind == "valid":
            headers["X-CSRF-Token"] = csrf
        elif csrf_kind == "xsrf":
            headers["X-XSRF-Token"] = csrf
        elif csrf_kind == "junk":
            headers["X-CSRF-Token"] = junk.encode("utf-8").decode("latin-1").replace(
                "\n", "").replace("\r", "")
        response = world.send(method, path, data=body[0], headers=headers)
        status = response.status_code
        assert status in (200, 201, 204, 401, 403, 404, 405, 413, 422), status
        # The body cap (64 KiB) answers before anything else reads the request, signed in or not.
        assert (status == 413) == (len(body[0]) > 64 * 1024), status
        if not logged_in:
            assert status in (401, 404, 405, 413), status
        if status in (200, 201, 204) and method != "GET":
            assert csrf_kind in ("valid", "xsrf"), "a state change without the CSRF token"
            assert target != theirs_id or "{id}" not in template, "changed another user's client"
        if status == 201 and template == "/oauth/clients":
            for uri in response.get_json()["redirect_uris"]:
                parts = urlsplit(uri)
                assert parts.scheme and "#" not in uri and "@" not in parts.netloc, uri
        # Keep "mine" alive so later examples still reach its routes.
        if status == 204 and target == mine_id and template == "/oauth/clients/{id}":
            with app.app_context():
                row = state.db.session.get(state.models.Client, mine_id)
                row.revoked = False
                state.db.session.commit()

    run()
    with app.app_context():
        row = state.db.session.get(state.models.Client, theirs_id)
        assert row.name == "Their app" and not row.revoked
        assert row.redirect_uris == ["https://theirs.example/cb"]
        assert row.check_secret(theirs_secret)
    statuses: dict[int, int] = dict(world.figures.statuses)
    assert any(statuses.get(s) for s in (200, 201)), statuses


def test_names_that_are_not_text_are_422(fuzz_world: FuzzWorld) -> None:
    """A deterministic companion of the fuzz: JSON can carry lone surrogates and NUL (valid
    escapes), which no database column can store; they are a 422, not an encoding error."""
    world = fuzz_world
    world.login(world.user_id)
    headers = {"Content-Type": "application/json", "X-CSRF-Token": world.csrf_token()}
    created = world.send("POST", "/oauth/clients", headers=headers, data=json.dumps(
        {"name": "App", "redirect_uris": ["https://ok.example/cb"]}))
    assert created.status_code == 201
    client_id = created.get_json()["id"]
    for name in ("\ud800", "App\udfff", "A\x00pp", "\x07"):
        for method, path, extra in (
            ("POST", "/oauth/clients", {"redirect_uris": ["https://ok.example/cb"]}),
            ("PUT", f"/oauth/clients/{client_id}", {"redirect_uris": ["https://ok.example/cb"]}),
            ("POST", "/oauth/personal-access-tokens", {"scopes": ["check-status"]}),
        ):
            response = world.send(method, path, headers=headers,
                                  data=json.dumps({"name": name, **extra}))
            assert response.status_code == 422, (name, path, response.status_code)
            assert "name" in response.get_json()["errors"]
    for uri in ("https://ok.example/\udfff", "https://ok.example/\x00"):
        response = world.send("POST", "/oauth/clients", headers=headers,
                              data=json.dumps({"name": "App", "redirect_uris": [uri]}))
        assert response.status_code == 422, (uri, response.status_code)
