"""PKCE (RFC 7636): making a code verifier and its S256 challenge on the client side."""

from __future__ import annotations

# [verifier]
import base64
import hashlib
import secrets


def challenge_for(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)  # 86 characters from the allowed alphabet
    return verifier, challenge_for(verifier)  # keep the verifier; send the challenge (S256)
# [/verifier]


def main() -> None:
    verifier, challenge = make_pkce_pair()
    assert 43 <= len(verifier) <= 128 and len(challenge) == 43
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    assert set(verifier) <= allowed
    # The RFC 7636 appendix B example.
    assert challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == \
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    print("pkce OK")


if __name__ == "__main__":
    main()
