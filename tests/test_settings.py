"""Settings: PASSPORT_* keys with documented defaults, overridden by the Passport methods."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import make_app

from flask_passport.settings import DEFAULTS, Settings


def _load(config: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None,
          environ: dict[str, str] | None = None) -> Settings:
    return Settings.load(config or {}, overrides or {}, instance_path="/srv/instance",
                         environ=environ or {})


def test_defaults() -> None:
    s = _load()
    assert s.access_token_lifetime == timedelta(hours=1)
    assert s.refresh_token_lifetime == timedelta(days=14)
    assert s.personal_access_token_lifetime == timedelta(days=90)
    assert s.client_credentials_token_lifetime == timedelta(hours=1)
    assert s.auth_code_lifetime == timedelta(minutes=10)
    assert s.key_path == "/srv/instance"
    assert s.password_grant is False and s.implicit_grant is False
    assert s.migrations is True and s.register_routes is True
    assert s.url_prefix == "/oauth"
    assert s.private_key is None and s.public_key is None
    assert s.issuer is None


def test_default_lifetimes_are_short() -> None:
    """Unlike Passport's one-year default: an access token lives an hour at most."""
    s = _load()
    assert s.access_token_lifetime <= timedelta(hours=1)
    assert s.client_credentials_token_lifetime <= timedelta(hours=1)
    assert s.refresh_token_lifetime <= timedelta(days=30)
    assert s.personal_access_token_lifetime <= timedelta(days=365)


def test_every_setting_has_a_default() -> None:
    s = _load()
    for key in DEFAULTS:
        assert hasattr(s, key.removeprefix("PASSPORT_").lower()), key


def test_config_values() -> None:
    s = _load({"PASSPORT_ACCESS_TOKEN_LIFETIME": 600, "PASSPORT_REFRESH_TOKEN_LIFETIME": "7200",
               "PASSPORT_ISSUER": "https://auth.example.com/", "PASSPORT_KEY_PATH": "/keys",
               "PASSPORT_PASSWORD_GRANT": True})
    assert s.access_token_lifetime == timedelta(seconds=600)
    assert s.refresh_token_lifetime == timedelta(hours=2)
    assert s.issuer == "https://auth.example.com"
    assert s.key_path == "/keys"
    assert s.password_grant is True


def test_overrides_win_over_config() -> None:
    s = _load({"PASSPORT_ACCESS_TOKEN_LIFETIME": 600},
              {"PASSPORT_ACCESS_TOKEN_LIFETIME": timedelta(minutes=2)})
    assert s.access_token_lifetime == timedelta(minutes=2)


def test_keys_from_environment() -> None:
    s = _load(environ={"PASSPORT_PRIVATE_KEY": "priv", "PASSPORT_PUBLIC_KEY": "pub"})
    assert (s.private_key, s.public_key) == ("priv", "pub")
    s = _load({"PASSPORT_PRIVATE_KEY": "config"}, environ={"PASSPORT_PRIVATE_KEY": "env"})
    assert s.private_key == "config"


@pytest.mark.parametrize("value", [0, -5, "soon", None, True, timedelta(0)])
def test_bad_lifetimes_are_refused_clearly(value: Any) -> None:
    with pytest.raises(ValueError, match="PASSPORT_ACCESS_TOKEN_LIFETIME"):
        _load({"PASSPORT_ACCESS_TOKEN_LIFETIME": value})


def test_methods_override_config(app_config: dict[str, Any]) -> None:
    app = make_app(app_config)
    passport = app.extensions["passport"].passport
    state = app.extensions["passport"]
    passport.tokens_expire_in(timedelta(minutes=30))
    passport.refresh_tokens_expire_in(timedelta(days=2))
    passport.personal_access_tokens_expire_in(timedelta(days=3))
    passport.client_credentials_tokens_expire_in(timedelta(minutes=5))
    passport.auth_codes_expire_in(timedelta(minutes=1))
    passport.enable_password_grant(False)
    passport.enable_implicit_grant()
    passport.load_keys_from("/elsewhere")
    s = state.settings
    assert s.access_token_lifetime == timedelta(minutes=30)
    assert s.refresh_token_lifetime == timedelta(days=2)
    assert s.personal_access_token_lifetime == timedelta(days=3)
    assert s.client_credentials_token_lifetime == timedelta(minutes=5)
    assert s.auth_code_lifetime == timedelta(minutes=1)
    assert s.password_grant is False
    assert s.implicit_grant is True
    assert s.key_path == "/elsewhere"


def test_client_credentials_lifetime_is_applied(app: Any, client: Any, machine_client: Any,
                                                passport: Any) -> None:
    from helpers import client_token

    passport.client_credentials_tokens_expire_in(timedelta(minutes=5))
    assert client_token(client, machine_client).json["expires_in"] == 300


def test_cookie_name(app_config: dict[str, Any]) -> None:
    app = make_app(app_config)
    passport = app.extensions["passport"].passport
    with app.app_context():
        assert passport.cookie() == "passport_token"
        passport.cookie("my_cookie")
        assert passport.cookie() == "my_cookie"
        assert app.extensions["passport"].settings.cookie_name == "my_cookie"
