"""Rate limiting of the endpoints that take credentials, and the failure lockouts.

* Per address: every ``POST`` to the token endpoint, the pushed authorization request
  endpoint (RFC 9126), the consent decision
  (``POST /oauth/authorize``) and the device endpoints (any ``passport.device*`` route), counted
  before the view runs. Requests that fail client authentication count here, and only here.
* Per client: counted by the protocol once the client is authenticated
  (:mod:`flask_passport.oauth2.throttle`), so a flood that merely names a client cannot use up
  that client's budget.
* Failed password-grant attempts per username and wrong device user codes per signed-in user:
  each attempt is counted atomically *before* the check and handed back when it succeeds, so
  parallel guesses evaluate at most the limit and a user who gets it right is never slowed down.

A request over a limit gets 429 with ``Retry-After`` and an OAuth-shaped JSON body
``{"error": "too_many_requests", "error_description": ...}``.

The engine is the ``limits`` package (a core dependency), driven directly rather than through
Flask-Limiter: Flask-Limiter would read the app's own ``RATELIMIT_*`` settings (its default
limits would then count every route twice) and keys limits per route, while Passport needs the
authenticated client, the address and attempts counted around a check. Storage is
``memory://`` by default, one per app (the counters live in this process), or Redis
(``redis://``, the ``redis`` extra) shared by several processes or hosts. If the storage fails
(Redis down), requests pass and the error is logged: an authorization server that stops issuing
tokens is an outage of every API.

Settings (all ``PASSPORT_RATELIMIT_*``; a limit of ``None`` or ``""`` turns that limit off):
``ENABLED``, ``STORAGE_URI``, ``STRATEGY`` (``fixed-window``, ``moving-window``,
``sliding-window-counter``; for the per-client and per-IP limits), ``KEY_PREFIX``,
``PER_CLIENT``, ``PER_IP``, ``PASSWORD_FAILURES``, ``USER_CODE_FAILURES``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import limits
from flask import Flask, Response, current_app, request
from limits import strategies
from limits.storage import Storage, storage_from_string

from ..oauth2.errors import too_many_requests
from ..views.responses import oauth_error

log = logging.getLogger("flask_passport")

T = TypeVar("T")

#: Endpoints limited per address on POST, with their group; device endpoints match by prefix.
#: The consent form posts to ``passport.decide`` (``POST /oauth/authorize``).
LIMITED_ENDPOINTS = {"passport.token": "token", "passport.decide": "authorize",
                     "passport.register": "register", "passport.par": "par"}
DEVICE_PREFIX = "passport.device"

_STRATEGIES: dict[str, type[strategies.RateLimiter]] = {
    "fixed-window": strategies.FixedWindowRateLimiter,
    "moving-window": strategies.MovingWindowRateLimiter,
    "sliding-window-counter": strategies.SlidingWindowCounterRateLimiter,
}


def _parse(value: str | None) -> limits.RateLimitItem | None:
    return limits.parse(value) if value else None


class RateLimiter:
    """One app's counters over a ``limits`` storage, built from its settings at ``init_app``.

    Implements :class:`flask_passport.oauth2.context.Throttle`. Every method fails open: a
    storage error is logged and the request allowed.
    """

    def __init__(self, settings: Any) -> None:
        strategy = _STRATEGIES.get(settings.ratelimit_strategy)
        if strategy is None:
            raise ValueError(
                f"PASSPORT_RATELIMIT_STRATEGY must be one of {', '.join(_STRATEGIES)}."
            )
        uri = settings.ratelimit_storage_uri
        scheme = str(uri).partition(":")[0]
        try:
            storage = storage_from_string(uri)
        except Exception as exc:  # limits' ConfigurationError: unknown scheme, missing driver
            raise RuntimeError(
                f"PASSPORT_RATELIMIT_STORAGE_URI ({scheme}:...) cannot be used: {exc}. For "
                "redis:// install `pip install flask-passport[redis]`."
            ) from exc
        if not isinstance(storage, Storage):  # async+...:// storages need an event loop
            raise RuntimeError(f"PASSPORT_RATELIMIT_STORAGE_URI ({scheme}:...) is asynchronous; "
                               "use the synchronous scheme (memory://, redis://).")
        self.storage = storage
        self.limiter = strategy(self.storage)
        # Failure lockouts count in fixed windows whatever the strategy: a fixed-window counter
        # is the one a success can hand its attempt back to exactly (a decrement).
        self.failures = strategies.FixedWindowRateLimiter(self.storage)
        self.prefix = settings.ratelimit_key_prefix
        self.per_client = _parse(settings.ratelimit_per_client)
        self.per_ip = _parse(settings.ratelimit_per_ip)
        self.password_failures = _parse(settings.ratelimit_password_failures)
        self.user_code_failures = _parse(settings.ratelimit_user_code_failures)

    # -- counting -------------------------------------------------------------------------------

    def _fail_open(self, default: T, count: Callable[[], T]) -> T:
        try:
            return count()
        except Exception:  # the storage failed: allow, loudly
            log.exception("flask-passport: rate-limit storage error; request allowed")
            return default

    def _hit(self, limiter: strategies.RateLimiter, item: limits.RateLimitItem | None,
             *key: str) -> float | None:
        """Count one atomically; the seconds to wait if that went over the limit, else ``None``."""
        if item is None:
            return None

        def hit() -> float | None:
            if limiter.hit(item, self.prefix, *key):
                return None
            stats = limiter.get_window_stats(item, self.prefix, *key)
            return max(1.0, stats.reset_time - time.time())

        return self._fail_open(None, hit)

    def _refund(self, item: limits.RateLimitItem | None, *key: str) -> None:
        """Take back one attempt counted by :meth:`_hit` on :attr:`failures`."""
        if item is None:
            return
        storage_key = item.key_for(self.prefix, *key)

        def refund() -> None:
            # Only a live counter is decremented: one that expired meanwhile would otherwise
            # start the next window below zero.
            if self.storage.get(storage_key) > 0:
                self.storage.incr(storage_key, item.get_expiry(), amount=-1)

        self._fail_open(None, refund)

    def request_from(self, group: str, ip: str) -> float | None:
        """Count a request to ``group`` from address ``ip``."""
        return self._hit(self.limiter, self.per_ip, group, "ip", ip)

    def client_request(self, client_id: str) -> float | None:
        """Count a request of an authenticated client."""
        return self._hit(self.limiter, self.per_client, "client", client_id)

    @staticmethod
    def _username_key(username: str) -> str:
        return username.strip().lower()[:255]

    def password_attempt(self, username: str) -> float | None:
        """Count a password-grant attempt for ``username`` before its password is checked."""
        return self._hit(self.failures, self.password_failures, "pwfail",
                         self._username_key(username))

    def password_refund(self, username: str) -> None:
        """The password was right: the attempt does not count."""
        self._refund(self.password_failures, "pwfail", self._username_key(username))

    def user_code_attempt(self, user_id: str) -> float | None:
        """Count a user-code entry of signed-in ``user_id`` (RFC 8628 §5.1) before the lookup."""
        return self._hit(self.failures, self.user_code_failures, "usercode", user_id)

    def user_code_refund(self, user_id: str) -> None:
        """The code was not a wrong guess: the attempt does not count."""
        self._refund(self.user_code_failures, "usercode", user_id)

    def reset(self) -> None:
        """Clear every counter (tests; memory storage only affects this app)."""
        self.storage.reset()


def _limited_group() -> str | None:
    endpoint = request.endpoint or ""
    if request.method != "POST":
        return None
    if endpoint in LIMITED_ENDPOINTS:
        return LIMITED_ENDPOINTS[endpoint]
    if endpoint.startswith(DEVICE_PREFIX):
        return endpoint.removeprefix("passport.")
    return None


def _before_request() -> Response | None:
    limiter = current_app.extensions["passport"].rate_limiter
    group = _limited_group()
    if limiter is None or group is None:
        return None
    wait = limiter.request_from(group, request.remote_addr or "-")
    if wait is None:
        return None
    return oauth_error(too_many_requests(wait, "Too many requests."))


def init_rate_limiting(app: Flask, state: Any) -> None:
    """Attach the limiter to ``app`` (called by ``Passport.init_app``)."""
    state.rate_limiter = None
    if not state.settings.ratelimit_enabled:
        return
    state.rate_limiter = RateLimiter(state.settings)
    app.before_request(_before_request)
