"""Testing helpers: ``acting_as`` / ``acting_as_client`` (and, in
:mod:`flask_passport.pytest_plugin`, pytest fixtures of the same names), so an app's tests reach
protected routes without keys or real tokens.

Three ways to use them::

    passport.acting_as(user, ["place-orders"])          # from now on (until .stop())
    with passport.acting_as(user, ["place-orders"]):     # within the block
        ...
    def test_orders(client, acting_as, user):             # pytest fixture, undone after the test
        acting_as(user, ["place-orders"])                 # (also: the acting_as_client fixture)

While active, every protected request of the app (a testing app: ``TESTING = True``) is made
by the user (or client) with exactly those scopes; no key, token or database row is involved
(the user is loaded through the app's Flask-Login ``user_loader``, so it must exist in the test
database).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, has_app_context

from .extension import passport_state, user_id_of
from .jose.tokens import new_id
from .resource.guard import BearerToken
from .storage.models import utcnow


def _fake_token(user_id: str | None, client_id: str, scopes: Iterable[str]) -> BearerToken:
    return BearerToken(
        id=new_id(),
        user_id=user_id,
        client_id=client_id,
        scopes=list(scopes),
        expires_at=utcnow() + timedelta(hours=1),
        transient=True,
    )


def _client_id(client: Any) -> str:
    if isinstance(client, str):
        return client
    return str(getattr(client, "id", None) or "testing")


class ActingAs:
    """An active ``acting_as``: applied on creation, undone by :meth:`stop` or leaving ``with``.

    Only a testing app (``app.testing``) honours it: the guard never reads the acting token
    otherwise, and starting one on any other app raises :class:`RuntimeError`.
    """

    def __init__(self, app: Flask, token: BearerToken) -> None:
        if not app.testing:
            raise RuntimeError("acting_as works only in a testing app: set app.testing = True "
                               "(TESTING in its config).")
        self.app = app
        self.token = token
        state = passport_state(app)
        self._previous = state.acting_token
        state.acting_token = token
        self._active = True

    def stop(self) -> None:
        if self._active:
            passport_state(self.app).acting_token = self._previous
            self._active = False

    def __enter__(self) -> BearerToken:
        return self.token

    def __exit__(self, *exc: object) -> None:
        self.stop()


def resolve_app(app: Flask | None, candidates: Iterable[Flask] = ()) -> Flask:
    """``app``, else the current app, else the last of ``candidates`` (the apps the extension
    was bound to, oldest first: with an app factory per test, the current test's app)."""
    if app is not None:
        return app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]
    apps = list(candidates)
    if apps:
        return apps[-1]
    raise RuntimeError(
        "acting_as needs to know the app: pass app=, or call it inside app.app_context()."
    )


def start_acting_as(app: Flask, user: Any, scopes: Iterable[str] = (),
                    client_id: str = "testing") -> ActingAs:
    """Make every protected request on ``app`` come from ``user`` with ``scopes``."""
    return ActingAs(app, _fake_token(user_id_of(user), client_id, scopes))


def start_acting_as_client(app: Flask, client: Any = None, scopes: Iterable[str] = ()
                           ) -> ActingAs:
    """Make every protected request on ``app`` carry a client-credentials token (no user)."""
    return ActingAs(app, _fake_token(None, _client_id(client), scopes))


@contextmanager
def acting_as(app: Flask, user: Any, scopes: Iterable[str] = (), client_id: str = "testing"
              ) -> Iterator[BearerToken]:
    """Within the block, every protected request on ``app`` is made by ``user`` with ``scopes``."""
    with start_acting_as(app, user, scopes, client_id) as token:
        yield token


@contextmanager
def acting_as_client(app: Flask, client: Any = None, scopes: Iterable[str] = ()
                     ) -> Iterator[BearerToken]:
    """Within the block, protected requests carry a client-credentials token (no user)."""
    with start_acting_as_client(app, client, scopes) as token:
        yield token
