"""DPoP proofs (RFC 9449 §4): parse and verify the ``DPoP`` header's JWT, and the server nonces.

A proof is a JWS signed with the client's private key, whose public half travels in the
``jwk`` header (:func:`~flask_passport.jose.jws.verify_with_embedded_jwk`). :func:`verify_proof`
applies the §4.3 checks in order and raises :class:`InvalidProof` with the RFC's error code:

1. one well-formed JWT, ``typ: dpop+jwt``, ``alg`` in the allow-list (never ``none`` or a MAC),
   a public ``jwk`` that verifies the signature;
2. ``htm`` is the request's method and ``htu`` its URL without query and fragment (§4.3 items
   8-9), compared after normalising scheme, host, default port and percent-encoding; the
   expected URL is built by the caller from the configured issuer, never from ``Host``;
3. ``iat`` within the proof lifetime (plus leeway) and not in the future (§11.1);
4. ``ath`` is ``base64url(sha256(access token))`` when an access token comes with the proof
   (§4.3 item 11), ``nonce`` a current server nonce when nonces are on (§8, §9);
5. ``jti`` used once within the window (§11.1), through the caller's single-use store: last,
   so a proof refused for another reason does not burn its ``jti``.

Nonces (§8) are stateless: ``base64url(window || HMAC(key, window))`` where ``window`` is the
number of the current :data:`NONCE_WINDOW`-second period. The current and previous windows are
accepted, so a nonce handed out just before a rotation still works once; no database is read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from . import jws
from .keys import thumbprint

#: The algorithms proofs may use by default (``PASSPORT_DPOP_ALGS``).
DEFAULT_ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA", "Ed25519")
#: Every algorithm :func:`~flask_passport.jose.jws.verify_with_embedded_jwk` can check.
SUPPORTED_ALGORITHMS = ("ES256", "ES384", "RS256", "PS256", "EdDSA", "Ed25519")
#: A proof header longer than this is refused unread (an RSA-4096 proof is ~1.6 KiB).
MAX_PROOF_LENGTH = 4096
#: RFC 9449 §4.2 leaves the ``jti`` length open; 256 characters is plenty for 96 random bits.
MAX_JTI_LENGTH = 256
#: Seconds per nonce window (§8): a nonce stays valid for one to two windows.
NONCE_WINDOW = 300
#: The namespace of proof ``jti`` values in the single-use store.
REPLAY_NAMESPACE = "dpop"

INVALID_DPOP_PROOF = "invalid_dpop_proof"
USE_DPOP_NONCE = "use_dpop_nonce"

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SHA256_SIZE = 32


class InvalidProof(Exception):
    """A refused proof: ``error`` is ``invalid_dpop_proof`` or ``use_dpop_nonce`` (RFC 9449
    §5, §7.1, §8); ``description`` is safe to show (it never repeats the proof)."""

    def __init__(self, description: str, *, asks_for_nonce: bool = False) -> None:
        super().__init__(description)
        #: The answer is ``use_dpop_nonce``: the client should retry with the server's nonce.
        self.asks_for_nonce = asks_for_nonce
        self.error = USE_DPOP_NONCE if asks_for_nonce else INVALID_DPOP_PROOF
        self.description = description


@dataclass(frozen=True)
class Proof:
    """A verified proof: the key's RFC 7638 thumbprint (``jkt``) and the proof's claims."""

    jkt: str
    jti: str
    iat: int
    nonce: str | None
    claims: dict[str, Any]


#: Marks ``<jkt>:<jti>`` as used until the given time; ``False`` when it was used already.
UseOnce = Callable[[str, datetime], bool]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def access_token_hash(access_token: str) -> str:
    """RFC 9449 §4.2 ``ath``: base64url of the SHA-256 of the token's ASCII octets."""
    return b64url(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint of a checked public JWK (SHA-256, base64url): the ``jkt``."""
    return thumbprint(jwk)


def is_thumbprint(value: str) -> bool:
    """Whether ``value`` can be a SHA-256 JWK thumbprint (43 base64url characters)."""
    if len(value) != 43:
        return False
    try:
        raw = jws._b64decode(value)
    except jws.InvalidJWS:
        return False
    return len(raw) == _SHA256_SIZE


def normalise_url(url: str) -> str | None:
    """``url`` as RFC 9449 §4.3 item 9 compares it: lowercase scheme and host, no default port,
    no query or fragment, the path percent-decoded and at least ``/``. ``None`` if it is not an
    absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{unquote(parts.path) or '/'}"


_MESSAGES = {
    jws.MALFORMED: "The DPoP proof is not a well-formed JWT.",
    jws.CRITICAL: "The DPoP proof uses unsupported critical headers.",
    jws.WRONG_TYPE: "The DPoP proof's typ must be dpop+jwt.",
    jws.BAD_ALGORITHM: "The DPoP proof's alg is not one this server accepts.",
    jws.BAD_KEY: "The DPoP proof's jwk is not a usable public key for its alg.",
    jws.PRIVATE_KEY: "The DPoP proof's jwk must be a public key (it carries private members).",
    jws.INVALID: "The DPoP proof's signature is invalid.",
}


def verify_proof(
    proof: str,
    *,
    method: str,
    url: str,
    algorithms: Collection[str],
    lifetime: int,
    leeway: int = 0,
    access_token: str | None = None,
    nonce_key: bytes | None = None,
    use_once: UseOnce | None = None,
    now: float | None = None,
) -> Proof:
    """Verify one ``DPoP`` header value for a request to ``method`` ``url`` (see the module
    docstring for the order of the checks). ``nonce_key``: nonces are required (§8).
    ``use_once``: the single-use store for ``jti``; ``None`` skips it (callers that must not
    consume the proof yet)."""
    now = time.time() if now is None else now
    try:
        verified = jws.verify_with_embedded_jwk(proof, typ="dpop+jwt", algorithms=algorithms,
                                                max_length=MAX_PROOF_LENGTH)
    except jws.InvalidJWS as exc:
        raise InvalidProof(_MESSAGES.get(exc.reason, "The DPoP proof is invalid.")) from None
    claims = verified.claims
    jti, iat = _jti_and_iat(claims)
    if claims.get("htm") != method:
        raise InvalidProof("The DPoP proof's htm does not match the request method.")
    htu = claims.get("htu")
    expected = normalise_url(url)
    if not isinstance(htu, str) or expected is None or normalise_url(htu) != expected:
        raise InvalidProof("The DPoP proof's htu does not match the request URL.")
    if iat > now + leeway:
        raise InvalidProof("The DPoP proof's iat is in the future.")
    if iat < now - lifetime - leeway:
        raise InvalidProof("The DPoP proof has expired (its iat is too old).")
    _check_ath(claims, access_token)
    nonce = claims.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise InvalidProof("The DPoP proof's nonce must be a string.")
    if nonce_key is not None and (nonce is None or not nonce_valid(nonce_key, nonce, now)):
        raise InvalidProof("A current DPoP-Nonce is required in the proof.", asks_for_nonce=True)
    jkt = jwk_thumbprint(verified.jwk)
    if use_once is not None:
        # Remembered per key: another key choosing the same jti cannot burn this one's.
        expires = datetime.fromtimestamp(iat + lifetime + 2 * leeway + 1, UTC)
        if not use_once(f"{jkt}:{jti}", expires):
            raise InvalidProof("The DPoP proof has been used already (its jti was seen).")
    return Proof(jkt, jti, iat, nonce, claims)


def _jti_and_iat(claims: dict[str, Any]) -> tuple[str, int]:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        raise InvalidProof("The DPoP proof needs a jti of at most 256 characters.")
    iat = claims.get("iat")
    try:
        return jti, jws._number(iat)
    except jws.InvalidJWS:
        raise InvalidProof("The DPoP proof needs a numeric iat.") from None


def _check_ath(claims: dict[str, Any], access_token: str | None) -> None:
    if access_token is None:
        return
    ath = claims.get("ath")
    if not isinstance(ath, str):
        raise InvalidProof("The DPoP proof needs an ath (the access token's hash).")
    if not hmac.compare_digest(ath.encode("utf-8", "replace"),
                               access_token_hash(access_token).encode("ascii")):
        raise InvalidProof("The DPoP proof's ath does not match the access token.")


# -- nonces (RFC 9449 §8, §9) ----------------------------------------------------------------


def nonce_key_from(secret: str | bytes) -> bytes:
    """The nonce MAC key, derived from the app's secret (a key of its own, not the secret)."""
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(raw, b"flask-passport DPoP nonce v1", hashlib.sha256).digest()


def _nonce_for(key: bytes, window: int) -> str:
    prefix = struct.pack(">Q", window)
    return b64url(prefix + hmac.new(key, prefix, hashlib.sha256).digest()[:16])


def current_nonce(key: bytes, now: float | None = None) -> str:
    """The nonce of the current window."""
    now = time.time() if now is None else now
    return _nonce_for(key, int(now // NONCE_WINDOW))


def nonce_valid(key: bytes, nonce: str, now: float | None = None) -> bool:
    """Whether ``nonce`` is the current window's or the previous one's (constant time)."""
    now = time.time() if now is None else now
    window = int(now // NONCE_WINDOW)
    given = nonce.encode("utf-8", "replace")
    ok = False
    for candidate in (window, window - 1):
        ok |= hmac.compare_digest(given, _nonce_for(key, candidate).encode("ascii"))
    return ok
