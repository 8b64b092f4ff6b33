"""Protecting routes of *another* Flask service (no access to Passport's database).

The same decorators (``require_oauth``, ``scopes``, ``scope``, ``client``) work in a service that
registers a :class:`ResourceServer` instead of :class:`~flask_passport.Passport`::

    rs = ResourceServer(app, issuer="https://auth.example.com")           # JWT mode
    rs = ResourceServer(app, issuer="https://auth.example.com", introspect=True,
                        client_id="...", client_secret="...")              # introspection mode

JWT mode verifies each token locally against the authorization server's JWKS (fetched once,
cached for ``jwks_ttl`` seconds and refetched at once, at most every ``refetch_interval``
seconds, when a token names an unknown ``kid``, i.e. after a key rotation). It costs no network
round trip, but a revoked token stays valid until it expires: keep access tokens short.

Introspection mode asks the authorization server (RFC 7662) about every token, so a revoked
token is refused immediately; the resource server must be a confidential client with the
``introspect`` permission.

``current_user`` is the app's Flask-Login user loaded by the token's ``sub`` when the app has a
``user_loader``, else a :class:`RemoteUser` carrying the id and the token's claims.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import Flask

from ..jose import jws
from ..jose.dpop import DEFAULT_ALGORITHMS, SUPPORTED_ALGORITHMS
from ..jose.keys import KeyLoadError, KeySet, SigningKey, verifying_key_from_jwk
from ..jose.tokens import InvalidToken, decode_access_token
from ..oauth2.errors import BearerError
from ..storage.replay import MemoryReplayStore, ReplayStore
from .login_adapter import user_loader

if TYPE_CHECKING:
    from .guard import BearerToken

EXTENSION_KEY = "passport_resource_server"


class RemoteUser:
    """The token's user when the service has no user model: ``id`` and the token's ``claims``."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user_id: str, claims: dict[str, Any]) -> None:
        self.id = user_id
        self.claims = claims

    def get_id(self) -> str:
        return self.id


class JWKSCache:
    """The authorization server's public keys by ``kid``; the algorithm comes from the key type."""

    def __init__(self, uri: str, *, ttl: float = 300, refetch_interval: float = 10,
                 timeout: float = 5) -> None:
        self.uri = uri
        self.ttl = ttl
        self.refetch_interval = refetch_interval
        self.timeout = timeout
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()
        self.fetches = 0

    def _fetch(self) -> None:
        data = _get_json(self.uri, self.timeout)
        found: dict[str, SigningKey] = {}
        for jwk in data.get("keys", []) if isinstance(data, dict) else []:
            kid = jwk.get("kid") if isinstance(jwk, dict) else None
            if not isinstance(kid, str) or jwk.get("use", "sig") != "sig":
                continue
            try:
                found[kid] = verifying_key_from_jwk(jwk)
            except KeyLoadError:
                continue  # a key we cannot use is skipped, not trusted
        self._keys = found
        self._fetched_at = time.monotonic()
        self.fetches += 1

    def keyset(self, kid: str | None) -> KeySet:
        """The cached keys, refreshed when stale or when ``kid`` is unknown (rate-limited)."""
        with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = not self._fetched_at or age > self.ttl
            unknown = kid is not None and kid not in self._keys and age > self.refetch_interval
            if stale or unknown:
                try:
                    self._fetch()
                except OSError:
                    if not self._keys:
                        raise
            return KeySet(None, dict(self._keys))


def metadata_url(issuer: str) -> str:
    """RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path."""
    parts = urllib.parse.urlsplit(issuer)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{path}"


def _get_json(url: str, timeout: float, data: bytes | None = None,
              headers: dict[str, str] | None = None) -> Any:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise OSError(f"Refusing to fetch {url!r}: only http(s) URLs are allowed.")
    req = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=data, headers={"Accept": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
        return json.loads(resp.read(1024 * 1024))


class ResourceServer:
    """Verifies bearer tokens for a service that is not the authorization server, so that
    ``@require_oauth()`` and its siblings work there too (see :doc:`introspection`).

    By default tokens are verified as JWTs against the server's JWKS (``jwks_uri``, or read from
    ``issuer``'s RFC 8414 metadata), with ``iss`` checked against ``issuer`` and ``aud`` against
    ``audience`` when they are given. With ``introspect=True`` each token is sent to the RFC 7662
    introspection endpoint with ``client_id`` and ``client_secret``: one round trip per token,
    but a revoked token is refused at once, where a JWT stays valid until it expires.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        issuer: str | None = None,
        jwks_uri: str | None = None,
        audience: str | None = None,
        introspect: bool = False,
        introspection_endpoint: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        jwks_ttl: float = 300,
        refetch_interval: float = 10,
        leeway: int = 0,
        timeout: float = 5,
        dpop_origin: str | None = None,
        dpop_algs: Collection[str] = DEFAULT_ALGORITHMS,
        dpop_proof_lifetime: int = 60,
        dpop_nonce: bool = False,
        replay_store: ReplayStore | None = None,
    ) -> None:
        self.issuer = issuer.rstrip("/") if issuer else None
        self.audience = audience
        self.introspect = introspect
        self.client_id = client_id
        self.client_secret = client_secret
        self.leeway = leeway
        self.timeout = timeout
        # RFC 9449 §7: DPoP-bound tokens. The origin clients address this service by builds
        # each proof's expected htu (SERVER_NAME when not given, never the Host header); the
        # default single-use store is this process's memory: give a shared one (Redis,
        # DatabaseReplayStore) when the service runs in several processes.
        wrong = [a for a in dpop_algs if a not in SUPPORTED_ALGORITHMS]
        if wrong:
            raise ValueError(f"dpop_algs: {wrong[0]!r} is not a DPoP algorithm this package "
                             f"verifies ({', '.join(SUPPORTED_ALGORITHMS)}).")
        self.dpop_origin = dpop_origin.rstrip("/") if dpop_origin else None
        self.dpop_algs = tuple(dpop_algs)
        self.dpop_proof_lifetime = int(dpop_proof_lifetime)
        self.dpop_nonce = dpop_nonce
        self.replay_store: ReplayStore = replay_store or MemoryReplayStore()
        if (jwks_uri is None or (introspect and introspection_endpoint is None)) and self.issuer:
            meta = _get_json(metadata_url(self.issuer), timeout)
            jwks_uri = jwks_uri or meta.get("jwks_uri")
            introspection_endpoint = introspection_endpoint or meta.get("introspection_endpoint")
        if introspect:
            if not (introspection_endpoint and client_id and client_secret):
                raise ValueError("Introspection needs introspection_endpoint (or issuer), "
                                 "client_id and client_secret.")
        elif not jwks_uri:
            raise ValueError("Give jwks_uri, or issuer to discover it from the metadata.")
        self.introspection_endpoint = introspection_endpoint
        self.jwks = JWKSCache(jwks_uri, ttl=jwks_ttl, refetch_interval=refetch_interval,
                              timeout=timeout) if jwks_uri else None
        #: Set by the testing helpers, as on Passport's state; read only while ``app.testing``.
        self.acting_token: BearerToken | None = None
        self.app: Flask | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Bind to ``app`` (once per app); its protected routes then verify with this object."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("A ResourceServer is already registered on this app.")
        app.extensions[EXTENSION_KEY] = self
        self.app = app
        from .guard import end_of_request

        app.teardown_request(end_of_request)

    # -- what the guard calls -----------------------------------------------------------------

    def verify_bearer(self, value: str) -> Any:
        """A :class:`~flask_passport.resource.guard.BearerToken` for ``value``, or
        :class:`BearerError`."""
        if self.introspect:
            return self._introspect(value)
        return self._verify_jwt(value)

    def load_user(self, user_id: str) -> Any:
        loader = user_loader(self.app)
        if loader is not None:
            return loader(user_id)
        from .guard import request_token

        token = request_token()
        return RemoteUser(user_id, dict(getattr(token, "claims", {}) or {}))

    def dpop_config(self) -> Any:
        """What :mod:`.dpop` checks proofs with on this service."""
        from .dpop import Config, nonce_key, origin_of

        app = self.app
        assert app is not None
        origin = self.dpop_origin
        if origin is None and app.config.get("SERVER_NAME"):
            scheme = app.config.get("PREFERRED_URL_SCHEME") or "http"
            origin = f"{scheme}://{app.config['SERVER_NAME']}"
        if origin is None and (app.testing or app.debug):
            origin = "http://localhost"  # what the test client and url_for use
        return Config(True, self.dpop_algs, self.dpop_proof_lifetime, self.leeway,
                      origin_of(origin) if origin else None,
                      nonce_key(app) if self.dpop_nonce else None, self.replay_store)

    # -- the two modes -------------------------------------------------------------------------

    def _verify_jwt(self, value: str) -> Any:
        from .guard import BearerToken

        assert self.jwks is not None
        try:
            # Only to know whether the cached keys must be refetched; decode_access_token
            # verifies the token with the key its kid names, whatever this header says.
            kid = jws.unverified_header(value).get("kid")
        except jws.InvalidJWS:
            raise BearerError("invalid_token", "The access token is malformed.") from None
        try:
            keyset = self.jwks.keyset(kid if isinstance(kid, str) else None)
        except (OSError, ValueError):
            raise BearerError("invalid_token", "The token's signing keys are unavailable.",
                              status=503) from None
        try:
            claims = decode_access_token(keyset, value, issuer=self.issuer,
                                         audience=self.audience, leeway=self.leeway)
        except InvalidToken as exc:
            raise BearerError("invalid_token", str(exc)) from None
        return _token_from_claims(BearerToken, claims)

    def _introspect(self, value: str) -> Any:
        from .guard import BearerToken

        assert self.introspection_endpoint and self.client_id and self.client_secret
        credentials = (urllib.parse.quote_plus(self.client_id) + ":"
                       + urllib.parse.quote_plus(self.client_secret))
        body = urllib.parse.urlencode({"token": value, "token_type_hint": "access_token"})
        try:
            data = _get_json(
                self.introspection_endpoint, self.timeout, data=body.encode(),
                headers={"Authorization": "Basic " + b64encode(credentials.encode()).decode(),
                         "Content-Type": "application/x-www-form-urlencoded"},
            )
        except (OSError, ValueError):
            raise BearerError("invalid_token", "The token could not be checked now.",
                              status=503) from None
        if not isinstance(data, dict) or data.get("active") is not True \
                or data.get("token_type") not in ("Bearer", "DPoP"):
            raise BearerError("invalid_token", "The access token is not active.")
        if self.issuer and data.get("iss") != self.issuer:
            raise BearerError("invalid_token", "The access token has another issuer.")
        return _token_from_claims(BearerToken, data)


def _token_from_claims(token_cls: Any, claims: dict[str, Any]) -> Any:
    """Build the guard's token; ``sub == client_id`` marks a token with no user (RFC 9068 §2.2)."""
    sub, client_id, jti = claims.get("sub"), claims.get("client_id"), claims.get("jti")
    exp = claims.get("exp")
    if not all(isinstance(v, str) for v in (sub, client_id, jti)) or not isinstance(exp, int):
        raise BearerError("invalid_token", "The access token is invalid.")
    scope_value = claims.get("scope") or ""
    return token_cls(
        id=jti,
        user_id=None if sub == client_id else sub,
        client_id=client_id,
        scopes=scope_value.split() if isinstance(scope_value, str) else [],
        expires_at=datetime.fromtimestamp(exp, UTC),
        claims=dict(claims),
    )
