"""Fuzz: ``GET /oauth/authorize`` and the consent decision (``POST``/``DELETE``) with arbitrary,
duplicated, oversized and wrongly encoded parameters, signed in and signed out.

The oracle (RFC 6749 §3.1.2.4, §4.1.2.1; RFC 9700 §4.1.1): never a 5xx; every redirect goes
either to the login page or to the ``redirect_uri`` the request sent (or the client's only
one), and only when that URI is registered for the client named by ``client_id`` (exactly, or
with another port on a loopback ``http`` URI, RFC 8252 §7.3). A code or implicit token in a
redirect is for that client.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import sqlalchemy as sa
from fuzz_support import (
    AUTHZ_REDIRECTS,
    LOGIN_PATH,
    FuzzWorld,
    b64url,
    fuzz_settings,
    fuzz_world,
    unverified_claims,
)
from hypothesis import given
from hypothesis import strategies as st

__all__ = ["fuzz_world"]

any_text = st.text(max_size=30)
junk = st.one_of(
    any_text,
    st.builds(lambda n, c: c * n, st.integers(1000, 4200), st.sampled_from(["s", "é", "\u4e2d"])),
    st.sampled_from(["", " ", "\x00", "%00", "%", "javascript:alert(1)", "//evil.example"]),
)
CHALLENGE = b64url(hashlib.sha256(b"v" * 43).digest())


def _mutations(uri: str) -> list[str]:
    """Near misses of a registered URI (RFC 9700 §4.1.3: exact matching): each must be refused."""
    parts = urlsplit(uri)
    return [
        uri + "/", uri + "x", uri + "?x=1", uri + "#frag", uri + "%2F..%2Fevil", uri.upper(),
        uri.replace("https://", "http://"), uri.replace("://", "://user@evil.example@"),
        uri.replace(parts.netloc, parts.netloc + ".evil.example") if parts.netloc else uri + ".",
        uri.replace(parts.netloc, parts.netloc + ":444") if parts.netloc else uri + ":1",
        " " + uri, uri + " ", uri + "\x00", uri.replace("/", "\\"),
    ]


@dataclass
class AuthzRequest:
    pairs: list[tuple[str, str]] = field(default_factory=list)
    tail: bytes = b""
    logged_in: bool = True


@st.composite
def authorize_requests(draw: st.DrawFn, world: FuzzWorld) -> AuthzRequest:
    r = AuthzRequest(logged_in=draw(st.sampled_from([True, True, True, False])))
    clients = [world.authz, world.public, world.password, world.machine]
    client = draw(st.sampled_from([*clients, None]))
    client_id = client.client.id if client else draw(junk)
    registered = world.redirects_of(client_id) or AUTHZ_REDIRECTS
    if draw(st.integers(0, 7)):
        r.pairs.append(("client_id", client_id))
    uri_kind = draw(st.sampled_from(["registered"] * 3 + ["other_client", "mutation", "loopback",
                                                          "junk", "absent"]))
    if uri_kind == "registered":
        r.pairs.append(("redirect_uri", draw(st.sampled_from(registered))))
    elif uri_kind == "other_client":
        r.pairs.append(("redirect_uri", draw(st.sampled_from(
            AUTHZ_REDIRECTS + world.redirects_of(world.public.client.id)))))
    elif uri_kind == "mutation":
        r.pairs.append(("redirect_uri", draw(st.sampled_from(
            _mutations(draw(st.sampled_from(registered)))))))
    elif uri_kind == "loopback":
        r.pairs.append(("redirect_uri", draw(st.sampled_from([
            "http://127.0.0.1:9999/native", "http://127.0.0.1/native", "http://[::1]:8123/native",
            "http://localhost:8123/native", "http://127.0.0.1:08123/native",
            "http://127.0.0.1:99999/native", "http://127.0.0.1:\uff18\uff11\uff12\uff13/native",
            "http://127.0.0.1:8123/native/../x"]))))
    elif uri_kind == "junk":
        r.pairs.append(("redirect_uri", draw(junk)))
    r.pairs.append(("response_type", draw(st.sampled_from(
        ["code"] * 4 + ["token", "token", "id_token", "code token", "", "CODE"]))))
    for name, values in (
        ("scope", ["check-status", "check-status place-orders", "*", "admin", "openid"]),
        ("state", ["xyz", "a" * 2000, "é&x=1#", "\x00"]),
        ("code_challenge", [CHALLENGE, "short", CHALLENGE + "=", "é" * 43]),
        ("code_challenge_method", ["S256", "plain", "s256", "none"]),
        ("prompt", ["none", "login", "consent", "none login", "select_account", "bogus"]),
        ("nonce", ["n-1", "\u4e2d" * 10]),
    ):
        if draw(st.booleans()):
            r.pairs.append((name, draw(st.one_of(st.sampled_from(values), junk))))
    if r.pairs and not draw(st.integers(0, 9)):
        r.pairs.append(draw(st.sampled_from(r.pairs)))  # a duplicated parameter
    if not draw(st.integers(0, 5)):
        r.tail = draw(st.sampled_from([b"%", b"%zz", b"%FF%FE", b"client_id=%ED%A0%80",
                                       b"redirect_uri=%C3%28", b"&&=&"]))
    return r


@st.composite
def coherent_requests(draw: st.DrawFn, world: FuzzWorld) -> AuthzRequest:
    """A valid request of a code client, then at most one parameter replaced, dropped or
    duplicated: the fuzz reaches the consent page, approvals and the redirect errors."""
    r = AuthzRequest(logged_in=draw(st.sampled_from([True, True, True, False])))
    client = draw(st.sampled_from([world.authz, world.public]))
    r.pairs += [("client_id", client.client.id),
                ("redirect_uri", draw(st.sampled_from(world.redirects_of(client.client.id)))),
                ("response_type", draw(st.sampled_from(["code", "code", "token"]))),
                ("scope", draw(st.sampled_from(["check-status", "check-status place-orders"]))),
                ("state", "st-1"),
                ("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]
    if draw(st.booleans()):
        r.pairs.append(("prompt", draw(st.sampled_from(["none", "login", "consent"]))))
    mutation = draw(st.sampled_from(["none"] * 3 + ["replace", "drop", "dup"]))
    index = draw(st.integers(0, len(r.pairs) - 1))
    if mutation == "replace":
        name = r.pairs[index][0]
        value = (draw(st.sampled_from(_mutations(r.pairs[index][1])))
                 if name == "redirect_uri" else draw(junk))
        r.pairs[index] = (name, value)
    elif mutation == "drop":
        r.pairs.pop(index)
    elif mutation == "dup":
        r.pairs.append(r.pairs[index])
    return r


def _query(r: AuthzRequest) -> bytes:
    parts = [f"{quote(k, safe='')}={quote(v, safe='')}".encode() for k, v in r.pairs]
    if r.tail:
        parts.append(r.tail)
    return b"&".join(parts)


def _loopback_equivalent(registered: str, presented: str) -> bool:
    pattern = re.compile(r"^http://(127\.0\.0\.1|\[::1\])(:\d{1,5})?(?=[/?#]|$)")
    a, b = pattern.match(registered), pattern.match(presented)
    return bool(a and b and a.group(1) == b.group(1)
                and pattern.sub("", registered) == pattern.sub("", presented))


def check_redirect(world: FuzzWorld, location: str, sent: list[tuple[str, str]]) -> None:
    """A redirect is to the login page, or to the sent (or only) URI registered for the client."""
    parts = urlsplit(location)
    if parts.path == LOGIN_PATH and parts.netloc in ("", "localhost"):
        next_url = parse_qs(parts.query).get("next", ["/"])[0]
        assert next_url.startswith("/oauth/authorize"), location
        return
    ids = [v for k, v in sent if k == "client_id"]
    assert len(ids) == 1, f"redirected without exactly one client_id: {location!r}"
    registered = world.redirects_of(ids[0])
    assert registered, f"redirected for a client without redirect URIs: {location!r}"
    uris = [v for k, v in sent if k == "redirect_uri"]
    assert len(uris) <= 1, location
    target = uris[0] if uris else registered[0]
    assert uris or len(registered) == 1, location
    assert any(target == uri or _loopback_equivalent(uri, target) for uri in registered), (
        f"redirect to an unregistered URI {target!r}")
    sep = "&" if "?" in target else "?"
    assert location.startswith((target + sep, target + "#")), (location, target)
    answer = parse_qs(parts.fragment or parts.query)
    if "access_token" in answer:
        claims = unverified_claims(answer["access_token"][0])
        assert claims["client_id"] == ids[0], "an implicit token for another client"
    if "code" in answer:
        AuthCode = world.app.extensions["passport"].models.AuthCode
        with world.app.app_context():
            db = world.app.extensions["passport"].db
            row = db.session.scalar(sa.select(AuthCode).where(
                AuthCode.id == answer["code"][0].split(".")[0]))
            assert row is not None and row.client_id == ids[0], "a code for another client"


def _auth_token(html: str) -> str | None:
    match = re.search(
        r'name="auth_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="auth_token"', html)
    return (match.group(1) or match.group(2)) if match else None


def test_authorize_fuzz(fuzz_world: FuzzWorld) -> None:
    world = fuzz_world
    # The public client is first-party: valid requests are approved at once (a code or token).
    with world.app.app_context():
        state = world.app.extensions["passport"]
        row = state.db.session.get(state.models.Client, world.public.client.id)
        row.first_party = True
        state.db.session.commit()

    @fuzz_settings(100)
    @given(r=st.one_of(coherent_requests(world), coherent_requests(world),
                       authorize_requests(world)),
           decision=st.sampled_from(["none", "approve", "deny", "delete", "bad_csrf",
                                     "junk_token", "no_fields"]),
           decision_junk=junk)
    def run(r: AuthzRequest, decision: str, decision_junk: str) -> None:
        world.login(world.user_id if r.logged_in else None)
        response = world.send("GET", "/oauth/authorize", query_string=_query(r).decode("latin-1"))
        assert response.status_code in (200, 302, 400, 401), response.status_code
        if response.status_code == 302:
            check_redirect(world, response.headers["Location"], r.pairs)
            return
        if response.status_code != 200 or decision == "none":
            return
        # The consent page: answer it, honestly or not.
        page_token = _auth_token(response.get_data(as_text=True))
        assert page_token, "consent page without its auth_token"
        form = {"auth_token": page_token, "csrf_token": world.csrf_token()}
        method = "POST"
        if decision == "approve":
            form["approve"] = "Authorize"
        elif decision == "deny":
            form["deny"] = "Cancel"
        elif decision == "delete":
            method = "DELETE"
        elif decision == "bad_csrf":
            form.update(csrf_token=decision_junk, approve="Authorize")
        elif decision == "junk_token":
            form.update(auth_token=decision_junk, approve="Authorize")
        else:
            form = {}
        answer = world.send(method, "/oauth/authorize", data=form)
        assert answer.status_code in (302, 400, 401), answer.status_code
        if answer.status_code == 302:
            assert decision in ("approve", "deny", "delete") or (
                decision == "bad_csrf" and decision_junk == form["csrf_token"] == world.csrf_token()
            ), decision
            check_redirect(world, answer.headers["Location"], r.pairs)

    run()
    statuses: dict[Any, int] = dict(world.figures.statuses)
    assert statuses.get(302, 0) > 0 and statuses.get(200, 0) > 0, statuses


def test_pushed_authorization_fuzz(fuzz_world: FuzzWorld) -> None:
    """RFC 9126: ``POST /oauth/par`` with the same fuzzed parameters, then its ``request_uri``
    at ``/oauth/authorize``, and junk request_uris. The oracle: never a 5xx; a push is 201
    only for a client that authenticated; a request_uri works once, and any redirect it leads
    to obeys :func:`check_redirect` for the pushed parameters (RFC 9126 §4: the query's other
    parameters are ignored)."""
    world = fuzz_world
    prefix = "urn:ietf:params:oauth:request_uri:"

    @fuzz_settings(60)
    @given(r=st.one_of(coherent_requests(world), coherent_requests(world),
                       coherent_requests(world), authorize_requests(world)),
           auth=st.sampled_from(["secret", "secret", "secret", "none", "wrong"]),
           extra=st.sampled_from([(), (), (), (("request_uri", prefix + "a" * 43),),
                                  (("request_uri", "https://x.example/r"),),
                                  (("request", "e30.e30."),)]),
           query_junk=st.lists(st.tuples(st.sampled_from(["scope", "state", "redirect_uri",
                                                          "prompt"]), junk), max_size=2),
           uri_junk=junk)
    def run(r: AuthzRequest, auth: str, extra: tuple[tuple[str, str], ...],
            query_junk: list[tuple[str, str]], uri_junk: str) -> None:
        world.login(world.user_id)
        pairs = list(r.pairs) + list(extra)
        ids = [v for k, v in pairs if k == "client_id"]
        secret = world.authz.secret if ids and ids[0] == world.authz.client.id else None
        if auth == "secret" and secret:
            pairs.append(("client_secret", secret))
        elif auth == "wrong":
            pairs.append(("client_secret", "wrong-secret"))
        body = _query(AuthzRequest(pairs=pairs, tail=r.tail))
        pushed = world.send("POST", "/oauth/par", data=body,
                            content_type="application/x-www-form-urlencoded")
        assert pushed.status_code in (201, 400, 401, 413, 429), pushed.status_code
        if pushed.status_code != 201:
            # A junk request_uri at the authorization endpoint is a page, never a redirect.
            junk_uri = world.send("GET", "/oauth/authorize", query_string={
                "client_id": ids[0] if ids else "x", "request_uri": prefix + uri_junk})
            assert junk_uri.status_code == 400, junk_uri.status_code
            return
        assert auth == "secret" or not secret, "a confidential client pushed without its secret"
        assert not extra, "a request_uri or request object was accepted inside a push"
        request_uri = pushed.get_json()["request_uri"]
        query = [("client_id", ids[0]), ("request_uri", request_uri), *query_junk]
        used = world.send("GET", "/oauth/authorize", query_string=query)
        assert used.status_code in (200, 302, 400), used.status_code
        if used.status_code == 302:
            check_redirect(world, used.headers["Location"],
                           [(k, v) for k, v in pairs if k != "client_secret"])
        again = world.send("GET", "/oauth/authorize", query_string=query)
        assert again.status_code == 400, "a request_uri was used twice"

    run()
    statuses: dict[Any, int] = dict(world.figures.statuses)
    assert statuses.get(201, 0) > 0, statuses


def test_request_object_fuzz(fuzz_world: FuzzWorld) -> None:
    """RFC 9101: request objects of the code client (whose JWK Set holds one RSA key) at
    ``/oauth/authorize``, mutated in header, claims and signature. The oracle: never a 5xx;
    a broken object (alg ``none``/HMAC/another key, wrong ``iss``/``aud``/``client_id``,
    expired or far-future ``exp``, missing ``jti``, nested ``request``/``request_uri``, a
    flipped signature, a replay) is a page, never a redirect; a redirect obeys
    :func:`check_redirect` for the object's parameters, whatever the query said."""
    import json
    import time
    import uuid

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    world = fuzz_world
    key = rsa.generate_private_key(65537, 2048)
    stranger = rsa.generate_private_key(65537, 2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "k1"}
    client_id = world.authz.client.id
    with world.app.app_context():
        state = world.app.extensions["passport"]
        state.db.session.get(state.models.Client, client_id).jwks = json.dumps({"keys": [jwk]})
        state.db.session.commit()
    breaking = ["alg_none", "hs256_pubkey", "stranger", "flip", "replay", "no_jti", "nested",
                "nested_uri"] + [f"claim:{c}" for c in ("iss", "aud", "client_id", "exp")]
    used: list[str] = []

    @fuzz_settings(60)
    @given(mutation=st.sampled_from(["none"] * 4 + breaking),
           claim_value=st.one_of(junk, st.integers(), st.none(), st.booleans(),
                                 st.lists(any_text, max_size=2)),
           params=st.lists(st.tuples(st.sampled_from(["scope", "state", "redirect_uri",
                                                      "prompt", "response_type", "max_age"]),
                                     st.one_of(junk, st.integers(-5, 10 ** 12))), max_size=2),
           outer=st.lists(st.tuples(st.sampled_from(["scope", "state", "redirect_uri"]), junk),
                          max_size=2),
           logged_in=st.booleans())
    def run(mutation: str, claim_value: Any, params: list[tuple[str, Any]],
            outer: list[tuple[str, str]], logged_in: bool) -> None:
        world.login(world.user_id if logged_in else None)
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": client_id, "aud": "http://localhost", "client_id": client_id,
            "exp": now + 60, "iat": now, "jti": str(uuid.uuid4()), "response_type": "code",
            "redirect_uri": AUTHZ_REDIRECTS[0], "scope": "check-status", "state": "jar"}
        claims.update(dict(params))
        headers = {"kid": "k1"}
        if mutation.startswith("claim:"):
            name = mutation.removeprefix("claim:")
            claims[name] = (now - 5 if claim_value is None else now + 7200) \
                if name == "exp" else (claim_value if claim_value != claims[name] else "x")
        elif mutation == "no_jti":
            del claims["jti"]
        elif mutation == "nested":
            claims["request"] = "e30.e30."
        elif mutation == "nested_uri":
            claims["request_uri"] = "urn:ietf:params:oauth:request_uri:" + "a" * 43
        signer: Any = stranger if mutation == "stranger" else key
        token = jwt.encode(claims, signer, algorithm="RS256", headers=headers)
        if mutation == "alg_none":
            token = jwt.encode(claims, None, algorithm="none", headers=headers)
        elif mutation == "hs256_pubkey":
            head = b64url(json.dumps({"alg": "HS256", "kid": "k1"}).encode())
            body = token.split(".")[1]
            mac = hmac.new(json.dumps(jwk).encode(), f"{head}.{body}".encode(),
                           hashlib.sha256).digest()
            token = f"{head}.{body}.{b64url(mac)}"
        elif mutation == "flip":
            head, body, sig = token.split(".")
            token = f"{head}.{body}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}"
        elif mutation == "replay" and used:
            token = used[0]
        query = [("client_id", client_id), ("request", token), *outer]
        response = world.send("GET", "/oauth/authorize", query_string=query)
        assert response.status_code in (200, 302, 400, 401), response.status_code
        if mutation != "none" and not (mutation == "replay" and not used):
            assert response.status_code == 400 and "Location" not in response.headers, (
                mutation, response.status_code)
        if response.status_code == 302:
            check_redirect(world, response.headers["Location"],
                           [("client_id", client_id)]
                           + [(k, str(v)) for k, v in claims.items() if k == "redirect_uri"])
        if mutation == "none" and not used:
            used.append(token)

    run()
    statuses: dict[Any, int] = dict(world.figures.statuses)
    assert statuses.get(200, 0) + statuses.get(302, 0) > 0, statuses
