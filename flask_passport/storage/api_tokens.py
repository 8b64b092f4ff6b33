"""The ``HasApiTokens`` mixin for the app's user model (Passport's trait of the same name)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..extension import user_id_of
from ..oauth2.errors import OAuthError
from ..oauth2.grants.personal_access import check_arguments, create_personal_token
from ..resource.guard import request_token
from .clients import find_personal_access_client


class PersonalAccessClientMissing(RuntimeError):
    """No personal access client exists yet."""


@dataclass
class PersonalAccessTokenResult:
    """``access_token`` is the JWT (shown once); ``token`` is its database row."""

    access_token: str
    token: Any

    def to_dict(self) -> dict[str, Any]:
        return {"accessToken": self.access_token, "token": self.token.to_dict()}


class HasApiTokens:
    """Mix into the user model: ``class User(UserMixin, HasApiTokens, db.Model)``."""

    @property
    def tokens(self) -> sa.Select[Any]:
        """A ``select()`` of this user's access tokens, newest first; run it with ``db.session``."""
        AccessToken = current_app.extensions["passport"].models.AccessToken
        return (
            sa.select(AccessToken)
            .where(AccessToken.user_id == user_id_of(self))
            .order_by(AccessToken.created_at.desc())
        )

    def token(self) -> Any:
        """The token that authenticated the current request, if it belongs to this user."""
        token = getattr(self, "_passport_access_token", None) or request_token()
        if token is not None and token.user_id == user_id_of(self):
            return token
        return None

    def with_access_token(self, token: Any) -> HasApiTokens:
        self._passport_access_token = token
        return self

    def token_can(self, scope: str) -> bool:
        token = self.token()
        return bool(token is not None and token.can(scope))

    def create_token(self, name: str, scopes: Iterable[str] = ()) -> PersonalAccessTokenResult:
        """Issue a personal access token for this user and commit it.

        ``scopes`` is a list (``["check-status"]``); a bare string raises ``TypeError``, an
        empty name ``ValueError``.
        """
        names = check_arguments(name, scopes)
        state = current_app.extensions["passport"]
        ctx = state.context()
        client = find_personal_access_client(
            ctx.session, ctx.models, state.settings.personal_access_client_id
        )
        if client is None:
            raise PersonalAccessClientMissing(
                "No personal access client exists. Run `flask passport install` or "
                "`flask passport client --personal`."
            )
        try:
            issued = create_personal_token(
                ctx, client=client, user_id=user_id_of(self), name=name, scopes=names, user=self
            )
            ctx.commit()
        except OAuthError as exc:
            ctx.rollback()
            raise ValueError(exc.description) from None
        except BaseException:
            ctx.rollback()
            raise
        return PersonalAccessTokenResult(issued.access_token, issued.token)
