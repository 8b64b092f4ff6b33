"""A deleted user's tokens die with the user.

Tokens keep the user as its ``get_id()`` string with no foreign key (the user table is the
app's, with any key type), so the database cannot cascade. Left alive they would keep working,
and where ids are reused (SQLite's integer keys) authenticate the *next* account given the id.
So deleting a user through the ORM (``session.delete(user)``, a relationship cascade, a
single-table-inheritance subclass) revokes its access tokens, refresh tokens, authorization
codes and device codes in the same flush, hence the same transaction
(:func:`~flask_passport.oauth2.revocation.revoke_user_grants`). The revocation signals, which
also evict the tokens from the verified-token cache and broadcast it, are sent only once that
transaction has committed.

Bulk deletes (``session.query(User).delete()``, ``session.execute(sa.delete(User))``) bypass
ORM events: apps call :meth:`flask_passport.Passport.revoke_user_tokens` in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy.orm import Session, object_session

from .. import signals
from ..extension import user_id_of
from ..oauth2.revocation import revoke_user_grants
from .models import Models, utcnow

REASON = "user_deleted"
_PENDING = "flask_passport.revoked_user_tokens"


def watch(user_model: Any) -> None:
    """Revoke the grants of every ``user_model`` instance (subclasses included) the ORM
    deletes. Registered once per model, whatever the number of apps using it: the listener
    finds the app's passport when the delete happens."""
    if not sa.event.contains(user_model, "before_delete", _before_delete):
        # before_delete, not after: the row still exists, so a custom get_id() may load an
        # expired attribute.
        sa.event.listen(user_model, "before_delete", _before_delete, propagate=True)


def revoke(session: Session, models: Models, app: Any, user_ids: Iterable[str]) -> int:
    """Revoke the users' grants in ``session``'s transaction; signals follow its commit."""
    access_ids, refresh_ids = revoke_user_grants(session, models, list(user_ids), utcnow())
    _after_commit(session, app, access_ids, refresh_ids)
    return len(access_ids)


def _before_delete(mapper: Any, connection: sa.Connection, target: Any) -> None:
    state: Any = current_app.extensions.get("passport") if has_app_context() else None
    user_model = getattr(state, "user_model", None)
    if state is None or user_model is None or not isinstance(target, user_model):
        return  # another app's model: this app's passport has no tokens for it
    access_ids, refresh_ids = revoke_user_grants(connection, state.models,
                                                 [_user_id(target)], utcnow())
    session = object_session(target)
    if session is not None:
        _after_commit(session, state.app, access_ids, refresh_ids)


def _user_id(user: Any) -> str:
    """The id tokens store for ``user``: with Flask-Login's own ``get_id()`` straight from the
    identity key, which needs no load even when the instance was expired."""
    identity = sa.inspect(user).identity
    if getattr(type(user), "get_id", None) is UserMixin.get_id and identity and len(identity) == 1:
        return str(identity[0])
    return user_id_of(user)


def _after_commit(session: Session, app: Any, access_ids: list[str],
                  refresh_ids: list[str]) -> None:
    if not access_ids and not refresh_ids:
        return
    session.info.setdefault(_PENDING, []).append((app, access_ids, refresh_ids))
    if not sa.event.contains(session, "after_commit", _send):
        sa.event.listen(session, "after_commit", _send)
        sa.event.listen(session, "after_rollback", _drop)


def _send(session: Session) -> None:
    for app, access_ids, refresh_ids in session.info.pop(_PENDING, ()):
        for token_id in access_ids:
            signals.access_token_revoked.send(app, token_id=token_id, reason=REASON)
        for refresh_id in refresh_ids:
            signals.refresh_token_revoked.send(app, refresh_token_id=refresh_id, reason=REASON)


def _drop(session: Session) -> None:
    session.info.pop(_PENDING, None)
