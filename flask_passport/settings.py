"""Passport's settings: one object read from ``PASSPORT_*`` config keys with documented defaults.

Methods on :class:`~flask_passport.Passport` (``tokens_expire_in`` and friends) override the
matching key for every app the extension is bound to.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from . import profiles
from .resources import Resource, resources_from_config
from .scopes import OIDC_SCOPE_DESCRIPTIONS

#: The defaults, documented in docs/configuration. Lifetimes are short on purpose: a stolen
#: access token is useful for an hour at most, and refresh tokens rotate on every use.
DEFAULTS: dict[str, Any] = {
    "PASSPORT_KEY_PATH": None,  # None: the app's instance folder
    "PASSPORT_PRIVATE_KEY": None,  # PEM text; also read from the environment
    "PASSPORT_PUBLIC_KEY": None,
    # PEM text of the RSA key that signs ID tokens when the key above is EC or EdDSA (else the
    # file oauth-id-token-private.key in the key path); also read from the environment.
    "PASSPORT_ID_TOKEN_PRIVATE_KEY": None,
    "PASSPORT_ACCESS_TOKEN_LIFETIME": timedelta(hours=1),
    "PASSPORT_REFRESH_TOKEN_LIFETIME": timedelta(days=14),
    "PASSPORT_PERSONAL_ACCESS_TOKEN_LIFETIME": timedelta(days=90),
    "PASSPORT_CLIENT_CREDENTIALS_TOKEN_LIFETIME": timedelta(hours=1),
    "PASSPORT_AUTH_CODE_LIFETIME": timedelta(minutes=10),
    # None: SERVER_NAME with PREFERRED_URL_SCHEME, else (debug/testing only) DEVELOPMENT_ISSUER;
    # never the request's Host (see resolve_issuer).
    "PASSPORT_ISSUER": None,
    "PASSPORT_AUDIENCE": None,  # None: tokens carry the issuer as audience, not checked
    "PASSPORT_PASSWORD_GRANT": False,
    "PASSPORT_IMPLICIT_GRANT": False,
    "PASSPORT_PKCE_PLAIN": False,
    # "public": public clients must use PKCE (RFC 9700 §2.1.1); "all": confidential ones too
    # (draft-ietf-oauth-v2-1 §4.1.1).
    "PASSPORT_PKCE_REQUIRED": "public",
    # None, "oauth2.1" or "fapi2": pins the settings profiles.py lists (docs/profiles).
    "PASSPORT_PROFILE": None,
    "PASSPORT_PERSONAL_ACCESS_CLIENT_ID": None,
    "PASSPORT_URL_PREFIX": "/oauth",
    "PASSPORT_REGISTER_ROUTES": True,
    "PASSPORT_MIGRATIONS": True,
    "PASSPORT_COOKIE_NAME": "passport_token",
    "PASSPORT_LEEWAY": 0,
    # -- refresh-token rotation and key rotation --
    # Seconds during which the refresh token just rotated may be presented once more (a lost
    # response); 0 = any reuse revokes the family. Never honours tokens revoked otherwise.
    "PASSPORT_REFRESH_TOKEN_REUSE_GRACE": 0,
    # Extra public keys (PEM texts) that still verify tokens, for keys kept in the environment.
    "PASSPORT_RETIRED_PUBLIC_KEYS": (),
    "PASSPORT_RATELIMIT_ENABLED": True,
    "PASSPORT_RATELIMIT_STORAGE_URI": "memory://",  # redis://host:6379/0 for several processes
    "PASSPORT_RATELIMIT_STRATEGY": "fixed-window",
    "PASSPORT_RATELIMIT_KEY_PREFIX": "passport",
    "PASSPORT_RATELIMIT_PER_CLIENT": "60/minute",
    "PASSPORT_RATELIMIT_PER_IP": "120/minute",
    "PASSPORT_RATELIMIT_PASSWORD_FAILURES": "5/15minutes",  # per username, failures only
    # The SPA API cookie (cookie_auth.py): short-lived, refreshed on every GET page view.
    "PASSPORT_COOKIE_LIFETIME": timedelta(hours=1),
    # Verified-token cache of the guard (seconds; 0 = off). A revoked token can still be
    # accepted by another process for up to this long: see docs and bench/README.md.
    "PASSPORT_TOKEN_CACHE_TTL": 0,
    "PASSPORT_TOKEN_CACHE_SIZE": 10_000,
    # With the cache on, also keep the token's user (SQLAlchemy models only) so a cache hit
    # reads nothing from the database; profile changes made elsewhere show within the TTL.
    "PASSPORT_TOKEN_CACHE_USERS": True,
    # redis://host:6379/0: revocations reach every process's cache at once (cache_broadcast.py).
    "PASSPORT_TOKEN_CACHE_BROADCAST_URL": None,
    "PASSPORT_TOKEN_CACHE_BROADCAST_CHANNEL": "flask-passport:revoked-access-tokens",
    # -- device authorization grant (RFC 8628) --
    "PASSPORT_DEVICE_CODE_LIFETIME": timedelta(minutes=10),
    "PASSPORT_DEVICE_CODE_INTERVAL": 5,  # seconds between polls; 0 = no slow_down
    # Wrong user codes one signed-in user may enter (RFC 8628 §5.1 brute-force guard).
    "PASSPORT_RATELIMIT_USER_CODE_FAILURES": "10/15minutes",
    # -- OpenID Connect (oauth2/oidc.py) --
    # On: the ``openid`` scope yields an id_token, /oauth/userinfo, /oauth/logout and
    # /.well-known/openid-configuration exist, and PASSPORT_OIDC_SCOPES are defined at init_app.
    "PASSPORT_OIDC_ENABLED": True,
    # The OIDC scopes defined automatically; add "address" and "phone" when your user model
    # provides those claims (its get_oidc_claims hook, docs/openid-connect).
    "PASSPORT_OIDC_SCOPES": ("openid", "profile", "email"),
    "PASSPORT_ID_TOKEN_LIFETIME": timedelta(hours=1),
    # -- dynamic client registration (RFC 7591, oauth2/registration.py) --
    # None: off (no endpoint); "open": anyone may register a public client with loopback or
    # https redirect URIs; "token": a Bearer initial access token from the list below is needed.
    "PASSPORT_REGISTRATION": None,
    # SHA-256 hex digests of the initial access tokens ("token" mode); never the tokens.
    "PASSPORT_REGISTRATION_INITIAL_TOKENS": (),
    # -- single-use values (storage/replay.py): DPoP proof and client assertion jti --
    # None: the database (oauth_used_jtis; every process sharing it agrees); redis://host/0:
    # Redis SET NX (the redis extra); memory://: this process only (one-process deployments).
    "PASSPORT_REPLAY_STORE_URL": None,
    # -- resource indicators (RFC 8707, resources.py) --
    # The resources a client may name with ``resource`` (each token's ``aud``): a list of
    # {"uri": absolute URI without fragment, "name": shown on consent, "scopes": [...] or None}.
    "PASSPORT_RESOURCES": (),
    # -- protected resource metadata (RFC 9728, oauth2/resource_metadata.py) --
    # A resource URI or {"resource": ..., "name": ..., "scopes": [...], "authorization_servers":
    # [...], "documentation": ...}, or a list of them; the first is the app's own identifier:
    # tokens must then carry it in ``aud``. None: no metadata, audience rule as before.
    "PASSPORT_PROTECTED_RESOURCE": None,
    # -- DPoP, RFC 9449 (jose/dpop.py, oauth2/dpop.py, resource/dpop.py) --
    "PASSPORT_DPOP": True,  # accept DPoP proofs and issue DPoP-bound tokens
    # proof algorithms accepted (Ed25519: RFC 9864's name of EdDSA over Ed25519)
    "PASSPORT_DPOP_ALGS": ("ES256", "RS256", "PS256", "EdDSA", "Ed25519"),
    "PASSPORT_DPOP_PROOF_LIFETIME": 60,  # seconds a proof's iat stays acceptable (+ leeway)
    "PASSPORT_DPOP_NONCE": False,  # require server nonces (stateless, keyed from SECRET_KEY)
    "PASSPORT_DPOP_REQUIRED": False,  # every token request must carry a proof
    # -- pushed authorization requests (RFC 9126, oauth2/par.py) --
    # Seconds a request_uri from /oauth/par stays usable (5 to 600; RFC 9126 §2.2's example
    # is 60): long enough to open the browser, short enough that a leaked one is soon useless.
    "PASSPORT_PAR_LIFETIME": 60,
    # True: /oauth/authorize takes only pushed requests (request_uri from /oauth/par), for
    # every client; a client's require_pushed_authorization_requests does it for that client.
    "PASSPORT_REQUIRE_PAR": False,
    # -- outbound fetches (outbound.py): client metadata documents, jwks_uri --
    # Development only: also fetch from private, loopback and link-local addresses (and over
    # http to loopback). Off in production, where it would let a client URL reach internal hosts.
    "PASSPORT_OUTBOUND_ALLOW_PRIVATE": False,
    # -- OAuth Client ID Metadata Documents (oauth2/client_metadata_document.py) --
    # On: an https URL used as client_id names a public client described by the JSON there.
    "PASSPORT_CLIENT_ID_METADATA_DOCUMENTS": False,
    # -- client authentication (oauth2/client_auth.py) --
    # The methods clients may use at the token, revocation and introspection endpoints (and
    # that the metadata advertises); each client is further held to its own registered one.
    "PASSPORT_CLIENT_AUTH_METHODS": ("client_secret_basic", "client_secret_post", "none",
                                     "private_key_jwt", "client_secret_jwt"),
    # Encrypts the secrets of client_secret_jwt clients (jose/secret_box.py); None: SECRET_KEY.
    "PASSPORT_CLIENT_SECRET_KEY": None,
}

#: Every client authentication method (RFC 7591 §2, OpenID Connect Core §9).
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none", "private_key_jwt",
                       "client_secret_jwt")

#: The proof algorithms PASSPORT_DPOP_ALGS may name (never ``none`` or a MAC: RFC 9449 §4.2).
DPOP_ALGORITHMS = ("ES256", "ES384", "RS256", "PS256", "EdDSA", "Ed25519")

_LIFETIMES = (
    "access_token_lifetime",
    "refresh_token_lifetime",
    "personal_access_token_lifetime",
    "client_credentials_token_lifetime",
    "auth_code_lifetime",
    "cookie_lifetime",
    "device_code_lifetime",
    "id_token_lifetime",
)


#: Key contents that may come from the environment (platforms that keep secrets there).
_KEYS_FROM_ENVIRON = ("PASSPORT_PRIVATE_KEY", "PASSPORT_PUBLIC_KEY",
                      "PASSPORT_ID_TOKEN_PRIVATE_KEY")


def to_timedelta(value: Any, key: str) -> timedelta:
    """Accept a timedelta or a number of seconds; refuse anything else with a clear message."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = timedelta(seconds=value)
    elif isinstance(value, str) and value.strip().isdigit():
        result = timedelta(seconds=int(value))
    else:
        raise ValueError(f"{key} must be a timedelta or a number of seconds, not {value!r}.")
    if result <= timedelta(0):
        raise ValueError(f"{key} must be positive.")
    return result


@dataclass(frozen=True)
class ProtectedResource:
    """One protected resource (RFC 9728): its identifier and what its metadata says.

    ``authorization_servers`` ``None`` means this server's issuer; ``scopes`` ``None`` the scopes
    the server defines. The identifier is checked by ``flask passport check`` (and by
    :meth:`~flask_passport.Passport.protected_resource`), not here.
    """

    resource: str
    name: str | None = None
    scopes: tuple[str, ...] | None = None
    authorization_servers: tuple[str, ...] | None = None
    documentation: str | None = None


_RESOURCE_KEYS = ("resource", "name", "scopes", "authorization_servers", "documentation")


def _strings(value: Any, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(v, str) and v for v in items):
        raise ValueError(f"PASSPORT_PROTECTED_RESOURCE: {key} must be a list of strings.")
    return tuple(items)


def _protected_resource(item: Any) -> ProtectedResource:
    if isinstance(item, ProtectedResource):
        return item
    if isinstance(item, str):
        item = {"resource": item}
    if not isinstance(item, Mapping):
        raise ValueError("PASSPORT_PROTECTED_RESOURCE must be a resource URI, a dict or a list "
                         f"of them, not {type(item).__name__}.")
    unknown = sorted(set(item) - set(_RESOURCE_KEYS))
    if unknown:
        raise ValueError(f"PASSPORT_PROTECTED_RESOURCE: unknown key {unknown[0]!r}; use "
                         f"{', '.join(_RESOURCE_KEYS)}.")
    resource, name, docs = item.get("resource"), item.get("name"), item.get("documentation")
    if not isinstance(resource, str) or not resource:
        raise ValueError("PASSPORT_PROTECTED_RESOURCE needs a 'resource' URI.")
    if not all(v is None or isinstance(v, str) for v in (name, docs)):
        raise ValueError("PASSPORT_PROTECTED_RESOURCE: name and documentation are strings.")
    return ProtectedResource(resource, name, _strings(item.get("scopes"), "scopes"),
                             _strings(item.get("authorization_servers"),
                                      "authorization_servers"), docs)


def protected_resources(*values: Any) -> tuple[ProtectedResource, ...]:
    """PASSPORT_PROTECTED_RESOURCE from config, then the setter's additions: each value a URI, a
    dict or a list of them; a later entry replaces an earlier one for the same resource."""
    found: dict[str, ProtectedResource] = {}
    for value in values:
        items = value if isinstance(value, list | tuple) else () if value is None else (value,)
        for item in items:
            parsed = _protected_resource(item)
            found[parsed.resource] = parsed
    return tuple(found.values())


@dataclass(frozen=True)
class Settings:
    key_path: str  # load() falls back to the instance folder
    private_key: str | None
    public_key: str | None
    id_token_private_key: str | None
    access_token_lifetime: timedelta
    refresh_token_lifetime: timedelta
    personal_access_token_lifetime: timedelta
    client_credentials_token_lifetime: timedelta
    auth_code_lifetime: timedelta
    issuer: str | None
    audience: str | None
    password_grant: bool
    implicit_grant: bool
    pkce_plain: bool
    pkce_required: str
    profile: str | None
    personal_access_client_id: str | None
    url_prefix: str
    register_routes: bool
    migrations: bool
    cookie_name: str
    leeway: int
    refresh_token_reuse_grace: int
    retired_public_keys: tuple[str, ...]
    ratelimit_enabled: bool
    ratelimit_storage_uri: str
    ratelimit_strategy: str
    ratelimit_key_prefix: str
    ratelimit_per_client: str | None
    ratelimit_per_ip: str | None
    ratelimit_password_failures: str | None
    cookie_lifetime: timedelta
    token_cache_ttl: float
    token_cache_size: int
    token_cache_users: bool
    token_cache_broadcast_url: str | None
    token_cache_broadcast_channel: str
    device_code_lifetime: timedelta
    device_code_interval: int
    ratelimit_user_code_failures: str | None
    oidc_enabled: bool
    oidc_scopes: tuple[str, ...]
    id_token_lifetime: timedelta
    registration: str | None
    registration_initial_tokens: tuple[str, ...]
    replay_store_url: str | None
    resources: tuple[Resource, ...]
    protected_resource: tuple[ProtectedResource, ...]

    @property
    def resource_identifier(self) -> str | None:
        """The app's own protected-resource identifier (the first configured), if any."""
        return self.protected_resource[0].resource if self.protected_resource else None
    dpop: bool
    dpop_algs: tuple[str, ...]
    dpop_proof_lifetime: int
    dpop_nonce: bool
    dpop_required: bool
    par_lifetime: int
    require_par: bool
    outbound_allow_private: bool
    client_id_metadata_documents: bool
    client_auth_methods: tuple[str, ...]
    client_secret_key: str | None

    @classmethod
    def load(
        cls,
        config: Mapping[str, Any],
        overrides: Mapping[str, Any],
        *,
        instance_path: str,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        explicit: set[str] = set()
        for f in fields(cls):
            key = "PASSPORT_" + f.name.upper()
            value = overrides.get(key, config.get(key, DEFAULTS[key]))
            if key == "PASSPORT_PROTECTED_RESOURCE":  # the setter adds to the config's list
                value = (config.get(key), overrides.get(key))
            if key in _KEYS_FROM_ENVIRON and not value:
                value = environ.get(key) or None
            values[f.name] = value
            if key in overrides or key in config:
                explicit.add(key)
        values["profile"] = profiles.parse(values["profile"])
        profiles.set_defaults(values["profile"], values, explicit)
        values["key_path"] = str(values["key_path"] or instance_path)
        if values["issuer"]:
            values["issuer"] = str(values["issuer"]).rstrip("/")
        retired = values["retired_public_keys"] or ()
        values["retired_public_keys"] = (retired,) if isinstance(retired, str) else tuple(retired)
        _parse_durations(values)
        _parse_ratelimit(values)
        values["oidc_enabled"] = _to_bool(values["oidc_enabled"])
        values["oidc_scopes"] = _oidc_scopes(values["oidc_scopes"])
        _parse_token_cache(values)
        values["registration"], values["registration_initial_tokens"] = _registration(
            values["registration"], values["registration_initial_tokens"])
        values["replay_store_url"] = _replay_store_url(values["replay_store_url"])
        values["resources"] = resources_from_config(values["resources"])
        values["protected_resource"] = protected_resources(*values["protected_resource"])
        _parse_dpop(values)
        values["par_lifetime"] = _par_lifetime(values["par_lifetime"])
        values["require_par"] = _to_bool(values["require_par"])
        values["outbound_allow_private"] = _to_bool(values["outbound_allow_private"])
        values["client_id_metadata_documents"] = _to_bool(values["client_id_metadata_documents"])
        values["client_auth_methods"] = _client_auth_methods(values["client_auth_methods"])
        values["client_secret_key"] = str(values["client_secret_key"] or "") or None
        _parse_grants_and_pkce(values)
        # After parsing: the profile judges the values the code will really use.
        profiles.check(values["profile"], values, explicit)
        return cls(**values)


def _parse_grants_and_pkce(values: dict[str, Any]) -> None:
    """The grant switches (``"0"``/``"false"`` from the environment are off) and the PKCE rules."""
    for name in ("password_grant", "implicit_grant", "pkce_plain"):
        values[name] = _to_bool(values[name])
    required = values["pkce_required"]
    if required not in ("public", "all"):
        raise ValueError(f"PASSPORT_PKCE_REQUIRED must be 'public' or 'all', not {required!r}.")


def _parse_durations(values: dict[str, Any]) -> None:
    """The lifetimes, the leeway, the refresh-token reuse grace and the device polling interval."""
    for name in _LIFETIMES:
        values[name] = to_timedelta(values[name], "PASSPORT_" + name.upper())
    values["leeway"] = _to_seconds(values["leeway"], "PASSPORT_LEEWAY")
    grace = values["refresh_token_reuse_grace"]
    if isinstance(grace, timedelta):
        grace = grace.total_seconds()
    values["refresh_token_reuse_grace"] = int(grace or 0)
    if values["refresh_token_reuse_grace"] < 0:
        raise ValueError("PASSPORT_REFRESH_TOKEN_REUSE_GRACE must be 0 or more seconds.")
    values["device_code_interval"] = _to_seconds(
        values["device_code_interval"], "PASSPORT_DEVICE_CODE_INTERVAL"
    )


def _parse_dpop(values: dict[str, Any]) -> None:
    """The DPoP switches, the proof algorithms (an allow-list of asymmetric ones) and lifetime."""
    for name in ("dpop", "dpop_nonce", "dpop_required"):
        values[name] = _to_bool(values[name])
    algs = values["dpop_algs"]
    names = tuple(algs.replace(",", " ").split()) if isinstance(algs, str) else tuple(algs or ())
    wrong = [a for a in names if a not in DPOP_ALGORITHMS]
    if wrong or not names:
        raise ValueError(f"PASSPORT_DPOP_ALGS must name some of {', '.join(DPOP_ALGORITHMS)}"
                         f"{f', not {wrong[0]!r}' if wrong else ''}.")
    values["dpop_algs"] = tuple(dict.fromkeys(names))
    values["dpop_proof_lifetime"] = _to_seconds(values["dpop_proof_lifetime"],
                                                "PASSPORT_DPOP_PROOF_LIFETIME")
    if values["dpop_proof_lifetime"] < 1:
        raise ValueError("PASSPORT_DPOP_PROOF_LIFETIME must be at least 1 second.")


def _parse_ratelimit(values: dict[str, Any]) -> None:
    """The rate limiter's switch and its limits (an empty limit is no limit)."""
    values["ratelimit_enabled"] = _to_bool(values["ratelimit_enabled"])
    for name in ("ratelimit_per_client", "ratelimit_per_ip", "ratelimit_password_failures",
                 "ratelimit_user_code_failures"):
        values[name] = str(values[name]).strip() or None if values[name] else None


def _parse_token_cache(values: dict[str, Any]) -> None:
    """The verified-token cache and its broadcast channel."""
    values["token_cache_ttl"] = float(values["token_cache_ttl"] or 0)
    values["token_cache_size"] = int(values["token_cache_size"])
    values["token_cache_users"] = _to_bool(values["token_cache_users"])
    values["token_cache_broadcast_url"] = str(values["token_cache_broadcast_url"] or "") or None
    values["token_cache_broadcast_channel"] = str(values["token_cache_broadcast_channel"])
    if values["token_cache_ttl"] < 0 or values["token_cache_size"] < 1:
        raise ValueError("PASSPORT_TOKEN_CACHE_TTL must be >= 0 and "
                         "PASSPORT_TOKEN_CACHE_SIZE >= 1.")


#: The issuer of an app in debug or testing mode with none configured: the host Flask's test
#: client and ``url_for`` use without SERVER_NAME. Production apps must configure theirs.
DEVELOPMENT_ISSUER = "http://localhost"


class IssuerNotConfigured(RuntimeError):
    """No issuer is configured outside debug and testing mode."""


def configured_issuer(settings: Settings, config: Mapping[str, Any]) -> str | None:
    """``PASSPORT_ISSUER``, else ``PREFERRED_URL_SCHEME://SERVER_NAME`` (+ ``APPLICATION_ROOT``)."""
    if settings.issuer:
        return settings.issuer
    server_name = config.get("SERVER_NAME")
    if not server_name:
        return None
    scheme = config.get("PREFERRED_URL_SCHEME") or "http"
    root = str(config.get("APPLICATION_ROOT") or "/").rstrip("/")
    return f"{scheme}://{server_name}{root}"


def resolve_issuer(settings: Settings, config: Mapping[str, Any]) -> str:
    """The app's one issuer: every token's ``iss`` and the base of every published URL.

    Fixed per app, whether a token is made in a request, a CLI command or a background job:
    a Host header is chosen by the client, so an issuer read from it could be made to name any
    server (and would be cached by every proxy in front of the discovery documents). In debug or
    testing mode an app without one gets :data:`DEVELOPMENT_ISSUER`; otherwise this raises.
    """
    issuer = configured_issuer(settings, config)
    if issuer:
        return issuer
    if config.get("DEBUG") or config.get("TESTING"):
        return DEVELOPMENT_ISSUER
    raise IssuerNotConfigured(
        "flask-passport has no issuer: set PASSPORT_ISSUER to this server's public URL (for "
        "example https://auth.example.com), or SERVER_NAME. It is never taken from the "
        "request's Host header."
    )


def _to_bool(value: Any) -> bool:
    """Booleans from config or environment strings (``"0"``, ``"false"``, ``"off"`` are False)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def _to_seconds(value: Any, key: str) -> int:
    """A whole number of seconds (0 or more) from config or an environment string."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a whole number of seconds, not {value!r}.") from None
    if seconds < 0:
        raise ValueError(f"{key} must be a whole number of seconds, 0 or more.")
    return seconds


def _oidc_scopes(value: Any) -> tuple[str, ...]:
    """PASSPORT_OIDC_SCOPES: a list or a space-separated string of OIDC Core §5.4 scopes."""
    names = tuple(value.split()) if isinstance(value, str) else tuple(value or ())
    unknown = [n for n in names if n not in OIDC_SCOPE_DESCRIPTIONS]
    if unknown:
        raise ValueError(f"PASSPORT_OIDC_SCOPES: {unknown[0]!r} is not an OpenID Connect scope; "
                         f"use some of {', '.join(OIDC_SCOPE_DESCRIPTIONS)}.")
    if names and "openid" not in names:
        names = ("openid", *names)
    return names


def _registration(mode: Any, digests: Any) -> tuple[str | None, tuple[str, ...]]:
    """PASSPORT_REGISTRATION and PASSPORT_REGISTRATION_INITIAL_TOKENS, checked at load."""
    if mode in (None, False, ""):
        mode = None
    elif mode not in ("open", "token"):
        raise ValueError(f"PASSPORT_REGISTRATION must be None, 'open' or 'token', not {mode!r}.")
    items = (digests,) if isinstance(digests, str) else tuple(digests or ())
    for item in items:
        if not (isinstance(item, str) and len(item) == 64
                and all(c in "0123456789abcdef" for c in item)):
            raise ValueError("PASSPORT_REGISTRATION_INITIAL_TOKENS holds SHA-256 hex digests "
                             "(64 lowercase hex characters) of the tokens, not the tokens.")
    if mode not in (None, "open") and not items:
        raise ValueError("PASSPORT_REGISTRATION = 'token' needs at least one digest in "
                         "PASSPORT_REGISTRATION_INITIAL_TOKENS.")
    return mode, items


def _replay_store_url(value: Any) -> str | None:
    """PASSPORT_REPLAY_STORE_URL: empty (the database), a Redis URL or ``memory://``."""
    if not value:
        return None
    url = str(value).strip()
    if url != "memory://" and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("PASSPORT_REPLAY_STORE_URL must be empty (the database), "
                         f"redis://... or memory://, not {url!r}.")
    return url


#: RFC 9126 §2.2: a request_uri lives briefly; these bound PASSPORT_PAR_LIFETIME.
PAR_LIFETIME_BOUNDS = (5, 600)


def _par_lifetime(value: Any) -> int:
    """PASSPORT_PAR_LIFETIME: whole seconds within :data:`PAR_LIFETIME_BOUNDS`."""
    seconds = _to_seconds(value, "PASSPORT_PAR_LIFETIME")
    low, high = PAR_LIFETIME_BOUNDS
    if not low <= seconds <= high:
        raise ValueError(f"PASSPORT_PAR_LIFETIME must be between {low} and {high} seconds, "
                         f"not {seconds}.")
    return seconds


def _client_auth_methods(value: Any) -> tuple[str, ...]:
    """PASSPORT_CLIENT_AUTH_METHODS: a list or space-separated string of known methods."""
    names = tuple(value.split()) if isinstance(value, str) else tuple(value or ())
    unknown = [n for n in names if n not in CLIENT_AUTH_METHODS]
    if unknown or not names:
        raise ValueError("PASSPORT_CLIENT_AUTH_METHODS must name some of "
                         f"{', '.join(CLIENT_AUTH_METHODS)}.")
    return tuple(dict.fromkeys(names))
