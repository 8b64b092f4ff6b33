"""A client's public keys (RFC 7517 JWK / JWK Set) and the shared secret of ``client_secret_jwt``.

Used by JWT client authentication (RFC 7523 §2.2, OpenID Connect Core §9). Parsing is strict
because a registered JWKS is stored and trusted for every later assertion of that client:

* only ``RSA`` (modulus of 2048 to 8192 bits, odd exponent from 3 to below 2**32), ``EC`` on
  P-256 / P-384 (the point is checked to be on the curve) and ``OKP`` Ed25519; any other
  ``kty`` is refused;
* a key carrying any private member (``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``, ``oth``) or a
  symmetric ``k`` is refused: a client that publishes its private key has none left;
* ``use`` other than ``sig`` (and ``key_ops`` without ``verify``) keeps the key out of
  verification; an ``alg`` narrows the key to that one algorithm;
* ``kid`` values are unique, so a header's ``kid`` names at most one key.

A :class:`ClientKey` says which algorithms it verifies; the JWS header's ``alg`` only picks among
those, so an RSA key can never be used as an HMAC secret (the classic key confusion).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from .keys import JWSPublicKey

#: Asymmetric JWS algorithms of ``private_key_jwt`` (RFC 7518 §3.3-3.5, RFC 8037 §3.1, and
#: RFC 9864 §2's fully-specified ``Ed25519``, which oauth4webapi and jose emit).
ASYMMETRIC_ALGORITHMS = ("RS256", "PS256", "ES256", "ES384", "EdDSA", "Ed25519")
#: HMAC algorithms of ``client_secret_jwt`` (RFC 7518 §3.2), with their minimum key length.
HMAC_ALGORITHMS = {"HS256": 32, "HS384": 48, "HS512": 64}
#: Members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
#: Random bytes in a ``client_secret_jwt`` secret: 64 characters, enough for HS512.
HMAC_SECRET_BYTES = 48
#: A client's JWKS is a few keys; more is refused before any key is parsed.
MAX_KEYS = 10
#: The JSON text of a JWKS larger than this is refused (a 4096-bit RSA JWK is ~800 bytes).
MAX_JWKS_LENGTH = 16 * 1024
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
#: An RSA public exponent is below 2**32 (see :func:`rsa_public_key`).
MAX_RSA_EXPONENT_BITS = 32

_ALGORITHMS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "RSA": ("RS256", "PS256"),
    "P-256": ("ES256",),
    "P-384": ("ES384",),
    "Ed25519": ("EdDSA", "Ed25519"),
}
_CURVES: dict[str, ec.EllipticCurve] = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class JWKError(ValueError):
    """A JWK or JWKS that cannot be used; the message says why (it never holds key material)."""


@dataclass(frozen=True)
class ClientKey:
    """One verification key of a client: a public key, or the HMAC secret of
    ``client_secret_jwt``, and the JWS algorithms it may verify."""

    kid: str | None
    algorithms: tuple[str, ...]
    public_key: JWSPublicKey | None = None
    secret: bytes | None = None

    def __repr__(self) -> str:  # never print a secret
        return f"ClientKey(kid={self.kid!r}, algorithms={self.algorithms!r})"


def hmac_key(secret: str) -> ClientKey:
    """The ``client_secret_jwt`` key of a client secret: the HMAC algorithms whose minimum key
    size (RFC 7518 §3.2: at least the hash output) the secret reaches."""
    raw = secret.encode("utf-8")
    algorithms = tuple(alg for alg, size in HMAC_ALGORITHMS.items() if len(raw) >= size)
    return ClientKey(None, algorithms, secret=raw)


def loads_jwks(text: str | bytes) -> dict[str, Any]:
    """The JWKS object of a JSON text (a file, a column, a response), checked by
    :func:`parse_jwks`."""
    if len(text) > MAX_JWKS_LENGTH:
        raise JWKError("The JWKS is too large.")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise JWKError("The JWKS is not valid JSON.") from None
    parse_jwks(value)
    return value  # type: ignore[no-any-return]


def parse_jwks(value: Any) -> list[ClientKey]:
    """The signature keys of a JWK Set (RFC 7517 §5); :class:`JWKError` if any key is unusable.

    Keys for encryption (``use: enc``) are checked and left out; a set with no signature key
    left is an error, as are duplicate ``kid`` values."""
    if not isinstance(value, Mapping) or not isinstance(value.get("keys"), list):
        raise JWKError("A JWKS is a JSON object with a \"keys\" list.")
    items = value["keys"]
    if not items or len(items) > MAX_KEYS:
        raise JWKError(f"A JWKS needs 1 to {MAX_KEYS} keys.")
    keys: list[ClientKey] = []
    kids: set[str] = set()
    for item in items:
        key = parse_jwk(item)
        if key.kid is not None:
            if key.kid in kids:
                raise JWKError("Two keys of the JWKS share a kid.")
            kids.add(key.kid)
        if key.algorithms:
            keys.append(key)
    if not keys:
        raise JWKError("The JWKS holds no signature key.")
    return keys


def parse_jwk(jwk: Any) -> ClientKey:
    """One public JWK (RFC 7517 §4); its ``algorithms`` are empty when ``use``/``key_ops`` say
    it is not for verifying signatures."""
    if not isinstance(jwk, Mapping):
        raise JWKError("A JWK is a JSON object.")
    if any(member in jwk for member in PRIVATE_MEMBERS):
        raise JWKError("A JWK holds private key material; register the public key only.")
    kty, kid = jwk.get("kty"), jwk.get("kid")
    if kid is not None and not (isinstance(kid, str) and 0 < len(kid) <= 256):
        raise JWKError("A JWK kid must be a non-empty string.")
    if kty == "RSA":
        public_key: JWSPublicKey = _rsa(jwk)
        family = "RSA"
    elif kty == "EC":
        family = _string(jwk, "crv")
        public_key = _ec(jwk, family)
    elif kty == "OKP":
        family = _string(jwk, "crv")
        public_key = _okp(jwk, family)
    else:
        raise JWKError("A JWK kty must be RSA, EC or OKP.")
    return ClientKey(kid, _usable_algorithms(jwk, _ALGORITHMS_BY_TYPE[family]), public_key)


def _usable_algorithms(jwk: Mapping[str, Any], family: tuple[str, ...]) -> tuple[str, ...]:
    """RFC 7517 §4.2-4.4: ``use``, ``key_ops`` and ``alg`` each narrow what the key may do."""
    use, ops, alg = jwk.get("use"), jwk.get("key_ops"), jwk.get("alg")
    if use is not None and use not in ("sig", "enc"):
        raise JWKError("A JWK use must be sig or enc.")
    if ops is not None and not (isinstance(ops, list) and all(isinstance(o, str) for o in ops)):
        raise JWKError("A JWK key_ops must be a list of strings.")
    if use == "enc" or (ops is not None and "verify" not in ops):
        return ()
    if alg is None:
        return family
    if alg not in family:
        # An encryption alg (RSA-OAEP, ECDH-ES) on a key without "use" is not ours to refuse.
        if isinstance(alg, str) and alg not in ASYMMETRIC_ALGORITHMS \
                and alg not in HMAC_ALGORITHMS and alg != "none":
            return ()
        raise JWKError("A JWK alg does not fit its key type.")
    return (alg,)


def _string(jwk: Mapping[str, Any], name: str) -> str:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise JWKError(f"A JWK lacks its {name} member.")
    return value


def _bytes(jwk: Mapping[str, Any], name: str) -> bytes:
    """A base64url member (RFC 7518 §2: no padding)."""
    value = _string(jwk, name)
    if len(value) > 2048 or not _B64URL.fullmatch(value):
        raise JWKError(f"The JWK member {name} is not base64url.")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise JWKError(f"The JWK member {name} is not base64url.") from None


def _rsa(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    return rsa_public_key(int.from_bytes(_bytes(jwk, "n"), "big"),
                          int.from_bytes(_bytes(jwk, "e"), "big"))


def rsa_public_key(n: int, e: int) -> rsa.RSAPublicKey:
    """The RSA public key (``n``, ``e``) of any JWK we verify with (a registered client key or
    a DPoP proof's own ``jwk``), else :class:`JWKError`.

    The modulus is :data:`MIN_RSA_BITS` to :data:`MAX_RSA_BITS` (RFC 7518 §3.3 asks for at
    least 2048); the exponent odd, at least 3 and below 2**32 (:data:`MAX_RSA_EXPONENT_BITS`):
    verifying costs one modular exponentiation by ``e``, so a 3000-bit exponent costs ~55
    times a normal one, a CPU-exhaustion lever for anyone who may send a key. Real keys use
    65537 (NIST SP 800-56B §6.2.1 bounds e below 2**256; no library we know makes e > 2**32).
    """
    if not MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS:
        raise JWKError(f"An RSA key needs a modulus of {MIN_RSA_BITS} to {MAX_RSA_BITS} bits.")
    if e < 3 or e % 2 == 0 or e.bit_length() > MAX_RSA_EXPONENT_BITS:
        raise JWKError("The RSA public exponent is not usable.")
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError:
        raise JWKError("The RSA key is not usable.") from None


def _ec(jwk: Mapping[str, Any], crv: str) -> ec.EllipticCurvePublicKey:
    curve = _CURVES.get(crv)
    if curve is None:
        raise JWKError("An EC key must be on P-256 or P-384.")
    size = (curve.key_size + 7) // 8
    x, y = _bytes(jwk, "x"), _bytes(jwk, "y")
    if len(x) != size or len(y) != size:  # RFC 7518 §6.2.1.2: the full coordinate length
        raise JWKError("The EC coordinates have the wrong length.")
    try:
        # Raises for a point not on the curve (invalid-curve attacks).
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + x + y)
    except ValueError:
        raise JWKError("The EC point is not on its curve.") from None


def _okp(jwk: Mapping[str, Any], crv: str) -> ed25519.Ed25519PublicKey:
    if crv != "Ed25519":
        raise JWKError("An OKP key must be Ed25519.")
    x = _bytes(jwk, "x")
    if len(x) != 32:
        raise JWKError("An Ed25519 key is 32 bytes.")
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(x)
    except ValueError:
        raise JWKError("The Ed25519 key is not usable.") from None
