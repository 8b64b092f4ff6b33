"""Loading a row by one column's value with a select built once per model and column.

``Session.get`` builds a new ``select`` (and its cache key) on every call when the row is not in
the identity map, which on the token endpoint cost more than running the query; the statement
here is built once and reused, with the same result (an identity-mapped instance).
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

_QUERIES: dict[tuple[Any, str | None], sa.Select[Any]] = {}


def get_by_id(session: Session, model: Any, ident: Any) -> Any:
    """The ``model`` instance whose single-column primary key is ``ident``, or ``None``."""
    return session.execute(_query(model, None), {"value": ident}).scalar_one_or_none()


def first_by(session: Session, model: Any, attribute: str, value: Any) -> Any:
    """The first ``model`` instance whose ``attribute`` equals ``value``, or ``None``."""
    return session.execute(_query(model, attribute), {"value": value}).scalars().first()


def changed_rows(session: Session, statement: sa.Executable) -> int:
    """Run an UPDATE or DELETE and return how many rows it matched (the atomic claims compare
    it with 1). DML without RETURNING yields a ``CursorResult``, which ``Session.execute``'s
    annotation does not say."""
    return cast("sa.CursorResult[Any]", session.execute(statement)).rowcount


def _query(model: Any, attribute: str | None) -> sa.Select[Any]:
    query = _QUERIES.get((model, attribute))
    if query is None:
        if attribute is None:
            (column,) = sa.inspect(model).primary_key
            query = sa.select(model).where(column == sa.bindparam("value"))
        else:
            column = getattr(model, attribute)
            query = sa.select(model).where(column == sa.bindparam("value")).limit(1)
        _QUERIES[(model, attribute)] = query
    return query
