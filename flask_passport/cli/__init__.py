"""``flask passport ...``: thin click wrappers over library functions."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from ..extension import passport_state
from ..jose import keys as keys_mod
from ..jose.jwk import MAX_JWKS_LENGTH
from ..storage.clients import (
    CONFIDENTIAL_AUTH_METHODS,
    ClientError,
    create_client,
    find_personal_access_client,
)
from ..storage.models import utcnow

passport_cli = AppGroup("passport", help="Manage Passport's keys, clients and tokens.")

F = TypeVar("F", bound=Callable[..., Any])


def _one_line_errors(fn: F) -> F:
    """Turn expected failures into one-line messages with a non-zero exit, not tracebacks."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ClientError, keys_mod.KeyLoadError) as exc:
            raise click.ClickException(str(exc)) from None
        except SQLAlchemyError as exc:
            passport_state().db.session.rollback()
            reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
            raise click.ClickException(
                f"Database error: {reason}. Have the passport tables been created "
                "(`flask db upgrade heads` or db.create_all())?"
            ) from None

    return wrapper  # type: ignore[return-value]


def write_keys(*, force: bool, length: int, kind: str = "RSA") -> tuple[Path, Path]:
    """Generate a key pair into the configured key path; used by ``keys`` and ``install``."""
    state = passport_state()
    private_key = keys_mod.generate_private_key(kind, length)
    paths = keys_mod.write_key_pair(state.settings.key_path, private_key, force=force)
    _ensure_id_token_key(force=force, length=length)
    state.reset_keys()
    return paths


def _ensure_id_token_key(*, force: bool, length: int) -> None:
    """With an EC or EdDSA signing key, an RSA key for ID tokens next to it (Discovery §3
    requires RS256); an existing one is kept unless ``force``."""
    settings = passport_state().settings
    if settings.id_token_private_key:
        return
    current = keys_mod.load_keys(private_pem_text=settings.private_key,
                                 public_pem_text=settings.public_key,
                                 key_path=settings.key_path).signing_key
    if current.algorithm == keys_mod.OIDC_REQUIRED_ALGORITHM:
        return
    written = keys_mod.write_id_token_key(settings.key_path, force=force, bits=length)
    if written is not None:
        click.echo(f"RSA key for RS256 ID tokens written to {written} (mode 0600).")


@passport_cli.command("keys")
@click.option("--force", is_flag=True, help="Overwrite existing keys.")
@click.option("--length", default=keys_mod.DEFAULT_RSA_BITS, show_default=True,
              type=click.IntRange(2048, 8192), help="RSA key size in bits.")
@click.option("--type", "kind", default=None,
              type=click.Choice(["RSA", "ES256", "EdDSA"], case_sensitive=False),
              help="Key algorithm [default: RSA; with --rotate: the current key's].")
@click.option("--rotate", is_flag=True,
              help="Retire the current key (it keeps verifying) and sign with a new one.")
@click.option("--prune", is_flag=True,
              help="Drop retired keys whose tokens have all expired (all of them with --force).")
@_one_line_errors
def keys_command(force: bool, length: int, kind: str | None, rotate: bool, prune: bool) -> None:
    """Create, rotate or prune the keys that sign tokens (with an EC or EdDSA key, also the
    RSA key for RS256 ID tokens)."""
    if rotate or prune:
        _rotate_or_prune(rotate=rotate, prune=prune, force=force, length=length, kind=kind)
        return
    private_path, _ = write_keys(force=force, length=length, kind=kind or "RSA")
    click.echo(f"Encryption keys written to {private_path.parent} (private key mode 0600).")


@passport_cli.command("install")
@click.option("--force", is_flag=True, help="Overwrite existing keys.")
@click.option("--length", default=keys_mod.DEFAULT_RSA_BITS, show_default=True,
              type=click.IntRange(2048, 8192))
@click.option("--json", "as_json", is_flag=True, help="Print the created clients as JSON.")
@_one_line_errors
def install_command(force: bool, length: int, as_json: bool) -> None:
    """Create keys, a personal access client and a password grant client (idempotent)."""
    state = passport_state()
    settings = state.settings
    key_file = Path(settings.key_path) / keys_mod.PRIVATE_KEY_FILE
    output: dict[str, Any] = {"keys": "existing"}
    if force or not (key_file.exists() or settings.private_key):
        write_keys(force=force, length=length)
        output["keys"] = "created"
    session, models = state.db.session(), state.models
    personal = find_personal_access_client(session, models, settings.personal_access_client_id)
    if personal is None:
        personal = create_client(session, models, name=f"{current_app.name} Personal Access Client",
                                 kind="personal_access").client
        output["personal_access_client"] = {"id": personal.id, "created": True}
    else:
        output["personal_access_client"] = {"id": personal.id, "created": False}
    password_client = next(
        (
            c for c in session.scalars(
                sa.select(models.Client).where(models.Client.user_id.is_(None),
                                               models.Client.revoked.is_(False))
            )
            if c.password_client
        ),
        None,
    )
    if password_client is None:
        created = create_client(session, models, name=f"{current_app.name} Password Grant Client",
                                kind="password")
        output["password_client"] = {"id": created.client.id, "secret": created.secret,
                                     "created": True}
    else:
        output["password_client"] = {"id": password_client.id, "created": False}
    session.commit()
    if as_json:
        click.echo(json.dumps(output))
        return
    click.echo(f"Encryption keys: {output['keys']}.")
    pac = output["personal_access_client"]
    click.echo(f"Personal access client {'created' if pac['created'] else 'exists'}: {pac['id']}")
    pwc = output["password_client"]
    if pwc["created"]:
        click.echo(f"Password grant client created.\n  Client ID: {pwc['id']}\n"
                   f"  Client secret: {pwc['secret']}\n  (The secret is shown only now.)")
    else:
        click.echo(f"Password grant client exists: {pwc['id']}")
    if not settings.password_grant:
        click.echo("Note: the password grant is disabled; call passport.enable_password_grant() "
                   "to use it.")


def _interactive() -> bool:
    return sys.stdin.isatty()


def _check_user_exists(user_id: str) -> None:
    """Refuse ``--user-id`` of no user (loaded as a request would: Flask-Login's loader)."""
    from ..oauth2.text import is_plain_text

    if not user_id or len(user_id) > 255 or not is_plain_text(user_id):
        raise click.BadParameter(f"{user_id[:64]!r} is not a user id.", param_hint="--user-id")
    try:
        user = passport_state().load_user(user_id)
    except RuntimeError:  # no user loader and no user model: nothing to look the id up with
        return
    if user is None:
        raise click.BadParameter(f"No user has the id {user_id!r}.", param_hint="--user-id")


def _client_key_options(auth_method: str | None, jwks_file: Any,
                        jwks_uri: str | None) -> dict[str, Any]:
    """The ``create_client`` arguments of ``--auth-method``, ``--jwks`` and ``--jwks-uri``."""
    if (jwks_file is not None or jwks_uri is not None) and auth_method != "private_key_jwt":
        raise click.UsageError("--jwks and --jwks-uri are for --auth-method private_key_jwt.")
    settings = passport_state().settings
    return {
        "auth_method": auth_method,
        "jwks": jwks_file.read(MAX_JWKS_LENGTH + 1) if jwks_file is not None else None,
        "jwks_uri": jwks_uri,
        "secret_key": settings.client_secret_key or current_app.config.get("SECRET_KEY"),
    }


@passport_cli.command("client")
@click.option("--personal", is_flag=True, help="A personal access client.")
@click.option("--password", is_flag=True, help="A password grant client.")
@click.option("--client", "client_credentials", is_flag=True,
              help="A client credentials (machine-to-machine) client.")
@click.option("--public", is_flag=True,
              help="A public client (no secret; PKCE): SPAs, mobile and CLI apps.")
@click.option("--device", is_flag=True,
              help="A public device client (RFC 8628 device authorization grant): TVs, CLIs.")
@click.option("--resource-server", is_flag=True,
              help="A resource server (an API): may introspect any token (RFC 7662), gets no "
                   "tokens itself.")
@click.option("--name", help="The client's name.")
@click.option("--redirect-uri", "redirect_uris", multiple=True,
              help="A redirect URI; repeat it or give a comma-separated list.")
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True,
              help="Where OpenID Connect logout may send the user back (RP-initiated logout); "
                   "repeat it or give a comma-separated list.")
@click.option("--resource", "resources", multiple=True, metavar="URI",
              help="A registered resource (RFC 8707) the client may ask tokens for; repeat it. "
                   "Without it: every registered resource.")
@click.option("--user-id", help="The id of the user who owns the client.")
@click.option("--first-party", is_flag=True, help="Skip the consent screen for this client.")
@click.option("--id-token-alg", type=click.Choice(keys_mod.ID_TOKEN_ALGORITHMS), default=None,
              help="The client's id_token_signed_response_alg [default: RS256].")
@click.option("--dpop-bound", is_flag=True,
              help="The client must use DPoP (RFC 9449 dpop_bound_access_tokens): token "
                   "requests without a DPoP proof are refused.")
@click.option("--require-par", is_flag=True,
              help="Accept this client's authorization requests only when pushed to "
                   "/oauth/par (RFC 9126 require_pushed_authorization_requests).")
@click.option("--auth-method", type=click.Choice(CONFIDENTIAL_AUTH_METHODS), default=None,
              help="How a confidential client authenticates (token_endpoint_auth_method) "
                   "[default: client_secret_basic or client_secret_post].")
@click.option("--jwks", "jwks_file", type=click.File("r"), default=None,
              help="private_key_jwt: a file holding the client's public JWK Set.")
@click.option("--jwks-uri", default=None,
              help="private_key_jwt: the https URL where the client publishes its JWK Set.")
@click.option("--json", "as_json", is_flag=True, help="Print the client as one JSON object.")
@_one_line_errors
def client_command(
    personal: bool,
    password: bool,
    client_credentials: bool,
    public: bool,
    device: bool,
    resource_server: bool,
    name: str | None,
    redirect_uris: tuple[str, ...],
    post_logout_redirect_uris: tuple[str, ...],
    resources: tuple[str, ...],
    user_id: str | None,
    first_party: bool,
    id_token_alg: str | None,
    dpop_bound: bool,
    require_par: bool,
    auth_method: str | None,
    jwks_file: Any,
    jwks_uri: str | None,
    as_json: bool,
) -> None:
    """Create a client. Without a kind flag: an authorization code client.

    Give at most one kind flag; --user-id must name an existing user (as the app's Flask-Login
    user loader finds it).
    """
    kinds = [(flag, kind) for flag, kind, given in (
        ("--personal", "personal_access", personal), ("--password", "password", password),
        ("--client", "client_credentials", client_credentials), ("--public", "public", public),
        ("--device", "device", device),
        ("--resource-server", "resource_server", resource_server)) if given]
    if len(kinds) > 1:
        raise click.UsageError(f"Choose one kind of client: {' and '.join(f for f, _ in kinds)} "
                               "were given together.")
    kind = kinds[0][1] if kinds else "authorization_code"
    key_options = _client_key_options(auth_method, jwks_file, jwks_uri)
    if user_id is not None:
        _check_user_exists(user_id)
    if not name:
        if not _interactive():
            raise click.ClickException("--name is required (stdin is not a terminal).")
        name = click.prompt("What should we name the client?")
    uris: list[str] = list(redirect_uris)
    if kind in ("authorization_code", "public") and not uris:
        if not _interactive():
            raise click.ClickException("--redirect-uri is required for this kind of client.")
        uris = [click.prompt("Where should we redirect the request after authorization?",
                             default=current_app.config.get("PASSPORT_DEFAULT_REDIRECT_URI",
                                                            "http://localhost/auth/callback"))]
    state = passport_state()
    unknown = [uri for uri in resources if uri not in state.resources()]
    if unknown:
        raise click.BadParameter(f"{unknown[0]!r} is not a registered resource (see "
                                 "PASSPORT_RESOURCES and passport.add_resource).",
                                 param_hint="--resource")
    created = create_client(state.db.session(), state.models, name=name or "", kind=kind,
                            redirect_uris=uris, user_id=user_id, first_party=first_party,
                            post_logout_redirect_uris=post_logout_redirect_uris or None,
                            id_token_signed_response_alg=id_token_alg,
                            allowed_resources=list(resources) or None,
                            dpop_bound_access_tokens=dpop_bound,
                            require_pushed_authorization_requests=require_par, **key_options)
    state.db.session.commit()
    if as_json:
        click.echo(json.dumps(created.to_dict()))
        return
    click.echo("New client created successfully.")
    click.echo(f"Client ID: {created.client.id}")
    if created.secret:
        click.echo(f"Client secret: {created.secret}")
        click.echo("Store the secret now: it is shown only once.")


@passport_cli.command("purge")
@click.option("--revoked", is_flag=True, help="Only purge revoked tokens and codes.")
@click.option("--expired", is_flag=True, help="Only purge expired tokens and codes.")
@click.option("--hours", default=7 * 24, show_default=True, type=click.IntRange(min=0),
              help="Only purge what expired or was created more than this many hours ago.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--unused-registrations", "unused_days", type=click.IntRange(min=1), default=None,
              metavar="DAYS", help="Instead, delete dynamically registered clients (RFC 7591) "
              "that got no token for DAYS days, or were deleted, with their tokens.")
@_one_line_errors
def purge_command(revoked: bool, expired: bool, hours: int, batch_size: int,
                  unused_days: int | None) -> None:
    """Delete revoked and/or expired tokens, auth codes and unanswered consent pages, in
    batches.

    Each batch is its own short transaction, so the server keeps serving requests meanwhile. On a
    terminal a progress bar per table shows how far it got.
    """
    if unused_days is not None and not revoked and not expired:
        _purge_registrations(unused_days)
        return
    if not revoked and not expired:
        revoked = expired = True
    state = passport_state()
    session, models = state.db.session(), state.models
    older_than = timedelta(hours=hours)
    if sys.stdout.isatty():
        totals = count_purgeable(session, models, revoked=revoked, expired=expired,
                                 older_than=older_than)
        bars: dict[str, Any] = {}

        def progress(table: str, done: int) -> None:
            if table not in bars:
                for other in bars.values():
                    other.render_finish()
                bars.clear()
                bars[table] = click.progressbar(
                    length=max(totals[table], 1), label=f"{table:15s}", show_pos=True
                )
            bars[table].update(done)

        counts = purge_tokens(session, models, revoked=revoked, expired=expired,
                              older_than=older_than, batch_size=batch_size, progress=progress)
        for bar in bars.values():
            bar.render_finish()
    else:
        counts = purge_tokens(session, models, revoked=revoked, expired=expired,
                              older_than=older_than, batch_size=batch_size)
    click.echo(
        "Purged {refresh_tokens} refresh tokens, {access_tokens} access tokens and "
        "{auth_codes} auth codes.".format(**counts)
    )
    if counts.get("device_codes"):
        click.echo(f"Purged {counts['device_codes']} device codes.")
    if counts.get("pending_authorizations"):
        click.echo(f"Purged {counts['pending_authorizations']} unanswered consent pages.")
    if counts.get("pushed_authorizations"):
        click.echo(f"Purged {counts['pushed_authorizations']} unused pushed authorization "
                   "requests.")
    if counts.get("used_jtis"):
        click.echo(f"Purged {counts['used_jtis']} expired single-use values.")


def _purge_registrations(days: int) -> None:
    from ..oauth2.registration import purge_unused

    state = passport_state()
    count = purge_unused(state.db.session, state.models, older_than=timedelta(days=days))
    state.db.session.commit()
    click.echo(f"Purged {count} unused registered clients.")


def _purge_plan(models: Any, *, revoked: bool, expired: bool, older_than: timedelta
                ) -> list[tuple[str, Any, list[Any], Any]]:
    """Per table: the conditions of purgeable rows, one by one (an ``OR`` of them would defeat
    the ``expires_at`` index and scan the whole table for every batch), and a condition checked
    row by row on the batch at delete time (``None``: none)."""
    cutoff = utcnow() - older_than
    RefreshToken, AccessToken, AuthCode = models.RefreshToken, models.AccessToken, models.AuthCode

    def conditions(model: Any) -> list[Any]:
        found = []
        if expired:
            found.append(model.expires_at < cutoff)
        if revoked:
            found.append(sa.and_(model.revoked.is_(True), model.created_at < cutoff))
        return found

    # An access token is kept while a refresh token still points at it. Checked on each batch
    # of ids (an indexed lookup per row), not in the batch query, where PostgreSQL would plan
    # an anti-join that scans both tables for every batch.
    no_refresh = ~sa.exists().where(RefreshToken.access_token_id == AccessToken.id)
    plan: list[tuple[str, Any, list[Any], Any]] = [
        ("refresh_tokens", RefreshToken, conditions(RefreshToken), None),
        ("access_tokens", AccessToken, conditions(AccessToken), no_refresh),
        ("auth_codes", AuthCode, conditions(AuthCode), None),
    ]
    DeviceCode = getattr(models, "DeviceCode", None)
    if DeviceCode is not None:
        # Device codes (RFC 8628): "revoked" means used or denied.
        device: list[Any] = []
        if expired:
            device.append(DeviceCode.expires_at < cutoff)
        if revoked:
            device.append(sa.and_(DeviceCode.status.in_(("consumed", "denied")),
                                  DeviceCode.created_at < cutoff))
        plan.append(("device_codes", DeviceCode, device, None))
    Pending = getattr(models, "PendingAuthorization", None)
    if Pending is not None and expired:
        # Consent pages never answered (an answered one is deleted at once).
        plan.append(("pending_authorizations", Pending, [Pending.expires_at < cutoff], None))
    Pushed = getattr(models, "PushedAuthorization", None)
    if Pushed is not None and expired:
        # Pushed authorization requests never used (a used one is deleted at once).
        plan.append(("pushed_authorizations", Pushed, [Pushed.expires_at < cutoff], None))
    UsedJti = getattr(models, "UsedJti", None)
    if UsedJti is not None and expired:
        # Single-use values past their expiry: a replay of one is refused by its own time check.
        plan.append(("used_jtis", UsedJti, [UsedJti.expires_at < cutoff], None))
    return plan


def count_purgeable(session: Any, models: Any, *, revoked: bool, expired: bool,
                    older_than: timedelta) -> dict[str, int]:
    """About how many rows :func:`purge_tokens` will delete, per table, for a progress bar (an
    upper bound for access tokens: those a live refresh token still points at are kept)."""
    counts: dict[str, int] = {}
    for key, model, conds, _ in _purge_plan(models, revoked=revoked, expired=expired,
                                            older_than=older_than):
        where = sa.or_(*conds) if conds else sa.false()
        counts[key] = int(session.scalar(sa.select(sa.func.count()).select_from(model)
                                         .where(where)) or 0)
    session.rollback()
    return counts


def purge_tokens(
    session: Any,
    models: Any,
    *,
    revoked: bool,
    expired: bool,
    older_than: timedelta,
    batch_size: int = 1000,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Delete purgeable rows in batches, committing each, so the tables stay available.

    Each condition walks the table once in primary-key order (keyset pagination), so the total
    work is linear in the table size however many batches it takes; ``progress(table, n)`` is
    called after each batch with the number of rows just deleted.
    """
    plan = _purge_plan(models, revoked=revoked, expired=expired, older_than=older_than)
    counts = {key: 0 for key, *_ in plan}
    for key, model, conds, keep in plan:
        for where in conds:
            last: Any = None
            while True:
                query = sa.select(model.id).where(where)
                if last is not None:
                    query = query.where(model.id > last)
                ids = list(session.scalars(query.order_by(model.id).limit(batch_size)))
                if not ids:
                    break
                delete = sa.delete(model).where(model.id.in_(ids))
                if keep is not None:
                    delete = delete.where(keep)
                deleted = session.execute(
                    delete.execution_options(synchronize_session=False)
                ).rowcount
                session.commit()
                counts[key] += deleted
                last = ids[-1]
                if progress is not None:
                    progress(key, len(ids))
    return counts


# -- key rotation and `flask passport check` -------------------------------------------------


def _rotate_or_prune(*, rotate: bool, prune: bool, force: bool, length: int,
                     kind: str | None) -> None:
    from ..jose.key_rotation import longest_token_lifetime, prune_keys, rotate_keys

    state = passport_state()
    settings = state.settings
    if rotate:
        old_kid, new_kid = rotate_keys(settings.key_path, kind=kind, bits=length)
        _ensure_id_token_key(force=False, length=length)
        state.reset_keys()
        click.echo(f"Rotated: new signing key {new_kid}; retired key {old_kid} keeps verifying "
                   "until its tokens expire. Restart running processes to sign with the new key.")
    if prune:
        client_lifetimes: list[int] = []
        try:
            Client = state.models.Client
            client_lifetimes = [v for v in state.db.session.scalars(
                sa.select(Client.access_token_lifetime).where(
                    Client.access_token_lifetime.is_not(None))) if v]
        except SQLAlchemyError:
            state.db.session.rollback()
        keep_for = longest_token_lifetime(settings, client_lifetimes)
        dropped = prune_keys(settings.key_path, keep_for=keep_for, force=force)
        state.reset_keys()
        click.echo(f"Pruned {len(dropped)} retired key(s)" + (f": {', '.join(dropped)}."
                                                              if dropped else "."))


@passport_cli.command("check")
@click.option("--fail-level", type=click.Choice(["error", "warning"]), default="error",
              show_default=True, help="Exit non-zero on findings of this level or worse.")
def check_command(fail_level: str) -> None:
    """Report insecure settings (like Django's `manage.py check --deploy`)."""
    from .checks import ERROR, INFO, run_checks

    findings = run_checks(current_app)
    for finding in findings:
        click.echo(str(finding))
    errors = sum(f.level == ERROR for f in findings)
    issues = [f for f in findings if f.level != INFO]  # info findings are for planning only
    click.echo(f"System check identified {len(issues)} issue(s) ({errors} error(s))"
               + (f" and {len(findings) - len(issues)} note(s)." if len(issues) < len(findings)
                  else "."))
    if errors or (fail_level == "warning" and issues):
        sys.exit(1)
