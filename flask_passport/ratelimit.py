"""Rate limiting of the endpoints that take credentials, and the password-grant lockout.

Limited: ``POST /oauth/token``, ``POST /oauth/authorize`` and the device endpoints (any
``passport.device*`` route), each per client (the ``client_id`` claimed by Basic auth or the
form) and per IP address; and failed password-grant attempts per username (only failures count,
so a user who types the password right is never slowed down).

A request over a limit gets 429 with ``Retry-After`` and an OAuth-shaped JSON body
``{"error": "too_many_requests", "error_description": ...}``.

The engine is the ``limits`` package (the optional extra ``flask-passport[ratelimit]`` installs
it), driven directly rather than through a Flask-Limiter ``Limiter``:
such an instance would read the app's own ``RATELIMIT_*`` settings (its default limits would
then count every route twice), and it keys limits per route, while Passport needs the claimed
client, the address and the username of *failed* attempts, and an OAuth-shaped 429. Its storage
is ``memory://`` by default (one process) or Redis
(``redis://``) shared by several processes or hosts. Without the extra, Passport logs a clear
warning at start-up and runs unlimited. If the storage fails (Redis down), requests pass and the
error is logged: an authorization server that stops issuing tokens is an outage of every API.

Settings (all ``PASSPORT_RATELIMIT_*``; a limit of ``None`` or ``""`` turns that limit off):
``ENABLED``, ``STORAGE_URI``, ``STRATEGY`` (``fixed-window``, ``moving-window``,
``sliding-window-counter``), ``KEY_PREFIX``, ``PER_CLIENT``, ``PER_IP``, ``PASSWORD_FAILURES``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import time
from typing import Any
from urllib.parse import unquote_plus

from flask import Flask, Response, current_app, jsonify, request

log = logging.getLogger("flask_passport")

#: Endpoints limited on POST, with their group; device endpoints are matched by prefix.
#: The consent form posts to ``passport.decide`` (``POST /oauth/authorize``).
LIMITED_ENDPOINTS = {"passport.token": "token", "passport.decide": "authorize"}
DEVICE_PREFIX = "passport.device"

_STRATEGIES = {
    "fixed-window": "FixedWindowRateLimiter",
    "moving-window": "MovingWindowRateLimiter",
    "sliding-window-counter": "SlidingWindowCounterRateLimiter",
}


class RateLimiter:
    """Per-app limiter over a ``limits`` storage; built from settings at ``init_app``."""

    def __init__(self, settings: Any) -> None:
        import limits
        from limits import strategies
        from limits.storage import storage_from_string

        strategy = _STRATEGIES.get(settings.ratelimit_strategy)
        if strategy is None:
            raise ValueError(
                f"PASSPORT_RATELIMIT_STRATEGY must be one of {', '.join(_STRATEGIES)}."
            )
        uri = settings.ratelimit_storage_uri
        try:
            self.storage = storage_from_string(uri)
        except Exception as exc:  # limits' ConfigurationError: unknown scheme, missing driver
            scheme = str(uri).partition(":")[0]
            raise RuntimeError(
                f"PASSPORT_RATELIMIT_STORAGE_URI ({scheme}:...) cannot be used: {exc}. For "
                "redis:// install `pip install flask-passport[ratelimit]` (it brings redis)."
            ) from exc
        self.limiter = getattr(strategies, strategy)(self.storage)
        self.prefix = settings.ratelimit_key_prefix

        def parse(value: str | None) -> Any:
            return limits.parse(value) if value else None

        self.per_client = parse(settings.ratelimit_per_client)
        self.per_ip = parse(settings.ratelimit_per_ip)
        self.password_failures = parse(settings.ratelimit_password_failures)

    def _hit(self, item: Any, *key: str) -> float | None:
        """Count one request; the seconds to wait if it is over the limit, else ``None``."""
        if item is None:
            return None
        if self.limiter.hit(item, self.prefix, *key):
            return None
        return self._retry_after(item, *key)

    def _retry_after(self, item: Any, *key: str) -> float:
        stats = self.limiter.get_window_stats(item, self.prefix, *key)
        return max(1.0, stats.reset_time - time.time())

    def check_request(self, group: str, client_id: str | None, ip: str) -> float | None:
        """Count a request against the per-IP and per-client limits of ``group``."""
        wait = self._hit(self.per_ip, group, "ip", ip)
        if wait is None and client_id:
            wait = self._hit(self.per_client, group, "client", client_id)
        return wait

    def locked_out(self, username: str) -> float | None:
        """Seconds left if ``username`` has used up its failed password attempts."""
        item = self.password_failures
        if item is None:
            return None
        if self.limiter.test(item, self.prefix, "pwfail", username):
            return None
        return self._retry_after(item, "pwfail", username)

    def password_failed(self, username: str) -> None:
        if self.password_failures is not None:
            self.limiter.hit(self.password_failures, self.prefix, "pwfail", username)

    def reset(self) -> None:
        """Clear every counter (tests; memory storage only affects this process)."""
        self.storage.reset()


def too_many_requests(wait: float, description: str) -> Response:
    seconds = math.ceil(wait)
    response = jsonify(error="too_many_requests",
                       error_description=f"{description} Retry after {seconds} seconds.")
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response


def _claimed_client_id() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return unquote_plus(decoded.partition(":")[0])[:64] or None
    value = request.form.get("client_id") or request.args.get("client_id")
    return value[:64] if value else None


def _username() -> str | None:
    if request.form.get("grant_type") != "password":
        return None
    username = request.form.get("username")
    return username.strip().lower()[:255] if username else None


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
    state = current_app.extensions.get("passport")
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    group = _limited_group()
    if limiter is None or group is None:
        return None
    try:
        wait = limiter.check_request(group, _claimed_client_id(), request.remote_addr or "-")
        if wait is not None:
            return too_many_requests(wait, "Too many requests.")
        username = _username() if group == "token" else None
        if username:
            wait = limiter.locked_out(username)
            if wait is not None:
                return too_many_requests(wait, "Too many failed sign-in attempts for this user.")
    except Exception:  # the storage failed: fail open, loudly
        log.exception("flask-passport: rate-limit storage error; request allowed")
    return None


def _after_request(response: Response) -> Response:
    state = current_app.extensions.get("passport")
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None or _limited_group() != "token" or response.status_code != 400:
        return response
    username = _username()
    if not username:
        return response
    body = response.get_json(silent=True) or {}
    if body.get("error") == "invalid_grant":
        try:
            limiter.password_failed(username)
        except Exception:
            log.exception("flask-passport: rate-limit storage error")
    return response


def init_rate_limiting(app: Flask, state: Any) -> None:
    """Attach the limiter to ``app`` (called by ``Passport.init_app``)."""
    state.rate_limiter = None
    settings = state.settings
    if not settings.ratelimit_enabled:
        return
    try:
        import limits  # noqa: F401
    except ImportError:
        log.warning(
            "flask-passport: rate limiting is OFF because `limits` is not installed. "
            "Install it with `pip install flask-passport[ratelimit]` (add `redis` for several "
            "processes), or set PASSPORT_RATELIMIT_ENABLED = False to silence this warning."
        )
        return
    state.rate_limiter = RateLimiter(settings)
    app.before_request(_before_request)
    app.after_request(_after_request)
