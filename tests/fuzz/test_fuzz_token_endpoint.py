"""Fuzz: ``POST /oauth/token`` with arbitrary, oversized, duplicated, wrongly encoded and unicode
parameters and headers, mixed with real clients, secrets, codes and refresh tokens.

The oracle: never a 5xx; a 200 only when the presented credentials are a real client's (with its
secret when it is confidential), the client may use the grant, and the code, refresh token or
password belongs to that client and user; the token issued names exactly that client.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from fuzz_support import (
    AUTHZ_REDIRECTS,
    FuzzWorld,
    b64url,
    fuzz_settings,
    fuzz_world,
    unverified_claims,
)
from hypothesis import given
from hypothesis import strategies as st

from flask_passport.oauth2.authorization import AuthorizationRequest, issue_code

__all__ = ["fuzz_world"]

any_text = st.text(max_size=40)
junk_value = st.one_of(
    any_text,
    st.builds(lambda n, c: c * n, st.integers(4090, 4100), st.sampled_from(["a", "é", "\u4e2d"])),
    st.sampled_from(["", " ", "\x00", "%00", "null", "[]", "{}", "\ud7ff", "\U0001f600" * 50]),
)
VERIFIER = "v" * 43
CHALLENGE = b64url(hashlib.sha256(VERIFIER.encode()).digest())


@dataclass
class Presented:
    """What a request presents, to judge a 200 independently of the server."""

    client_id: str | None = None
    secret: str | None = None
    code_owner: str | None = None  # client the code was issued to
    code_redirect: str | None = None
    refresh_owner: str | None = None
    password_ok: bool = False
    pairs: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


def _mint_code(world: FuzzWorld, client_id: str, redirect: str) -> str:
    with world.app.app_context():
        state = world.app.extensions["passport"]
        ctx = state.context()
        client = ctx.session.get(ctx.models.Client, client_id)
        request = AuthorizationRequest(
            client_id=client_id, redirect_uri=redirect, redirect_uri_sent=True,
            response_type="code", scopes=["check-status"], code_challenge=CHALLENGE,
            code_challenge_method="S256")
        code = issue_code(ctx, request, client, str(world.user_id))
        ctx.commit()
        return code


@st.composite
def token_requests(draw: st.DrawFn, world: FuzzWorld) -> Presented:
    p = Presented()
    pairs = p.pairs
    grant = draw(st.one_of(
        st.sampled_from(["authorization_code", "client_credentials", "password",
                         "refresh_token", "personal_access", "implicit", "introspect"]),
        junk_value))
    if draw(st.booleans()) or grant:
        pairs.append(("grant_type", grant))

    # The client and its credentials.
    chosen = draw(st.sampled_from([*world.clients, None]))
    client_id = chosen.client.id if chosen else draw(junk_value)
    secret_kind = draw(st.sampled_from(["right", "right", "wrong", "none", "junk"]))
    secret = {"right": chosen.secret if chosen else None, "wrong": "wrong-secret", "none": None,
              "junk": draw(junk_value)}[secret_kind]
    method = draw(st.sampled_from(["body", "body", "basic", "both", "none", "bad_basic"]))
    if method in ("body", "both"):
        pairs.append(("client_id", client_id))
        if secret is not None and method == "body":
            pairs.append(("client_secret", secret))
    if method in ("basic", "both"):
        raw = f"{quote(client_id, safe='')}:{quote(secret or '', safe='')}"
        p.headers["Authorization"] = "Basic " + base64.b64encode(
            raw.encode("utf-8", "surrogatepass")).decode()
    if method == "bad_basic":
        p.headers["Authorization"] = "Basic " + draw(st.one_of(
            st.sampled_from(["", "!!!", "Og==", "e30", "YTpi\u00e9"]), any_text))
    if method != "none" and method != "bad_basic":
        p.client_id, p.secret = client_id, secret
    if draw(st.integers(0, 5)) == 0:
        # A JWT client assertion (RFC 7523) none of these clients may use: junk, an unsigned
        # one, or one "signed" with the client's secret; with or without the other credentials.
        claims = {"iss": client_id, "sub": client_id, "aud": "http://localhost",
                  "exp": 4102444800, "jti": draw(any_text)}
        unsigned = (b64url(b'{"alg":"none"}') + "." + b64url(json.dumps(claims).encode()) + ".")
        pairs.append(("client_assertion_type", draw(st.one_of(st.just(
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), junk_value))))
        pairs.append(("client_assertion", draw(st.one_of(
            st.just(unsigned), junk_value, st.sampled_from(["a.b.c", "x" * 9000])))))
        p.secret = "<assertion>"  # no client here authenticates by assertion: never a 200

    # Grant parameters, real or not.
    code_for = draw(st.sampled_from(["authz", "public", "junk", "none"]))
    if code_for in ("authz", "public"):
        owner = world.authz if code_for == "authz" else world.public
        redirect = AUTHZ_REDIRECTS[0] if code_for == "authz" else world.redirects_of(
            owner.client.id)[0]
        pairs.append(("code", _mint_code(world, owner.client.id, redirect)))
        p.code_owner, p.code_redirect = owner.client.id, redirect
    elif code_for == "junk":
        pairs.append(("code", draw(junk_value)))
    if draw(st.booleans()):
        pairs.append(("redirect_uri", draw(st.one_of(st.sampled_from(
            [*AUTHZ_REDIRECTS, p.code_redirect or "", AUTHZ_REDIRECTS[0] + "/",
             "https://evil.example/cb"]), junk_value))))
    if draw(st.booleans()):
        pairs.append(("code_verifier", draw(st.one_of(st.just(VERIFIER), junk_value))))
    refresh = draw(st.sampled_from([None, "junk", *world.refresh_tokens]))
    if refresh == "junk":
        pairs.append(("refresh_token", draw(junk_value)))
    elif refresh is not None:
        pairs.append(("refresh_token", refresh))
        p.refresh_owner = world.refresh_tokens[refresh]
    if draw(st.booleans()):
        username = draw(st.sampled_from(["taylor@example.com", "TAYLOR@example.com", "nobody"]))
        password = draw(st.one_of(st.sampled_from(["secret-password", "wrong"]), junk_value))
        pairs += [("username", username), ("password", password)]
        p.password_ok = username == "taylor@example.com" and password == "secret-password"
    if draw(st.booleans()):
        pairs.append(("scope", draw(st.one_of(st.sampled_from(
            ["check-status", "place-orders check-status", "*", "admin", "check-status  x"]),
            junk_value))))
    for _ in range(draw(st.integers(0, 2))):
        pairs.append(("x_" + draw(any_text), draw(junk_value)))
    if pairs and draw(st.integers(0, 9)) == 0:
        pairs.append(draw(st.sampled_from(pairs)))  # a duplicated parameter
    return p


@st.composite
def coherent_requests(draw: st.DrawFn, world: FuzzWorld) -> Presented:
    """A well-formed request of one grant, possibly with the wrong client's code, refresh token
    or secret, and at most one mutation: the fuzz reaches the grants, not only the parser."""
    p = Presented()
    grant = draw(st.sampled_from(["client_credentials", "password", "authorization_code",
                                  "refresh_token"]))
    client = draw(st.sampled_from(world.clients))
    if draw(st.booleans()):  # usually a client of the right kind
        client = draw(st.sampled_from({
            "client_credentials": [world.machine, world.machine2],
            "password": [world.password, world.password2],
            "authorization_code": [world.authz, world.public],
            "refresh_token": [world.password, world.password2],
        }[grant]))
    p.client_id, p.secret = client.client.id, client.secret
    p.pairs.append(("grant_type", grant))
    if draw(st.booleans()):
        p.pairs.append(("client_id", client.client.id))
        if client.secret is not None:
            p.pairs.append(("client_secret", client.secret))
    else:
        raw = f"{client.client.id}:{client.secret or ''}"
        p.headers["Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode()
    if grant == "password":
        p.pairs += [("username", "taylor@example.com"), ("password", "secret-password")]
        p.password_ok = True
    elif grant == "authorization_code":
        owner = draw(st.sampled_from([world.authz, world.public]))
        redirect = world.redirects_of(owner.client.id)[0]
        p.pairs += [("code", _mint_code(world, owner.client.id, redirect)),
                    ("redirect_uri", redirect), ("code_verifier", VERIFIER)]
        p.code_owner, p.code_redirect = owner.client.id, redirect
    elif grant == "refresh_token":
        # An index, not sampled_from: the list grows as refresh tokens rotate.
        known = list(world.refresh_tokens)
        refresh = known[draw(st.integers(0, 1 << 16)) % len(known)]
        p.pairs.append(("refresh_token", refresh))
        p.refresh_owner = world.refresh_tokens[refresh]
    mutation = draw(st.sampled_from(["none"] * 6 + ["drop", "dup", "junk", "scope", "scope"]))
    if mutation == "drop" and p.pairs:
        p.pairs.pop(draw(st.integers(0, len(p.pairs) - 1)))
    elif mutation == "dup" and p.pairs:
        p.pairs.append(draw(st.sampled_from(p.pairs)))
    elif mutation == "junk" and p.pairs:
        index = draw(st.integers(0, len(p.pairs) - 1))
        p.pairs[index] = (p.pairs[index][0], draw(junk_value))
    elif mutation == "scope":
        p.pairs.append(("scope", draw(st.one_of(st.sampled_from(
            ["check-status", "place-orders check-status", "*", "admin"]), junk_value))))
    body = dict(p.pairs)
    if body.get("client_id", p.client_id) != p.client_id or (
            "client_secret" in body and body["client_secret"] != p.secret):
        p.secret = "<mutated>"  # the credentials were mutated: no longer the client's own
    if body.get("username") != "taylor@example.com" or body.get("password") != "secret-password":
        p.password_ok = False
    if body.get("code") is None or "code" not in dict(p.pairs):
        p.code_owner = None
    if body.get("refresh_token") not in world.refresh_tokens:
        p.refresh_owner = None
    return p


def _encode(draw_mode: str, pairs: list[tuple[str, str]], junk: bytes) -> tuple[bytes, str]:
    body = urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in pairs]).encode()
    if draw_mode == "form":
        return body, "application/x-www-form-urlencoded"
    if draw_mode == "junk_tail":  # raw bytes and broken percent-escapes after the real pairs
        return body + b"&x_" + junk, "application/x-www-form-urlencoded"
    if draw_mode == "charset":
        return body, "application/x-www-form-urlencoded; charset=latin-1"
    if draw_mode == "json":
        return b'{"grant_type": "client_credentials"}', "application/json"
    if draw_mode == "multipart":
        return body, "multipart/form-data; boundary=xyz"
    return junk, "application/x-www-form-urlencoded"  # raw junk only


def _allowed(world: FuzzWorld, p: Presented, grant: str | None) -> None:
    """A 200 was answered: everything presented must really belong together."""
    real = {c.client.id: c for c in world.clients}
    assert p.client_id in real, f"token for unknown client {p.client_id!r}"
    client = real[p.client_id]
    assert p.secret == client.secret, "token without the client's own secret"
    assert grant in client.client.grant_types, (grant, client.client.grant_types)
    if grant == "authorization_code":
        assert p.code_owner == p.client_id, "a code redeemed by another client"
    if grant == "refresh_token":
        assert p.refresh_owner == p.client_id, "a refresh token redeemed by another client"
    if grant == "password":
        assert p.password_ok


def test_token_endpoint_fuzz(fuzz_world: FuzzWorld) -> None:
    world = fuzz_world

    @fuzz_settings(120)
    @given(p=st.one_of(coherent_requests(world), coherent_requests(world), token_requests(world)),
           mode=st.sampled_from(["form"] * 8 + ["junk_tail", "junk_tail", "charset", "json",
                                             "multipart", "raw"]),
           junk=st.one_of(st.binary(max_size=64), st.sampled_from(
               [b"%", b"%zz", b"%FF%FE=%C3%28", b"a=%ED%A0%80", b"&&==&", b"\xff\xfe=\x00"])),
           method=st.sampled_from(["POST"] * 15 + ["GET", "PUT"]))
    def run(p: Presented, mode: str, junk: bytes, method: str) -> None:
        body, content_type = _encode(mode, p.pairs, junk)
        response = world.send(method, "/oauth/token", data=body,
                              headers={**p.headers, "Content-Type": content_type})
        assert response.status_code in (200, 400, 401, 405, 413), response.status_code
        payload = response.get_json()
        assert isinstance(payload, dict)
        assert response.headers.get("Cache-Control") == "no-store"
        if response.status_code != 200:
            assert set(payload) >= {"error", "error_description"}
            return
        assert method == "POST" and mode in ("form", "junk_tail", "charset")
        grant = dict(p.pairs).get("grant_type")
        _allowed(world, p, grant)
        claims = unverified_claims(payload["access_token"])
        assert claims["client_id"] == p.client_id, "a token that names another client"
        if "refresh_token" in payload:
            world.refresh_tokens[payload["refresh_token"]] = p.client_id

    run()
    figures: dict[str, Any] = dict(world.figures.statuses)
    assert figures.get(200, 0) > 0, "the fuzz never reached a successful grant"
