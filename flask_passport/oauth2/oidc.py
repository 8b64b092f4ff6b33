"""OpenID Connect Core 1.0 rules, free of Flask globals.

- ID tokens (§2, §3.1.3.6): ``iss``, ``sub``, ``aud`` (the client), ``exp``, ``iat``,
  ``auth_time``, ``nonce`` and ``at_hash``, signed RS256 (Discovery §3 requires it) unless the
  client registered another ``id_token_signed_response_alg``.
- ``at_hash`` (§3.1.3.6): the left half of the access token's hash, with the hash function of
  the signing algorithm (SHA-256 for RS256/ES256, SHA-384 for ES384, SHA-512 for EdDSA).
- ``max_age`` (§3.1.2.1) and the login time it is compared with.
- Standard scopes and their claims (§5.4), filtered for the UserInfo endpoint (§5.3).
- ``id_token_hint`` verification for RP-initiated logout (RP-Initiated Logout 1.0 §2).

ID tokens from the code grant carry only authentication claims: the claims of the ``profile``,
``email``, ``address`` and ``phone`` scopes are served by the UserInfo endpoint, as §5.4 asks
when an access token is issued.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..jose import jws
from ..jose.keys import KeySet
from .context import Context
from .text import is_plain_text

#: OIDC Core §5.4: the claims each standard scope asks for.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "family_name", "given_name", "middle_name", "nickname",
                "preferred_username", "profile", "picture", "website", "gender", "birthdate",
                "zoneinfo", "locale", "updated_at"),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}

#: Every standard claim (§5.1); a claim hook may add non-standard ones, which are kept.
STANDARD_CLAIMS = frozenset(c for claims in SCOPE_CLAIMS.values() for c in claims) | {"sub"}

#: The ``prompt`` values of §3.1.2.1.
PROMPT_VALUES = ("none", "login", "consent", "select_account")

#: A nonce is echoed into the ID token and kept in the session: cap its size.
MAX_NONCE_LENGTH = 512

_HASHES: dict[str, Callable[[bytes], Any]] = {
    "RS256": hashlib.sha256, "PS256": hashlib.sha256, "ES256": hashlib.sha256,
    "RS384": hashlib.sha384, "PS384": hashlib.sha384, "ES384": hashlib.sha384,
    "RS512": hashlib.sha512, "PS512": hashlib.sha512, "ES512": hashlib.sha512,
    # Ed25519 signs with SHA-512 internally; OpenID Foundation practice uses it for at_hash.
    "EdDSA": hashlib.sha512,
}


def token_hash(value: str, algorithm: str) -> str:
    """§3.1.3.6 ``at_hash`` / §3.3.2.11 ``c_hash``: base64url of the left half of the hash."""
    try:
        digest = _HASHES[algorithm](value.encode("ascii")).digest()
    except KeyError:
        raise ValueError(f"No at_hash hash is defined for the algorithm {algorithm!r}.") from None
    half = digest[: len(digest) // 2]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode("ascii")


def encode_id_token(
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    subject: str,
    issued_at: datetime,
    lifetime: timedelta,
    auth_time: datetime | None = None,
    nonce: str | None = None,
    access_token: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
    algorithm: str | None = None,
) -> str:
    """Sign an ID token (§2) with ``algorithm`` (RS256 by default, whatever signs access
    tokens); ``aud`` is the client alone, so ``azp`` is not needed (§2: only when there are
    several audiences)."""
    key = keys.id_token_key(algorithm)
    claims: dict[str, Any] = {
        k: v for k, v in (extra_claims or {}).items() if k not in _ID_TOKEN_RESERVED
    }
    claims.update({
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + lifetime).timestamp()),
    })
    if auth_time is not None:
        claims["auth_time"] = int(auth_time.timestamp())
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        claims["at_hash"] = token_hash(access_token, key.algorithm)
    return jws.sign(claims, key, typ="JWT")


_ID_TOKEN_RESERVED = frozenset({"iss", "sub", "aud", "exp", "iat", "nbf", "auth_time", "nonce",
                                "at_hash", "c_hash", "azp", "acr", "amr", "jti"})


def issue_id_token(
    ctx: Context,
    *,
    client: Any,
    user_id: str,
    access_token: str,
    nonce: str | None,
    auth_time: datetime | None,
) -> str:
    """The ID token of a token response, signed with the client's registered
    ``id_token_signed_response_alg`` (OpenID Connect Dynamic Client Registration §2), else
    RS256."""
    return encode_id_token(
        ctx.keys(),
        issuer=ctx.issuer,
        client_id=client.public_id,  # aud: a document client's URL
        subject=user_id,
        issued_at=ctx.now(),
        lifetime=ctx.settings.id_token_lifetime,
        auth_time=auth_time,
        nonce=nonce,
        access_token=access_token,
        # A replaced client model may lack the column: the default then.
        algorithm=getattr(client, "id_token_signed_response_alg", None),
    )


def wants_id_token(ctx: Context, scopes: Iterable[str]) -> bool:
    """An ID token is issued when OIDC is on and ``openid`` was granted (§3.1.2.1)."""
    return ctx.settings.oidc_enabled and "openid" in scopes


def original_auth_time(ctx: Context, first_access_token_id: str | None) -> datetime | None:
    """§12.2: a refreshed ID token keeps the original ``auth_time``, read from the code row
    the grant started with (``None`` once that row has been purged)."""
    if not first_access_token_id:
        return None
    AuthCode = ctx.models.AuthCode
    return ctx.session.scalar(
        sa.select(AuthCode.auth_time).where(AuthCode.access_token_id == first_access_token_id)
        .limit(1)
    )


def first_access_token_of_family(ctx: Context, family_id: str) -> str | None:
    """The access token the family's first refresh token was issued with (its code's token)."""
    RefreshToken = ctx.models.RefreshToken
    return ctx.session.scalar(
        sa.select(RefreshToken.access_token_id).where(RefreshToken.id == family_id)
    )


# -- authorization request rules --------------------------------------------------------------


def parse_max_age(value: str | None) -> int | None:
    """§3.1.2.1 ``max_age``: a non-negative number of seconds; raises ValueError otherwise."""
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 10:
        raise ValueError("The max_age parameter must be a non-negative integer of seconds.")
    return int(value)


def login_too_old(auth_time: datetime | None, max_age: int | None, now: datetime) -> bool:
    """Whether ``max_age`` asks for a fresh login: the login is older than ``max_age`` seconds,
    or its time is unknown (a session from before login times were recorded)."""
    if max_age is None:
        return False
    if auth_time is None:
        return True
    return (now - auth_time).total_seconds() > max_age


def auth_time_from_timestamp(value: Any) -> datetime | None:
    """A login time kept in the session as epoch seconds, or ``None``."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(int(value), UTC)
    return None


# -- claims (§5) ------------------------------------------------------------------------------


def default_claims(user: Any, scopes: Iterable[str]) -> dict[str, Any]:
    """Claims read from same-named attributes of the user model (used when it defines no
    ``get_oidc_claims`` and no ``@passport.oidc_claims`` hook is registered)."""
    found: dict[str, Any] = {}
    for scope in scopes:
        for claim in SCOPE_CLAIMS.get(scope, ()):
            value = getattr(user, claim, None)
            if value is not None and value != "" and not callable(value):
                found[claim] = value
    return found


def userinfo_claims(
    subject: str, scopes: Iterable[str], claims: Mapping[str, Any]
) -> dict[str, Any]:
    """§5.3.2: ``sub`` plus the standard claims the granted scopes cover (and any non-standard
    claims the hook returned). Standard claims of scopes not granted are dropped."""
    granted = set(scopes)
    allowed = {c for scope in granted for c in SCOPE_CLAIMS.get(scope, ())}
    result: dict[str, Any] = {}
    for name, value in claims.items():
        if name == "sub" or value is None:
            continue
        if name in STANDARD_CLAIMS and name not in allowed:
            continue
        if isinstance(value, datetime):
            value = int(value.timestamp())
        result[name] = value
    result["sub"] = subject
    return result


# -- RP-initiated logout ----------------------------------------------------------------------


class InvalidHint(Exception):
    """The ``id_token_hint`` is not an ID token this server signed."""


_HINT_MESSAGES = {
    jws.MALFORMED: "The id_token_hint is malformed.",
    jws.CRITICAL: "The id_token_hint was not issued by this server.",
    jws.UNKNOWN_KEY: "The id_token_hint was not issued by this server.",
    # RFC 9068 §2.1: an access token (typ at+jwt) is not an ID token.
    jws.WRONG_TYPE: "The id_token_hint is an access token, not an ID token.",
}


def verify_id_token_hint(keys: KeySet, token: str, *, issuer: str | None) -> dict[str, Any]:
    """Verify an ``id_token_hint``'s signature (current or retired key) and issuer.

    RP-Initiated Logout 1.0 §2: an expired ID token is still a valid hint, so ``exp`` is not
    checked; the algorithm always comes from our key for the ``kid``, never from the token.
    """
    try:
        return jws.verify(token, keys.id_token_verifying_key, issuer=issuer, verify_exp=False,
                          require=("sub", "aud"), refuse_typ="at+jwt")
    except jws.InvalidJWS as exc:
        raise InvalidHint(_HINT_MESSAGES.get(exc.reason, "The id_token_hint is invalid.")) \
            from None


def hint_client_id(claims: Mapping[str, Any]) -> str | None:
    """The client an ID token was issued to: its single ``aud`` (or ``azp``)."""
    aud = claims.get("aud")
    if isinstance(aud, str):
        return aud
    if isinstance(aud, list) and len(aud) == 1 and isinstance(aud[0], str):
        return aud[0]
    azp = claims.get("azp")
    return azp if isinstance(azp, str) else None


@dataclass
class LogoutRequest:
    """A validated RP-initiated logout request (RP-Initiated Logout 1.0 §2-§3)."""

    client: Any = None
    redirect_uri: str | None = None
    state: str | None = None
    #: The ``sub`` of a valid ``id_token_hint``: the user the client believes is signed in.
    hint_subject: str | None = None

    def location(self) -> str | None:
        """Where to send the user agent afterwards, with ``state`` (§3), or ``None``."""
        if self.redirect_uri is None:
            return None
        from .authorization import build_redirect

        params = {"state": self.state} if self.state is not None else {}
        return build_redirect(self.redirect_uri, params)


class LogoutError(Exception):
    """A logout request that cannot be honoured; shown on a page, never redirected."""


#: ``state`` is echoed back to the client, so it is capped like the authorize endpoint's.
MAX_LOGOUT_STATE_LENGTH = 1024


def validate_logout(ctx: Context, items: Iterable[tuple[str, str]]) -> LogoutRequest:
    """Validate ``id_token_hint``, ``client_id``, ``post_logout_redirect_uri`` and ``state``.

    The redirect URI must exactly equal one in the client's ``post_logout_redirect_uris``, and
    the client must be known from the hint or ``client_id`` (§2); anything else is an error
    page, so the endpoint is never an open redirect.
    """
    params = _logout_params(items)
    result = LogoutRequest()
    hint_client = _read_hint(ctx, result, params.get("id_token_hint"))
    client_id = params.get("client_id") or hint_client
    if params.get("client_id") and hint_client is not None and client_id != hint_client:
        raise LogoutError("The client_id does not match the id_token_hint's audience.")
    if client_id:
        from .client_metadata_document import by_client_id

        # PostgreSQL refuses NUL; a document client is found by its URL, never fetched here.
        client = by_client_id(ctx, client_id) if is_plain_text(client_id) else None
        if client is None or client.revoked:
            raise LogoutError("The client is unknown or has been revoked.")
        result.client = client
    uri = params.get("post_logout_redirect_uri")
    if uri:
        _post_logout_redirect(result, uri, params.get("state"))
    return result


def _logout_params(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The parameters, each sent once and within its cap."""
    params: dict[str, str] = {}
    for key, value in items:
        if key in params:
            raise LogoutError(f"The {key[:32]} parameter was sent more than once.")
        if len(value) > 8192:
            raise LogoutError(f"The {key[:32]} parameter is too long.")
        params[key] = value
    return params


def _read_hint(ctx: Context, result: LogoutRequest, hint: str | None) -> str | None:
    """Verify ``id_token_hint`` (if sent), note its subject and return the client it names."""
    if not hint:
        return None
    try:
        claims = verify_id_token_hint(ctx.keys(), hint, issuer=ctx.issuer)
    except InvalidHint as exc:
        raise LogoutError(str(exc)) from None
    sub = claims.get("sub")
    result.hint_subject = sub if isinstance(sub, str) else None
    return hint_client_id(claims)


def _post_logout_redirect(result: LogoutRequest, uri: str, state: str | None) -> None:
    """RP-Initiated Logout §3: ``uri`` exactly one the known client registered, else a page."""
    if result.client is None:
        raise LogoutError("A post_logout_redirect_uri needs an id_token_hint or client_id "
                          "naming the client it is registered for.")
    # A replaced client model without the column registers no URIs.
    registered = getattr(result.client, "post_logout_redirect_uris", None) or ()
    if uri not in registered:
        raise LogoutError("The post_logout_redirect_uri is not registered for this client.")
    result.redirect_uri = uri
    if state is not None and len(state) > MAX_LOGOUT_STATE_LENGTH:
        raise LogoutError("The state parameter is too long.")
    result.state = state
