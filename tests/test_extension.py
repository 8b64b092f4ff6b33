"""The Passport extension: binding, per-app state, registries, routes."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import User, db, make_app, new_client
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from helpers import add_routes, bearer, client_token

from flask_passport import Passport, Scope
from flask_passport.extension import PassportState
from flask_passport.jose import keys as keys_mod


def _second_config(app_config: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    config = dict(app_config)
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'second.sqlite'}"
    config["PASSPORT_PRIVATE_KEY"] = keys_mod.private_pem(
        keys_mod.generate_private_key()).decode()
    return config


def test_state_lives_in_app_extensions(app: Flask, passport: Passport) -> None:
    state = app.extensions["passport"]
    assert isinstance(state, PassportState)
    assert state.passport is passport and state.app is app and state.db is db
    assert state.user_model is User


def test_constructor_with_app(app_config: dict[str, Any]) -> None:
    app = Flask(__name__)
    app.config.update(app_config)
    local_db = SQLAlchemy()
    local_db.init_app(app)
    passport = Passport(app, db=local_db)
    assert app.extensions["passport"].passport is passport
    assert "/oauth/token" in {r.rule for r in app.url_map.iter_rules()}
    assert "passport" in app.cli.commands


def test_init_app_twice_is_refused(app: Flask, passport: Passport) -> None:
    with pytest.raises(RuntimeError, match="already registered"):
        passport.init_app(app)


def test_init_app_without_db_is_refused() -> None:
    with pytest.raises(RuntimeError, match="Flask-SQLAlchemy"):
        Passport().init_app(Flask(__name__))


def test_state_outside_app(passport: Passport) -> None:
    """An app Passport is not bound to gets a message saying what to do."""
    with Flask(__name__).app_context(), pytest.raises(RuntimeError, match="init_app"):
        passport.revoke_user_tokens("1")


def test_models_before_binding() -> None:
    with pytest.raises(RuntimeError, match="init_app"):
        Passport().models  # noqa: B018


def test_two_apps_never_share_keys_or_settings(app: Flask, app_config: dict[str, Any],
                                               tmp_path: Any, machine_client: Any) -> None:
    """Two apps in one process: keys and config-driven settings stay per app."""
    config = _second_config(app_config, tmp_path)
    config["PASSPORT_ACCESS_TOKEN_LIFETIME"] = 60
    other = make_app(config, passport=Passport())
    add_routes(app)
    add_routes(other)
    state_a, state_b = app.extensions["passport"], other.extensions["passport"]
    assert state_a is not state_b
    assert state_a.keys().signing_key.kid != state_b.keys().signing_key.kid
    assert state_a.settings.access_token_lifetime != state_b.settings.access_token_lifetime
    token = client_token(app.test_client(), machine_client).json["access_token"]
    # The other app never accepts a token signed with this app's key.
    resp = other.test_client().get("/status", headers=bearer(token))
    assert resp.status_code == 401
    assert app.test_client().get("/status", headers=bearer(token)).status_code == 200


def test_one_passport_object_bound_to_two_apps(app_config: dict[str, Any], tmp_path: Any) -> None:
    shared = Passport()
    first = make_app(dict(app_config), passport=shared)
    second = make_app(_second_config(app_config, tmp_path), passport=shared)
    a, b = first.extensions["passport"], second.extensions["passport"]
    assert a.passport is b.passport is shared
    assert a.app is first and b.app is second
    assert a.keys().signing_key.kid != b.keys().signing_key.kid


def test_scope_registry(passport: Passport) -> None:
    # OpenID Connect's scopes (on by default) are defined at init_app, before the app's own.
    assert passport.scope_ids() == ["openid", "profile", "email", "check-status",
                                    "place-orders"]
    assert passport.scopes()[-2:] == [Scope("check-status", "Check order status"),
                                      Scope("place-orders", "Place orders")]
    assert passport.scopes_for(["place-orders", "nope"]) == [Scope("place-orders",
                                                                   "Place orders")]
    assert passport.has_scope("place-orders") and passport.has_scope("*")
    assert not passport.has_scope("nope")
    assert passport._scope_registry.default == ["check-status"]
    passport.set_default_scope("check-status place-orders")
    assert passport._scope_registry.default == ["check-status", "place-orders"]


@pytest.mark.parametrize("name", ["*", "has space", 'quo"te', ""])
def test_invalid_scope_names_are_refused(passport: Passport, name: str) -> None:
    with pytest.raises(ValueError, match="not a valid scope"):
        passport.tokens_can({name: "x"})


def test_routes_and_prefix(app_config: dict[str, Any]) -> None:
    config = dict(app_config, PASSPORT_URL_PREFIX="/auth")
    app = make_app(config)
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert "/auth/token" in rules and "/oauth/token" not in rules


def test_routes_can_be_turned_off(app_config: dict[str, Any]) -> None:
    app = make_app(dict(app_config, PASSPORT_REGISTER_ROUTES=False))
    assert "/oauth/token" not in {r.rule for r in app.url_map.iter_rules()}


_subclasses: dict[str, Any] = {}


def _my_client_model(base: Any) -> Any:
    """An app's own client model extending the default (declared once per test session)."""
    if "client" not in _subclasses:
        class MyClient(base):  # type: ignore[misc,valid-type]
            __tablename__ = None  # single-table: the same oauth_clients table

            def skips_authorization(self, user: Any, scopes: list[str]) -> bool:
                return True

        _subclasses["client"] = MyClient
    return _subclasses["client"]


def test_model_accessors_and_overrides(app: Flask, passport: Passport) -> None:
    models = passport.models
    assert models.Client.__tablename__ == "oauth_clients"
    assert models.AccessToken.__tablename__ == "oauth_access_tokens"
    assert models.RefreshToken.__tablename__ == "oauth_refresh_tokens"
    assert models.AuthCode.__tablename__ == "oauth_auth_codes"
    assert app.extensions["passport"].models == models  # the app's state sees the same classes

    MyClient = _my_client_model(models.Client)
    passport.use_client_model(MyClient)
    assert passport.models.Client is MyClient
    assert app.extensions["passport"].models.Client is MyClient
    created = new_client(app, "client_credentials")
    assert isinstance(created.client, MyClient)
    for method, kind in [("use_token_model", "AccessToken"),
                         ("use_refresh_token_model", "RefreshToken"),
                         ("use_auth_code_model", "AuthCode")]:
        base = getattr(models, kind)
        getattr(passport, method)(base)
        assert getattr(passport.models, kind) is base


def test_find_user_hook(app: Flask, passport: Passport, client: Any, password_client: Any,
                        user: Any) -> None:
    from helpers import password_token

    @passport.find_user
    def by_name(username: str) -> Any:
        return db.session.get(User, user.id) if username == "taylor" else None

    assert password_token(client, password_client, user, username="taylor").status_code == 200
    assert password_token(client, password_client, user).json["error"] == "invalid_grant"


def test_password_validator_hook(app: Flask, passport: Passport, client: Any,
                                 password_client: Any, user: Any) -> None:
    from helpers import password_token

    seen: list[Any] = []

    @passport.password_validator
    def check(u: Any, password: str) -> bool:
        seen.append(u)
        return password == "otp-123"

    assert password_token(client, password_client, user, password="otp-123").status_code == 200
    assert password_token(client, password_client, user, username="ghost@example.com",
                          password="otp-123").json["error"] == "invalid_grant"
    assert seen[-1] is None  # unknown users still reach the validator (timing)


def test_token_claims_hook_cannot_override_reserved(app: Flask, passport: Passport, client: Any,
                                                    machine_client: Any) -> None:
    import jwt

    @passport.token_claims
    def claims(**kwargs: Any) -> dict[str, Any]:
        return {"tenant": "acme", "sub": "admin", "scope": "*"}

    token = client_token(client, machine_client).json["access_token"]
    decoded = jwt.decode(token, options={"verify_signature": False})
    assert decoded["tenant"] == "acme"
    assert decoded["sub"] == machine_client.client.id and decoded["scope"] == "check-status"


def test_db_and_user_model_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Passport(None, db)  # type: ignore[misc]


def test_setters_win_over_config_and_reach_bound_apps(app_config: dict[str, Any],
                                                      tmp_path: Any) -> None:
    """Where settings live: a setter method is the extension-wide value and wins over
    ``app.config``; calling it after ``init_app`` reaches every bound app at once."""
    from datetime import timedelta

    shared = Passport()
    first = make_app({**app_config, "PASSPORT_ACCESS_TOKEN_LIFETIME": 60}, passport=shared)
    second = make_app(_second_config(app_config, tmp_path), passport=shared)
    a, b = first.extensions["passport"], second.extensions["passport"]
    assert a.settings.access_token_lifetime == timedelta(seconds=60)
    assert b.settings.access_token_lifetime == timedelta(hours=1)
    kid = a.keys().signing_key.kid
    shared.tokens_expire_in(timedelta(minutes=5))  # no reload, no counter: the apps follow
    assert a.settings.access_token_lifetime == b.settings.access_token_lifetime \
        == timedelta(minutes=5)
    assert a.keys().signing_key.kid == kid  # keys are parsed again from the same settings


def test_reload_settings_reads_changed_config(app: Flask, passport: Passport) -> None:
    """``app.config`` is read at ``init_app``; a later change counts after
    ``reload_settings``."""
    state = app.extensions["passport"]
    app.config["PASSPORT_LEEWAY"] = 7
    assert state.settings.leeway == 0
    with app.app_context():
        passport.reload_settings()
    assert state.settings.leeway == 7
    app.config["PASSPORT_LEEWAY"] = 9
    passport.reload_settings(app)
    assert state.settings.leeway == 9


def test_state_fields_are_declared(app: Flask) -> None:
    """What other modules keep per app are fields of the state, not attributes bolted on."""
    from flask_passport.extension import passport_state

    state = passport_state(app)
    assert isinstance(state, PassportState)
    for name in ("acting_token", "rate_limiter", "cookie_authenticator", "token_cache_slot",
                 "cache_publisher", "token_dialect"):
        assert name in vars(state), name
    before = set(vars(state))
    add_routes(app)
    app.config["PASSPORT_TOKEN_CACHE_TTL"] = 30
    state.reload_settings()
    client = new_client(app, "client_credentials")
    token = client_token(app.test_client(), client).json["access_token"]
    assert app.test_client().get("/status", headers=bearer(token)).status_code == 200
    assert state.token_cache_slot is not None and state.token_dialect is not None
    assert set(vars(state)) == before  # a protected request added no undeclared attribute
