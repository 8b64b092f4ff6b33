"""A small Sphinx extension that generates reference tables from the code itself.

* ``.. passport-settings::`` renders every key of :data:`flask_passport.settings.DEFAULTS` with its
  default and a description from :data:`DESCRIPTIONS`. A key without a description is a build
  warning, so (with ``-W``) a new setting cannot ship undocumented.
* ``.. passport-cli::`` renders every ``flask passport`` command with its options, read from the
  click group, so the CLI reference can never drift from the code.
* ``.. passport-sequence:: diagrams/x.seq`` draws a grant's flow as a sequence diagram (one
  lifeline per party, one numbered arrow per message), rendered by graphviz's ``dot``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.ext.graphviz import graphviz as graphviz_node
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

#: One line (RST allowed) per setting: what it does and why you would change it.
DESCRIPTIONS: dict[str, str] = {
    "PASSPORT_KEY_PATH": "Folder holding ``oauth-private.key`` and ``oauth-public.key``. "
    "``None`` means the app's instance folder. Same as :meth:`Passport.load_keys_from`.",
    "PASSPORT_PRIVATE_KEY": "The private key's PEM text. When unset, the ``PASSPORT_PRIVATE_KEY`` "
    "environment variable is read; a literal ``\\n`` in it is turned into a newline. "
    "Takes precedence over the key files.",
    "PASSPORT_PUBLIC_KEY": "The public key's PEM text (also read from the environment). "
    "Optional when the private key is given: it is derived from it. Must match the private key.",
    "PASSPORT_ID_TOKEN_PRIVATE_KEY": "PEM text of the RSA key that signs RS256 ID tokens when "
    "the signing key is EC or EdDSA (also read from the environment); else the file "
    "``oauth-id-token-private.key`` that ``flask passport keys --type ES256`` writes next to "
    "the pair. Published in the JWKS; never verifies an access token.",
    "PASSPORT_ACCESS_TOKEN_LIFETIME": "Lifetime of access tokens from the authorization code, "
    "password and refresh token grants. A ``timedelta`` or a number of seconds. "
    "Same as :meth:`Passport.tokens_expire_in`.",
    "PASSPORT_REFRESH_TOKEN_LIFETIME": "Lifetime of refresh tokens. Each refresh token is used "
    "once (rotation), so this bounds how long a client may stay idle. "
    "Same as :meth:`Passport.refresh_tokens_expire_in`.",
    "PASSPORT_PERSONAL_ACCESS_TOKEN_LIFETIME": "Lifetime of personal access tokens "
    "(:meth:`HasApiTokens.create_token`). "
    "Same as :meth:`Passport.personal_access_tokens_expire_in`.",
    "PASSPORT_CLIENT_CREDENTIALS_TOKEN_LIFETIME": "Lifetime of client credentials tokens. "
    "Same as :meth:`Passport.client_credentials_tokens_expire_in`.",
    "PASSPORT_AUTH_CODE_LIFETIME": "Lifetime of authorization codes. "
    "Same as :meth:`Passport.auth_codes_expire_in`.",
    "PASSPORT_ISSUER": "The ``iss`` claim of every token and the base of every published URL, "
    "e.g. ``https://auth.example.com``; fixed per app, never taken from the request's Host "
    "header. ``None``: ``PREFERRED_URL_SCHEME://SERVER_NAME`` (+ ``APPLICATION_ROOT``) when "
    "``SERVER_NAME`` is set; else ``http://localhost`` in debug or testing mode; else the "
    "first token or discovery request raises ``IssuerNotConfigured`` (and ``flask passport "
    "check`` reports ``passport.E006``). Protected routes check ``iss`` only when it is set.",
    "PASSPORT_AUDIENCE": "The ``aud`` claim. When set, tokens carry it and protected routes "
    "require it (unless ``PASSPORT_PROTECTED_RESOURCE`` names another identifier for them). "
    "``None``: tokens carry the protected resource, else the issuer, as audience; a token "
    "whose ``aud`` names someone else is refused (see :doc:`protecting-routes`).",
    "PASSPORT_PASSWORD_GRANT": "Turn on the password grant (off by default, see "
    ":doc:`password-grant`). Same as :meth:`Passport.enable_password_grant`.",
    "PASSPORT_IMPLICIT_GRANT": "Turn on the implicit grant (off by default, see :doc:`implicit`). "
    "Same as :meth:`Passport.enable_implicit_grant`.",
    "PASSPORT_PKCE_PLAIN": "Accept the ``plain`` PKCE method besides ``S256`` (off by default; "
    "RFC 9700 §2.1.1 says use ``S256``).",
    "PASSPORT_PKCE_REQUIRED": "Which clients must use PKCE with the authorization code grant: "
    "``\"public\"`` (default; :rfc:`9700` §2.1.1) or ``\"all\"``, confidential clients too "
    "(draft-ietf-oauth-v2-1 §4.1.1; the ``oauth2.1`` and ``fapi2`` profiles set it). A code "
    "issued without a challenge is refused at the token endpoint when its client needed one.",
    "PASSPORT_PROFILE": "A security profile that pins other settings: ``None`` (default), "
    "``\"oauth2.1\"`` or ``\"fapi2\"`` (see :doc:`profiles`). A setting the app sets to "
    "something the profile refuses is an error at ``init_app``, never silently overridden.",
    "PASSPORT_PERSONAL_ACCESS_CLIENT_ID": "The client that issues personal access tokens. "
    "``None`` uses the newest personal access client. "
    "Same as :meth:`Passport.personal_access_client_id`.",
    "PASSPORT_URL_PREFIX": "Where the blueprint is mounted: ``/oauth/token`` by default.",
    "PASSPORT_REGISTER_ROUTES": "Register Passport's blueprint. Turn off to mount your own "
    "routes over the library functions.",
    "PASSPORT_MIGRATIONS": "Add Passport's Alembic revisions (branch ``passport``) to the app's "
    "Flask-Migrate, so ``flask db upgrade heads`` creates the ``oauth_*`` tables. Turn off to "
    "manage the tables with your own migrations or ``db.create_all()``.",
    "PASSPORT_COOKIE_NAME": "Name of the cookie that carries a token for your own JavaScript "
    "(see :doc:`javascript`). Same as :meth:`Passport.cookie`.",
    "PASSPORT_LEEWAY": "Seconds of clock skew tolerated when checking ``exp``, ``iat`` and "
    "``nbf``. Raise it a little only if resource servers' clocks drift.",
    "PASSPORT_REFRESH_TOKEN_REUSE_GRACE": "Seconds during which the refresh token that was just "
    "rotated may be presented once more (a lost response). ``0``: any reuse revokes the whole "
    "family. A token revoked for any other reason is never honoured.",
    "PASSPORT_RETIRED_PUBLIC_KEYS": "PEM texts of retired public keys that still verify tokens, "
    "for keys kept in the environment (files use ``flask passport keys --rotate``).",
    "PASSPORT_RATELIMIT_ENABLED": "Rate-limit the token endpoint, the consent decision "
    "(``POST /oauth/authorize``) and the device endpoints (see :doc:`rate-limits`).",
    "PASSPORT_RATELIMIT_STORAGE_URI": "Where counters live: ``memory://`` for this app in this "
    "process, ``redis://host:6379/0`` (the ``redis`` extra) to share limits between processes "
    "and hosts.",
    "PASSPORT_RATELIMIT_STRATEGY": "The ``limits`` strategy of the per-client and per-IP "
    "limits: ``fixed-window``, ``moving-window`` or ``sliding-window-counter`` (the failure "
    "lockouts always count in fixed windows).",
    "PASSPORT_RATELIMIT_KEY_PREFIX": "Prefix of the counters' keys in the storage.",
    "PASSPORT_RATELIMIT_PER_CLIENT": "Requests per authenticated client, e.g. ``60/minute`` "
    "(a public client counts once its grant succeeded); ``None`` turns this limit off.",
    "PASSPORT_RATELIMIT_PER_IP": "Requests per remote address (put ``ProxyFix`` in front behind "
    "a proxy); ``None`` turns this limit off.",
    "PASSPORT_RATELIMIT_PASSWORD_FAILURES": "Failed password-grant attempts per username before "
    "a lockout answers 429 (each attempt counted before its password is checked); ``None`` "
    "turns the lockout off.",
    "PASSPORT_TOKEN_CACHE_TTL": "Seconds a verified access token is reused without a database "
    "read (``0``: off). Revocations made in the same process apply at once; revocations in other "
    "processes apply within this many seconds (see :doc:`protecting-routes`).",
    "PASSPORT_TOKEN_CACHE_SIZE": "Most tokens the verified-token cache keeps per process (least "
    "recently used are dropped).",
    "PASSPORT_TOKEN_CACHE_USERS": "With the token cache on, also reuse the token's user (a "
    "SQLAlchemy model instance, copied into each request's session without a query), so a cache "
    "hit reads nothing from the database; changes made to the user by another process show "
    "within ``PASSPORT_TOKEN_CACHE_TTL`` seconds. ``False`` loads the user on every request.",
    "PASSPORT_TOKEN_CACHE_BROADCAST_URL": "A Redis URL (``redis://host:6379/0``): every "
    "revocation is published there and every process's token cache drops the token at once; "
    "the cache is only trusted while its listener's subscription answers (see "
    ":doc:`protecting-routes`). "
    "Needs ``pip install flask-passport[redis]``. ``None``: off.",
    "PASSPORT_TOKEN_CACHE_BROADCAST_CHANNEL": "The Redis pub/sub channel of those revocations; "
    "give each authorization server sharing a Redis its own (channels ignore the URL's "
    "database number).",
    "PASSPORT_COOKIE_LIFETIME": "Lifetime of the SPA API cookie (see :doc:`javascript`); it is "
    "reissued on every GET page view of a logged-in user.",
    "PASSPORT_DEVICE_CODE_LIFETIME": "How long a device code and its user code stay usable "
    "(:doc:`device-flow`; RFC 8628 ``expires_in``). "
    "Same as :meth:`Passport.device_codes_expire_in`.",
    "PASSPORT_DEVICE_CODE_INTERVAL": "Seconds a device must wait between polls of the token "
    "endpoint (RFC 8628 ``interval``); a faster poll gets ``slow_down`` and 5 more seconds. "
    "``0`` turns the check off.",
    "PASSPORT_RATELIMIT_USER_CODE_FAILURES": "Wrong user codes one signed-in user may enter on "
    "the device verification page before it answers 429 (RFC 8628 §5.1); ``None`` turns this "
    "limit off.",
    "PASSPORT_OIDC_ENABLED": "OpenID Connect (see :doc:`openid-connect`): the ``openid`` scope "
    "yields an ``id_token``; ``/oauth/userinfo``, ``/oauth/logout`` and "
    "``/.well-known/openid-configuration`` answer; the OIDC scopes are defined at ``init_app``.",
    "PASSPORT_OIDC_SCOPES": "The OpenID Connect scopes defined automatically (a list or a "
    "space-separated string of ``openid``, ``profile``, ``email``, ``address``, ``phone``); add "
    "``address`` and ``phone`` when your user model provides those claims.",
    "PASSPORT_ID_TOKEN_LIFETIME": "Lifetime of ID tokens (a timedelta or seconds).",
    "PASSPORT_REGISTRATION": "Dynamic client registration (RFC 7591, :doc:`registration`): "
    "``None`` (off, no endpoint), ``\"open\"`` (anyone may register a public client with "
    "loopback or https redirect URIs) or ``\"token\"`` (an initial access token is needed).",
    "PASSPORT_REGISTRATION_INITIAL_TOKENS": "The SHA-256 hex digests (never the tokens) of the "
    "initial access tokens that may register clients when ``PASSPORT_REGISTRATION`` is "
    "``\"token\"``.",
    "PASSPORT_REPLAY_STORE_URL": "Where single-use values (DPoP proof and client assertion "
    "``jti``) are remembered until they expire: ``None`` the database (``oauth_used_jtis``, shared "
    "by every process using it), ``redis://...`` Redis (the ``redis`` extra), or ``memory://`` "
    "(this process only).",
    "PASSPORT_RESOURCES": "The protected resources clients may name with the ``resource`` "
    "parameter (RFC 8707, :doc:`resource-indicators`): a list of dicts ``{\"uri\": ..., "
    "\"name\": ..., \"scopes\": [...] or None}``. ``uri`` (an absolute URI without fragment) "
    "becomes the token's ``aud``, ``name`` is shown on the consent screen, ``scopes`` lists the "
    "scope ids meaningful there (``None``: any). Checked when the settings are read.",
    "PASSPORT_PROTECTED_RESOURCE": "The app's protected resource (:rfc:`9728`): a resource URI "
    "(``https://``, ``http://`` only on a loopback host, no fragment), a dict with ``resource``, "
    "``name``, ``scopes``, ``authorization_servers`` (default: the issuer) and "
    "``documentation``, or a list of them. Their metadata is published at "
    "``/.well-known/oauth-protected-resource[/<path>]``, 401 and 403 challenges point at it, "
    "the first one is the ``aud`` tokens get by default and the one the app's routes require. "
    "Same as :meth:`Passport.protected_resource`; see :doc:`protected-resource-metadata`.",
    "PASSPORT_DPOP": "DPoP (:rfc:`9449`, :doc:`dpop`): accept ``DPoP`` proofs at the token "
    "endpoint and issue DPoP-bound tokens (``cnf.jkt``, ``token_type: DPoP``); protected routes "
    "then need the proof of the key. Off: the header is ignored and tokens stay Bearer tokens.",
    "PASSPORT_DPOP_ALGS": "The algorithms a DPoP proof may be signed with (a list or a "
    "space/comma separated string of ``ES256``, ``ES384``, ``RS256``, ``PS256``, ``EdDSA``, "
    "``Ed25519``); "
    "published as ``dpop_signing_alg_values_supported``. ``none`` and HMAC algorithms are "
    "refused.",
    "PASSPORT_DPOP_PROOF_LIFETIME": "Seconds a proof's ``iat`` stays acceptable (plus "
    "``PASSPORT_LEEWAY``); its ``jti`` is remembered that long in the replay store.",
    "PASSPORT_DPOP_NONCE": "Require server-provided nonces in proofs (:rfc:`9449` §8, §9): a "
    "proof without the current nonce is answered ``use_dpop_nonce`` with a ``DPoP-Nonce`` "
    "header. Stateless (an HMAC of a five-minute window keyed from ``SECRET_KEY``), so every "
    "process with the same ``SECRET_KEY`` accepts the same nonces.",
    "PASSPORT_DPOP_REQUIRED": "Refuse every token request without a DPoP proof "
    "(``invalid_dpop_proof``); per client, ``dpop_bound_access_tokens`` does the same.",
    "PASSPORT_CLIENT_AUTH_METHODS": "The client authentication methods accepted at the token, "
    "revocation, introspection and device endpoints and advertised in the metadata: some of "
    "``client_secret_basic``, ``client_secret_post``, ``none``, ``private_key_jwt`` and "
    "``client_secret_jwt`` (a list or a space-separated string). Each client is also held to its "
    "own registered method. See :doc:`client-authentication`.",
    "PASSPORT_CLIENT_SECRET_KEY": "The key (a long random string) from which the AES-GCM key "
    "that encrypts the secrets of ``client_secret_jwt`` clients is derived; ``None`` uses "
    "``SECRET_KEY``, so rotating that locks those clients out. Set it before creating such "
    "clients. See :doc:`client-authentication`.",
    "PASSPORT_PAR_LIFETIME": "Seconds a ``request_uri`` from ``/oauth/par`` stays usable "
    "(:doc:`par`), 5 to 600.",
    "PASSPORT_REQUIRE_PAR": "``True``: ``/oauth/authorize`` takes only pushed requests (a "
    "``request_uri`` from ``/oauth/par``) from every client; a client's "
    "``require_pushed_authorization_requests`` does it for that client (:doc:`par`).",
    "PASSPORT_OUTBOUND_ALLOW_PRIVATE": "Development only: let outbound fetches (client metadata "
    "documents, ``jwks_uri``) reach private, loopback and link-local addresses, and loopback over "
    "plain ``http``. Off in production: a client-chosen URL must not reach internal hosts "
    "(SSRF). ``flask passport check`` flags it with an ``https`` issuer. See :doc:`outbound`.",
    "PASSPORT_CLIENT_ID_METADATA_DOCUMENTS": "Accept an ``https`` URL as ``client_id`` and "
    "read the public client it names from the JSON document there (OAuth Client ID Metadata "
    "Documents, what the MCP authorization spec prefers).",
}


def format_default(value: Any) -> str:
    """A default as readers write it in their config."""
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
            if seconds % size == 0:
                return f"``timedelta({unit}={seconds // size})``"
        return f"``timedelta(seconds={seconds})``"
    return f"``{value!r}``"


def settings_rst() -> list[str]:
    """The settings table as RST lines; warns about keys without a description."""
    from flask_passport.settings import DEFAULTS

    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 30 20 50", "",
             "   * - Key", "     - Default", "     - What it does"]
    for key, value in DEFAULTS.items():
        description = DESCRIPTIONS.get(key)
        if description is None:
            logger.warning("passport-settings: %s has no description in docs/_ext", key)
            description = "(undocumented)"
        lines += [f"   * - ``{key}``", f"     - {format_default(value)}", f"     - {description}"]
    for key in DESCRIPTIONS.keys() - DEFAULTS.keys():
        logger.warning("passport-settings: %s is described but is not a setting", key)
    return lines


def _option_rst(param: click.Parameter) -> list[str]:
    if not isinstance(param, click.Option):
        return [f"``{param.name.upper() if param.name else ''}`` (argument)", ""]
    names = ", ".join(f"``{opt}``" for opt in param.opts)
    extra: list[str] = []
    if isinstance(param.type, click.Choice):
        extra.append("one of " + ", ".join(f"``{c}``" for c in param.type.choices))
    elif isinstance(param.type, click.types._NumberRangeBase):  # IntRange
        extra.append(f"{param.type.min} to {param.type.max}" if param.type.max is not None
                     else f"at least {param.type.min}")
    if param.show_default and param.default is not None and not param.is_flag:
        extra.append(f"default ``{param.default}``")
    if param.multiple:
        extra.append("repeatable")
    help_text = (param.help or "").strip()
    suffix = f" ({'; '.join(extra)})" if extra else ""
    return [f"{names}", f"   {help_text}{suffix}".rstrip(), ""]


def cli_rst(group: click.Group, prefix: str = "flask") -> list[str]:
    """Every command of ``group`` as a section with its help and options."""
    lines: list[str] = []
    ctx = click.Context(group, info_name=group.name)
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        title = f"``{prefix} {group.name} {name}``"
        lines += [title, "-" * len(title), ""]
        lines += [(command.help or "").strip(), ""]
        usage = " ".join(command.collect_usage_pieces(ctx))
        lines += ["::", "", f"   {prefix} {group.name} {name} {usage}".rstrip(), ""]
        params = [p for p in command.params if p.name != "help"]
        if params:
            lines += [".. rubric:: Options", ""]
            for param in params:
                lines += _option_rst(param)
    return lines


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("|", "\\n")
    return f'"{escaped}"'


def sequence_dot(text: str) -> str:
    """Turn a ``.seq`` description into dot source for a sequence diagram.

    The format: ``actors: key=Label|second line; key2=Label 2`` once, then one message a line,
    ``src -> dst: label|second line`` (``!>`` instead of ``->`` draws it red: an attack or an
    error). Each actor gets a lifeline of invisible points, one per message row, kept in
    columns by ``rank=same`` groups.
    """
    actors: list[tuple[str, str]] = []
    steps: list[tuple[str, str, str, bool]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("actors:"):
            for item in line[len("actors:"):].split(";"):
                key, _, label = item.strip().partition("=")
                actors.append((key.strip(), label.strip()))
            continue
        head, sep, label = line.partition(":")
        warn = "!>" in head
        src, arrow, dst = head.partition("!>" if warn else "->")
        if not sep or not arrow:
            raise ValueError(f"not a message line: {line!r} (expected 'src -> dst: label')")
        steps.append((src.strip(), dst.strip(), label.strip(), warn))
    keys = [key for key, _ in actors]
    for src, dst, _, _ in steps:
        for key in (src, dst):
            if key not in keys:
                raise ValueError(f"unknown actor {key!r}; declare it on the actors: line")
    rows = len(steps) + 1
    out = [
        "digraph sequence {",
        '  graph [nodesep=0.35, ranksep=0.38, splines=false, bgcolor="white", newrank=true];',
        "  node [fontsize=11]; edge [fontsize=10];",
    ]
    for key, label in actors:
        out.append(f'  {key}_h [label={_quote(label)}, shape=box, style="rounded,filled", '
                   'fillcolor="#eef3fb", color="#3b5b92"];')
        for i in range(rows):
            out.append(f'  {key}_{i} [shape=point, width=0.01, height=0.01, label=""];')
        chain = " -> ".join([f"{key}_h"] + [f"{key}_{i}" for i in range(rows)])
        out.append(f'  {chain} [arrowhead=none, style=dashed, color="#999999", weight=1000];')
    out.append("  { rank=same; " + " -> ".join(f"{k}_h" for k in keys) + " [style=invis]; }")
    for i in range(rows):
        out.append("  { rank=same; " + " -> ".join(f"{k}_{i}" for k in keys)
                   + " [style=invis]; }")
    for i, (src, dst, label, warn) in enumerate(steps, start=1):
        color = ', color="#a03030", fontcolor="#a03030"' if warn else ""
        text = _quote(f"{i}. {label}")
        constraint = "" if src == dst else ", constraint=false"
        out.append(f"  {src}_{i} -> {dst}_{i} [label={text}{constraint}{color}];")
    out.append("}")
    return "\n".join(out)


class SequenceDirective(SphinxDirective):
    """``.. passport-sequence:: diagrams/refresh.seq``: a sequence diagram from a ``.seq`` file."""

    required_arguments = 1
    option_spec = {"alt": str}

    def run(self) -> list[nodes.Node]:
        rel, path = self.env.relfn2path(self.arguments[0])
        self.env.note_dependency(rel)
        try:
            with open(path, encoding="utf-8") as fh:
                code = sequence_dot(fh.read())
        except (OSError, ValueError) as exc:
            return [self.state_machine.reporter.warning(
                f"passport-sequence {self.arguments[0]}: {exc}", line=self.lineno)]
        node = graphviz_node()
        node["code"] = code
        current = getattr(self.env, "current_document", None)  # Sphinx 8.2+
        docname = current.docname if current is not None else self.env.docname
        node["options"] = {"docname": docname}
        node["alt"] = self.options.get("alt", f"Sequence diagram: {self.arguments[0]}")
        node["classes"] = ["passport-sequence"]
        return [node]


def columns_rst() -> list[str]:
    """One table per ``oauth_*`` table, read from the default models' SQLAlchemy metadata."""
    from flask_sqlalchemy import SQLAlchemy

    from flask_passport.storage.models import build_models

    models = build_models(SQLAlchemy())
    lines: list[str] = []
    for kind in ("Client", "AccessToken", "RefreshToken", "AuthCode", "DeviceCode"):
        table = getattr(models, kind).__table__
        lines += [f".. list-table:: ``{table.name}`` (``passport.{kind}``)", "   :header-rows: 1",
                  "   :widths: 25 25 50", "", "   * - Column", "     - Type", "     - Notes"]
        for column in table.columns:
            notes = []
            if column.primary_key:
                notes.append("primary key")
            for fk in column.foreign_keys:
                notes.append(f"references ``{fk.target_fullname}``")
            if column.index:
                notes.append("indexed")
            if column.nullable and not column.primary_key:
                notes.append("nullable")
            kind_name = type(column.type).__name__
            if kind_name == "UTCDateTime":
                kind_name = "UTC datetime"
            length = getattr(column.type, "length", None)
            type_text = f"{kind_name}({length})" if length else kind_name
            lines += [f"   * - ``{column.name}``", f"     - {type_text}",
                      f"     - {', '.join(notes) or '-'}"]
        lines.append("")
    return lines


class _GeneratedDirective(SphinxDirective):
    has_content = False

    def lines(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        container = nodes.section() if self.name == "passport-cli" else nodes.container()
        container.document = self.state.document
        source = self.get_source_info()[0]
        content = StringList([line for line in self.lines()], source=source)
        self.state.nested_parse(content, self.content_offset, container, match_titles=True)
        return list(container.children)


class SettingsDirective(_GeneratedDirective):
    def lines(self) -> list[str]:
        return settings_rst()


class ColumnsDirective(_GeneratedDirective):
    def lines(self) -> list[str]:
        return columns_rst()


class CliDirective(_GeneratedDirective):
    def lines(self) -> list[str]:
        from flask_passport.cli import passport_cli

        return cli_rst(passport_cli)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("passport-settings", SettingsDirective)
    app.add_directive("passport-cli", CliDirective)
    app.add_directive("passport-sequence", SequenceDirective)
    app.add_directive("passport-columns", ColumnsDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
