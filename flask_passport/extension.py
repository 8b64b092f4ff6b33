"""The :class:`Passport` extension: binds the OAuth server to an app and holds its registries."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask, current_app
from werkzeug.security import check_password_hash, generate_password_hash

from .jose.key_rotation import add_retired_keys
from .jose.keys import KeySet, load_keys
from .oauth2.context import Context
from .oauth2.server import TokenEndpoint
from .outbound import FetchResult, OutboundCache, fetch_document, fetch_json
from .resource.login_adapter import user_loader
from .resources import Resource, merge_resources
from .scopes import OIDC_SCOPE_DESCRIPTIONS, Scope, ScopeRegistry
from .settings import DEVELOPMENT_ISSUER, Settings, resolve_issuer
from .storage.models import Models, build_models
from .storage.replay import ReplayStore
from .storage.replay import open_store as open_replay_store

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

    from .resource.cache_broadcast import Publisher
    from .resource.guard import BearerToken, CacheSlot
    from .web.ratelimit import RateLimiter

log = logging.getLogger("flask_passport")

_MODEL_KINDS = ("Client", "AccessToken", "RefreshToken", "AuthCode", "DeviceCode",
                "PendingAuthorization", "UsedJti", "PushedAuthorization")


class PassportState:
    """Per-app state, kept in ``app.extensions["passport"]``: settings, parsed keys, models,
    and what the other modules keep per app (each a field declared here)."""

    def __init__(self, passport: Passport, app: Flask, db: SQLAlchemy, user_model: Any) -> None:
        self.passport = passport
        self.app = app
        self.db = db
        self.user_model = user_model
        self._keys: KeySet | None = None
        self._keys_lock = threading.Lock()
        #: The settings, read at ``init_app`` and again by :meth:`reload_settings`.
        self.settings: Settings = self._load_settings()
        #: Set by the testing helpers; the guard reads it only while ``app.testing`` is true.
        self.acting_token: BearerToken | None = None
        #: This app's rate-limit counters (``init_app``); None when limiting is off.
        self.rate_limiter: RateLimiter | None = None
        #: The SPA cookie's authenticator, once ``create_fresh_api_token`` opted the app in.
        self.cookie_authenticator: Callable[[], BearerToken | None] | None = None
        #: The guard's verified-token cache, for the settings and process it was made for.
        self.token_cache_slot: CacheSlot | None = None
        #: The revocation broadcast's publisher and the (url, channel) it publishes to.
        self.cache_publisher: tuple[tuple[str, str], Publisher] | None = None
        #: The database dialect of the token table, looked up by the guard's first query.
        self.token_dialect: str | None = None
        #: Single-use values seen (storage/replay.py), opened on first use for these settings.
        self._replay_store: tuple[str | None, ReplayStore] | None = None
        #: Documents fetched from URLs (client metadata documents, jwks_uri): this app's only.
        self.outbound_cache = OutboundCache()
        self._warned_issuer = False

    def _load_settings(self) -> Settings:
        return Settings.load(self.app.config, self.passport._overrides,
                             instance_path=self.app.instance_path)

    def reload_settings(self) -> None:
        """Read the settings again (``app.config`` and the extension's setters)."""
        self.settings = self._load_settings()
        self._keys = None  # key settings may have changed
        self.outbound_cache = OutboundCache()  # fetched under the old PASSPORT_OUTBOUND_*

    @property
    def models(self) -> Models:
        return self.passport.models

    def keys(self) -> KeySet:
        """The parsed keys, loaded once (parsing a private key costs tens of milliseconds)."""
        settings = self.settings
        keys = self._keys
        if keys is None:
            with self._keys_lock:
                if self._keys is None:
                    loaded = load_keys(
                        private_pem_text=settings.private_key,
                        public_pem_text=settings.public_key,
                        key_path=settings.key_path,
                        id_token_pem_text=settings.id_token_private_key,
                    )
                    add_retired_keys(loaded, settings)  # rotation: old keys keep verifying
                    self._keys = loaded
                keys = self._keys
        return keys

    def replay_store(self) -> ReplayStore:
        """This app's :class:`~flask_passport.storage.replay.ReplayStore`
        (``PASSPORT_REPLAY_STORE_URL``), opened once per setting."""
        url = self.settings.replay_store_url
        current = self._replay_store
        if current is None or current[0] != url:
            model = self.models.UsedJti
            bind_key = model.__table__.info.get("bind_key")  # Flask-SQLAlchemy's binds
            store = open_replay_store(url, engine=lambda: self.db.engines[bind_key],
                                      model=model)
            current = self._replay_store = (url, store)
        return current[1]

    def fetch_json(self, url: str, *, max_bytes: int, timeout: float,
                   cached: bool = True) -> dict[str, Any]:
        """The JSON object at ``url``, fetched under :mod:`flask_passport.outbound`'s rules
        (``PASSPORT_OUTBOUND_ALLOW_PRIVATE``) through this app's cache; raises
        :class:`~flask_passport.outbound.FetchError`."""
        return fetch_json(url, max_bytes=max_bytes, timeout=timeout,
                          allow_private=self.settings.outbound_allow_private,
                          cache=self.outbound_cache if cached else None)

    def fetch_document(self, url: str, max_bytes: int, timeout: float) -> FetchResult:
        """One uncached fetch under the outbound rules, with its ``Cache-Control`` lifetime
        (client ID metadata documents keep their own cache: the client row)."""
        return fetch_document(url, max_bytes=max_bytes, timeout=timeout,
                              allow_private=self.settings.outbound_allow_private)

    def reset_keys(self) -> None:
        self._keys = None

    def issuer(self) -> str:
        """The app's fixed issuer (:func:`~flask_passport.settings.resolve_issuer`), the same in
        a request, a CLI command or a background job; never the request's Host."""
        issuer = resolve_issuer(self.settings, self.app.config)
        if issuer == DEVELOPMENT_ISSUER and self.app.debug and not self._warned_issuer:
            self._warned_issuer = True
            log.warning("flask-passport: PASSPORT_ISSUER is not set; debug mode uses %s. Set "
                        "it to the URL clients reach this server at.", DEVELOPMENT_ISSUER)
        return issuer

    def context(self) -> Context:
        """The protocol's view of this app, for one unit of work."""
        passport = self.passport
        return Context(
            session=self.db.session(),  # this unit of work's Session (db.session is its proxy)
            models=self.models,
            settings=self.settings,
            scopes=passport._scope_registry,
            keys=self.keys,
            issuer=self.issuer(),
            find_user=self.find_user,
            check_password=passport._check_password,
            user_id_of=user_id_of,
            extra_claims=passport._claims_callback,
            sender=self.app,
            load_user=self.load_user,
            throttle=self.rate_limiter,
            user_model=self.user_model,
            replay=self.replay_store(),
            resources=self.resources(),
            secret_box_key=self.settings.client_secret_key or self.app.config.get("SECRET_KEY"),
            fetch_json=self.fetch_json,
            forget_fetched=self.outbound_cache.discard,
            fetch_document=self.fetch_document,
        )

    def resources(self) -> dict[str, Resource]:
        """This app's registered resources by URI: ``PASSPORT_RESOURCES``, then those given
        to :meth:`Passport.add_resource`, then the protected resources (RFC 9728) not
        registered explicitly."""
        return merge_resources(self.settings.resources, self.passport._resources.values(),
                               self.settings.protected_resource)

    def find_user(self, username: str) -> Any:
        """The user for a password-grant ``username``: a hook, ``find_for_passport``, or email."""
        passport = self.passport
        if passport._find_user_callback is not None:
            return passport._find_user_callback(username)
        model = self.user_model
        if model is None:
            raise RuntimeError(
                "The password grant needs the user model: pass user_model= to Passport()."
            )
        finder = getattr(model, "find_for_passport", None)
        if finder is not None:
            return finder(username)
        from .oauth2.rows import first_by

        return first_by(self.db.session(), model, "email", username)

    def load_user(self, user_id: str) -> Any:
        """Load a user by Flask-Login id through the app's ``user_loader``."""
        loader = user_loader(self.app)
        if loader is not None:
            return loader(user_id)
        if self.user_model is not None:
            key = _primary_key_value(self.user_model, user_id)
            return None if key is None else self.db.session.get(self.user_model, key)
        raise RuntimeError("Register a Flask-Login user_loader, or pass user_model= to Passport().")


def passport_state(app: Flask | None = None) -> PassportState:
    """The :class:`PassportState` of ``app`` (default: the current app)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        return app.extensions["passport"]  # type: ignore[no-any-return]
    except KeyError:
        raise RuntimeError("Passport is not registered on this app; call init_app.") from None


def _primary_key_value(model: Any, user_id: str) -> Any:
    """``user_id`` (a ``get_id()`` string) as the model's key: an int for an integer key, so
    ``Session.get`` finds a user the token query already put in the identity map; ``None`` if
    it cannot be one."""
    try:
        column = sa.inspect(model).primary_key[0]
        python_type = column.type.python_type
    except Exception:  # not mapped, composite or exotic keys: let Session.get decide
        return user_id
    if python_type is int:
        digits = user_id[1:] if user_id.startswith("-") else user_id
        # int() would also take " 5", "1_0" and non-ASCII digits: none is a get_id() string.
        return int(user_id) if digits.isascii() and digits.isdigit() else None
    return user_id


def user_id_of(user: Any) -> str:
    """The id stored on tokens: Flask-Login's ``get_id()`` string."""
    get_id = getattr(user, "get_id", None)
    value = get_id() if get_id is not None else getattr(user, "id", None)
    if value is None:
        raise ValueError("The user has no id; save it before issuing tokens for it.")
    return str(value)


_dummy_hash: str | None = None


def _default_check_password(user: Any, password: str) -> bool:
    """Verify a password-grant password against the user model.

    Order: ``validate_for_passport_password_grant``, then ``check_password``, then a Werkzeug hash
    in ``password_hash`` or ``password``. An unknown user still costs one hash check.
    """
    global _dummy_hash
    if user is None:
        if _dummy_hash is None:
            _dummy_hash = generate_password_hash("flask-passport-timing-guard")
        check_password_hash(_dummy_hash, password)
        return False
    validate = getattr(user, "validate_for_passport_password_grant", None)
    if validate is not None:
        return bool(validate(password))
    check = getattr(user, "check_password", None)
    if check is not None:
        return bool(check(password))
    hashed = getattr(user, "password_hash", None) or getattr(user, "password", None)
    return isinstance(hashed, str) and bool(hashed) and check_password_hash(hashed, password)


class Passport:
    """The OAuth2 authorization server extension.

    Create it once, bind it with :meth:`init_app`, and define scopes with :meth:`tokens_can`::

        passport = Passport(db=db)
        passport.init_app(app, user_model=User)
        passport.tokens_can({"place-orders": "Place orders"})
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        db: SQLAlchemy | None = None,
        user_model: Any = None,
    ) -> None:
        self._db = db
        self._user_model = user_model
        self._scope_registry = ScopeRegistry()
        #: Resources from :meth:`add_resource` (RFC 8707), on top of each app's configuration.
        self._resources: dict[str, Resource] = {}
        self._token_endpoint = TokenEndpoint()
        #: Values of the setter methods; they win over ``app.config`` (docs/configuration).
        self._overrides: dict[str, Any] = {}
        self._app_refs: list[weakref.ref[Flask]] = []
        self._models: Models | None = None
        self._model_overrides: dict[str, Any] = {}
        self._find_user_callback: Callable[[str], Any] | None = None
        self._claims_callback: Callable[..., Mapping[str, Any]] | None = None
        self._oidc_claims_callback: Callable[[Any, list[str]], Mapping[str, Any]] | None = None
        self._check_password: Callable[[Any, str], bool] = _default_check_password
        self._registration_policy: Callable[..., Mapping[str, Any] | None] | None = None
        if db is not None:
            self._models = build_models(db)
        if app is not None:
            self.init_app(app, db=db, user_model=user_model)

    # -- binding ---------------------------------------------------------------------------

    def init_app(self, app: Flask, *, db: SQLAlchemy | None = None, user_model: Any = None) -> None:
        """Bind to ``app``: state, routes, CLI and migrations. Refuses a second registration."""
        if "passport" in app.extensions:
            raise RuntimeError(
                "Passport is already registered on this app; call init_app once per app."
            )
        db = db or self._db or app.extensions.get("sqlalchemy")
        if db is None:
            raise RuntimeError(
                "Passport needs Flask-SQLAlchemy: call db.init_app(app) first or pass db=."
            )
        if self._db is None:
            self._db = db
        if self._models is None:
            self._models = build_models(db)
        if user_model is not None:
            self._user_model = user_model
        state = PassportState(self, app, db, self._user_model)
        app.extensions["passport"] = state
        self._remember_app(app)
        settings = state.settings

        from .cli import passport_cli

        app.cli.add_command(passport_cli)
        if settings.register_routes:
            from .views import blueprint

            app.register_blueprint(blueprint, url_prefix=settings.url_prefix)
            from .views.well_known import blueprint as well_known  # RFC 8414 + JWKS, at the root

            app.register_blueprint(well_known)
        if settings.migrations:
            from .migrations import register_with_flask_migrate

            register_with_flask_migrate(app)
        from .web.ratelimit import init_rate_limiting

        init_rate_limiting(app, state)
        from .resource.guard import end_of_request

        app.teardown_request(end_of_request)
        if state.user_model is not None:
            from .storage.user_deletion import watch

            watch(state.user_model)
        if settings.token_cache_broadcast_url:
            from .resource.cache_broadcast import check_url

            check_url(settings.token_cache_broadcast_url)
        self._init_oidc(app, settings)

    def _state(self, app: Flask | None = None) -> PassportState:
        """This app's (or the current app's) :class:`PassportState`."""
        return passport_state(app)

    def reload_settings(self, app: Flask | None = None) -> None:
        """Read ``app``'s settings again (default: the current app), after changing its
        ``PASSPORT_*`` config once it is bound; the setter methods below reload by themselves."""
        self._state(app).reload_settings()

    # -- settings as methods (snake_case of Laravel Passport's static methods) ----------------

    def _set(self, key: str, value: Any) -> None:
        """A setter's value wins over ``app.config`` in every bound app, from now on.

        A value some bound app refuses (``PASSPORT_PROFILE`` forbids it, or it does not parse)
        raises and is taken back, so every app keeps the settings it had."""
        missing = object()
        previous = self._overrides.get(key, missing)
        self._overrides[key] = value
        states = [state for app in self._bound_apps()
                  if (state := app.extensions.get("passport")) is not None
                  and state.passport is self]
        try:
            for state in states:
                state.reload_settings()
        except ValueError:
            if previous is missing:
                del self._overrides[key]
            else:
                self._overrides[key] = previous
            for state in states:
                state.reload_settings()
            raise

    def tokens_expire_in(self, lifetime: timedelta) -> None:
        """Lifetime of access tokens from the code, password and refresh grants."""
        self._set("PASSPORT_ACCESS_TOKEN_LIFETIME", lifetime)

    def refresh_tokens_expire_in(self, lifetime: timedelta) -> None:
        self._set("PASSPORT_REFRESH_TOKEN_LIFETIME", lifetime)

    def personal_access_tokens_expire_in(self, lifetime: timedelta) -> None:
        self._set("PASSPORT_PERSONAL_ACCESS_TOKEN_LIFETIME", lifetime)

    def client_credentials_tokens_expire_in(self, lifetime: timedelta) -> None:
        self._set("PASSPORT_CLIENT_CREDENTIALS_TOKEN_LIFETIME", lifetime)

    def auth_codes_expire_in(self, lifetime: timedelta) -> None:
        self._set("PASSPORT_AUTH_CODE_LIFETIME", lifetime)

    def enable_password_grant(self, enabled: bool = True) -> None:
        """Turn on the password grant (off by default: RFC 9700 §2.4 forbids it for new apps)."""
        self._set("PASSPORT_PASSWORD_GRANT", enabled)

    def enable_implicit_grant(self, enabled: bool = True) -> None:
        """Turn on the implicit grant (off by default; prefer the code grant with PKCE)."""
        self._set("PASSPORT_IMPLICIT_GRANT", enabled)

    def load_keys_from(self, path: str) -> None:
        """Read ``oauth-private.key`` and ``oauth-public.key`` from ``path``."""
        self._set("PASSPORT_KEY_PATH", path)

    def personal_access_client_id(self, client_id: str) -> None:
        self._set("PASSPORT_PERSONAL_ACCESS_CLIENT_ID", client_id)

    def cookie(self, name: str | None = None) -> str:
        """Set (with ``name``) or return the SPA cookie's name."""
        if name is not None:
            self._set("PASSPORT_COOKIE_NAME", name)
            return name
        name = self._overrides.get("PASSPORT_COOKIE_NAME")
        return str(name or self._state().settings.cookie_name)

    def protected_resource(self, resource: str, *, name: str | None = None,
                           scopes: Iterable[str] | None = None,
                           authorization_servers: Iterable[str] | None = None,
                           documentation: str | None = None) -> None:
        """Publish RFC 9728 metadata for ``resource`` (an https URL) at
        ``/.well-known/oauth-protected-resource[/<path>]``; tokens for the app's routes must
        then name it in ``aud`` (see :doc:`protected-resource-metadata`).

        Adds to ``PASSPORT_PROTECTED_RESOURCE``: the first resource configured is the app's own
        identifier; give the others to the routes that serve them (``resource=``).
        ``authorization_servers`` defaults to this server's issuer, ``scopes`` to the scopes it
        defines. A bad URL raises :class:`ValueError` here.
        """
        from .oauth2.resource_metadata import check_resource, url_problem
        from .settings import ProtectedResource, _strings

        check_resource(resource)

        def listed(values: Iterable[str] | None, key: str) -> tuple[str, ...] | None:
            # A single string is one value, not a list of characters.
            items = values if values is None or isinstance(values, str) else list(values)
            return _strings(items, key)

        servers = listed(authorization_servers, "authorization_servers")
        for server in servers or ():
            problem = url_problem(server, "An authorization server")
            if problem:
                raise ValueError(problem)
        entry = ProtectedResource(resource, name, listed(scopes, "scopes"), servers,
                                  documentation)
        current = self._overrides.get("PASSPORT_PROTECTED_RESOURCE") or ()
        kept = [p for p in current if p.resource != resource]
        self._set("PASSPORT_PROTECTED_RESOURCE", (*kept, entry))

    # -- scopes --------------------------------------------------------------------------------

    def tokens_can(self, scopes: Mapping[str, str]) -> None:
        """Define scopes: ``{"place-orders": "Place orders"}``."""
        self._scope_registry.define(dict(scopes))

    def set_default_scope(self, scopes: Iterable[str] | str) -> None:
        """The scopes a token gets when the request names none."""
        self._scope_registry.set_default(scopes)

    def scope_ids(self) -> list[str]:
        """The ids of the defined scopes."""
        return self._scope_registry.ids()

    def scopes(self) -> list[Scope]:
        """The defined scopes."""
        return self._scope_registry.all()

    def scopes_for(self, ids: Iterable[str]) -> list[Scope]:
        """The defined scopes among ``ids``, in the order given (unknown ids are left out)."""
        return self._scope_registry.find(ids)

    def has_scope(self, scope_id: str) -> bool:
        """Whether ``scope_id`` is defined; ``*`` (every scope) always is."""
        return scope_id == "*" or self._scope_registry.has(scope_id)

    # -- resources (RFC 8707) -------------------------------------------------------------------

    def add_resource(self, uri: str, *, name: str, scopes: Iterable[str] | None = None
                     ) -> Resource:
        """Register a protected resource clients may name with ``resource`` (RFC 8707): its
        tokens carry ``aud`` = ``uri``. ``name`` is shown on the consent screen; ``scopes``
        limits the scopes meaningful there (``None``: any). Raises ``ValueError`` for a URI
        that is not absolute or has a fragment."""
        if isinstance(scopes, str):
            raise ValueError("scopes must be a list of scope ids, not a string.")
        resource = Resource(uri=uri, name=name, scopes=None if scopes is None else tuple(scopes))
        self._resources[resource.uri] = resource
        return resource

    def resources(self, app: Flask | None = None) -> list[Resource]:
        """The registered resources of ``app`` (default: the current app): those of
        ``PASSPORT_RESOURCES``, of :meth:`add_resource` and the protected resources."""
        return list(self._state(app).resources().values())

    # -- models ----------------------------------------------------------------------------------

    @property
    def models(self) -> Models:
        """The model classes in use: ``Client``, ``AccessToken``, ``RefreshToken``,
        ``AuthCode`` and ``DeviceCode`` (the defaults, or those given to ``use_*_model``)."""
        if self._models is None:
            raise RuntimeError("Passport has no database yet: pass db= or call init_app first.")
        base = self._models
        if not self._model_overrides:
            return base
        return Models(**{k: self._model_overrides.get(k, getattr(base, k)) for k in _MODEL_KINDS})

    def use_client_model(self, model: Any) -> None:
        self._model_overrides["Client"] = model

    def use_token_model(self, model: Any) -> None:
        self._model_overrides["AccessToken"] = model

    def use_refresh_token_model(self, model: Any) -> None:
        self._model_overrides["RefreshToken"] = model

    def use_auth_code_model(self, model: Any) -> None:
        self._model_overrides["AuthCode"] = model

    def revoke_user_tokens(self, *users: Any) -> int:
        """Revoke every access token, refresh token, authorization code and device code of
        ``users`` (user instances or their ``get_id()`` values), and the clients they own with
        every token of those clients, in the current transaction, without committing; the
        revocation signals follow the commit. Returns the number of access tokens revoked.

        Deleting a user through the ORM does this by itself (when Passport knows the user
        model); call it with bulk deletes (``db.session.execute(sa.delete(User)...)``), which
        bypass ORM events.
        """
        from .storage.user_deletion import revoke

        state = self._state()
        ids = [u if isinstance(u, str) else user_id_of(u) if hasattr(u, "get_id") else str(u)
               for u in users]
        return revoke(state.db.session(), state.models, state.app, ids)

    # -- hooks -----------------------------------------------------------------------------------

    def find_user(self, callback: Callable[[str], Any]) -> Callable[[str], Any]:
        """Decorator: how the password grant finds a user by ``username``."""
        self._find_user_callback = callback
        return callback

    def password_validator(
        self, callback: Callable[[Any, str], bool]
    ) -> Callable[[Any, str], bool]:
        """Decorator: how the password grant checks ``(user, password)``; ``user`` may be None."""
        self._check_password = callback
        return callback

    def token_claims(
        self, callback: Callable[..., Mapping[str, Any]]
    ) -> Callable[..., Mapping[str, Any]]:
        """Decorator: extra JWT claims, called with ``token``, ``client``, ``user``,
        ``grant_type``."""
        self._claims_callback = callback
        return callback

    def registration_policy(
        self, callback: Callable[..., Mapping[str, Any] | None]
    ) -> Callable[..., Mapping[str, Any] | None]:
        """Decorator: the app's say on each dynamic registration or update (RFC 7591), called
        with the validated metadata and ``client`` (``None`` for a new registration); raise
        ``flask_passport.oauth2.registration.RegistrationRefused`` to refuse, return
        adjusted metadata (validated again) or ``None`` to accept."""
        self._registration_policy = callback
        return callback

    # -- SPA cookie auth and testing helpers ----------------------------------------------------

    def _remember_app(self, app: Flask) -> None:
        """Keep a weak reference to each bound app (setters reload their settings;
        ``acting_as`` outside an app context finds the app)."""
        refs = self._app_refs
        refs[:] = [r for r in refs if r() is not None]
        refs.append(weakref.ref(app))

    def _bound_apps(self) -> list[Flask]:
        return [a for a in (r() for r in self._app_refs) if a is not None]

    def create_fresh_api_token(self, target: Any) -> None:
        """Opt ``target`` (an app or a blueprint) into SPA cookie auth: its GET responses to a
        logged-in user carry the API cookie, which protected routes then accept with a matching
        CSRF header (Passport's ``CreateFreshApiToken``; see
        :mod:`flask_passport.web.cookie_auth`)."""
        from .web import cookie_auth

        cookie_auth.enable(target)

    def acting_as(self, user: Any, scopes: Iterable[str] = (), *, app: Flask | None = None
                  ) -> Any:
        """Tests: protected requests come from ``user`` with ``scopes`` (no keys or tokens).

        Active at once until ``.stop()``; or use it as a context manager.
        """
        from .testing import resolve_app, start_acting_as

        return start_acting_as(resolve_app(app, self._bound_apps()), user, scopes)

    def acting_as_client(self, client: Any = None, scopes: Iterable[str] = (), *,
                         app: Flask | None = None) -> Any:
        """Tests: protected requests carry a client-credentials token of ``client``."""
        from .testing import resolve_app, start_acting_as_client

        return start_acting_as_client(resolve_app(app, self._bound_apps()), client, scopes)

    # -- device authorization grant (RFC 8628) ---------------------------------------------------

    def use_device_code_model(self, model: Any) -> None:
        """Replace the ``oauth_device_codes`` model (a class made from ``DeviceCodeMixin``)."""
        self._model_overrides["DeviceCode"] = model

    def device_codes_expire_in(self, lifetime: timedelta) -> None:
        """How long a device code and its user code stay usable (RFC 8628 §3.2 ``expires_in``)."""
        self._set("PASSPORT_DEVICE_CODE_LIFETIME", lifetime)
    # -- OpenID Connect (oauth2/oidc.py, views/oidc.py) -----------------------------------------

    def _init_oidc(self, app: Flask, settings: Settings) -> None:
        """Record login times (``prompt=login`` and ``max_age`` need them with or without OIDC)
        and define the OIDC scopes (an app's own description wins)."""
        from .web.login_time import connect

        connect(app)
        if not settings.oidc_enabled:
            return
        registry = self._scope_registry
        registry.define({name: OIDC_SCOPE_DESCRIPTIONS[name] for name in settings.oidc_scopes
                         if not registry.has(name)})

    def oidc_claims(
        self, callback: Callable[[Any, list[str]], Mapping[str, Any]]
    ) -> Callable[[Any, list[str]], Mapping[str, Any]]:
        """Decorator: the OpenID Connect claims of ``(user, scopes)`` for the UserInfo endpoint.

        Takes precedence over a ``get_oidc_claims(scopes)`` method on the user model; without
        either, claims are read from same-named user attributes (``name``, ``email``, ...).
        Standard claims of scopes the token was not granted are dropped; ``sub`` is always the
        user's id.
        """
        self._oidc_claims_callback = callback
        return callback

    def user_claims(self, user: Any, scopes: Iterable[str]) -> dict[str, Any]:
        """The OpenID Connect claims of ``user`` for ``scopes`` (what /oauth/userinfo returns)."""
        from .oauth2.oidc import default_claims, userinfo_claims

        granted = list(scopes)
        if self._oidc_claims_callback is not None:
            raw = self._oidc_claims_callback(user, granted)
        elif callable(getattr(user, "get_oidc_claims", None)):
            raw = user.get_oidc_claims(granted)
        else:
            raw = default_claims(user, granted)
        return userinfo_claims(user_id_of(user), granted, raw or {})
