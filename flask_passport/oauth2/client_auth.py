"""Client authentication at the token, revocation and introspection endpoints.

* a secret (RFC 6749 §2.3.1): HTTP Basic (``client_secret_basic``) or body parameters
  (``client_secret_post``);
* a JWT assertion (RFC 7521 §4.2, RFC 7523 §2.2 and §3, OpenID Connect Core §9):
  ``private_key_jwt`` signed with a key of the client's registered JWKS, or
  ``client_secret_jwt`` an HMAC with its secret;
* ``none``: a public client sends only its ``client_id``.

Each client is held to its registered method (a ``private_key_jwt`` client cannot fall back to a
secret, nor a secret client to a JWT), and only the methods of PASSPORT_CLIENT_AUTH_METHODS are
accepted at all. Every failure is the same 401 ``invalid_client``: which check failed is not
told to the caller (RFC 6749 §5.2 needs no more).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from ..jose import jws, tokens
from ..jose.jwk import ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS, ClientKey
from ..storage.replay import remember_until
from . import client_metadata_document
from .client_keys import (
    JWT_METHODS,
    PRIVATE_KEY_JWT,
    NoClientKeys,
    may_refresh,
    registered_keys,
    secret_key,
)
from .context import Context, TokenRequest
from .errors import OAuthError, invalid_client, invalid_request
from .rows import get_by_id
from .text import is_plain_text

#: RFC 7523 §2.2: the ``client_assertion_type`` of a JWT client assertion.
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Assertions longer than this are refused unread (jws.MAX_TOKEN_LENGTH is the same cap).
MAX_ASSERTION_LENGTH = jws.MAX_TOKEN_LENGTH
#: An assertion may not live longer than this (RFC 7523 §3 item 4 lets the server limit it):
#: its ``jti`` must be remembered until it expires.
MAX_ASSERTION_LIFETIME = 3600
#: An ``iat`` older than this is refused (RFC 7523 §3 item 6: the server may reject old ones).
MAX_ASSERTION_AGE = 300
#: The replay-store namespace of client assertion ``jti`` values (one per client, RFC 7523 §3
#: item 7: a jti is unique per issuer).
REPLAY_NAMESPACE = "client-assertion:"
#: The claims every client assertion carries (RFC 7523 §3; ``jti`` is made mandatory by OpenID
#: Connect Core §9 and is how replays are refused).
ASSERTION_CLAIMS = ("iss", "sub", "aud", "exp", "jti")
#: The header ``typ`` values a client assertion may carry (None: none at all):
#: draft-ietf-oauth-rfc7523bis's ``client-authentication+jwt`` and the untyped forms clients
#: send today. A request object's ``oauth-authz-req+jwt`` (RFC 9101 §4) or any other explicit
#: type is refused (RFC 8725 §3.11).
ASSERTION_TYPS: tuple[str | None, ...] = (None, "JWT", "client-authentication+jwt")
#: Authorization request parameters (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect Core
#: §3.1.2.1, RFC 9101 §5, RFC 9396 §2, RFC 9449 §10): a JWT carrying one is a request object,
#: never a client assertion (RFC 8725 §3.12, RFC 9101 §10.8: the two share key and audience).
AUTHORIZATION_REQUEST_CLAIMS = frozenset({
    "response_type", "redirect_uri", "scope", "state", "nonce", "code_challenge",
    "code_challenge_method", "response_mode", "prompt", "max_age", "login_hint",
    "id_token_hint", "acr_values", "claims", "request", "request_uri", "authorization_details",
    "dpop_jkt",
})
#: How a secret client may present its secret: the two are one method family here.
SECRET_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass
class ClientCredentials:
    client_id: str
    client_secret: str | None
    basic: bool


def read_credentials(request: TokenRequest) -> ClientCredentials | None:
    """The credentials the client presented; exactly one method may be used."""
    header = request.authorization
    body_id = request.get("client_id")
    body_secret = request.get("client_secret")
    if header and header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise invalid_client("The Basic authorization header is malformed.",
                                 basic_attempted=True) from exc
        raw_id, sep, raw_secret = decoded.partition(":")
        if not sep or not raw_id:
            raise invalid_client("The Basic authorization header is malformed.",
                                 basic_attempted=True)
        if body_secret:
            raise invalid_request("Use one client authentication method, not two.")
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if not is_plain_text(client_id) or not is_plain_text(secret):
            # RFC 6749 §2.3.1: both are VSCHAR; a control character can match no client.
            raise invalid_client("The Basic authorization header is malformed.",
                                 basic_attempted=True)
        if body_id and not tokens.secrets_equal(body_id, client_id):
            raise invalid_request("client_id in the body does not match the Basic header.")
        return ClientCredentials(client_id, secret, basic=True)
    if body_id:
        return ClientCredentials(body_id, body_secret, basic=False)
    return None


def assertion_audiences(issuer: str, endpoint_urls: Collection[str]) -> frozenset[str]:
    """The ``aud`` values a client assertion may name; an array must name nothing else.

    The issuer identifier, which draft-ietf-oauth-rfc7523bis makes the one value clients should
    use, and the URL of the endpoint called or of the token endpoint, which RFC 7523 §3 item 3
    and OpenID Connect Core §9 name (kept for interop: Authlib sends the token endpoint URL).
    An array with any other value beside ours is refused (rfc7523bis: an assertion also meant
    for another server could be replayed by it here). The view passes those URLs built from
    the issuer's origin, never from the request's Host header.
    """
    return frozenset({issuer, *endpoint_urls})


def authenticate_client(ctx: Context, request: TokenRequest, *, required: bool = True) -> Any:
    """Return the authenticated client row, or raise ``invalid_client``.

    Confidential clients must prove their secret (compared as a digest, in constant time) or
    sign a client assertion with their key or secret, as registered; public clients identify
    themselves by id and must not send a secret.
    """
    if request.get("client_assertion") or request.get("client_assertion_type"):
        return authenticate_assertion(ctx, request)
    creds = read_credentials(request)
    if creds is None:
        raise invalid_client("Client authentication failed: no client credentials were given.",
                             basic_attempted=False)
    failed = invalid_client("Client authentication failed.", basic_attempted=creds.basic)
    if client_metadata_document.enabled_for(ctx, creds.client_id):
        return _document_client(ctx, creds)
    if len(creds.client_id) > 64:
        raise failed
    client = get_by_id(ctx.session, ctx.models.Client, creds.client_id)
    if client is not None and getattr(client, "metadata_document_url", None):
        client = None  # a document client is known by its URL only
    if client is None or client.revoked:
        # Hash anyway so a missing client costs the same as a wrong secret.
        tokens.check_secret(creds.client_secret or "x", tokens.hash_secret("x" * 8))
        raise failed
    allowed = ctx.settings.client_auth_methods
    if client.auth_method in JWT_METHODS:
        # RFC 7591 §2: the registered method is the one; a JWT client never sends its secret.
        raise failed
    if client.confidential:
        used = "client_secret_basic" if creds.basic else "client_secret_post"
        if used not in allowed or not creds.client_secret \
                or not client.check_secret(creds.client_secret):
            raise failed
    elif creds.client_secret or "none" not in allowed:
        raise failed
    return client


def authenticate_assertion(ctx: Context, request: TokenRequest) -> Any:
    """RFC 7521 §4.2 / RFC 7523 §2.2: the client whose JWT ``client_assertion`` checks out.

    Nothing is written unless every check passes; then the assertion's ``jti`` is spent.
    """
    if (request.authorization and request.authorization[:6].lower() == "basic ") \
            or request.get("client_secret"):
        raise invalid_request("Use one client authentication method, not two.")
    failed = invalid_client("Client authentication failed.", basic_attempted=False)
    assertion = request.get("client_assertion")
    if request.get("client_assertion_type") != JWT_BEARER or not assertion \
            or len(assertion) > MAX_ASSERTION_LENGTH:
        raise failed
    try:
        client, claims = _verified_assertion(ctx, request, assertion)
    except (jws.InvalidJWS, NoClientKeys):
        raise failed from None
    if ctx.replay is None:
        raise failed  # fail closed: without a replay store a jti cannot be single-use
    # RFC 7523 §3 item 7: the jti is kept as long as the assertion could verify, i.e. until
    # exp + leeway rounded up (not int(exp), which forgot it while it was still accepted).
    expires_at = remember_until(claims["exp"], ctx.settings.leeway)
    if not ctx.replay.use_once(REPLAY_NAMESPACE + client.id, claims["jti"], expires_at):
        raise failed
    return client


def _verified_assertion(ctx: Context, request: TokenRequest,
                        assertion: str) -> tuple[Any, dict[str, Any]]:
    """The client named by the assertion and its verified claims; raises on any failure."""
    failed = invalid_client("Client authentication failed.", basic_attempted=False)
    # The key to verify with is the client's, so the client is read from the (not yet
    # verified) ``sub``; iss and sub are both checked against it once the signature holds.
    client_id = jws.unverified_claims(assertion).get("sub")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64 \
            or not is_plain_text(client_id):
        raise failed
    form_id = request.get("client_id")
    if form_id is not None and not tokens.secrets_equal(form_id, client_id):
        raise failed
    client = get_by_id(ctx.session, ctx.models.Client, client_id)
    if client is None or client.revoked:
        raise failed
    method = client.auth_method
    if method not in JWT_METHODS or method not in ctx.settings.client_auth_methods:
        raise failed
    leeway = ctx.settings.leeway
    audiences = assertion_audiences(ctx.issuer, request.endpoint_urls)

    # OpenID Connect Dynamic Registration §2: a registered token_endpoint_auth_signing_alg
    # is the only algorithm the client's assertions may use.
    pinned = (getattr(client, "registration_metadata", None) or {}).get(
        "token_endpoint_auth_signing_alg")

    def verify(keys: tuple[ClientKey, ...], algorithms: tuple[str, ...]) -> dict[str, Any]:
        if isinstance(pinned, str):
            algorithms = tuple(a for a in algorithms if a == pinned)
        return jws.verify_client_jws(assertion, keys, algorithms=algorithms, leeway=leeway,
                                     require=ASSERTION_CLAIMS, audiences=audiences,
                                     typs=ASSERTION_TYPS)

    if method == PRIVATE_KEY_JWT:
        try:
            claims = verify(registered_keys(ctx, client), ASYMMETRIC_ALGORITHMS)
        except jws.InvalidJWS as exc:
            # Key rotation: a kid the (cached) jwks_uri set lacks gets one fresh fetch.
            if exc.reason != jws.UNKNOWN_KEY or not may_refresh(client):
                raise
            claims = verify(registered_keys(ctx, client, refresh=True), ASYMMETRIC_ALGORITHMS)
    else:
        claims = verify((secret_key(client, ctx.secret_box_key),), tuple(HMAC_ALGORITHMS))
    _check_assertion_claims(claims, client.id, leeway)
    return client, claims


def _check_assertion_claims(claims: dict[str, Any], client_id: str, leeway: int) -> None:
    """RFC 7523 §3: iss and sub are the client; exp not too far ahead (the jti is kept until
    then); iat, when sent, recent; jti a non-empty string; no authorization request claim."""
    now = time.time()
    if claims["iss"] != client_id or claims["sub"] != client_id:
        raise jws.InvalidJWS(jws.INVALID)
    if AUTHORIZATION_REQUEST_CLAIMS & claims.keys():
        # A request object (RFC 9101) seen at /authorize, in a log or by the browser must not
        # authenticate its client: the validations are mutually exclusive (RFC 8725 §3.12).
        raise jws.InvalidJWS(jws.WRONG_TYPE)
    # Compared as they are: exp and iat are finite JSON numbers (checked by jws), but an
    # integer may be beyond float range, so no float() here.
    if claims["exp"] > now + MAX_ASSERTION_LIFETIME + leeway:
        raise jws.InvalidJWS(jws.INVALID)
    if "iat" in claims and claims["iat"] < now - MAX_ASSERTION_AGE - leeway:
        raise jws.InvalidJWS(jws.INVALID)
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise jws.InvalidJWS(jws.INVALID)


def _document_client(ctx: Context, creds: ClientCredentials) -> Any:
    """A client ID metadata document client: public, so it must send no secret."""
    try:
        client = client_metadata_document.resolve(ctx, creds.client_id)
    except OAuthError as exc:
        raise invalid_client(exc.description, basic_attempted=creds.basic) from None
    if creds.client_secret:
        raise invalid_client("A client ID metadata document client is public: it sends no "
                             "client_secret.", basic_attempted=creds.basic)
    return client
