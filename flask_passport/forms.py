"""WTForms forms for Passport's pages, with CSRF from :mod:`flask_passport.csrf`."""

from __future__ import annotations

from typing import Any

from wtforms import Form, HiddenField, StringField, SubmitField
from wtforms.csrf.core import CSRF
from wtforms.validators import DataRequired, Length, ValidationError

from . import csrf


class SessionCSRF(CSRF):
    """WTForms CSRF backed by the session token of :mod:`flask_passport.csrf` (constant time)."""

    def generate_csrf_token(self, csrf_token_field: Any) -> str:
        return csrf.csrf_token()

    def validate_csrf_token(self, form: Any, field: Any) -> None:
        if not csrf.is_valid(field.data):
            raise ValidationError("The form has expired or did not come from this site. Reload it.")


class PassportForm(Form):
    """Base form: a ``csrf_token`` hidden field checked against the session."""

    class Meta:
        csrf = True
        csrf_class = SessionCSRF


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
