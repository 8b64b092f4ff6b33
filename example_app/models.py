"""The example app's user model: Flask-Login's UserMixin plus Passport's HasApiTokens."""

from __future__ import annotations

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from flask_passport import HasApiTokens

from . import db


class User(UserMixin, HasApiTokens, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"
    # Without AUTOINCREMENT SQLite hands a deleted user's id to the next account, and every
    # session cookie, token or row still naming that id would then mean the new account.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255), unique=True)
    name: Mapped[str] = mapped_column(sa.String(255), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "email": self.email, "name": self.name}
