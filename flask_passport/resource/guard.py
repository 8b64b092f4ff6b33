"""Resource protection (RFC 6750): read the bearer token, verify it, and the route decorators.

A protected request costs one JWT verification (keys parsed once, signature checked directly
with ``cryptography``) and one primary-key query that reads the token row joined with its client
and, when the user model allows it (see :func:`~flask_passport.oauth2.rows.user_join`), its
user. The user is then loaded through Flask-Login's loader as always: a loader that calls
``db.session.get()`` finds the user in the session's identity map and runs no second query,
while a loader that filters (inactive users, say) still decides. With
``PASSPORT_TOKEN_CACHE_TTL`` > 0 a verified token (and by default its user) is reused from an
in-process cache, so a hit runs no SQL at all (see :mod:`flask_passport.resource.token_cache`).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias, TypeVar, cast, overload

import sqlalchemy as sa
from flask import Response, current_app, has_request_context, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.local import LocalProxy

from .. import signals
from ..jose.keys import KeyLoadError
from ..jose.tokens import InvalidToken, decode_access_token
from ..oauth2.errors import BearerError, keys_missing
from ..oauth2.rows import user_join as _user_join
from ..storage.models import TokenScopes, utcnow
from . import dpop
from .login_adapter import forget_request_user, set_request_anonymous, set_request_user
from .resource_server import ResourceServer
from .responses import to_flask
from .token_cache import VerifiedTokenCache, revive_user, snapshot_user

if TYPE_CHECKING:
    from ..extension import PassportState
    from .cache_broadcast import Publisher

log = logging.getLogger("flask_passport")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class BearerToken(TokenScopes):
    """The verified token of the current request (``current_token``)."""

    id: str
    user_id: str | None
    client_id: str
    scopes: list[str]
    expires_at: datetime
    claims: dict[str, Any] = field(default_factory=dict)
    transient: bool = False  # True for tokens made by testing helpers, with no row

    def row(self) -> Any:
        """The ORM row of this token (one more query), e.g. to revoke it."""
        state = current_app.extensions["passport"]
        return state.db.session.get(state.models.AccessToken, self.id)

    def revoke(self) -> None:
        """Revoke this token and its refresh tokens."""
        state = current_app.extensions["passport"]
        from ..oauth2.revocation import revoke_access_tokens

        ctx = state.context()
        revoke_access_tokens(ctx, [self.id], "revoked")
        ctx.commit()
        cache = token_cache(state)
        if cache is not None:
            cache.discard_id(self.id)


def request_token() -> BearerToken | None:
    """The token that authenticated the current request (``None`` outside a request)."""
    if not has_request_context():
        return None
    return getattr(request, "_passport_token", None)


#: The verified token of the current request, or ``None``.
current_token: BearerToken | None = cast("BearerToken | None", LocalProxy(request_token))


def bearer_from_header(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    if not value:
        raise BearerError("invalid_request", "The Authorization header has no token.", status=400)
    return value


_USER_GONE = "The token's user no longer exists."
_cache_lock = threading.Lock()


def _new_lock_after_fork() -> None:
    global _cache_lock
    _cache_lock = threading.Lock()  # a lock held by another thread at fork time stays held


os.register_at_fork(after_in_child=_new_lock_after_fork)


class CacheSlot(NamedTuple):
    """What :func:`token_cache` keeps on the app state: the cache is valid for these settings
    in this process only (a listener thread made before a fork is not the child's)."""

    settings: Any
    cache: VerifiedTokenCache | None
    pid: int
    listener: Any


def _slot(state: PassportState) -> CacheSlot | None:
    """The state's cache slot if it belongs to this process."""
    slot = state.token_cache_slot
    return slot if slot is not None and slot.pid == os.getpid() else None


def token_cache(state: PassportState) -> VerifiedTokenCache | None:
    """The app's verified-token cache, or ``None`` when ``PASSPORT_TOKEN_CACHE_TTL`` is 0."""
    settings = state.settings
    slot = _slot(state)
    if slot is not None and slot.settings is settings:
        return slot.cache
    with _cache_lock:
        slot = _slot(state)
        if slot is not None and slot.settings is settings:
            return slot.cache
        if slot is not None and slot.listener is not None:
            slot.listener.stop(timeout=0)  # the settings changed: retire the old listener
        cache = listener = None
        if settings.token_cache_ttl > 0:
            cache = VerifiedTokenCache(settings.token_cache_ttl, settings.token_cache_size)
            if settings.token_cache_broadcast_url:
                from .cache_broadcast import Listener

                listener = Listener(settings.token_cache_broadcast_url,
                                    settings.token_cache_broadcast_channel, cache).start()
                cache.gate = listener.subscribed.is_set
        state.token_cache_slot = CacheSlot(settings, cache, os.getpid(), listener)
        return cache


def _publisher(state: PassportState, url: str, channel: str) -> Publisher:
    from .cache_broadcast import Publisher

    key = (url, channel)
    current = state.cache_publisher
    if current is None or current[0] != key:
        current = (key, Publisher(*key))
        state.cache_publisher = current
    return current[1]


@signals.access_token_revoked.connect
def _forget_revoked(sender: Any, token_id: str | None = None, **_: Any) -> None:
    """Revocations made in this process evict the token from the cache at once, and with a
    broadcast URL from every other process's cache too."""
    state = getattr(sender, "extensions", {}).get("passport") if sender is not None else None
    if state is None or token_id is None:
        return
    slot = _slot(state)
    if slot is not None and slot.cache is not None:
        slot.cache.discard_id(token_id)
    settings = state.settings
    if settings.token_cache_broadcast_url:
        _publisher(state, settings.token_cache_broadcast_url,
                   settings.token_cache_broadcast_channel).publish(token_id)


def verify_bearer(state: Any, value: str) -> BearerToken:
    """Verify a JWT and check its row: unrevoked, unexpired, client unrevoked, and its user (if
    it has one) still there.

    With the token cache on, a token verified in the last ``ttl`` seconds is returned as is.
    """
    token, user = _verify_with_cache(state, value)
    if token.user_id is not None and user is None and state.load_user(token.user_id) is None:
        raise BearerError("invalid_token", _USER_GONE)
    return token


def _copy(token: BearerToken) -> BearerToken:
    """A copy whose lists a view may change without touching the cached entry."""
    return replace(token, scopes=list(token.scopes), claims=dict(token.claims))


def _verify_with_cache(state: Any, value: str) -> tuple[BearerToken, Any]:
    """The verified token and its user: the user the cache holds for it (revived into this
    request's session), the user loaded on a miss (then cached), or ``None`` for the caller to
    load."""
    cache = token_cache(state)
    if cache is None:
        return _verify_bearer(state, value), None
    hit = cache.lookup(value)
    if hit is not None:
        token, snapshot = hit
        user = None
        if snapshot is not None:
            user = revive_user(state.db.session, snapshot)
        return _copy(token), user
    generation = cache.generation
    fresh = not _reads_an_old_snapshot(state.db.session)
    token = _verify_bearer(state, value)
    user = snapshot = None
    if token.user_id is not None:
        user = state.load_user(token.user_id)
        if user is None:
            raise BearerError("invalid_token", _USER_GONE)
        if state.settings.token_cache_users:
            snapshot = snapshot_user(user)
    if fresh:
        cache.put(value, _copy(token), snapshot, generation=generation)
    return token, user


def _reads_an_old_snapshot(session: Any) -> bool:
    """Whether the token query may read a snapshot taken before a revocation whose eviction
    already happened: only inside a transaction the request opened earlier, at REPEATABLE READ
    or SERIALIZABLE (PostgreSQL's default READ COMMITTED, and SQLite, where pysqlite starts no
    transaction for reads and a writer holds the write lock, always read the latest commit).
    Such a result serves the request but is not cached."""
    current = session() if callable(session) else session
    if not current.in_transaction():
        return False
    connection = current.connection()
    if connection.dialect.name == "sqlite":
        return False
    level = (connection.get_execution_options().get("isolation_level")
             or connection.default_isolation_level)
    return str(level).upper() in ("REPEATABLE READ", "SERIALIZABLE", "SNAPSHOT")


def _verify_bearer(state: Any, value: str) -> BearerToken:
    settings = state.settings
    try:
        claims = decode_access_token(
            state.keys(),
            value,
            issuer=settings.issuer,
            audience=settings.audience,
            leeway=settings.leeway,
        )
    except InvalidToken as exc:
        raise BearerError("invalid_token", str(exc)) from None
    jti = claims.get("jti")
    if not isinstance(jti, str) or len(jti) > 64:
        raise BearerError("invalid_token", "The access token is invalid.")
    session = state.db.session
    query, orm = _token_query(state.models, getattr(state, "user_model", None),
                              _dialect_name(state, session))
    # An ORM select when the user comes along (it lands in the identity map); else Core.
    runner = session if orm else session.connection()
    row = runner.execute(query, {"jti": jti}).one_or_none()
    if orm and row is not None and has_request_context():
        # The identity map holds instances weakly: keep the user alive for this request so the
        # app's loader (db.session.get) finds it there instead of querying again.
        request._passport_token_user = row[0]  # type: ignore[attr-defined]
    if row is None or row.revoked or row.client_revoked:
        raise BearerError("invalid_token", "The access token has been revoked.")
    if orm and row[0] is None and row.user_id is not None:
        raise BearerError("invalid_token", _USER_GONE)  # the join found no user: no loader call
    expires_at = _as_utc(row.expires_at)
    if expires_at <= utcnow():
        raise BearerError("invalid_token", "The access token has expired.")
    return BearerToken(jti, row.user_id, row.client_id, list(row.scopes or ()), expires_at,
                       claims)


#: A select of any number of columns (the user's entity first, or not at all).
_TokenQuery: TypeAlias = "tuple[sa.Select[*tuple[Any, ...]], bool]"
_TOKEN_QUERIES: dict[tuple[Any, Any, Any, str], _TokenQuery] = {}


def _dialect_name(state: PassportState, session: Any) -> str:
    """The tokens' database dialect, looked up once per app state."""
    name = state.token_dialect
    if name is None:
        name = session.get_bind(mapper=state.models.AccessToken).dialect.name
        state.token_dialect = name
    return name


def _token_query(models: Any, user_model: Any = None, dialect: str = "sqlite"
                 ) -> _TokenQuery:
    """The token row joined with its client (and its user, see :func:`_user_join`), by primary
    key: a select built once per model trio and dialect (building a select costs more than
    running it on SQLite). Returns the select and whether it is an ORM select (it loads a
    user entity)."""
    key = (models.AccessToken, models.Client, user_model, dialect)
    cached = _TOKEN_QUERIES.get(key)
    if cached is None:
        at, cl = models.AccessToken.__table__, models.Client.__table__
        columns = (at.c.user_id, at.c.client_id, at.c.scopes, at.c.revoked, at.c.expires_at,
                   cl.c.revoked.label("client_revoked"))
        joined = at.join(cl, cl.c.id == at.c.client_id)
        on_user = _user_join(user_model, at, dialect=dialect)
        if on_user is None:
            query = sa.select(*columns).select_from(joined)
        else:
            # The ORM's outerjoin (not a Core join) puts a single-table-inheritance
            # discriminator in ON, so a client token (no user) still finds its row. No
            # autoflush: a pending change elsewhere in the session is not this check's business.
            query = (sa.select(user_model, *columns).select_from(joined)
                     .outerjoin(user_model, on_user).execution_options(autoflush=False))
        cached = (query.where(at.c.id == sa.bindparam("jti")), on_user is not None)
        _TOKEN_QUERIES[key] = cached
    return cached


def _as_utc(value: datetime) -> datetime:
    # The UTCDateTime column type already returns aware UTC values; this keeps a custom model
    # with a plain DateTime column correct too.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _authenticate() -> BearerToken:
    """Authenticate the request once; stacked decorators reuse the result (kept on the
    request, not on ``g``: an app context, and ``g`` with it, may outlive several requests)."""
    token: BearerToken | None = getattr(request, "_passport_token", None)
    if token is not None:
        return token
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state: PassportState | ResourceServer = app.extensions.get("passport") or _resource_server()
    value, with_proof = dpop.authorization(request.headers.get("Authorization"))
    user: Any = None
    # The testing helpers' token (testing.py) counts only in a testing app: in production the
    # Authorization header is all that authenticates a request.
    if app.testing and state.acting_token is not None:
        token = state.acting_token
    elif value is None:
        authenticate = None if isinstance(state, ResourceServer) else state.cookie_authenticator
        if authenticate is not None:
            token = authenticate()
        if token is None:
            raise BearerError(None, "Authentication is required.")
    elif isinstance(state, ResourceServer):  # a remote verifier (resource_server.py)
        token = state.verify_bearer(value)
    else:
        token, user = _verify_with_cache(state, value)
    dpop.check(state, token, value, with_proof)  # RFC 9449 §7: bound tokens need their key
    request._passport_token = token  # type: ignore[attr-defined]
    if token.user_id is not None:
        if user is None:
            user = state.load_user(token.user_id)
        if user is None:
            raise BearerError("invalid_token", _USER_GONE)
        # current_user is the token's user for this request only; the session is untouched.
        set_request_user(user)
        with_token = getattr(user, "with_access_token", None)
        if with_token is not None:
            with_token(token)
    else:
        # A client-credentials token stands for no user: never let a session cookie sent
        # alongside it make current_user someone (GHSA-349c-2h2f-mxf6 in another guise).
        set_request_anonymous(app)
    return token


def end_of_request(exc: BaseException | None = None) -> None:
    """``teardown_request``: Flask-Login keeps ``current_user`` on ``g``, which lives as long as
    the app context; drop the user a token put there, so a later request in the same context
    (a test inside ``with app.app_context()``) is not that user."""
    if getattr(request, "_passport_token", None) is not None:
        forget_request_user()


def _resource_server() -> Any:
    """The app's :class:`~flask_passport.resource.resource_server.ResourceServer`, if it
    has no Passport."""
    try:
        return current_app.extensions["passport_resource_server"]
    except KeyError:
        raise RuntimeError(
            "Protect routes with Passport(app) or ResourceServer(app) registered on this app."
        ) from None


def _error_response(exc: BearerError) -> Response:
    return to_flask(exc.to_response())


def _config_error_response() -> Response:
    return to_flask(keys_missing().to_response())


def _database_error_response() -> Response:
    """The token row could not be read: 503 (retry later), never a 500 or a false 401."""
    state = current_app.extensions.get("passport")
    if state is not None:
        state.db.session.rollback()
    log.exception("flask-passport: database error while checking an access token")
    response = jsonify(error="temporarily_unavailable",
                       error_description="The server could not check the access token now. "
                       "Try again later.")
    response.status_code = 503
    response.headers.update({"Retry-After": "5", "Cache-Control": "no-store"})
    return response


def _protect(
    check: Callable[[BearerToken], None], *, require_user: bool
) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                token = _authenticate()
                if require_user and not token.has_user:
                    raise BearerError(
                        "invalid_token",
                        "This route needs a user's token; a client credentials token was given.",
                    )
                check(token)
            except BearerError as exc:
                return _error_response(dpop.as_challenge(exc))
            except KeyLoadError as exc:
                log.error("flask-passport: %s", exc)
                return _config_error_response()
            except SQLAlchemyError:
                return _database_error_response()
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def _need_all(names: tuple[str, ...]) -> Callable[[BearerToken], None]:
    def check(token: BearerToken) -> None:
        missing = [n for n in names if not token.can(n)]
        if missing:
            raise BearerError(
                "insufficient_scope",
                "The access token does not have the required scopes.",
                status=403,
                scope=" ".join(names),
            )

    return check


def _need_any(names: tuple[str, ...]) -> Callable[[BearerToken], None]:
    def check(token: BearerToken) -> None:
        if names and not any(token.can(n) for n in names):
            raise BearerError(
                "insufficient_scope",
                "The access token has none of the accepted scopes.",
                status=403,
                scope=" ".join(names),
            )

    return check


def _route_decorator(names: tuple[Any, ...], need: Callable[[tuple[str, ...]], Any], *,
                     require_user: bool, decorator: str) -> Any:
    """The decorator for scope ``names``, or, when written without parentheses like
    ``@login_required`` (``names`` is then the view itself), the view protected with no scope.

    Anything else that is not a scope name fails at import time, not with a 500 per request.
    """
    if len(names) == 1 and callable(names[0]):
        return _protect(need(()), require_user=require_user)(names[0])
    wrong = [n for n in names if not isinstance(n, str) or not n]
    if wrong:
        raise TypeError(f"@{decorator}() takes scope names as strings, e.g. "
                        f"@{decorator}(\"place-orders\"); got {wrong[0]!r}.")
    return _protect(need(names), require_user=require_user)


@overload
def require_oauth(view: F, /) -> F: ...
@overload
def require_oauth(*scopes: str) -> Callable[[F], F]: ...
def require_oauth(*scopes: Any) -> Any:
    """A valid user token (never a client-credentials token) with all of ``scopes``.

    ``current_user`` is the token's user for the request. ``@require_oauth`` without
    parentheses is the same as ``@require_oauth()``.
    """
    return _route_decorator(scopes, _need_all, require_user=True, decorator="require_oauth")


@overload
def client(view: F, /) -> F: ...
@overload
def client(*names: str) -> Callable[[F], F]: ...
def client(*names: Any) -> Any:
    """A valid token, client credentials included, carrying all of ``names`` (``@client``
    without parentheses: any valid token). Also named :func:`scopes`; stack under
    ``@require_oauth()`` to need a user."""
    return _route_decorator(names, _need_all, require_user=False, decorator="client")


def client_any(*names: str) -> Callable[[F], F]:
    """Like :func:`client`, with at least one of ``names``. Also named :func:`scope`."""
    decorate: Callable[[F], F] = _route_decorator(names, _need_any, require_user=False,
                                                  decorator="client_any")
    return decorate


#: Laravel Passport's names for the same two rules (its ``scopes`` and ``scope`` middleware):
#: any valid token, with all of the scopes or with at least one.
scopes = client
scope = client_any
