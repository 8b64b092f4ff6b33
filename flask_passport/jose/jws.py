"""Every JWS the package signs or verifies: access tokens, ID tokens and ``id_token_hint``.

Compact JWS (RFC 7515 §7.1) carrying JWT claims (RFC 7519), signed and verified with
``cryptography`` on keys parsed once at startup (PyJWT's ``jwt.decode`` cost ~4x the RSA check
itself). One key-selection rule for all of them: the header's ``kid`` names one of *our* keys (the
caller's lookup says which keys count for this kind of token) and that key's algorithm is the
only one tried; the header's ``alg`` must equal it and never chooses it, so ``alg: none`` and
HS256-with-the-public-key confusion fail closed.

The checks are PyJWT's ``jwt.decode`` with ``algorithms=[<our key's algorithm>]`` and the same
options (``tests/fuzz/test_fuzz_jws.py`` fuzzes the two against each other), plus four
stricter rules:

* a token over :data:`MAX_TOKEN_LENGTH` is refused unread;
* base64url without padding, in its one canonical spelling (PyJWT also takes ``=`` padding),
  so one signature is one bearer string;
* any ``crit`` or ``b64`` header is refused (RFC 7515 §4.1.11: we implement no extension);
* ``exp``, ``nbf`` and ``iat`` are JSON numbers (PyJWT also takes ``"123"`` and ``true``).

Tokens signed by *a client* (RFC 7523 client assertions) are verified by
:func:`verify_client_jws` with the same parsing and claim checks and a second key-selection
rule: the keys are the client's (:class:`~.jwk.ClientKey`), each knowing the algorithms it may
verify; the header's ``alg`` must be one the caller allows *and* one the key allows, so an RSA
public key is never an HMAC secret and ``none`` is never an algorithm.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from .jwk import ClientKey, rsa_public_key
from .keys import KeyLoadError, SigningKey

#: Tokens larger than this are refused before any parsing (a DoS guard; ours are ~1 KiB).
MAX_TOKEN_LENGTH = 8192

#: Why :func:`verify` refused a token (:attr:`InvalidJWS.reason`); callers word their own
#: messages from it.
MALFORMED = "malformed"
CRITICAL = "critical"
UNKNOWN_KEY = "unknown_key"
WRONG_TYPE = "wrong_type"
INVALID = "invalid"
EXPIRED = "expired"

#: The claims an RFC 9068 access token must carry to be verified.
ACCESS_TOKEN_REQUIRED = ("exp", "iat", "jti", "sub")

#: Finds *our* key for a ``kid``: which keys count is the caller's choice (access tokens never
#: verify with the ID-token key), what the key may do is the key's.
KeyLookup = Callable[[str], SigningKey | None]

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_EC_ALGORITHMS: dict[str, tuple[type[hashes.HashAlgorithm], int]] = {
    "ES256": (hashes.SHA256, 32),
    "ES384": (hashes.SHA384, 48),
}


class InvalidJWS(Exception):
    """A token :func:`verify` refused; ``reason`` is one of the constants above."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Loaded(NamedTuple):
    header: dict[str, Any]
    signing_input: bytes
    payload: bytes
    signature: bytes


# -- signing --------------------------------------------------------------------------------


def sign(claims: Mapping[str, Any], key: SigningKey, *, typ: str) -> str:
    """The compact JWS of ``claims`` signed with ``key`` and its algorithm, ``kid`` and ``typ``
    in the header."""
    header = {"typ": typ, "alg": key.algorithm, "kid": key.kid}
    signing_input = _b64encode(_compact_json(header)) + "." + _b64encode(_compact_json(claims))
    return signing_input + "." + _b64encode(_signature(key, signing_input.encode("ascii")))


def _compact_json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _signature(key: SigningKey, data: bytes) -> bytes:
    """A JWS signature (RFC 7518 §3) with the pre-parsed private key."""
    private_key = key.jws_private_key()
    if key.algorithm == "RS256" and isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if key.algorithm in _EC_ALGORITHMS and isinstance(private_key, ec.EllipticCurvePrivateKey):
        hash_cls, size = _EC_ALGORITHMS[key.algorithm]
        r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hash_cls())))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if key.algorithm == "EdDSA" and isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(data)
    raise KeyLoadError(f"Cannot sign with a {type(private_key).__name__} as {key.algorithm}.")


# -- verification ---------------------------------------------------------------------------


def unverified_header(token: str) -> dict[str, Any]:
    """The header of a well-formed compact JWS, *not* verified: only for choosing where to look
    for its key (a JWKS refresh), never for deciding anything."""
    return _load(token).header


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a well-formed compact JWS, *not* verified: only for finding whose keys
    verify it (a client assertion's ``sub``), never for deciding anything."""
    return _json_object(_load(token).payload)


def verify(
    token: str,
    key_for: KeyLookup,
    *,
    issuer: str | None = None,
    audience: str | None = None,
    leeway: int = 0,
    verify_exp: bool = True,
    require: Collection[str] = ACCESS_TOKEN_REQUIRED,
    refuse_typ: str | None = None,
) -> dict[str, Any]:
    """The claims of ``token`` once its signature and claims check out, else :class:`InvalidJWS`.

    ``key_for(kid)`` picks our key and with it the algorithm. ``require``: claims that must be
    present and not null. ``exp`` / ``nbf`` / ``iat``, when present, are checked against the
    clock with ``leeway`` (``exp`` not with ``verify_exp=False``, but it must still be a number);
    ``sub`` and ``jti``, when present, are strings; ``iss`` must equal ``issuer`` and ``aud``
    contain ``audience`` when they are given. ``refuse_typ``: a header ``typ`` this kind of
    token must not carry (an access token is not an ID token, RFC 9068 §2.1).
    """
    loaded = _load(token)
    header = loaded.header
    if "crit" in header or "b64" in header:
        raise InvalidJWS(CRITICAL)
    kid = header.get("kid")
    key = key_for(kid) if isinstance(kid, str) else None
    if key is None or header.get("alg") != key.algorithm:
        raise InvalidJWS(UNKNOWN_KEY)
    if refuse_typ is not None and header.get("typ") == refuse_typ:
        raise InvalidJWS(WRONG_TYPE)
    if not _signature_valid(key, loaded.signing_input, loaded.signature):
        raise InvalidJWS(INVALID)
    claims = _json_object(loaded.payload)
    _check_claims(claims, require=require, issuer=issuer, audience=audience, leeway=leeway,
                  verify_exp=verify_exp)
    return claims


#: The hash of each HMAC algorithm (RFC 7518 §3.2).
_HMAC_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def verify_client_jws(
    token: str,
    keys: Iterable[ClientKey],
    *,
    algorithms: Collection[str],
    audiences: Collection[str],
    require: Collection[str],
    typs: Collection[str | None],
    leeway: int = 0,
) -> dict[str, Any]:
    """The claims of ``token`` signed with one of a client's ``keys``, else :class:`InvalidJWS`.

    The header ``alg`` must be in ``algorithms`` and allowed by the key; a header ``kid`` must
    name the key (without one, every key of that algorithm is tried: a client's JWKS is a
    handful of keys). The header ``typ`` must be one of ``typs`` (``None``: no ``typ``),
    compared as :func:`media_type` says. ``aud`` must be one of ``audiences`` or a non-empty
    array of nothing else (:func:`_audiences_acceptable`); the other claims are checked as
    :func:`verify` does.
    """
    loaded = _load(token)
    header = loaded.header
    if "crit" in header or "b64" in header:
        raise InvalidJWS(CRITICAL)
    # RFC 8725 §3.11: explicit typing keeps one kind of client-signed JWT (a request object,
    # RFC 9101) from being accepted as another (a client assertion, RFC 7523), though both
    # are signed with the same key for the same audience.
    typ = header.get("typ")
    if typ is not None and not isinstance(typ, str):
        raise InvalidJWS(WRONG_TYPE)
    if media_type(typ) not in {media_type(t) for t in typs}:
        raise InvalidJWS(WRONG_TYPE)
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or alg not in algorithms or ("kid" in header
                                                             and not isinstance(kid, str)):
        raise InvalidJWS(INVALID)  # not UNKNOWN_KEY: no key set could make it acceptable
    # A shared secret has no kid to match: a header kid is ignored for it.
    candidates = [key for key in keys if alg in key.algorithms
                  and (kid is None or key.secret is not None or key.kid == kid)]
    if not candidates:
        raise InvalidJWS(UNKNOWN_KEY)
    if not any(_client_signature_valid(alg, key, loaded.signing_input, loaded.signature)
               for key in candidates):
        raise InvalidJWS(INVALID)
    claims = _json_object(loaded.payload)
    _check_claims(claims, require=require, issuer=None, audience=None, leeway=leeway,
                  verify_exp=True)
    if not _audiences_acceptable(claims.get("aud"), audiences):
        raise InvalidJWS(INVALID)
    return claims


def media_type(typ: str | None) -> str | None:
    """A ``typ`` header as a comparable media type: RFC 7515 §4.1.9 lets ``application/`` be
    left out (and media types compare case-insensitively, RFC 2045 §5.1)."""
    if typ is None:
        return None
    lowered = typ.lower()
    return lowered if "/" in lowered else "application/" + lowered


def _audiences_acceptable(aud: Any, acceptable: Collection[str]) -> bool:
    """A client-signed JWT's ``aud``: one acceptable value, or a non-empty array whose *every*
    value is acceptable (draft-ietf-oauth-rfc7523bis: an assertion that also names another
    audience could be replayed by that audience against us, so none is allowed)."""
    values = [aud] if isinstance(aud, str) else aud
    return (isinstance(values, list) and bool(values)
            and all(isinstance(v, str) and v in acceptable for v in values))


def _client_signature_valid(alg: str, key: ClientKey, signing_input: bytes,
                            signature: bytes) -> bool:
    if alg in _HMAC_HASHES:
        if key.secret is None:
            return False
        expected = hmac.new(key.secret, signing_input, _HMAC_HASHES[alg]).digest()
        return hmac.compare_digest(expected, signature)
    return key.public_key is not None and _public_signature_valid(
        alg, key.public_key, signing_input, signature)


def _load(token: str) -> _Loaded:
    """Split and decode the three segments (header parsed, payload still bytes)."""
    if not token or not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidJWS(MALFORMED)
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidJWS(MALFORMED)
    header_b64, payload_b64, signature_b64 = parts
    header = _json_object(_b64decode(header_b64))
    payload = _b64decode(payload_b64)
    signature = _b64decode(signature_b64)
    # Every character is in the base64url alphabet now, so the signing input is ASCII.
    return _Loaded(header, f"{header_b64}.{payload_b64}".encode("ascii"), payload, signature)


def _b64decode(segment: str) -> bytes:
    """Strict base64url (RFC 7515 §2): only the URL-safe alphabet, no padding, and canonical.

    Canonical: the decoder ignores the unused low bits of the last character, so without this
    check one signature has several spellings that all verify, i.e. several bearer strings for
    one token (distinct entries in the token cache, each needing its own eviction).
    """
    if not _B64URL.fullmatch(segment):
        raise InvalidJWS(MALFORMED)
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidJWS(MALFORMED) from exc
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != segment:
        raise InvalidJWS(MALFORMED)
    return raw


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidJWS(MALFORMED) from exc
    if not isinstance(value, dict):
        raise InvalidJWS(MALFORMED)
    return value


def _signature_valid(key: SigningKey, signing_input: bytes, signature: bytes) -> bool:
    """Verify a JWS signature (RFC 7518 §3) with ``key``'s pre-parsed public key and its
    algorithm (never the token header's)."""
    return _public_signature_valid(key.algorithm, key.public_key, signing_input, signature)


def _public_signature_valid(algorithm: str, public_key: Any, signing_input: bytes,
                            signature: bytes) -> bool:
    """``signature`` checked with ``public_key`` as ``algorithm``; a key of another type than
    the algorithm's is a failure, never a fallback."""
    try:
        if algorithm == "RS256" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif algorithm == "PS256" and isinstance(public_key, rsa.RSAPublicKey):
            # RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
            public_key.verify(signature, signing_input,
                              padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        elif algorithm in _EC_ALGORITHMS and isinstance(public_key, ec.EllipticCurvePublicKey):
            hash_cls, size = _EC_ALGORITHMS[algorithm]
            # RFC 7518 §3.4: the JWS signature is R || S, each exactly ``size`` octets.
            if len(signature) != 2 * size or public_key.key_size != 8 * size:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                       int.from_bytes(signature[size:], "big"))
            public_key.verify(der, signing_input, ec.ECDSA(hash_cls()))
        elif algorithm in ("EdDSA", "Ed25519") and isinstance(public_key,
                                                         ed25519.Ed25519PublicKey):
            # RFC 9864 §2: "Ed25519" is the fully-specified name of EdDSA over Ed25519.
            public_key.verify(signature, signing_input)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _number(value: Any) -> int:
    """A time claim (RFC 7519 §2 NumericDate) as whole seconds; NaN and infinities (which
    Python's JSON parser reads) are refused, not raised."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidJWS(INVALID)
    try:
        return int(value)
    except (ValueError, OverflowError):
        raise InvalidJWS(INVALID) from None


def _check_claims(
    claims: Mapping[str, Any],
    *,
    require: Collection[str],
    issuer: str | None,
    audience: str | None,
    leeway: int,
    verify_exp: bool,
) -> None:
    """PyJWT's claim checks (RFC 7519 §4.1), plus time claims that are JSON numbers."""
    for name in require:
        if claims.get(name) is None:
            raise InvalidJWS(INVALID)
    _check_times(claims, leeway=leeway, verify_exp=verify_exp)
    for name in ("sub", "jti"):
        if name in claims and not isinstance(claims[name], str):
            raise InvalidJWS(INVALID)
    if issuer is not None and claims.get("iss") != issuer:
        raise InvalidJWS(INVALID)
    if audience is not None and not _audience_matches(claims.get("aud"), audience):
        raise InvalidJWS(INVALID)


def _check_times(claims: Mapping[str, Any], *, leeway: int, verify_exp: bool) -> None:
    """RFC 7519 §4.1.4-§4.1.6: not issued or valid in the future, not expired (each with
    ``leeway``)."""
    now = time.time()
    if "iat" in claims and _number(claims["iat"]) > now + leeway:
        raise InvalidJWS(INVALID)
    if "nbf" in claims and _number(claims["nbf"]) > now + leeway:
        raise InvalidJWS(INVALID)
    # Revocation (RFC 7009) and logout hints pass verify_exp=False: an expired token's refresh
    # token can still be revoked, an expired ID token is still a hint.
    if "exp" in claims and _number(claims["exp"]) <= now - leeway and verify_exp:
        raise InvalidJWS(EXPIRED)


def _audience_matches(aud: Any, audience: str) -> bool:
    """RFC 7519 §4.1.3: ``aud`` is a string or a non-empty list of strings naming us."""
    values = [aud] if isinstance(aud, str) else aud
    return (isinstance(values, list) and bool(values)
            and all(isinstance(v, str) for v in values) and audience in values)


# -- a JWS carrying its own public key (a DPoP proof, RFC 9449 §4.2) ------------------------

#: Why :func:`verify_with_embedded_jwk` refused a token, besides the reasons above.
BAD_ALGORITHM = "bad_algorithm"
BAD_KEY = "bad_key"
PRIVATE_KEY = "private_key"

#: The algorithms a key carried in a JWS header may use, by JWK key type and curve.
_EMBEDDED_ALGORITHMS: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "EdDSA": ("OKP", "Ed25519"),
    "Ed25519": ("OKP", "Ed25519"),  # RFC 9864 §2
}
#: JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1):
#: a header carrying one has leaked its key, and ``k`` would make it an HMAC secret.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_CURVES: dict[str, tuple[ec.EllipticCurve, int]] = {
    "P-256": (ec.SECP256R1(), 32),
    "P-384": (ec.SECP384R1(), 48),
}


class EmbeddedJWS(NamedTuple):
    """A verified JWS whose key came in its own ``jwk`` header."""

    header: dict[str, Any]
    claims: dict[str, Any]
    #: The header's ``jwk`` (public members only, checked), for its RFC 7638 thumbprint.
    jwk: dict[str, Any]


def verify_with_embedded_jwk(token: str, *, typ: str, algorithms: Collection[str],
                             max_length: int = MAX_TOKEN_LENGTH) -> EmbeddedJWS:
    """Verify ``token`` with the public key in its ``jwk`` header (RFC 9449 §4.2 proofs).

    The same strict parsing as :func:`verify` (canonical base64url, no ``crit``/``b64``), plus:
    ``typ`` must equal ``typ``; ``alg`` must be one of ``algorithms`` *and* match the key's type
    and curve (so ``none``, ``HS256`` or an RSA key used as EC never verify); the ``jwk`` must be
    a public key (any private or symmetric member is refused). Only the signature is checked
    here: what the claims must say is the caller's protocol.
    """
    if not isinstance(token, str) or len(token) > max_length:
        raise InvalidJWS(MALFORMED)
    loaded = _load(token)
    header = loaded.header
    if "crit" in header or "b64" in header:
        raise InvalidJWS(CRITICAL)
    if header.get("typ") != typ:
        raise InvalidJWS(WRONG_TYPE)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms or alg not in _EMBEDDED_ALGORITHMS:
        raise InvalidJWS(BAD_ALGORITHM)
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise InvalidJWS(BAD_KEY)
    if _PRIVATE_MEMBERS & jwk.keys():
        raise InvalidJWS(PRIVATE_KEY)
    public_key = _embedded_public_key(jwk, alg)
    if not _verify_embedded(public_key, alg, loaded.signing_input, loaded.signature):
        raise InvalidJWS(INVALID)
    return EmbeddedJWS(header, _json_object(loaded.payload), jwk)


def _jwk_int(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidJWS(BAD_KEY)
    try:
        return _b64decode(value)
    except InvalidJWS:
        raise InvalidJWS(BAD_KEY) from None


def _embedded_public_key(jwk: Mapping[str, Any], alg: str) -> Any:
    """The public key of ``jwk``, which must have the key type (and curve) ``alg`` needs."""
    kty, crv = _EMBEDDED_ALGORITHMS[alg]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise InvalidJWS(BAD_KEY)
    try:
        if kty == "RSA":
            # The one RSA rule of registered client keys (jwk.rsa_public_key): a DPoP proof
            # chooses its own key, so an unbounded modulus or exponent would let anyone buy
            # CPU time per request (RFC 9449 §11.1 leaves the key to the client).
            return rsa_public_key(int.from_bytes(_jwk_int(jwk, "n"), "big"),
                                  int.from_bytes(_jwk_int(jwk, "e"), "big"))
        if kty == "EC":
            curve, size = _CURVES[str(crv)]
            x, y = _jwk_int(jwk, "x"), _jwk_int(jwk, "y")
            if len(x) != size or len(y) != size:
                raise InvalidJWS(BAD_KEY)
            # Raises ValueError for a point not on the curve (invalid-curve attacks).
            return ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"),
                                                 int.from_bytes(y, "big"), curve).public_key()
        x = _jwk_int(jwk, "x")
        if len(x) != 32:
            raise InvalidJWS(BAD_KEY)
        return ed25519.Ed25519PublicKey.from_public_bytes(x)
    except (ValueError, TypeError):
        raise InvalidJWS(BAD_KEY) from None


def _verify_embedded(public_key: Any, alg: str, signing_input: bytes, signature: bytes) -> bool:
    try:
        if alg == "RS256":
            public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "PS256":
            # RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
            public_key.verify(signature, signing_input,
                              padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                              hashes.SHA256())
        elif alg in _EC_ALGORITHMS:
            hash_cls, size = _EC_ALGORITHMS[alg]
            if len(signature) != 2 * size:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                       int.from_bytes(signature[size:], "big"))
            public_key.verify(der, signing_input, ec.ECDSA(hash_cls()))
        else:
            public_key.verify(signature, signing_input)
    except InvalidSignature:
        return False
    return True
