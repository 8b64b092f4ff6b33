"""The rate limits the protocol applies itself, at the moment it knows the outcome.

RFC 6749 §4.3.2 asks the token endpoint to protect the password grant against brute force, and
§10.10 to make credential guessing slow. Two counts need what only the protocol knows:

* the per-client limit counts a client once it is *authenticated*, so requests that merely
  name a client cannot use up its budget (they count per address, before the view runs);
* a password attempt is counted atomically *before* the password is checked and handed back
  once the check succeeded, so N parallel guesses evaluate at most the limit.

The counting itself (storage, windows, fail-open on a storage outage) is the app's
:class:`~flask_passport.oauth2.context.Throttle`, by default
:class:`flask_passport.web.ratelimit.RateLimiter`.
"""

from __future__ import annotations

from typing import Any

from .context import Context
from .errors import too_many_requests


def count_client(ctx: Context, client: Any) -> None:
    """Count one request of an authenticated ``client``; 429 when over its limit."""
    if ctx.throttle is None:
        return
    wait = ctx.throttle.client_request(str(client.id))
    if wait is not None:
        raise too_many_requests(wait, "Too many requests for this client.")


def begin_password_attempt(ctx: Context, username: str) -> None:
    """Count one attempt for ``username`` before its password is checked; 429 when used up."""
    if ctx.throttle is None:
        return
    wait = ctx.throttle.password_attempt(username)
    if wait is not None:
        raise too_many_requests(wait, "Too many failed sign-in attempts for this user.")


def password_succeeded(ctx: Context, username: str) -> None:
    """Hand back the attempt of a correct password: only failures use up the budget."""
    if ctx.throttle is not None:
        ctx.throttle.password_refund(username)
