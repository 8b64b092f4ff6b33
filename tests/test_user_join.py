"""When the token query may bring the user along (``guard._user_join``): only when the stored id
is provably the user's primary key in text, and in a form the primary-key index can serve."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_passport.guard import _user_join


class Base(DeclarativeBase):
    pass


class OtherBase(DeclarativeBase):
    pass


tokens = sa.Table("oauth_access_tokens", Base.metadata,
                  sa.Column("id", sa.String(64), primary_key=True),
                  sa.Column("user_id", sa.String(255)))


class IntUser(UserMixin, Base):
    __tablename__ = "int_users"
    id: Mapped[int] = mapped_column(primary_key=True)


class BigUser(UserMixin, Base):
    __tablename__ = "big_users"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)


class StrUser(UserMixin, Base):
    __tablename__ = "str_users"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)


class UuidUser(UserMixin, Base):
    __tablename__ = "uuid_users"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)


class OwnGetId(UserMixin, Base):
    __tablename__ = "own_get_id_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    alternative_id: Mapped[str] = mapped_column(sa.String(64))

    def get_id(self) -> str:
        return self.alternative_id


class NoMixin(Base):
    __tablename__ = "no_mixin_users"
    id: Mapped[int] = mapped_column(primary_key=True)


class Composite(UserMixin, Base):
    __tablename__ = "composite_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[int] = mapped_column(primary_key=True)


class KeyedOtherwise(UserMixin, Base):
    __tablename__ = "keyed_users"
    user_no: Mapped[int] = mapped_column("id", primary_key=True)


class Elsewhere(UserMixin, OtherBase):
    __tablename__ = "elsewhere_users"
    id: Mapped[int] = mapped_column(primary_key=True)


class NotMapped(UserMixin):
    id = 1


def sql(clause: object) -> str:
    return str(clause)


def test_integer_keys_cast_the_tokens_side() -> None:
    # The cast is on the token's column: the user's primary-key index still finds the row.
    assert sql(_user_join(IntUser, tokens)) == \
        "int_users.id = CAST(oauth_access_tokens.user_id AS INTEGER)"
    assert sql(_user_join(BigUser, tokens)) == \
        "big_users.id = CAST(oauth_access_tokens.user_id AS BIGINT)"


def test_string_keys_compare_as_they_are() -> None:
    assert sql(_user_join(StrUser, tokens)) == "str_users.id = oauth_access_tokens.user_id"


@pytest.mark.parametrize("model", [
    None,
    UuidUser,        # str(uuid) has dashes; a Uuid column may store 32 hex digits
    OwnGetId,        # the stored id is the app's get_id(), not the primary key
    NoMixin,         # no Flask-Login get_id at all
    Composite,       # two key columns
    KeyedOtherwise,  # get_id() reads self.id, which is not the key
    Elsewhere,       # another metadata: maybe another database
    NotMapped,
])
def test_no_join_when_the_stored_id_may_not_be_the_key(model: object) -> None:
    assert _user_join(model, tokens) is None
