"""Proof Key for Code Exchange (RFC 7636).

``S256`` always; ``plain`` only when the app turns it on (``PASSPORT_PKCE_PLAIN``), since it
protects nothing against an attacker who can read the authorization request (RFC 9700 §2.1.1).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from ..jose.tokens import secrets_equal

#: RFC 7636 §4.1: code-verifier = 43*128unreserved; the challenge uses the same alphabet (§4.2).
_UNRESERVED_43_128 = re.compile(r"[A-Za-z0-9\-._~]{43,128}")

S256 = "S256"
PLAIN = "plain"


def is_valid_verifier(value: str) -> bool:
    """RFC 7636 §4.1: 43 to 128 characters of ``[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"``."""
    return _UNRESERVED_43_128.fullmatch(value) is not None


def is_valid_challenge(value: str, method: str) -> bool:
    """RFC 7636 §4.2: an S256 challenge is 43 base64url characters; plain is a verifier."""
    if method == S256:
        return len(value) == 43 and _UNRESERVED_43_128.fullmatch(value) is not None
    return is_valid_verifier(value)


def s256(verifier: str) -> str:
    """``BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`` without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def required_for(client: Any, required: str) -> bool:
    """Whether ``client`` must use PKCE: public clients always (RFC 9700 §2.1.1), every client
    when ``PASSPORT_PKCE_REQUIRED`` is ``"all"`` (draft-ietf-oauth-v2-1 §4.1.1)."""
    return required == "all" or not client.confidential


def allowed_methods(allow_plain: bool) -> tuple[str, ...]:
    return (S256, PLAIN) if allow_plain else (S256,)


def verify(verifier: str, challenge: str, method: str) -> bool:
    """RFC 7636 §4.6: compare the transformed verifier with the stored challenge, constant time."""
    if not is_valid_verifier(verifier):
        return False
    if method == S256:
        return secrets_equal(s256(verifier), challenge)
    if method == PLAIN:
        return secrets_equal(verifier, challenge)
    return False
