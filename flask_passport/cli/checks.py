"""``flask passport check``: flag insecure settings, like Django's ``manage.py check --deploy``.

Each finding has a stable id (``passport.W001`` warnings, ``passport.E001`` errors; a few
warning ids carry the level ``info``, for planning only), a message and a hint.
:func:`run_checks` is the library function; the command prints and sets the exit code.
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

from .. import profiles
from ..jose import keys as keys_mod
from ..jose.key_rotation import retired_dir
from ..settings import DEVELOPMENT_ISSUER, configured_issuer

ERROR = "error"
WARNING = "warning"
#: For planning only: never fails the command, whatever ``--fail-level`` says.
INFO = "info"

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


def check_outbound(settings: Any, issuer: str | None) -> list[Finding]:
    """PASSPORT_OUTBOUND_ALLOW_PRIVATE: an error with an https (production) issuer, else a
    reminder, since it lets a client-chosen URL reach internal hosts (SSRF); client ID
    metadata documents without rate limits."""
    found: list[Finding] = []
    if settings.client_id_metadata_documents and not settings.ratelimit_enabled:
        found.append(Finding(
            "passport.W051", WARNING, "Client ID metadata documents are on without rate limits.",
            "Any client_id URL makes this server fetch a document: set "
            "PASSPORT_RATELIMIT_ENABLED = True so one address cannot make it fetch without end."))
    if not settings.outbound_allow_private:
        return found
    hint = ("Set PASSPORT_OUTBOUND_ALLOW_PRIVATE = False: client metadata documents and "
            "jwks_uri fetches could then reach private and loopback addresses (SSRF).")
    if issuer and urlsplit(issuer).scheme == "https":
        return [*found, Finding("passport.E050", ERROR, "Outbound fetches may reach private "
                                f"addresses on a server whose issuer is {issuer}.", hint)]
    return [*found, Finding("passport.W050", WARNING,
                            "Outbound fetches may reach private and loopback addresses.",
                            "Development only. " + hint)]


#: A request_uri is used right after it is issued (RFC 9126 §2.2's example is 60 s): longer
#: only widens the window of a leaked one.
PAR_LIFETIME_WARNING = 120


def check_pushed_authorization(settings: Any, schema_missing: Sequence[str]) -> list[Finding]:
    """Pushed authorization requests (RFC 9126): the schema of migration ``e1ba5ed0000b``
    (``schema_missing``: what the database lacks) and ``PASSPORT_PAR_LIFETIME``."""
    found: list[Finding] = []
    if schema_missing:
        found.append(Finding(
            "passport.E070", ERROR,
            "Pushed authorization requests need " + " and ".join(schema_missing) + ", which "
            "the database lacks: /oauth/par and /oauth/authorize answer 503.",
            "Run `flask db upgrade heads` (revision e1ba5ed0000b), or add them with your own "
            "migration tool."))
    if settings.par_lifetime > PAR_LIFETIME_WARNING:
        found.append(Finding(
            "passport.W070", WARNING,
            f"PASSPORT_PAR_LIFETIME is {settings.par_lifetime} seconds.",
            "A request_uri is used as soon as the browser reaches /oauth/authorize (a user who "
            f"then signs in keeps the request server-side): {PAR_LIFETIME_WARNING} seconds or "
            "less keeps a leaked one useless sooner."))
    return found


def _pushed_authorization_schema(state: Any) -> list[str]:
    """What the database lacks of ``e1ba5ed0000b`` (nothing if it cannot be asked)."""
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    models = state.models
    Pushed, Client = getattr(models, "PushedAuthorization", None), models.Client
    if Pushed is None:
        return []
    missing: list[str] = []
    try:
        with state.db.session.get_bind(mapper=Client).connect() as connection:
            inspector = sa.inspect(connection)
            client_table = Client.__table__
            if not inspector.has_table(client_table.name, schema=client_table.schema):
                return []  # no tables at all: E012 says so
            if not inspector.has_table(Pushed.__table__.name, schema=Pushed.__table__.schema):
                missing.append(f"the {Pushed.__table__.name} table")
            columns = {c["name"] for c in inspector.get_columns(client_table.name,
                                                                schema=client_table.schema)}
    except SQLAlchemyError:
        return []
    if ("require_pushed_authorization_requests" in client_table.c
            and "require_pushed_authorization_requests" not in columns):
        missing.append(f"the {client_table.name}.require_pushed_authorization_requests column")
    return missing


def check_client_auth(settings: Any, secret_key: Any,
                      clients: Sequence[tuple[str, str | None, str | None, str | None]]
                      ) -> list[Finding]:
    """The JWT client authentication of the clients ``(id, method, jwks, secret_encrypted)``
    that use it (RFC 7523, OpenID Connect Core §9)."""
    from ..jose import secret_box
    from ..jose.jwk import JWKError, loads_jwks, parse_jwks
    from ..oauth2.client_keys import seals_secret

    found: list[Finding] = []
    by_method: dict[str, list[str]] = {}
    for client_id, method, _, _ in clients:
        by_method.setdefault(method or "", []).append(client_id)
    for method in ("private_key_jwt", "client_secret_jwt"):
        if by_method.get(method) and method not in settings.client_auth_methods:
            found.append(Finding(
                "passport.W060", WARNING,
                f"{len(by_method[method])} client(s) use {method}, which "
                "PASSPORT_CLIENT_AUTH_METHODS does not allow: they cannot authenticate.",
                f"Add {method} to PASSPORT_CLIENT_AUTH_METHODS, or give those clients "
                "another method."))
    master = settings.client_secret_key or secret_key
    sealed = [(cid, box) for cid, method, _, box in clients if seals_secret(method)]
    if sealed and not settings.client_secret_key:
        found.append(Finding(
            "passport.W061", WARNING,
            "The secrets of client_secret_jwt clients are encrypted with a key derived from "
            "SECRET_KEY: rotating SECRET_KEY locks those clients out.",
            "Set PASSPORT_CLIENT_SECRET_KEY to a long random value of its own before creating "
            "client_secret_jwt clients (existing ones then need new secrets)."))
    unreadable = 0
    for cid, box in sealed:
        try:
            secret_box.open_(master, cid, box or "")
        except secret_box.SecretBoxError:
            unreadable += 1
    if unreadable:
        found.append(Finding(
            "passport.E060", ERROR,
            f"{unreadable} client_secret_jwt client(s) have a stored secret that does not "
            "decrypt with the current key: they cannot authenticate.",
            "Restore the PASSPORT_CLIENT_SECRET_KEY (or SECRET_KEY) they were created with, or "
            "create those clients again."))
    broken = 0
    for _, method, jwks, _ in clients:
        if method == "private_key_jwt" and jwks:
            try:
                parse_jwks(loads_jwks(jwks))
            except JWKError:
                broken += 1
    if broken:
        found.append(Finding(
            "passport.E061", ERROR,
            f"{broken} private_key_jwt client(s) have a stored jwks that is not a usable "
            "public JWK Set: they cannot authenticate.",
            "Register their public keys again (flask passport client --jwks FILE, or RFC 7592 "
            "update)."))
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


#: A DPoP proof accepted for longer than this widens the window a stolen proof is replayable
#: in (RFC 9449 §11.1 suggests seconds to a few minutes).
MAX_DPOP_PROOF_LIFETIME = 300


def check_dpop(settings: Any, *, secret_key: Any) -> list[Finding]:
    """DPoP (RFC 9449): switches that contradict each other or weaken replay protection."""
    findings: list[Finding] = []
    if settings.dpop_required and not settings.dpop:
        findings.append(Finding(
            "passport.E080", ERROR, "PASSPORT_DPOP_REQUIRED is on but PASSPORT_DPOP is off: "
            "every token request is refused.",
            "Turn PASSPORT_DPOP on, or PASSPORT_DPOP_REQUIRED off."))
    if not settings.dpop:
        return findings
    if settings.dpop_nonce and not secret_key:
        findings.append(Finding(
            "passport.W080", WARNING, "PASSPORT_DPOP_NONCE is on without SECRET_KEY: each "
            "process makes its own nonce key, so a nonce from one process is refused by the "
            "others.", "Set SECRET_KEY (the same in every process)."))
    if settings.replay_store_url == "memory://":
        findings.append(Finding(
            "passport.W081", WARNING, "PASSPORT_REPLAY_STORE_URL is memory://: a DPoP proof "
            "used in one process can be replayed to another (RFC 9449 §11.1).",
            "Leave PASSPORT_REPLAY_STORE_URL unset (the database) or use redis://... when "
            "more than one process serves the app."))
    if settings.dpop_proof_lifetime > MAX_DPOP_PROOF_LIFETIME:
        findings.append(Finding(
            "passport.W082", WARNING, f"PASSPORT_DPOP_PROOF_LIFETIME is "
            f"{settings.dpop_proof_lifetime} seconds: a captured proof stays usable (once) "
            "that long.", f"Keep it at most {MAX_DPOP_PROOF_LIFETIME} seconds (default 60), "
            "or turn on PASSPORT_DPOP_NONCE."))
    return findings


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


@dataclass(frozen=True)
class ClientFacts:
    """What the profile checks need to know about one registered client."""

    id: str
    name: str
    grant_types: tuple[str, ...]
    confidential: bool
    #: RFC 7591 §2 ``token_endpoint_auth_method`` where the model records one.
    auth_method: str | None = None
    #: Authorization codes still in the table issued without an S256 challenge.
    codes_without_s256: int = 0

    @property
    def label(self) -> str:
        return f"{self.id} ({self.name})"

    @property
    def uses_token_endpoint(self) -> bool:
        """Personal access and introspection-only clients never ask the token endpoint for
        a token, so how they authenticate there does not matter."""
        return bool(set(self.grant_types) - {"personal_access", "introspect"})


def client_facts(state: Any) -> list[ClientFacts]:
    """Every live client, with its authorization codes still in the table that came without
    S256 PKCE (none if the tables are missing: check_app_wiring reports that)."""
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    Client, AuthCode = state.models.Client, state.models.AuthCode
    session = state.db.session
    try:
        clients = list(session.scalars(sa.select(Client).where(Client.revoked.is_(False))
                                       .order_by(Client.id)))
        weak: dict[str, int] = {client_id: count for client_id, count in session.execute(
            sa.select(AuthCode.client_id, sa.func.count())
            .where(sa.or_(AuthCode.code_challenge.is_(None),
                          AuthCode.code_challenge_method != "S256"))
            .group_by(AuthCode.client_id))}
    except SQLAlchemyError:
        session.rollback()
        return []
    return [ClientFacts(c.id, c.name, tuple(c.grant_types or ()), bool(c.confidential),
                        getattr(c, "auth_method", None),
                        int(weak.get(c.id, 0))) for c in clients]


def _names(clients: Sequence[ClientFacts], limit: int = 5) -> str:
    shown = ", ".join(c.label for c in clients[:limit])
    return shown + (f" and {len(clients) - limit} more" if len(clients) > limit else "")


def check_profile(settings: Any, clients: Sequence[ClientFacts]) -> list[Finding]:
    """With ``PASSPORT_PROFILE`` set: the registered clients it refuses (its settings were
    checked at ``init_app``). Without: what ``"oauth2.1"`` would refuse, as one ``info``."""
    if settings.profile is None:
        return _oauth21_preview(settings, clients)
    profile = settings.profile
    found = _refused_grant_clients(profile, clients) + _fapi2_clients(profile, clients)
    weak = [c for c in clients if c.codes_without_s256]
    if settings.pkce_required == "all" and weak:
        found.append(Finding(
            "passport.W091", WARNING,
            f"PASSPORT_PROFILE = {profile!r} requires S256 PKCE from every client; these "
            f"clients' recent authorization codes came without it: {_names(weak)}.",
            "Their codes still outstanding are refused at the token endpoint, and their next "
            "authorization requests fail with invalid_request until they send an S256 "
            "code_challenge; tell their developers."))
    return found


def _refused_grant_clients(profile: str, clients: Sequence[ClientFacts]) -> list[Finding]:
    """E090: clients registered for a grant the profile refuses."""
    found: list[Finding] = []
    for grant in sorted(profiles.CLIENT_RULES[profile].refused_grants):
        using = [c for c in clients if grant in c.grant_types]
        if using:
            found.append(Finding(
                "passport.E090", ERROR,
                f"PASSPORT_PROFILE = {profile!r} refuses the {grant} grant, and these clients "
                f"are registered for it: {_names(using)}.",
                "Move them to the authorization code grant with PKCE (S256) and remove "
                f"{grant!r} from their grant types; their {grant} requests now fail."))
    return found


def _fapi2_clients(profile: str, clients: Sequence[ClientFacts]) -> list[Finding]:
    """E091 public clients, E092 clients authenticating with a secret (FAPI 2.0 §5.3.2.1)."""
    rules = profiles.CLIENT_RULES[profile]
    at_token_endpoint = [c for c in clients if c.uses_token_endpoint]
    public = [c for c in at_token_endpoint if not c.confidential]
    secret = [c for c in at_token_endpoint
              if c.confidential and c.auth_method != "private_key_jwt"]
    found: list[Finding] = []
    if rules.confidential_only and public:
        found.append(Finding(
            "passport.E091", ERROR,
            f"PASSPORT_PROFILE = {profile!r} allows confidential clients only (FAPI 2.0 "
            f"Security Profile §5.3.2.1); these are public: {_names(public)}.",
            "Register them again as confidential clients with a JWK set "
            "(private_key_jwt), or revoke them; the token endpoint refuses them."))
    if rules.private_key_jwt_only and secret:
        found.append(Finding(
            "passport.E092", ERROR,
            f"PASSPORT_PROFILE = {profile!r} accepts private_key_jwt client authentication "
            "only (FAPI 2.0 Security Profile §5.3.2.1); these clients authenticate with a "
            f"client secret (client_secret_basic, _post or _jwt): {_names(secret)}.",
            "Give each a JWK set and token_endpoint_auth_method private_key_jwt; their "
            "secret-authenticated token requests now fail with invalid_client."))
    return found


def _oauth21_preview(settings: Any, clients: Sequence[ClientFacts]) -> list[Finding]:
    """One ``info`` finding: what ``PASSPORT_PROFILE = "oauth2.1"`` would refuse here."""
    # PASSPORT_PKCE_REQUIRED = "public" is the default, not a problem: what the switch would
    # refuse is the clients that skip PKCE, listed below from their codes.
    items = [f"{rule.key} = {getattr(settings, rule.field)!r} ({rule.refuses})"
             for rule in profiles.rules(profiles.OAUTH21)
             if rule.key != "PASSPORT_PKCE_REQUIRED"
             and not rule.accepts(getattr(settings, rule.field))]
    for grant in sorted(profiles.CLIENT_RULES[profiles.OAUTH21].refused_grants):
        using = [c for c in clients if grant in c.grant_types]
        if using:
            items.append(f"clients registered for the {grant} grant: {_names(using)}")
    weak = [c for c in clients if c.codes_without_s256]
    if weak:
        items.append(f"clients whose recent authorization codes came without S256 PKCE: "
                     f"{_names(weak)}")
    if not items:
        return []
    return [Finding(
        "passport.W090", INFO,
        "PASSPORT_PROFILE = 'oauth2.1' (draft-ietf-oauth-v2-1) would refuse: "
        + "; ".join(items) + ".",
        "Nothing is wrong today. To plan the switch, change these settings and clients first "
        "(see the profiles page of the documentation), then set PASSPORT_PROFILE.")]


def run_checks(app: Any) -> list[Finding]:
    """Every finding for ``app`` (needs an app context for the per-client lifetimes)."""
    state = app.extensions["passport"]
    settings = state.settings
    lifetimes, allowed = _client_rows(state)
    debug = bool(app.debug or os.environ.get("FLASK_DEBUG") in ("1", "true"))
    jwt_clients = _jwt_clients(state)
    return (
        check_settings(settings, debug=debug, client_lifetimes=lifetimes,
                       issuer=configured_issuer(settings, app.config))
        + check_protected_resources(settings, _issuer(state))
        + check_key_files(settings.key_path, keys_from_env=bool(settings.private_key))
        + check_secret_key(app.config.get("SECRET_KEY"))
        + check_app_wiring(app, state)
        + check_id_token_key(state)
        + check_resources(state, debug=debug, allowed=allowed)
        + check_dpop(settings, secret_key=app.config.get("SECRET_KEY"))
        + check_outbound(settings, configured_issuer(settings, app.config))
        + check_client_auth(settings, app.config.get("SECRET_KEY"), jwt_clients)
        + check_pushed_authorization(settings, _pushed_authorization_schema(state))
        + check_profile(settings, client_facts(state))
    )


def _jwt_clients(state: Any) -> list[tuple[str, str | None, str | None, str | None]]:
    """``(id, method, jwks, secret_encrypted)`` of the live clients using a JWT method."""
    import sqlalchemy as sa

    Client = state.models.Client
    try:
        rows = state.db.session.execute(
            sa.select(Client.id, Client.token_endpoint_auth_method, Client.jwks,
                      Client.secret_encrypted).where(
                Client.token_endpoint_auth_method.in_(["private_key_jwt",
                                                       "client_secret_jwt"]),
                Client.revoked.is_(False)))
        return [(row[0], row[1], row[2], row[3]) for row in rows]
    except Exception:  # no tables (or columns) yet: nothing to report about clients
        state.db.session.rollback()
        return []
