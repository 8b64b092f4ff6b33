"""What the protocol needs from the application, passed explicitly instead of read from globals."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ..jose.keys import KeySet
from ..scopes import ScopeRegistry
from ..settings import Settings
from ..storage.models import Models, utcnow
from ..storage.replay import ReplayStore
from .errors import invalid_request
from .text import is_plain_param, is_plain_text

#: Parameter values longer than this are refused (a cheap guard against oversized input).
MAX_PARAM_LENGTH = 4096
#: Parameters with a larger cap of their own, checked where they are read: a client assertion
#: (RFC 7523) signed with a large RSA key and extra claims can pass 4 KiB, and an oversized
#: one is an ``invalid_client`` (client_auth.MAX_ASSERTION_LENGTH), not an ``invalid_request``.
LONG_PARAMS = frozenset({"client_assertion"})


class Throttle(Protocol):
    """Rate-limit counters the protocol drives (:mod:`.throttle`); each answers the seconds
    to wait when over its limit, else ``None``."""

    def client_request(self, client_id: str) -> float | None: ...

    def password_attempt(self, username: str) -> float | None: ...

    def password_refund(self, username: str) -> None: ...


@dataclass
class Context:
    """The per-request world of the protocol layer (built by the views from the Flask app)."""

    session: Session
    models: Models
    settings: Settings
    scopes: ScopeRegistry
    keys: Callable[[], KeySet]
    #: The app's fixed issuer (``iss`` of every token, RFC 9207 ``iss`` of every redirect).
    issuer: str
    find_user: Callable[[str], Any]
    check_password: Callable[[Any, str], bool]
    user_id_of: Callable[[Any], str]
    extra_claims: Callable[..., Mapping[str, Any]] | None = None
    sender: Any = None
    now: Callable[[], datetime] = field(default=utcnow)
    #: Loads a user by its stored id (Flask-Login's loader); used by the code grant.
    load_user: Callable[[str], Any] | None = None
    #: The app's rate limits (None: unlimited).
    throttle: Throttle | None = None
    #: The app's user model, if known: lets a grant read a token's user in its own query.
    user_model: Any = None
    #: Single-use values (DPoP proof and client assertion ``jti``), shared by every process.
    replay: ReplayStore | None = None
    #: The key that unseals ``client_secret_jwt`` secrets (jose/secret_box.py):
    #: PASSPORT_CLIENT_SECRET_KEY, else the app's SECRET_KEY.
    secret_box_key: str | bytes | None = None
    #: ``fetch_json(url, max_bytes=, timeout=)``: a small JSON document fetched under
    #: outbound.py's rules through the app's cache (a client's ``jwks_uri``); None: no fetching.
    fetch_json: Callable[..., dict[str, Any]] | None = None
    #: Drops a URL from that cache, so the next fetch is fresh (a client's rotated keys).
    forget_fetched: Callable[[str], None] | None = None
    #: RFC 9449: the thumbprint of the DPoP key the token request proved (set by
    #: :func:`~flask_passport.oauth2.dpop.check_token_request`); the issued tokens bind to it.
    dpop_jkt: str | None = None
    #: Headers every response to this request carries (a fresh ``DPoP-Nonce``).
    response_headers: dict[str, str] = field(default_factory=dict)
    #: Signals to send once the transaction has committed (never for rolled-back work).
    events: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)

    def emit(self, signal: Any, **kwargs: Any) -> None:
        self.events.append((signal, kwargs))

    def commit(self) -> None:
        """Commit the unit of work, then send the signals it queued."""
        self.session.commit()
        events, self.events = self.events, []
        for signal, kwargs in events:
            signal.send(self.sender, **kwargs)

    def rollback(self) -> None:
        self.session.rollback()
        self.events.clear()

    @property
    def audience(self) -> str:
        """RFC 9068 ``aud`` when no resource was asked for: PASSPORT_AUDIENCE, else the issuer."""
        return self.settings.audience or self.issuer


@dataclass(frozen=True)
class DPoPInput:
    """What a DPoP proof is checked against (RFC 9449 §4.3), gathered by the view."""

    #: The ``DPoP`` header values (more than one is an error).
    proofs: tuple[str, ...]
    method: str
    #: The URL the proof's ``htu`` must name: the configured issuer's origin and this path.
    url: str
    #: The nonce MAC key (from the app's secret), or ``None`` when the app has none.
    nonce_key: bytes | None = None


@dataclass
class TokenRequest:
    """A parsed form-encoded request to the token, revoke or introspect endpoints."""

    params: dict[str, str]
    authorization: str | None = None
    #: Absolute URLs a client assertion may name as ``aud`` besides the issuer: the endpoint
    #: called and the token endpoint (set by the view, from the issuer's origin).
    endpoint_urls: tuple[str, ...] = ()
    dpop: DPoPInput | None = None

    @classmethod
    def from_items(
        cls, items: Iterable[tuple[str, str]], authorization: str | None = None,
        dpop: DPoPInput | None = None,
    ) -> TokenRequest:
        """RFC 6749 §3.2: a parameter sent twice is an error, and so is an oversized one."""
        params: dict[str, str] = {}
        for key, value in items:
            if key in params:
                raise invalid_request(f"The {key!r} parameter was sent more than once.")
            if len(value) > MAX_PARAM_LENGTH and key not in LONG_PARAMS:
                raise invalid_request(f"The {key!r} parameter is too long.")
            if not is_plain_param(key, value) or not is_plain_text(key):
                raise invalid_request(f"The {key[:32]!r} parameter contains a control character.")
            params[key] = value
        return cls(params, authorization, dpop=dpop)

    def get(self, key: str) -> str | None:
        value = self.params.get(key)
        return value if value else None
