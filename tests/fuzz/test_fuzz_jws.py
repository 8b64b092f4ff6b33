"""Differential fuzz: :mod:`flask_passport.jose.jws` against PyJWT.

Hypothesis takes a token signed by one of our keys (RSA, EC P-256, Ed25519), an access token or
an ID token used as ``id_token_hint``, and mutates it: header fields (``alg`` including ``none``,
HS256 keyed with our public key, algorithms of another key type; ``kid`` variants; ``typ``,
``crit``, ``b64``, ``jku``, ``x5u``, an embedded ``jwk``), claims (``exp`` / ``nbf`` / ``iat``
around the leeway, ``iss`` / ``aud`` variants, values of every JSON type), encodings (padding,
non-canonical base64, the standard alphabet, whitespace, extra or missing segments, JSON
spellings, tokens around the size cap) and signatures (truncated, flipped, ECDSA's other
``s``, re-signed by another key). The token is then re-signed, so the mutation reaches the
checks behind the signature.

The oracle is PyJWT's ``jwt.decode`` with our public key, ``algorithms=[<our key's
algorithm>]`` and the same ``issuer`` / ``audience`` / ``leeway`` / options, plus exactly the
rules the module documents as stricter (size cap, no ``=`` padding, no ``crit`` / ``b64``
header, time claims that are finite JSON numbers, and for a hint a ``typ`` other than
``at+jwt``). The package's entry points (``decode_access_token``, ``verify_id_token_hint``) must
accept exactly the tokens the oracle accepts, with the same claims, and raise nothing but their
own refusal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from unittest import mock

import jwt
import pytest
from fuzz_support import fuzz_settings
from hypothesis import event, given
from hypothesis import strategies as st

from flask_passport.jose import jws
from flask_passport.jose import keys as keys_mod
from flask_passport.jose.tokens import MAX_TOKEN_LENGTH, InvalidToken, decode_access_token
from flask_passport.oauth2.oidc import InvalidHint, verify_id_token_hint

ISS = "https://issuer.example"
API = "https://api.example"
CLIENT = "client-1"
#: The frozen clock of both verifiers, so boundaries at exactly ``exp - leeway`` are exact.
NOW = 1_900_000_000
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _key(kind: str) -> keys_mod.SigningKey:
    private = keys_mod.generate_private_key(kind)
    return keys_mod.SigningKey.from_keys(private.public_key(), private)  # type: ignore[arg-type]


@dataclass
class World:
    """One key type's keys: the current and a retired key, the RSA ID-token key (when the
    current key is not RSA), and strangers (same type and RSA) that are none of ours."""

    kind: str
    current: keys_mod.SigningKey
    retired: keys_mod.SigningKey
    id_token: keys_mod.SigningKey | None
    stranger: keys_mod.SigningKey
    stranger_rsa: keys_mod.SigningKey
    keyset: keys_mod.KeySet = field(init=False)

    def __post_init__(self) -> None:
        self.keyset = keys_mod.KeySet(self.current, id_token_signing=self.id_token)
        self.keyset.verifying[self.retired.kid] = keys_mod.SigningKey(
            self.retired.kid, self.retired.algorithm, self.retired.public_key)

    def named(self, name: str) -> keys_mod.SigningKey:
        if name == "id_token":
            return self.id_token or self.stranger
        key: keys_mod.SigningKey = getattr(self, name)
        return key

    def reference_keys(self, mode: str) -> dict[str, keys_mod.SigningKey]:
        """Which kids the oracle trusts, written out here rather than asked of the KeySet."""
        trusted = {self.current.kid: self.current, self.retired.kid: self.retired}
        if mode == "hint" and self.id_token is not None:
            trusted[self.id_token.kid] = self.id_token
        return trusted


def _world(kind: str) -> World:
    return World(kind, _key(kind), _key(kind), None if kind == "RSA" else _key("RSA"),
                 _key(kind), _key("RSA"))


WORLDS = {kind: _world(kind) for kind in ("RSA", "ES256", "EdDSA")}


# -- building a token -------------------------------------------------------------------------


@dataclass
class Plan:
    """A token before it is signed and spelt, and how to sign and spell it."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signer: str = "current"  # a key name of World, "hs256_public" or "none"
    json_style: dict[str, str] = field(default_factory=lambda: {"header": "compact",
                                                                "payload": "compact"})
    signature_ops: list[str] = field(default_factory=list)
    spelling_ops: list[tuple[str, Any]] = field(default_factory=list)


def _base_plan(world: World, mode: str) -> Plan:
    key = world.current if mode == "access" or world.id_token is None else world.id_token
    if mode == "access":
        claims: dict[str, Any] = {"sub": "7", "client_id": CLIENT, "jti": "0190-jti",
                                  "iat": NOW - 5, "nbf": NOW - 5, "exp": NOW + 600,
                                  "scope": "read", "iss": ISS, "aud": ISS}
        typ = "at+jwt"
    else:  # an ID token, already expired: still a valid hint
        claims = {"iss": ISS, "sub": "7", "aud": CLIENT, "iat": NOW - 7200, "exp": NOW - 3600,
                  "auth_time": NOW - 7200, "nonce": "n-0"}
        typ = "JWT"
    signer = "current" if key is world.current else "id_token"
    return Plan({"typ": typ, "alg": key.algorithm, "kid": key.kid}, claims, signer)


def _json(value: Any, style: str) -> bytes:
    if style == "spaced":
        return json.dumps(value, indent=1).encode()
    if style == "unicode":
        return json.dumps(value, ensure_ascii=False).encode()
    if style == "utf16":
        return json.dumps(value).encode("utf-16")
    if style == "bom":
        return b"\xef\xbb\xbf" + json.dumps(value).encode()
    if style == "duplicate" and isinstance(value, dict) and value:
        first = next(iter(value))
        # A decoy copy of the first member before the real one: last one wins in both parsers.
        return (b'{"' + first.encode() + b'":"decoy",' + json.dumps(value)[1:].encode())
    if style == "array":
        return json.dumps([value]).encode()
    if style == "garbage":
        return b"{not json"
    return json.dumps(value, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw_signature(world: World, plan: Plan, signing_input: bytes) -> bytes:
    if plan.signer == "none":
        return b""
    if plan.signer == "hs256_public":  # key confusion: our public key as an HMAC secret
        secret = keys_mod.public_pem(world.current.public_key)
        return hmac.new(secret, signing_input, hashlib.sha256).digest()
    key = world.named(plan.signer)
    alg = plan.header.get("alg")
    if isinstance(alg, str) and alg != key.algorithm:
        try:  # what a forger does: sign with the header's algorithm where the key allows it
            algorithm = jwt.get_algorithm_by_name(alg)
            return algorithm.sign(signing_input, algorithm.prepare_key(key.private_key))
        except Exception:  # an algorithm this key cannot sign with
            pass
    return jws._signature(key, signing_input)


def _mutate_signature(raw: bytes, op: str, world: World) -> bytes:
    if op == "truncate":
        return raw[:-1]
    if op == "append":
        return raw + b"\x00"
    if op == "flip" and raw:
        return raw[:-1] + bytes([raw[-1] ^ 1])
    if op == "empty":
        return b""
    if op == "high_s" and world.kind == "ES256" and len(raw) == 64:
        # ECDSA's other valid signature (r, n - s): both verifiers use cryptography, which takes
        # it; the guard's token cache evicts every string it holds for a token.
        s = int.from_bytes(raw[32:], "big")
        return raw[:32] + (P256_ORDER - s).to_bytes(32, "big")
    return raw


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _respell(token: str, op: str, arg: Any) -> str:
    parts = token.split(".")
    index = arg % len(parts) if isinstance(arg, int) else 0
    if op == "pad":
        segment = parts[index]
        parts[index] = segment + ("=" * (-len(segment) % 4) or "==")
    elif op == "pad_all":  # correct padding everywhere: PyJWT takes it, ours does not
        parts = [segment + "=" * (-len(segment) % 4) for segment in parts]
    elif op == "noncanonical":
        segment = parts[index]
        unused = {2: 4, 3: 2}.get(len(segment) % 4)
        if unused:
            last = _ALPHABET.index(segment[-1])
            parts[index] = segment[:-1] + _ALPHABET[last ^ ((1 << unused) - 1)]
    elif op == "std_alphabet":
        parts[index] = parts[index].replace("-", "+").replace("_", "/")
    elif op == "insert":
        position, text = arg
        return token[:position % (len(token) + 1)] + text + token[position % (len(token) + 1):]
    elif op == "extra_segment":
        return token + arg
    elif op == "drop_segment":
        del parts[index]
    return ".".join(parts)


def build(world: World, plan: Plan) -> str:
    header = _json(plan.header, plan.json_style["header"])
    payload = _json(plan.claims, plan.json_style["payload"])
    signing_input = f"{_b64(header)}.{_b64(payload)}"
    raw = _raw_signature(world, plan, signing_input.encode())
    for op in plan.signature_ops:
        raw = _mutate_signature(raw, op, world)
    token = f"{signing_input}.{_b64(raw)}"
    for op, arg in plan.spelling_ops:
        token = _respell(token, op, arg)
    return token


# -- the mutations ------------------------------------------------------------------------------

ODD_VALUES: tuple[Any, ...] = (None, True, False, 0, -1, 1.5, "", "x", [], [1], {}, {"a": 1},
                               10**30, -(10**30), 1e300, float("nan"), float("inf"),
                               float("-inf"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=6,
)


def mutations(leeway: int) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """Up to three mutations, each branch equally likely; times sit on the leeway's edges."""
    time_claim = st.sampled_from(["exp", "nbf", "iat"])
    edges = st.sampled_from([NOW + sign * leeway + d for sign in (-1, 1) for d in (-1, 0, 1)]
                            + [NOW - 3600, NOW + 3600])
    branches = [
        st.tuples(st.just("drop"), st.sampled_from(["exp", "iat", "nbf", "jti", "sub", "iss",
                                                    "aud", "client_id"])),
        st.tuples(st.just("set"), time_claim, edges),
        st.tuples(st.just("set"), time_claim, edges.map(lambda t: t + 0.5)),
        st.tuples(st.just("set"), time_claim, edges.map(str)),
        st.tuples(st.just("set"), time_claim, st.sampled_from(ODD_VALUES)),
        st.tuples(st.just("set"), st.just("iss"),
                  st.sampled_from([ISS, ISS + "/", "https://evil.example", "", None, 5, [ISS]])),
        st.tuples(st.just("set"), st.just("aud"),
                  st.sampled_from([ISS, API, CLIENT, [API], [API, "x"], ["x"], [ISS, 5], [], "",
                                   0, None, {"aud": API}, [[API]]])),
        st.tuples(st.just("set"), st.sampled_from(["sub", "jti"]),
                  st.sampled_from(["1", "", 5, None, ["1"], {"a": 1}, True, 1.0])),
        st.tuples(st.just("set"), st.sampled_from(["scope", "x-custom", "nonce"]), json_values),
        st.tuples(st.just("pad"), st.integers(min_value=5400, max_value=6300)),
        st.tuples(st.just("alg"), st.sampled_from(["none", "None", "HS256", "RS256", "RS384",
                                                   "RS512", "PS256", "ES256", "ES384", "ES512",
                                                   "EdDSA", "Ed25519", "", None, 5,
                                                   ["RS256"]])),
        st.tuples(st.just("kid"), st.sampled_from(["@retired", "@id_token", "@stranger", "",
                                                   None, 5, ["@current"], {"k": 1},
                                                   "@current+ ", "../../dev/null", "@drop"])),
        st.tuples(st.just("typ"), st.sampled_from(["JWT", "AT+JWT", None, 5, "@drop"])),
        st.tuples(st.just("typ"), st.sampled_from(["at+jwt", "application/at+jwt"])),
        st.tuples(st.just("crit"), st.sampled_from([[], ["exp"], ["b64"], "b64", None,
                                                    ["kid"]])),
        st.tuples(st.just("b64"), st.sampled_from([True, False, None])),
        st.tuples(st.sampled_from(["jku", "x5u"]), st.just("https://evil.example/jwks.json")),
        st.tuples(st.just("jwk"), st.just("@stranger")),
        st.tuples(st.sampled_from(["cty", "zip", "x5c", "x-other"]), json_values),
        # Re-signed by another key with kid and alg set to match it: only ours may verify.
        st.tuples(st.just("resign"), st.sampled_from(["retired", "id_token", "stranger",
                                                      "stranger_rsa", "hs256_public", "none"])),
        st.tuples(st.just("signer"), st.sampled_from(["retired", "id_token", "stranger",
                                                      "stranger_rsa", "hs256_public", "none"])),
        st.tuples(st.just("json"), st.sampled_from(["header", "payload"]),
                  st.sampled_from(["spaced", "unicode", "utf16", "bom", "duplicate", "array",
                                   "garbage"])),
        st.tuples(st.just("signature"), st.sampled_from(["truncate", "append", "flip", "empty",
                                                         "high_s"])),
        st.tuples(st.just("spell"), st.just("pad"), st.integers(0, 2)),
        st.tuples(st.just("spell"), st.just("pad_all"), st.just(0)),
        st.tuples(st.just("spell"), st.just("noncanonical"), st.integers(0, 2)),
        st.tuples(st.just("spell"), st.just("std_alphabet"), st.integers(0, 2)),
        st.tuples(st.just("spell"), st.just("drop_segment"), st.integers(0, 2)),
        st.tuples(st.just("spell"), st.just("insert"),
                  st.tuples(st.integers(0, 2000), st.sampled_from([" ", "\n", "\t", ".", "=",
                                                                   "é", "%2E", "\x00", "+"]))),
        st.tuples(st.just("spell"), st.just("extra_segment"),
                  st.sampled_from([".", ".x", "..", ".AAAA", "\n"])),
    ]
    return st.lists(st.one_of(branches), max_size=3)


#: Built once: building and validating them per example would cost more than the example.
MUTATIONS = {leeway: mutations(leeway) for leeway in (0, 30)}


def apply(world: World, plan: Plan, mutation: tuple[Any, ...]) -> None:
    kind = mutation[0]
    if kind == "drop":
        plan.claims.pop(mutation[1], None)
    elif kind == "set":
        plan.claims[mutation[1]] = mutation[2]
    elif kind == "pad":
        plan.claims["x-pad"] = "p" * mutation[1]  # around MAX_TOKEN_LENGTH once encoded
    elif kind == "kid":
        value = mutation[1]
        if value == "@drop":
            plan.header.pop("kid", None)
        elif value == "@current+ ":
            plan.header["kid"] = world.current.kid + " "
        elif value == ["@current"]:
            plan.header["kid"] = [world.current.kid]
        elif isinstance(value, str) and value.startswith("@"):
            plan.header["kid"] = world.named(value[1:]).kid
        else:
            plan.header["kid"] = value
    elif kind == "typ" and mutation[1] == "@drop":
        plan.header.pop("typ", None)
    elif kind == "jwk":
        plan.header["jwk"] = world.stranger.jwk()
    elif kind == "resign":
        plan.signer = mutation[1]
        if mutation[1] not in ("hs256_public", "none"):
            key = world.named(mutation[1])
            plan.header.update({"kid": key.kid, "alg": key.algorithm})
        else:
            plan.header["alg"] = "HS256" if mutation[1] == "hs256_public" else "none"
    elif kind == "signer":
        plan.signer = mutation[1]
    elif kind == "json":
        plan.json_style[mutation[1]] = mutation[2]
    elif kind == "signature":
        plan.signature_ops.append(mutation[1])
    elif kind == "spell":
        plan.spelling_ops.append((mutation[1], mutation[2]))
    else:  # a header field
        plan.header[kind] = mutation[1]


# -- the two verifiers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    mode: str  # "access" or "hint"
    issuer: str | None
    audience: str | None
    leeway: int
    verify_exp: bool


OPTIONS = {
    "access": st.builds(Options, st.just("access"), st.sampled_from([None, ISS]),
                        st.sampled_from([None, ISS, API]), st.sampled_from([0, 30]),
                        st.booleans()),
    # verify_id_token_hint's own options: any issuer, no audience, no leeway, exp not checked.
    "hint": st.builds(Options, st.just("hint"), st.sampled_from([None, ISS]), st.none(),
                      st.just(0), st.just(False)),
}


def ours(world: World, token: str, opts: Options) -> dict[str, Any] | None:
    """The package's own entry points; anything but their refusal fails the example."""
    try:
        if opts.mode == "access":
            return decode_access_token(world.keyset, token, issuer=opts.issuer,
                                       audience=opts.audience, leeway=opts.leeway,
                                       verify_exp=opts.verify_exp)
        return verify_id_token_hint(world.keyset, token, issuer=opts.issuer)
    except (InvalidToken, InvalidHint):
        return None


def _finite_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def reference(world: World, token: str, opts: Options) -> dict[str, Any] | None:
    """PyJWT with our key's algorithm and the same options, plus the documented strict rules."""
    if len(token) > MAX_TOKEN_LENGTH or "=" in token:
        return None
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    if "crit" in header or "b64" in header:
        return None
    if opts.mode == "hint" and header.get("typ") == "at+jwt":
        return None
    key = world.reference_keys(opts.mode).get(header.get("kid"))  # type: ignore[arg-type]
    if key is None:
        return None
    if opts.mode == "access":
        options: dict[str, Any] = {"require": ["exp", "iat", "jti", "sub"],
                                   "verify_exp": opts.verify_exp,
                                   "verify_aud": opts.audience is not None}
    else:
        options = {"require": ["sub", "aud"], "verify_exp": False, "verify_aud": False}
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key.public_key, algorithms=[key.algorithm], issuer=opts.issuer,
            audience=opts.audience, leeway=opts.leeway, options=options)  # type: ignore[arg-type]
    except (jwt.PyJWTError, RecursionError):
        return None
    if any(name in claims and not _finite_number(claims[name])
           for name in ("exp", "nbf", "iat")):
        return None
    return claims


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _FrozenDatetime:  # type: ignore[override]
        return cls.fromtimestamp(NOW, tz or UTC)


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def run_differential(world: World, mode: str) -> Counter[str]:
    verdicts: Counter[str] = Counter()

    @fuzz_settings(800)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        opts = data.draw(OPTIONS[mode], label="options")
        changes = data.draw(MUTATIONS[opts.leeway], label="mutations")
        plan = _base_plan(world, mode)
        for change in changes:
            apply(world, plan, change)
        token = build(world, plan)
        mine, theirs = ours(world, token, opts), reference(world, token, opts)
        verdict = f"ours={'accept' if mine is not None else 'refuse'} " \
                  f"pyjwt={'accept' if theirs is not None else 'refuse'}"
        event(verdict)
        verdicts[verdict] += 1
        assert (mine is None) == (theirs is None), (verdict, plan, token)
        if mine is not None and theirs is not None:
            assert _same(mine, theirs)

    with mock.patch.object(jws, "time", SimpleNamespace(time=lambda: float(NOW))), \
            mock.patch.object(jwt.api_jwt, "datetime", _FrozenDatetime):
        check()
    return verdicts


@pytest.mark.parametrize("mode", ["access", "hint"])
@pytest.mark.parametrize("kind", list(WORLDS))
def test_ours_accepts_exactly_what_pyjwt_accepts(kind: str, mode: str) -> None:
    verdicts = run_differential(WORLDS[kind], mode)
    # The fuzz explored both sides of the line, not only garbage.
    assert verdicts["ours=accept pyjwt=accept"] >= 10, verdicts
    assert verdicts["ours=refuse pyjwt=refuse"] >= 10, verdicts


# -- the rules the oracle adds, each shown on one token -----------------------------------------


def _verdicts(kind: str, mode: str, *changes: tuple[Any, ...], opts: Options | None = None
              ) -> tuple[bool, bool]:
    """(ours accepts, PyJWT alone accepts) for the base token with ``changes``."""
    world = WORLDS[kind]
    plan = _base_plan(world, mode)
    for change in changes:
        apply(world, plan, change)
    token = build(world, plan)
    opts = opts or Options(mode, ISS, None, 0, mode == "access")
    key = world.reference_keys(mode)[plan.header["kid"]]
    with mock.patch.object(jws, "time", SimpleNamespace(time=lambda: float(NOW))), \
            mock.patch.object(jwt.api_jwt, "datetime", _FrozenDatetime):
        try:
            jwt.decode(token, key.public_key, algorithms=[key.algorithm], issuer=opts.issuer,
                       options={"verify_aud": False, "verify_exp": opts.verify_exp})
            pyjwt = True
        except jwt.PyJWTError:
            pyjwt = False
        return ours(world, token, opts) is not None, pyjwt


STRICTER: dict[str, tuple[str, tuple[tuple[Any, ...], ...]]] = {
    "padding": ("access", (("spell", "pad", 2),)),
    "b64 header": ("access", (("b64", True),)),
    "crit naming b64": ("access", (("crit", ["b64"]), ("b64", True))),
    "iat as a string": ("access", (("set", "iat", str(NOW - 5)),)),
    "nbf as true": ("access", (("set", "nbf", True),)),
    "access token as hint": ("hint", (("typ", "at+jwt"),)),
    "hint with NaN exp": ("hint", (("set", "exp", float("nan")),)),
}


@pytest.mark.parametrize("name", list(STRICTER))
def test_each_stricter_rule_refuses_what_pyjwt_takes(name: str) -> None:
    """Each rule the oracle adds to PyJWT is one ours documents, shown where PyJWT accepts."""
    mode, changes = STRICTER[name]
    assert _verdicts("RSA", mode, *changes) == (False, True)


@pytest.mark.parametrize("kind", list(WORLDS))
@pytest.mark.parametrize("mode", ["access", "hint"])
def test_the_unmutated_token_is_accepted_by_both(kind: str, mode: str) -> None:
    assert _verdicts(kind, mode) == (True, True)


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_time_claims_are_refused_not_raised(claim: str, value: float) -> None:
    """Python's JSON parser reads ``NaN`` and ``Infinity``; ``int()`` of them raises. A token
    signed with such a claim is refused (an ``InvalidToken``), never a 500."""
    world = WORLDS["RSA"]
    plan = _base_plan(world, "access")
    plan.claims[claim] = value
    token = build(world, plan)
    with mock.patch.object(jws, "time", SimpleNamespace(time=lambda: float(NOW))), \
            pytest.raises(InvalidToken):
        decode_access_token(world.keyset, token, issuer=ISS)


def test_the_alg_never_comes_from_the_header() -> None:
    """The key the kid names brings its algorithm: a token re-signed with HS256 over our public
    PEM, or with ``none``, or by another key type under our kid, is refused by every entry
    point."""
    world = WORLDS["ES256"]
    for signer, alg in (("hs256_public", "HS256"), ("none", "none"), ("stranger_rsa", "RS256")):
        for mode in ("access", "hint"):
            assert _verdicts("ES256", mode, ("signer", signer), ("alg", alg))[0] is False
    lookup: Callable[[str], keys_mod.SigningKey | None] = world.keyset.verifying_key
    plan = _base_plan(world, "access")
    plan.header["alg"] = "RS256"
    with pytest.raises(jws.InvalidJWS) as refused:
        jws.verify(build(world, plan), lookup, issuer=ISS)
    assert refused.value.reason == jws.UNKNOWN_KEY
