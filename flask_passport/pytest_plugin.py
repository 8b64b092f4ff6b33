"""The pytest plugin (entry point ``pytest11``: ``flask_passport``): the ``acting_as`` and
``acting_as_client`` fixtures, each undone when the test ends.

It lives apart from :mod:`flask_passport.testing` so that importing the helpers (or building the
API docs) never needs pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from flask import Flask, has_app_context

from .resource.guard import BearerToken
from .testing import ActingAs, resolve_app, start_acting_as, start_acting_as_client

__all__ = ["acting_as_oauth_client", "acting_as_user"]


def _fixture_app(request: pytest.FixtureRequest) -> Flask | None:
    """The test's ``app`` fixture, when the suite has one (pytest-flask's convention)."""
    if has_app_context():
        return None
    try:
        app = request.getfixturevalue("app")
    except pytest.FixtureLookupError:
        return None
    return app if isinstance(app, Flask) else None


@pytest.fixture(name="acting_as")
def acting_as_user(request: pytest.FixtureRequest) -> Iterator[Callable[..., BearerToken]]:
    """``acting_as(user, scopes=(), app=None)``: act as ``user`` until the test ends."""
    started: list[ActingAs] = []

    def act(user: Any, scopes: Iterable[str] = (), app: Flask | None = None) -> BearerToken:
        target = resolve_app(app, [a for a in [_fixture_app(request)] if a is not None])
        started.append(start_acting_as(target, user, scopes))
        return started[-1].token

    yield act
    for item in reversed(started):
        item.stop()


@pytest.fixture(name="acting_as_client")
def acting_as_oauth_client(request: pytest.FixtureRequest
                           ) -> Iterator[Callable[..., BearerToken]]:
    """``acting_as_client(client=None, scopes=(), app=None)``: act as a machine client."""
    started: list[ActingAs] = []

    def act(client: Any = None, scopes: Iterable[str] = (), app: Flask | None = None
            ) -> BearerToken:
        target = resolve_app(app, [a for a in [_fixture_app(request)] if a is not None])
        started.append(start_acting_as_client(target, client, scopes))
        return started[-1].token

    yield act
    for item in reversed(started):
        item.stop()
