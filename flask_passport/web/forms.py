"""WTForms forms for Passport's pages, with CSRF from :mod:`flask_passport.web.csrf`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wtforms import Form, HiddenField, PasswordField, StringField, SubmitField
from wtforms.csrf.core import CSRF
from wtforms.validators import DataRequired, Length, ValidationError

from ..oauth2.text import is_plain_text
from . import csrf


class SessionCSRF(CSRF):
    """WTForms CSRF backed by the session token of :mod:`flask_passport.web.csrf` (constant
    time)."""

    def generate_csrf_token(self, csrf_token_field: Any) -> str:
        return csrf.csrf_token()

    def validate_csrf_token(self, form: Any, field: Any) -> None:
        if not csrf.is_valid(field.data):
            raise ValidationError("The form has expired or did not come from this site. Reload it.")


class PassportForm(Form):
    """Base form: a ``csrf_token`` hidden field checked against the session, and no control
    characters in any text field (see :mod:`flask_passport.oauth2.text`), so a form's data
    is safe to query with."""

    class Meta:
        csrf = True
        csrf_class = SessionCSRF

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and not is_plain_text(
                    field.data, allow_tab=isinstance(field, PasswordField)):
                field.errors = [*field.errors, f"The {field.label.text.lower() or field.name} "
                                "may not contain control characters."]
                valid = False
        return bool(valid)


class ConsentForm(PassportForm):
    """The consent form: the single-use key of the pending request, and approve or deny.

    Everything the user approves (client, scopes, redirect URI, state, PKCE challenge) stays in
    the server-side pending request; the form only names it.
    """

    auth_token = HiddenField(validators=[DataRequired(), Length(max=128)])
    approve = SubmitField("Authorize")
    deny = SubmitField("Cancel")


class DeviceCodeForm(PassportForm):
    """The device verification page (RFC 8628 §3.3): the user code shown on the device."""

    user_code = StringField("Code", validators=[DataRequired(), Length(max=64)])
    submit = SubmitField("Continue")
