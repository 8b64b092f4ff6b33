"""Testing helpers: ``acting_as`` / ``acting_as_client`` and a pytest plugin (entry point
``pytest11``), so an app's tests reach protected routes without keys or real tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import Flask

from .extension import user_id_of
from .guard import BearerToken
from .models import utcnow
from .tokens import new_id


def _fake_token(user_id: str | None, client_id: str, scopes: Iterable[str]) -> BearerToken:
    return BearerToken(
        id=new_id(),
        user_id=user_id,
        client_id=client_id,
        scopes=list(scopes),
        expires_at=utcnow() + timedelta(hours=1),
        transient=True,
    )


@contextmanager
def acting_as(app: Flask, user: Any, scopes: Iterable[str] = (), client_id: str = "testing"
              ) -> Iterator[BearerToken]:
    """Within the block, every protected request on ``app`` is made by ``user`` with ``scopes``."""
    token = _fake_token(user_id_of(user), client_id, scopes)
    state = app.extensions["passport"]
    previous = state.acting_token
    state.acting_token = token
    try:
        yield token
    finally:
        state.acting_token = previous


@contextmanager
def acting_as_client(app: Flask, client: Any = None, scopes: Iterable[str] = ()
                     ) -> Iterator[BearerToken]:
    """Within the block, protected requests carry a client-credentials token (no user)."""
    client_id = getattr(client, "id", None) or (client if isinstance(client, str) else "testing")
    token = _fake_token(None, client_id, scopes)
    state = app.extensions["passport"]
    previous = state.acting_token
    state.acting_token = token
    try:
        yield token
    finally:
        state.acting_token = previous
