"""Loading a row by one column's value with a select built once per model and column, and
joining a token's user (:func:`user_join`).

``Session.get`` builds a new ``select`` (and its cache key) on every call when the row is not in
the identity map, which on the token endpoint cost more than running the query; the statement
here is built once and reused, with the same result (an identity-mapped instance).
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.exc import NoInspectionAvailable
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


#: How each database casts a stored user id to an integer key without raising: SQLite and
#: MySQL turn a non-number into 0 (no user), PostgreSQL would raise, so the cast is guarded.
_PLAIN_CAST, _GUARDED_CAST = ("sqlite", "mysql", "mariadb"), ("postgresql",)


def user_join(user_model: Any, tokens: sa.Table, *, dialect: str = "sqlite") -> Any:
    """The ON clause that finds a token's user by primary key, or ``None`` if it can't be known.

    Tokens store the user as Flask-Login's ``get_id()`` string, so the join is only sound when
    that string is the primary key in text: the model keeps :meth:`UserMixin.get_id`
    (``str(self.id)``), ``id`` is its only primary-key column, of an integer or string type, and
    it shares the tokens' metadata (same database). The integer case casts the token's side, so
    the user's primary-key index still serves the lookup.
    """
    if user_model is None or getattr(user_model, "get_id", None) is not UserMixin.get_id:
        return None
    try:
        mapper = sa.inspect(user_model)
    except NoInspectionAvailable:
        return None
    primary_key = mapper.primary_key
    if len(primary_key) != 1 or primary_key[0].table.metadata is not tokens.metadata:
        return None
    column = primary_key[0]
    if mapper.get_property_by_column(column).key != "id":
        return None
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return None
    if python_type is int:
        as_integer = sa.cast(tokens.c.user_id, sa.BigInteger)  # any integer key fits BIGINT
        if dialect in _PLAIN_CAST:
            return column == as_integer
        if dialect in _GUARDED_CAST:
            # Only a string of digits is cast (a hand-written id joins no user and the app's
            # loader decides), so PostgreSQL never raises; it compares int4 with int8 on the
            # primary-key index.
            digits = tokens.c.user_id.regexp_match("^-?[0-9]{1,18}$")
            return column == sa.case((digits, as_integer))
        return None  # a database whose cast we don't know: the loader queries instead
    if python_type is str:
        return column == tokens.c.user_id
    return None
