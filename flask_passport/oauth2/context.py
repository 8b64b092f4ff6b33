"""What the protocol needs from the application, passed explicitly instead of read from globals."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ..jose.keys import KeySet
from ..resources import Resource
from ..scopes import ScopeRegistry
from ..settings import Settings
from ..storage.models import Models, utcnow
from ..storage.replay import ReplayStore
from .errors import invalid_request
from .text import is_plain_param, is_plain_text

#: Parameter values longer than this are refused (a cheap guard against oversized input).
MAX_PARAM_LENGTH = 4096


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
    #: The registered resources (RFC 8707) by URI: what ``resource`` parameters may name.
    resources: Mapping[str, Resource] = field(default_factory=dict)
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
        """RFC 9068 ``aud`` when no resource was asked for: PASSPORT_AUDIENCE, else the app's
        protected-resource identifier (PASSPORT_PROTECTED_RESOURCE, which its routes require),
        else the issuer."""
        return self.settings.audience or self.settings.resource_identifier or self.issuer


@dataclass
class TokenRequest:
    """A parsed form-encoded request to the token, revoke or introspect endpoints."""

    params: dict[str, str]
    authorization: str | None = None
    #: Every ``resource`` value (RFC 8707 §2: the one parameter that may repeat), unchecked:
    #: :func:`.resource_indicators.parse` answers ``invalid_target`` for a bad one.
    resources: list[str] = field(default_factory=list)

    @classmethod
    def from_items(
        cls, items: Iterable[tuple[str, str]], authorization: str | None = None
    ) -> TokenRequest:
        """RFC 6749 §3.2: a parameter sent twice is an error, and so is an oversized one
        (``resource`` excepted, RFC 8707 §2)."""
        params: dict[str, str] = {}
        resources: list[str] = []
        for key, value in items:
            if key == "resource":
                resources.append(value)
                continue
            if key in params:
                raise invalid_request(f"The {key!r} parameter was sent more than once.")
            if len(value) > MAX_PARAM_LENGTH:
                raise invalid_request(f"The {key!r} parameter is too long.")
            if not is_plain_param(key, value) or not is_plain_text(key):
                raise invalid_request(f"The {key[:32]!r} parameter contains a control character.")
            params[key] = value
        return cls(params, authorization, resources)

    def get(self, key: str) -> str | None:
        value = self.params.get(key)
        return value if value else None
