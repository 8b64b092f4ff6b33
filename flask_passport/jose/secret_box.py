"""Encrypted client secrets, for the one method that needs the plain secret: ``client_secret_jwt``.

Client secrets are stored as digests, but verifying an HS256 client assertion (RFC 7523 §2.2,
OpenID Connect Core §9) needs the secret itself as the HMAC key. Clients registered for
``client_secret_jwt`` therefore also keep an AES-256-GCM copy of their secret
(``secret_encrypted``); no other client has one.

The AES key is derived with HKDF-SHA256 from ``PASSPORT_CLIENT_SECRET_KEY`` (else the app's
``SECRET_KEY``), so the database alone never yields the secret. The client id is the
associated data: a ciphertext copied onto another client's row does not decrypt. Changing the
key makes every stored copy unreadable: those clients then fail authentication (401
``invalid_client``) until they are given a new secret.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: The stored form is ``v1.<base64url(nonce || ciphertext || tag)>``.
VERSION = "v1."
_INFO = b"flask-passport client_secret_jwt secret box v1"
_NONCE = 12


class SecretBoxError(ValueError):
    """No key is configured, or a stored secret does not decrypt with it."""


def _aead(master_key: str | bytes | None) -> AESGCM:
    if not master_key:
        raise SecretBoxError("client_secret_jwt needs PASSPORT_CLIENT_SECRET_KEY or the app's "
                             "SECRET_KEY to encrypt client secrets.")
    raw = master_key.encode("utf-8") if isinstance(master_key, str) else master_key
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(raw)
    return AESGCM(key)


def seal(master_key: str | bytes | None, client_id: str, secret: str) -> str:
    """The stored form of ``secret`` for the client ``client_id``."""
    nonce = os.urandom(_NONCE)
    sealed = _aead(master_key).encrypt(nonce, secret.encode("utf-8"), client_id.encode("utf-8"))
    return VERSION + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")


def open_(master_key: str | bytes | None, client_id: str, stored: str) -> str:
    """The secret :func:`seal` stored for ``client_id``; :class:`SecretBoxError` otherwise."""
    if not stored.startswith(VERSION):
        raise SecretBoxError("Unknown secret box format.")
    body = stored[len(VERSION):]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        plain = _aead(master_key).decrypt(raw[:_NONCE], raw[_NONCE:],
                                          client_id.encode("utf-8"))
        return plain.decode("utf-8")
    except (binascii.Error, ValueError, InvalidTag, UnicodeDecodeError):
        raise SecretBoxError("The stored client secret does not decrypt with this key.") \
            from None
