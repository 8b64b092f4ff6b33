"""``flask passport check``: flag insecure settings, like Django's ``manage.py check --deploy``.

Each finding has a stable id (``passport.W001`` warnings, ``passport.E001`` errors), a message
and a hint. :func:`run_checks` is the library function; the command prints and sets the exit code.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..jose import keys as keys_mod
from ..jose.key_rotation import retired_dir
from ..settings import DEVELOPMENT_ISSUER, configured_issuer

ERROR = "error"
WARNING = "warning"

#: Lifetimes beyond these are reported.
MAX_ACCESS_TOKEN = timedelta(hours=1)
MAX_REFRESH_TOKEN = timedelta(days=90)
MAX_PERSONAL_TOKEN = timedelta(days=366)
MAX_AUTH_CODE = timedelta(minutes=10)

#: Secret keys copied from tutorials and templates: whoever reads them can sign sessions.
KNOWN_SECRET_KEYS = frozenset({
    "dev", "development", "dev-only-change-me", "change-me", "changeme", "change-this",
    "please-change-me", "secret", "secret-key", "secretkey", "your-secret-key", "mysecret",
    "super-secret", "supersecret", "super-secret-key", "test", "testing", "flask",
    "not-so-secret", "default",
})
#: RFC 2104 §3: an HMAC key shorter than the hash output weakens it; SHA-256 gives 32 bytes.
MIN_SECRET_KEY_BYTES = 32


@dataclass(frozen=True)
class Finding:
    id: str
    level: str
    message: str
    hint: str

    def __str__(self) -> str:
        return f"{self.id} ({self.level}): {self.message}\n    HINT: {self.hint}"


def _is_loopback(host: str | None) -> bool:
    return host in ("localhost", "127.0.0.1", "::1") or bool(host and host.startswith("127."))


def check_settings(settings: Any, *, debug: bool, client_lifetimes: Sequence[tuple[str, int]] = (),
                   issuer: str | None = None) -> list[Finding]:
    """The findings for ``settings`` (pure: no app, no database); ``issuer`` is the one
    configured (PASSPORT_ISSUER or from SERVER_NAME), if any."""
    found: list[Finding] = []

    def add(id_: str, level: str, message: str, hint: str) -> None:
        found.append(Finding(id_, level, message, hint))

    if settings.pkce_plain:
        add("passport.W001", WARNING, "The plain PKCE method is allowed.",
            "Set PASSPORT_PKCE_PLAIN = False: plain PKCE gives no protection if the "
            "authorization request leaks (RFC 9700 §2.1.1).")
    if settings.implicit_grant:
        add("passport.W002", WARNING, "The implicit grant is enabled.",
            "Use the authorization code grant with PKCE; RFC 9700 §2.1.2 deprecates implicit.")
    if settings.password_grant:
        add("passport.W003", WARNING, "The password grant is enabled.",
            "RFC 9700 §2.4: the client sees the user's password. Keep it for trusted "
            "first-party clients only, or turn it off.")
    for name, limit in (("access_token_lifetime", MAX_ACCESS_TOKEN),
                        ("client_credentials_token_lifetime", MAX_ACCESS_TOKEN),
                        ("refresh_token_lifetime", MAX_REFRESH_TOKEN),
                        ("personal_access_token_lifetime", MAX_PERSONAL_TOKEN),
                        ("auth_code_lifetime", MAX_AUTH_CODE)):
        value = getattr(settings, name)
        if value > limit:
            add("passport.W004", WARNING,
                f"PASSPORT_{name.upper()} is {value}, longer than {limit}.",
                "Long-lived tokens stay useful to a thief; shorten the lifetime.")
    for client_id, seconds in client_lifetimes:
        if seconds and timedelta(seconds=seconds) > MAX_ACCESS_TOKEN:
            add("passport.W005", WARNING,
                f"Client {client_id} has an access token lifetime of {seconds} seconds.",
                "Shorten the client's access_token_lifetime (or clear it to use the default).")
    if settings.leeway > 60:
        add("passport.W006", WARNING, f"PASSPORT_LEEWAY is {settings.leeway} seconds.",
            "A minute of clock skew is plenty; more keeps expired tokens working.")
    issuer = settings.issuer if issuer is None else issuer
    if issuer:
        parts = urlsplit(issuer)
        if parts.scheme != "https" and not debug and not _is_loopback(parts.hostname):
            add("passport.E001", ERROR, f"The issuer {issuer} is not HTTPS.",
                "OAuth requires TLS (RFC 6749 §1.6): set PASSPORT_ISSUER to an https:// URL.")
        if parts.query or parts.fragment:
            add("passport.E002", ERROR, "The issuer has a query or fragment.",
                "RFC 8414 §2: the issuer is an https URL with no query or fragment.")
    elif debug:
        add("passport.W007", WARNING, "PASSPORT_ISSUER is not set.",
            f"Debug mode names {DEVELOPMENT_ISSUER} as every token's issuer; set "
            "PASSPORT_ISSUER to the URL clients reach this server at.")
    else:
        add("passport.E006", ERROR, "PASSPORT_ISSUER is not set (nor SERVER_NAME).",
            "Tokens cannot be issued without a fixed issuer: set PASSPORT_ISSUER to this "
            "server's https:// URL.")
    if not settings.ratelimit_enabled:
        add("passport.W008", WARNING, "Rate limiting is disabled.",
            "Set PASSPORT_RATELIMIT_ENABLED = True to slow down credential guessing.")
    return found


def check_protected_resources(settings: Any, issuer: str | None) -> list[Finding]:
    """PASSPORT_PROTECTED_RESOURCE (RFC 9728): valid identifiers, this server among the
    authorization servers its metadata names (the guard accepts only this server's tokens),
    and no second, different audience in PASSPORT_AUDIENCE."""
    from ..oauth2.resource_metadata import url_problem

    found: list[Finding] = []
    for entry in settings.protected_resource:
        problem = url_problem(entry.resource)
        if problem:
            found.append(Finding(
                "passport.E040", ERROR, f"PASSPORT_PROTECTED_RESOURCE: {problem}",
                "RFC 9728 §1.2: a protected resource is named by an https:// URL (http only for "
                "a loopback host) with no fragment; clients compare it exactly."))
        servers = entry.authorization_servers
        bad = [s for s in servers or () if url_problem(s, "An authorization server")]
        if bad or (servers is not None and issuer and issuer not in servers):
            found.append(Finding(
                "passport.E041", ERROR,
                f"The metadata of {entry.resource} names authorization servers "
                f"{', '.join(servers or ()) or '(none)'} but not this server ({issuer}).",
                "This app's routes accept only the tokens this server issues: leave "
                "authorization_servers out (it defaults to the issuer) or include the issuer."))
    own = settings.resource_identifier
    if own and settings.audience and settings.audience != own:
        found.append(Finding(
            "passport.W040", WARNING,
            f"PASSPORT_AUDIENCE ({settings.audience}) differs from the protected resource "
            f"{own}: tokens are issued for the first and the app's routes require the second.",
            "Leave PASSPORT_AUDIENCE unset (tokens then carry the protected resource) or set "
            "it to the same URL."))
    return found


def check_key_files(key_path: str | None, *, keys_from_env: bool) -> list[Finding]:
    """Key files must not be readable by group/others nor writable by others."""
    found: list[Finding] = []
    if key_path is None:
        return found
    directory = Path(key_path)
    private = directory / keys_mod.PRIVATE_KEY_FILE
    if private.exists():
        mode = stat.S_IMODE(private.stat().st_mode)
        if mode & 0o077:
            found.append(Finding(
                "passport.E003", ERROR,
                f"{private} has mode {oct(mode)}: other users can read the signing key.",
                f"chmod 600 {private}"))
    elif not keys_from_env:
        found.append(Finding("passport.E004", ERROR, f"No signing key in {directory}.",
                             "Run `flask passport keys` or set PASSPORT_PRIVATE_KEY."))
    for path in [directory / keys_mod.PUBLIC_KEY_FILE, retired_dir(directory)]:
        if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o002:
            found.append(Finding(
                "passport.E005", ERROR, f"{path} is writable by any user.",
                f"chmod o-w {path}: whoever can write a verifying key can forge tokens."))
    if retired_dir(directory).is_dir():
        for path in retired_dir(directory).glob("retired-*.pub"):
            if stat.S_IMODE(path.stat().st_mode) & 0o022:
                found.append(Finding(
                    "passport.E005", ERROR, f"{path} is writable by group or others.",
                    f"chmod 644 {path}"))
    return found


def check_id_token_key(state: Any) -> list[Finding]:
    """OpenID Connect Discovery 1.0 §3: RS256 must be among the ID-token algorithms. With an
    EC or EdDSA signing key that needs a second, RSA key for ID tokens."""
    from ..jose.keys import OIDC_REQUIRED_ALGORITHM, KeyLoadError

    if not state.settings.oidc_enabled:
        return []
    try:
        keys = state.keys()
    except KeyLoadError:
        return []  # no keys at all: check_key_files reports it
    if OIDC_REQUIRED_ALGORITHM in keys.id_token_algorithms():
        return []
    return [Finding(
        "passport.W010", WARNING,
        f"ID tokens are signed with {keys.signing.algorithm} only: OpenID Connect Discovery "
        "requires RS256, so strict relying parties refuse them.",
        "Run `flask passport keys --rotate` (it writes an RSA ID-token key next to the "
        "signing key) or set PASSPORT_ID_TOKEN_PRIVATE_KEY to an RSA private key.")]


def check_secret_key(secret_key: Any) -> list[Finding]:
    """``SECRET_KEY`` signs the session and the API cookie: missing, known or short is an error
    (the message names the rule that fired; it never prints a key that is not a known one)."""
    hint = ("Set SECRET_KEY from the environment to a long random value, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'.")
    if not secret_key:
        return [Finding("passport.E010", ERROR, "SECRET_KEY is not set: sessions, the "
                        "consent form and the API cookie cannot work.", hint)]
    raw = secret_key if isinstance(secret_key, bytes) else str(secret_key).encode("utf-8")
    if raw.decode("utf-8", "replace").strip().lower() in KNOWN_SECRET_KEYS:
        return [Finding("passport.E010", ERROR, f"SECRET_KEY is a known development default "
                        f"({raw.decode('utf-8', 'replace')!r}): anyone can forge sessions and "
                        "API cookies with it.", hint)]
    if len(raw) < MIN_SECRET_KEY_BYTES:
        return [Finding("passport.E010", ERROR, f"SECRET_KEY is {len(raw)} bytes long, shorter "
                        f"than {MIN_SECRET_KEY_BYTES}: short keys can be guessed offline from "
                        "one signed cookie.", hint)]
    return []


def check_app_wiring(app: Any, state: Any) -> list[Finding]:
    """What stops a new app from working at all: Flask-Login, the tables, Flask-Migrate."""
    found: list[Finding] = []
    login_manager = getattr(app, "login_manager", None)
    if login_manager is None:
        found.append(Finding(
            "passport.E011", ERROR, "Flask-Login is not set up on this app.",
            "Passport signs users in through Flask-Login: create LoginManager(app) and "
            "register a @login_manager.user_loader."))
    elif login_manager.user_callback is None and login_manager.request_callback is None:
        found.append(Finding(
            "passport.E011", ERROR, "Flask-Login has no user loader: every signed-in request "
            "and every token's user fail to load.",
            "Register one: @login_manager.user_loader def load_user(user_id): "
            "return db.session.get(User, int(user_id))"))
    migrations = state.settings.migrations
    if migrations and "migrate" not in app.extensions:
        found.append(Finding(
            "passport.E013", ERROR, "PASSPORT_MIGRATIONS is on but Flask-Migrate is not "
            "registered, so `flask db upgrade heads` cannot create Passport's tables.",
            "Register it (migrate = Migrate(app, db)), or set PASSPORT_MIGRATIONS = False "
            "if you create the tables with db.create_all() or your own migrations."))
    missing = _missing_tables(state)
    if missing:
        how = ("Run `flask db upgrade heads`" if migrations and "migrate" in app.extensions
               else "Run `flask db upgrade heads` (with Flask-Migrate) or db.create_all()")
        found.append(Finding(
            "passport.E012", ERROR,
            "Passport's tables are missing from the database: " + ", ".join(missing) + ".",
            f"{how} to create them."))
    return found


def _missing_tables(state: Any) -> list[str]:
    """Passport's tables the database does not have (none if it cannot be asked)."""
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    missing: list[str] = []
    models = state.models
    for kind in ("Client", "AccessToken", "RefreshToken", "AuthCode", "DeviceCode"):
        model = getattr(models, kind, None)
        if model is None:
            continue
        table = model.__table__
        try:
            bind = state.db.session.get_bind(mapper=model)
            with bind.connect() as connection:
                present = sa.inspect(connection).has_table(table.name, schema=table.schema)
        except SQLAlchemyError:
            return []  # an unreachable database is not a missing table
        if not present:
            missing.append(table.name)
    return missing


def check_resources(state: Any, *, debug: bool, allowed: Sequence[tuple[str, Any]] = ()
                    ) -> list[Finding]:
    """The registered resources (RFC 8707): scopes they name that are not defined, plain
    ``http`` URIs outside debug and loopback, and clients allowed a resource that is no longer
    registered (``allowed``: ``(client id, allowed_resources)`` pairs)."""
    found: list[Finding] = []
    resources = state.resources()
    passport = state.passport
    for resource in resources.values():
        undefined = [s for s in resource.scopes or () if not passport.has_scope(s)]
        if undefined:
            found.append(Finding(
                "passport.W030", WARNING,
                f"The resource {resource.uri} lists the scope {undefined[0]!r}, which is not "
                "defined: its tokens can never carry it.",
                "Define it with passport.tokens_can, or fix the resource's scopes."))
        parts = urlsplit(resource.uri)
        if parts.scheme == "http" and not debug and not _is_loopback(parts.hostname):
            found.append(Finding(
                "passport.W031", WARNING, f"The resource {resource.uri} is plain http.",
                "Its tokens would travel in clear text (RFC 6750 §5.3): register its https:// "
                "URI."))
    for client_id, uris in allowed:
        gone = [uri for uri in uris or () if uri not in resources]
        if gone:
            found.append(Finding(
                "passport.W032", WARNING,
                f"Client {client_id} is allowed the resource {gone[0]}, which is not "
                "registered: its requests for it are refused (invalid_target).",
                "Register the resource again (PASSPORT_RESOURCES or passport.add_resource) "
                "or update the client's allowed_resources."))
    return found


def _client_rows(state: Any) -> tuple[list[tuple[str, int]], list[tuple[str, Any]]]:
    """Per-client lifetimes and allowed resources of the live clients (none without tables)."""
    import sqlalchemy as sa

    Client = state.models.Client
    lifetimes: list[tuple[str, int]] = []
    allowed: list[tuple[str, Any]] = []
    try:
        lifetimes = [(r.id, r.access_token_lifetime) for r in state.db.session.execute(
            sa.select(Client.id, Client.access_token_lifetime).where(
                Client.access_token_lifetime.is_not(None), Client.revoked.is_(False)))]
        if hasattr(Client, "allowed_resources"):
            allowed = [(r.id, r.allowed_resources) for r in state.db.session.execute(
                sa.select(Client.id, Client.allowed_resources).where(
                    Client.allowed_resources.is_not(None), Client.revoked.is_(False)))]
    except Exception:  # no tables (or columns) yet: nothing to report about clients
        state.db.session.rollback()
    return lifetimes, allowed
def _issuer(state: Any) -> str | None:
    """The issuer tokens carry, or ``None`` when there is none (E006 says so)."""
    from ..settings import IssuerNotConfigured

    try:
        return str(state.issuer())
    except IssuerNotConfigured:
        return None


def run_checks(app: Any) -> list[Finding]:
    """Every finding for ``app`` (needs an app context for the per-client lifetimes)."""
    state = app.extensions["passport"]
    settings = state.settings
    lifetimes, allowed = _client_rows(state)
    debug = bool(app.debug or os.environ.get("FLASK_DEBUG") in ("1", "true"))
    return (
        check_settings(settings, debug=debug, client_lifetimes=lifetimes,
                       issuer=configured_issuer(settings, app.config))
        + check_protected_resources(settings, _issuer(state))
        + check_key_files(settings.key_path, keys_from_env=bool(settings.private_key))
        + check_secret_key(app.config.get("SECRET_KEY"))
        + check_app_wiring(app, state)
        + check_id_token_key(state)
        + check_resources(state, debug=debug, allowed=allowed)
    )
