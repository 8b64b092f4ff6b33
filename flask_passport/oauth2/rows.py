"""Loading a row by primary key with a select built once per model.

``Session.get`` builds a new ``select`` (and its cache key) on every call when the row is not in
the identity map, which on the token endpoint cost more than running the query; the statement
here is built once and reused, with the same result (an identity-mapped instance).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

_BY_ID: dict[Any, sa.Select[Any]] = {}


def get_by_id(session: Session, model: Any, ident: Any) -> Any:
    """The ``model`` instance whose single-column primary key is ``ident``, or ``None``."""
    query = _BY_ID.get(model)
    if query is None:
        (pk,) = sa.inspect(model).primary_key
        query = _BY_ID[model] = sa.select(model).where(pk == sa.bindparam("ident"))
    return session.execute(query, {"ident": ident}).scalar_one_or_none()
