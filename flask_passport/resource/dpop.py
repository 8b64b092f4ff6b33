"""DPoP at protected resources (RFC 9449 §7): ``Authorization: DPoP <token>`` plus a proof.

Called by the guard (:mod:`.guard`) and the UserInfo view with a token they already verified:

* a token with ``cnf.jkt`` (DPoP-bound, RFC 9449 §6) must come with the ``DPoP`` scheme and a
  proof signed by that key, whose ``ath`` is the token's hash (§4.3, §7.1); sent as ``Bearer``
  it is refused (§7.2: a bound token must not be downgraded to a bearer token);
* a token without ``cnf`` sent with the ``DPoP`` scheme is refused too: the scheme promises a
  binding the token does not have;
* errors carry ``WWW-Authenticate: DPoP error="...", algs="..."`` (§7.1); with nonces on, a
  proof without the current nonce gets ``use_dpop_nonce`` and a ``DPoP-Nonce`` header (§9).

The Bearer path costs one dictionary lookup here and no query. The expected ``htu`` is the
configured origin (the issuer's, or :class:`~.resource_server.ResourceServer`'s
``dpop_origin``) with the request's path: never the client-chosen ``Host`` header.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from flask import Flask, after_this_request, current_app, request

from ..jose import dpop as proofs
from ..jose.tokens import secrets_equal
from ..oauth2.errors import BearerError
from ..storage.replay import ReplayStore

_NONCE_KEY = "passport_dpop_nonce_key"


class DPoPError(BearerError):
    """RFC 9449 §7.1: an error on a protected resource with a ``DPoP`` challenge."""

    def __init__(self, error: str | None, description: str, *, status: int = 401,
                 scope: str | None = None, algs: Collection[str] = (),
                 nonce: str | None = None) -> None:
        super().__init__(error, description, status=status, scope=scope)
        self.algs = tuple(algs)
        self.nonce = nonce

    scheme = "DPoP"

    def extra_parameters(self) -> list[str]:
        # RFC 9449 §7.1: the proof algorithms this resource accepts.
        return [f'algs="{" ".join(self.algs)}"'] if self.algs else []

    def to_response(self) -> Any:
        response = super().to_response()
        if self.nonce:
            response.headers["DPoP-Nonce"] = self.nonce
        return response


class Config(NamedTuple):
    """What checking a proof at this app needs (from Passport's settings or a ResourceServer)."""

    enabled: bool
    algs: tuple[str, ...]
    lifetime: int
    leeway: int
    #: ``scheme://host[:port]`` of this app as clients address it; ``None``: not configured.
    origin: str | None
    nonce_key: bytes | None
    replay: ReplayStore | None


def origin_of(url: str) -> str:
    """The scheme and host of ``url`` (the issuer's, or a configured origin)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def nonce_key(app: Flask) -> bytes:
    """The app's nonce MAC key, from ``SECRET_KEY``; without one, a random key for this process
    (``flask passport check`` warns: other processes would refuse its nonces)."""
    cached = app.extensions.get(_NONCE_KEY)
    secret = app.secret_key
    if cached is None or cached[0] is not secret:  # recomputed when the secret is replaced
        key = proofs.nonce_key_from(secret) if secret else secrets.token_bytes(32)
        cached = app.extensions[_NONCE_KEY] = (secret, key)
    return bytes(cached[1])


def passport_config(state: Any) -> Config:
    """The checks of an app running Passport: its settings, issuer and replay store."""
    settings = state.settings
    return Config(
        enabled=settings.dpop, algs=settings.dpop_algs, lifetime=settings.dpop_proof_lifetime,
        leeway=settings.leeway, origin=origin_of(state.issuer()),
        nonce_key=nonce_key(state.app) if settings.dpop_nonce else None,
        replay=state.replay_store(),
    )


def authorization(header: str | None) -> tuple[str | None, bool]:
    """The token of an ``Authorization: Bearer`` or ``DPoP`` header, and whether it was DPoP
    (``None`` for no header or another scheme, as for Bearer alone)."""
    if not header:
        return None, False
    scheme, _, value = header.partition(" ")
    lowered = scheme.lower()
    if lowered not in ("bearer", "dpop"):
        return None, False
    value = value.strip()
    if not value:
        raise BearerError("invalid_request", "The Authorization header has no token.", status=400)
    with_proof = lowered == "dpop"
    if with_proof:
        request._passport_dpop = True  # type: ignore[attr-defined]
    return value, with_proof


def bound_key(token: Any) -> str | None:
    """The ``cnf.jkt`` a verified token is bound to (RFC 9449 §6.1), if any."""
    cnf = (getattr(token, "claims", None) or {}).get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    return jkt if isinstance(jkt, str) else None


def config_of(state: Any) -> Config:
    maker = getattr(state, "dpop_config", None)
    return maker() if maker is not None else passport_config(state)


def check(state: Any, token: Any, value: str | None, with_proof: bool) -> None:
    """Refuse ``token`` unless presented as its binding requires (see the module docstring)."""
    if value is None or getattr(token, "transient", False):
        return
    jkt = bound_key(token)
    if not with_proof:
        if jkt is not None:
            raise DPoPError("invalid_token", "This access token is bound to a DPoP key: send it "
                            "with the DPoP scheme and a proof.", algs=config_of(state).algs)
        return
    config = config_of(state)
    if not config.enabled:
        raise DPoPError("invalid_token", "DPoP is not enabled here.")
    if jkt is None:
        raise DPoPError("invalid_token", "This access token is not DPoP-bound; send it with the "
                        "Bearer scheme.", algs=config.algs)
    _check_proof(config, value, jkt)


def _check_proof(config: Config, value: str, jkt: str) -> None:
    given = request.headers.getlist("DPoP")
    if len(given) != 1:
        raise DPoPError(proofs.INVALID_DPOP_PROOF, "Send exactly one DPoP proof header.",
                        algs=config.algs)
    if config.origin is None or config.replay is None:
        raise DPoPError(proofs.INVALID_DPOP_PROOF, "DPoP proofs cannot be checked here: the "
                        "server has no configured origin.", algs=config.algs)
    replay = config.replay
    try:
        proof = proofs.verify_proof(
            given[0], method=request.method,
            url=config.origin + request.script_root + request.path,
            algorithms=config.algs, lifetime=config.lifetime, leeway=config.leeway,
            access_token=value, nonce_key=config.nonce_key,
            use_once=lambda v, expires: replay.use_once(proofs.REPLAY_NAMESPACE, v, expires),
        )
    except proofs.InvalidProof as exc:
        nonce = None
        if exc.asks_for_nonce and config.nonce_key is not None:
            nonce = proofs.current_nonce(config.nonce_key)
        raise DPoPError(exc.error, exc.description, algs=config.algs, nonce=nonce) from None
    if not secrets_equal(proof.jkt, jkt):
        raise DPoPError("invalid_token", "The DPoP proof's key is not the one the access token "
                        "is bound to.", algs=config.algs)
    if config.nonce_key is not None:
        current = proofs.current_nonce(config.nonce_key)
        if not secrets_equal(proof.nonce or "", current):
            _send_nonce(current)


def _send_nonce(nonce: str) -> None:
    """The nonce rotated since the client's proof: the response hands out the new one."""
    def add(response: Any) -> Any:
        response.headers["DPoP-Nonce"] = nonce
        return response

    after_this_request(add)


def as_challenge(exc: BearerError) -> BearerError:
    """An error of a request that used the DPoP scheme answers with a DPoP challenge (§7.1)."""
    if isinstance(exc, DPoPError) or not getattr(request, "_passport_dpop", False):
        return exc
    state = current_app.extensions.get("passport") or current_app.extensions.get(
        "passport_resource_server")
    algs = config_of(state).algs if state is not None else ()
    answer = DPoPError(exc.error, exc.description, status=exc.status, scope=exc.scope, algs=algs)
    answer.resource_metadata = exc.resource_metadata
    return answer
