"""Signing keys: generate, write, load (files or environment) and export as JWKs.

Keys are parsed once per application and kept in memory: parsing an RSA private key costs
~60 ms, so doing it per request would cap a server at a few dozen tokens a second.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

PRIVATE_KEY_FILE = "oauth-private.key"
PUBLIC_KEY_FILE = "oauth-public.key"
#: The RSA key that signs ID tokens when the access-token key is EC or EdDSA: OpenID Connect
#: Discovery 1.0 §3 requires RS256 among ``id_token_signing_alg_values_supported``.
ID_TOKEN_KEY_FILE = "oauth-id-token-private.key"
#: What ID tokens are signed with unless the client registered another algorithm (OpenID
#: Connect Discovery 1.0 §3 requires every provider to support it).
OIDC_REQUIRED_ALGORITHM = "RS256"
#: The algorithms of the keys this package makes (see :func:`algorithm_for`).
ID_TOKEN_ALGORITHMS = ("RS256", "ES256", "ES384", "EdDSA")

#: 2048-bit RSA is NIST's floor through 2030 and signs ~4x faster than 4096; choose 4096 with
#: ``--length 4096`` if policy asks for it.
DEFAULT_RSA_BITS = 2048


class KeyLoadError(Exception):
    """Keys are missing or unusable; the message says which command fixes it."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64(n: int) -> str:
    return _b64(n.to_bytes((n.bit_length() + 7) // 8 or 1, "big"))


def public_jwk(public_key: PublicKeyTypes) -> dict[str, str]:
    """The public key as an RFC 7517 JWK (without ``kid``/``alg``/``use``)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        nums = public_key.public_numbers()
        return {"kty": "RSA", "e": _int_b64(nums.e), "n": _int_b64(nums.n)}
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        nums_ec = public_key.public_numbers()
        size = (public_key.curve.key_size + 7) // 8
        return {
            "kty": "EC",
            "crv": {"secp256r1": "P-256", "secp384r1": "P-384"}[public_key.curve.name],
            "x": _b64(nums_ec.x.to_bytes(size, "big")),
            "y": _b64(nums_ec.y.to_bytes(size, "big")),
        }
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}
    raise KeyLoadError(f"Unsupported key type {type(public_key).__name__}.")


def thumbprint(jwk: Mapping[str, str]) -> str:
    """RFC 7638 JWK thumbprint, used as the ``kid`` so it is stable across processes."""
    required = {
        "RSA": ("e", "kty", "n"),
        "EC": ("crv", "kty", "x", "y"),
        "OKP": ("crv", "kty", "x"),
    }
    members = {k: jwk[k] for k in required[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode("ascii")).digest())


#: The key types Passport signs and verifies with: those ``algorithm_for`` accepts.
JWSPrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
JWSPublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
JWS_PRIVATE_KEY_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)
JWS_PUBLIC_KEY_TYPES = (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)


def algorithm_for(public_key: PublicKeyTypes) -> str:
    """The one JWS algorithm a key may be used with (never taken from a token header)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name == "secp256r1":
            return "ES256"
        if public_key.curve.name == "secp384r1":
            return "ES384"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    raise KeyLoadError(f"Unsupported key type {type(public_key).__name__}.")


@dataclass(frozen=True)
class SigningKey:
    """A parsed key pair (the private half is absent for verify-only keys)."""

    kid: str
    algorithm: str
    public_key: PublicKeyTypes
    private_key: PrivateKeyTypes | None = None

    @classmethod
    def from_keys(
        cls, public_key: PublicKeyTypes, private_key: PrivateKeyTypes | None = None
    ) -> SigningKey:
        jwk = public_jwk(public_key)
        return cls(thumbprint(jwk), algorithm_for(public_key), public_key, private_key)

    def jws_private_key(self) -> JWSPrivateKey:
        """The private half, as a key type :mod:`~flask_passport.jose.jws` signs with (the only
        types ``algorithm_for`` accepts)."""
        if isinstance(self.private_key, JWS_PRIVATE_KEY_TYPES):
            return self.private_key
        raise KeyLoadError(f"No private {self.algorithm} key to sign with (kid {self.kid}).")

    def jws_public_key(self) -> JWSPublicKey:
        """The public half, as a key type a JWS verifier takes."""
        if isinstance(self.public_key, JWS_PUBLIC_KEY_TYPES):
            return self.public_key
        raise KeyLoadError(f"Unsupported key type {type(self.public_key).__name__}.")

    def jwk(self) -> dict[str, str]:
        data = public_jwk(self.public_key)
        data.update({"kid": self.kid, "alg": self.algorithm, "use": "sig"})
        return data


def verifying_key_from_jwk(jwk: Mapping[str, Any]) -> SigningKey:
    """A verify-only key from another server's JWK (RFC 7517): its ``kid``, and the algorithm
    of its key type (:func:`algorithm_for`), whatever the JWK's own ``alg`` says."""
    kid = jwk.get("kid")
    try:
        public_key = jwt.PyJWK(dict(jwk)).key
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise KeyLoadError(f"The JWK {kid!r} is not a usable public key.") from exc
    if not isinstance(kid, str):
        raise KeyLoadError("A JWK without a string kid cannot be selected.")
    return SigningKey(kid, algorithm_for(public_key), public_key)


@dataclass
class KeySet:
    """The current signing key plus any older public keys that still verify, and the RSA key
    that signs ID tokens when the current key is not RSA (published, never an access key)."""

    signing: SigningKey | None
    verifying: dict[str, SigningKey] = field(default_factory=dict)
    id_token_signing: SigningKey | None = None

    def __post_init__(self) -> None:
        if self.signing is not None:
            self.verifying.setdefault(self.signing.kid, self.signing)

    @property
    def signing_key(self) -> SigningKey:
        if self.signing is None or self.signing.private_key is None:
            raise KeyLoadError(
                "No private key to sign tokens with. Run `flask passport keys` or set "
                "PASSPORT_PRIVATE_KEY."
            )
        return self.signing

    def verifying_key(self, kid: str) -> SigningKey | None:
        """The key that verifies an access token with this ``kid`` (never the ID-token key)."""
        return self.verifying.get(kid)

    def _id_token_keys(self) -> list[SigningKey]:
        return [k for k in (self.signing, self.id_token_signing)
                if k is not None and k.private_key is not None]

    def id_token_algorithms(self) -> list[str]:
        """The algorithms ID tokens can be signed with (Discovery §3), RS256 first."""
        algorithms = {k.algorithm for k in self._id_token_keys()}
        return sorted(algorithms, key=lambda a: (a != OIDC_REQUIRED_ALGORITHM, a))

    def id_token_key(self, algorithm: str | None = None) -> SigningKey:
        """The key that signs ID tokens with ``algorithm`` (a client's registered
        ``id_token_signed_response_alg``), by default RS256 (OIDC Core §2), else the current
        key for key sets from before the RSA ID-token key existed."""
        candidates = self._id_token_keys()
        wanted = algorithm or OIDC_REQUIRED_ALGORITHM
        for key in candidates:
            if key.algorithm == wanted:
                return key
        if algorithm is None and candidates:
            return candidates[0]
        if not candidates:
            return self.signing_key  # raises the "run flask passport keys" error
        raise KeyLoadError(
            f"A client registered {wanted} ID tokens (id_token_signed_response_alg) but no key "
            "of this server has that algorithm: change the client's algorithm, or sign with "
            "such a key."
        )

    def id_token_verifying_key(self, kid: str) -> SigningKey | None:
        """The key that verifies an ID token we signed (an ``id_token_hint``)."""
        if self.id_token_signing is not None and self.id_token_signing.kid == kid:
            return self.id_token_signing
        return self.verifying.get(kid)

    def jwks(self) -> dict[str, Any]:
        keys = list(self.verifying.values())
        if self.id_token_signing is not None and self.id_token_signing.kid not in self.verifying:
            keys.append(self.id_token_signing)
        return {"keys": [k.jwk() for k in keys]}


def generate_private_key(kind: str = "RSA", bits: int = DEFAULT_RSA_BITS) -> PrivateKeyTypes:
    kind = kind.upper()
    if kind in ("RSA", "RS256"):
        if bits < 2048:
            raise KeyLoadError("RSA keys shorter than 2048 bits are refused.")
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if kind in ("EC", "ES256"):
        return ec.generate_private_key(ec.SECP256R1())
    if kind in ("ED25519", "EDDSA", "OKP"):
        return ed25519.Ed25519PrivateKey.generate()
    raise KeyLoadError(f"Unknown key type {kind!r}: use RSA, ES256 or EdDSA.")


def private_pem(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: PrivateKeyTypes | PublicKeyTypes) -> bytes:
    public = key.public_key() if hasattr(key, "private_bytes") else key  # type: ignore[union-attr]
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def write_key_pair(
    directory: str | os.PathLike[str], key: PrivateKeyTypes, *, force: bool = False
) -> tuple[Path, Path]:
    """Write ``oauth-private.key`` (mode 0600) and ``oauth-public.key`` (0644) to ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / PRIVATE_KEY_FILE
    public_path = directory / PUBLIC_KEY_FILE
    if not force and (private_path.exists() or public_path.exists()):
        raise KeyLoadError(
            f"Signing keys already exist in {directory}. Use --rotate to add a new key while "
            "the old one keeps verifying, or --force to overwrite them (every token they "
            "signed stops working)."
        )
    _write_private(private_path, key)
    public_path.write_bytes(public_pem(key))
    public_path.chmod(0o644)
    return private_path, public_path


def _write_private(path: Path, key: PrivateKeyTypes) -> None:
    # Create with the final mode so the private key is never readable by others, even briefly.
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem(key))


def write_id_token_key(directory: str | os.PathLike[str], *, force: bool = False,
                       bits: int = DEFAULT_RSA_BITS) -> Path | None:
    """Write the RSA ID-token key (:data:`ID_TOKEN_KEY_FILE`, mode 0600) unless one exists;
    returns its path, or ``None`` when an existing one was kept."""
    path = Path(directory) / ID_TOKEN_KEY_FILE
    if path.exists() and not force:
        return None
    _write_private(path, generate_private_key("RSA", bits))
    return path


def _pem_from_env(value: str) -> bytes:
    # Platforms that keep config in one-line variables often store newlines as a literal "\n".
    return value.replace("\\n", "\n").strip().encode("utf-8") + b"\n"


def load_private_key(pem: bytes) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyLoadError(
            "The private key is not a readable unencrypted PEM key. Run `flask passport keys "
            "--force` to write a new pair."
        ) from exc


def load_public_key(pem: bytes) -> PublicKeyTypes:
    try:
        return serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise KeyLoadError(
            "The public key is not a readable PEM key. Run `flask passport keys --force` to "
            "write a new pair."
        ) from exc


def load_keys(
    *,
    private_pem_text: str | None,
    public_pem_text: str | None,
    key_path: str | os.PathLike[str] | None,
    id_token_pem_text: str | None = None,
) -> KeySet:
    """Load the key pair: environment/config contents first, then files in ``key_path``; and,
    when the pair is not RSA, the RSA ID-token key the same way."""
    private_key: PrivateKeyTypes | None = None
    public_key: PublicKeyTypes | None = None
    if private_pem_text:
        private_key = load_private_key(_pem_from_env(private_pem_text))
    if public_pem_text:
        public_key = load_public_key(_pem_from_env(public_pem_text))
    elif private_key is not None:
        # The public half of a configured private key is derived, never read from a (possibly
        # stale) oauth-public.key file left in the key folder.
        public_key = private_key.public_key()
    if key_path is not None and (private_key is None or public_key is None):
        directory = Path(key_path)
        try:
            if private_key is None and (directory / PRIVATE_KEY_FILE).exists():
                private_key = load_private_key((directory / PRIVATE_KEY_FILE).read_bytes())
            if public_key is None and (directory / PUBLIC_KEY_FILE).exists():
                public_key = load_public_key((directory / PUBLIC_KEY_FILE).read_bytes())
        except OSError as exc:
            raise KeyLoadError(
                f"The encryption keys in {directory} cannot be read ({exc.strerror}). Check "
                "their permissions, or run `flask passport keys --force`."
            ) from exc
    if public_key is None and private_key is not None:
        public_key = private_key.public_key()
    if public_key is None:
        where = f" in {key_path}" if key_path is not None else ""
        raise KeyLoadError(
            f"Passport's encryption keys were not found{where}. Run `flask passport keys` (or "
            "`flask passport install`), or set PASSPORT_PRIVATE_KEY and PASSPORT_PUBLIC_KEY."
        )
    if private_key is not None and public_pem(private_key) != public_pem(public_key):
        raise KeyLoadError(
            "PASSPORT_PRIVATE_KEY and PASSPORT_PUBLIC_KEY are not one pair. Export both halves "
            "of the same key."
        )
    signing = SigningKey.from_keys(public_key, private_key)
    id_key = None
    if signing.algorithm != OIDC_REQUIRED_ALGORITHM and private_key is not None:
        id_key = _load_id_token_key(id_token_pem_text, key_path)
    return KeySet(signing, id_token_signing=id_key)


def _load_id_token_key(pem_text: str | None, key_path: str | os.PathLike[str] | None
                       ) -> SigningKey | None:
    """The RSA ID-token key from ``PASSPORT_ID_TOKEN_PRIVATE_KEY`` or its file, if any."""
    if pem_text:
        private_key = load_private_key(_pem_from_env(pem_text))
    else:
        path = Path(key_path) / ID_TOKEN_KEY_FILE if key_path is not None else None
        if path is None or not path.exists():
            return None
        try:
            private_key = load_private_key(path.read_bytes())
        except OSError as exc:
            raise KeyLoadError(f"{path} cannot be read ({exc.strerror}).") from exc
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise KeyLoadError("The ID-token key must be an RSA key (ID tokens are signed RS256). "
                           "Run `flask passport keys --force` to write a new one.")
    return SigningKey.from_keys(private_key.public_key(), private_key)
