"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

One function per operation: :func:`register` (``POST``), :func:`read`, :func:`update` and
:func:`delete` (``GET``/``PUT``/``DELETE`` on the client configuration endpoint). Each takes a
:class:`~.context.Context` and the parsed JSON body, and answers an :class:`OAuthResponse`.

The metadata is validated strictly (RFC 7591 §2) before anything is written; errors are RFC 7591
§3.2.2 ``invalid_redirect_uri`` or ``invalid_client_metadata``. The registration access token and
the client secret are stored only as SHA-256 digests and compared in constant time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..jose import secret_box, tokens
from ..jose.jwk import (
    ASYMMETRIC_ALGORITHMS,
    HMAC_ALGORITHMS,
    HMAC_SECRET_BYTES,
    JWKError,
    loads_jwks,
    parse_jwks,
)
from ..scopes import format_scope, parse_scope
from ..storage.clients import ClientError, validate_jwks_uri, validate_redirect_uri
from .client_keys import credential_kind, seals_secret
from .context import Context
from .errors import NO_STORE, OAuthError, OAuthResponse
from .text import is_display_name, is_plain_text

#: Grant types a registered client may ask for; ``client_credentials`` needs a secret.
REGISTRABLE_GRANTS = ("authorization_code", "refresh_token", "client_credentials")
#: RFC 7591 §2 ``token_endpoint_auth_method`` values this server honours.
AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post", "private_key_jwt",
                "client_secret_jwt")
#: Loopback hosts a redirect URI may use over plain ``http`` (RFC 8252 §7.3, §8.3).
LOOPBACK = ("127.0.0.1", "[::1]", "localhost")
#: Informational URLs (RFC 7591 §2) kept and returned as they were registered.
URL_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
#: Informational strings (RFC 7591 §2).
STRING_FIELDS = ("software_id", "software_version")
#: Fields a client must not send in an update (RFC 7592 §2.2).
SERVER_FIELDS = ("registration_access_token", "registration_client_uri",
                 "client_secret_expires_at", "client_id_issued_at")
MAX_REDIRECT_URIS = 20
MAX_CONTACTS = 10
MAX_STRING = 255

#: ``policy(metadata, client=None|client) -> dict | None``: the app's registration hook.
Policy = Callable[..., Mapping[str, Any] | None]


class RegistrationRefused(Exception):
    """Raised by a registration policy hook to refuse a request; the message is shown to the
    client as the ``error_description`` (never put secrets in it)."""


def invalid_metadata(description: str) -> OAuthError:
    return OAuthError("invalid_client_metadata", description)


def invalid_redirect_uri(description: str) -> OAuthError:
    return OAuthError("invalid_redirect_uri", description)


def invalid_token() -> OAuthError:
    """RFC 7592 §2: a bad registration access token (or an unknown client) is an RFC 6750 401."""
    return OAuthError("invalid_token", "The registration access token is not valid for this "
                      "client.", status=401,
                      headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


@dataclass(frozen=True)
class Metadata:
    """Validated client metadata, ready to be stored."""

    client_name: str
    redirect_uris: list[str]
    grant_types: list[str]
    auth_method: str
    scopes: list[str] | None
    extra: dict[str, Any]
    #: ``private_key_jwt``: the client's JWK Set (by value), as JSON text.
    jwks: str | None = None

    @property
    def public(self) -> bool:
        return self.auth_method == "none"

    @property
    def gets_secret(self) -> bool:
        """Whether the server issues a client_secret (every method but none and
        private_key_jwt, whose client proves a key it holds)."""
        return self.auth_method not in ("none", "private_key_jwt")

    def to_dict(self) -> dict[str, Any]:
        """The RFC 7591 §2 field names and values (what a policy hook sees and may return)."""
        data: dict[str, Any] = {
            **self.extra,
            "client_name": self.client_name,
            "redirect_uris": list(self.redirect_uris),
            "grant_types": list(self.grant_types),
        }
        if self.scopes is not None:
            data["scope"] = format_scope(self.scopes)
        return data


# -- validation (RFC 7591 §2) ---------------------------------------------------------------


def _string(data: Mapping[str, Any], key: str, *, max_length: int = MAX_STRING) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length \
            or not is_plain_text(value):
        raise invalid_metadata(f"{key} must be a non-empty string of at most {max_length} "
                               "characters, without control characters.")
    return value


def _client_name(data: Mapping[str, Any]) -> str | None:
    """``client_name`` (RFC 7591 §2), shown on the consent page: no bidirectional controls,
    which could make it read as another application's name there."""
    name = _string(data, "client_name")
    if name is not None and not is_display_name(name):
        raise invalid_metadata("client_name must not contain bidirectional control characters "
                               "(U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C).")
    return name


def _string_list(data: Mapping[str, Any], key: str, max_items: int) -> list[str] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > max_items \
            or not all(isinstance(v, str) for v in value):
        raise invalid_metadata(f"{key} must be a list of at most {max_items} strings.")
    return value


def _web_uri(uri: str) -> tuple[str, str]:
    """Scheme and host of ``uri``; http only to loopback hosts, never userinfo or fragments."""
    try:
        validate_redirect_uri(uri)
        parts = urlsplit(uri)
        host = parts.hostname or ""
    except (ClientError, ValueError) as exc:
        raise invalid_redirect_uri(str(exc) if isinstance(exc, ClientError)
                                   else "A redirect URI is not a valid URI.") from None
    scheme = parts.scheme.lower()
    if scheme == "http" and (f"[{host}]" if ":" in host else host) not in LOOPBACK:
        raise invalid_redirect_uri("A plain http redirect URI must point to a loopback host "
                                   "(127.0.0.1, [::1] or localhost); use https.")
    return scheme, host


def _redirect_uris(data: Mapping[str, Any], *, open_mode: bool, native: bool) -> list[str]:
    uris = data.get("redirect_uris")
    if uris is None:
        return []
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise invalid_redirect_uri("redirect_uris must be a list of strings.")
    if len(uris) > MAX_REDIRECT_URIS:
        raise invalid_redirect_uri(f"At most {MAX_REDIRECT_URIS} redirect URIs may be "
                                   "registered.")
    result: list[str] = []
    for uri in uris:
        scheme, _ = _web_uri(uri)
        # Private-use schemes (RFC 8252 §7.1) belong to native apps, and an open endpoint
        # registers loopback and https only: anyone may call it.
        if scheme not in ("http", "https") and (open_mode or not native):
            raise invalid_redirect_uri("Redirect URIs must use https, or http on a loopback "
                                       "host" + ("." if open_mode else
                                                 " (custom schemes need application_type "
                                                 "native)."))
        if uri not in result:
            result.append(uri)
    return result


def _grant_types(data: Mapping[str, Any]) -> list[str]:
    grants = _string_list(data, "grant_types", len(REGISTRABLE_GRANTS) + 1)
    grants = list(dict.fromkeys(grants if grants is not None else ["authorization_code"]))
    unknown = [g for g in grants if g not in REGISTRABLE_GRANTS]
    if unknown or not grants:
        raise invalid_metadata("grant_types may only hold "
                               f"{', '.join(REGISTRABLE_GRANTS)}.")
    # RFC 7591 §2.1: response_types must agree with grant_types; only "code" exists here.
    response_types = _string_list(data, "response_types", 2)
    wanted = ["code"] if "authorization_code" in grants else []
    if response_types is not None and list(dict.fromkeys(response_types)) != wanted:
        raise invalid_metadata("response_types must be [\"code\"] with the authorization_code "
                               "grant, and empty without it.")
    return grants


def _scopes(ctx: Context, data: Mapping[str, Any]) -> list[str] | None:
    value = _string(data, "scope", max_length=2000)
    if value is None:
        return None
    scopes = parse_scope(value)
    unknown = [s for s in scopes if not ctx.scopes.has(s)]
    if unknown or not scopes:
        raise invalid_metadata("scope holds a scope this server does not define.")
    return scopes


def _extra(data: Mapping[str, Any], auth_method: str, application_type: str,
           id_token_alg: str | None) -> dict[str, Any]:
    extra: dict[str, Any] = {"token_endpoint_auth_method": auth_method,
                             "application_type": application_type}
    for key in URL_FIELDS:
        url = _string(data, key, max_length=2000)
        if url is not None:
            try:
                scheme, _ = _web_uri(url)
            except OAuthError as exc:  # not a redirect URI: RFC 7591 §3.2.2's other error
                raise invalid_metadata(f"{key}: {exc.description}") from None
            if scheme not in ("http", "https"):
                raise invalid_metadata(f"{key} must be an https URL.")
            extra[key] = url
    for key in STRING_FIELDS:
        value = _string(data, key)
        if value is not None:
            extra[key] = value
    contacts = _string_list(data, "contacts", MAX_CONTACTS)
    if contacts is not None:
        if not all(0 < len(c) <= MAX_STRING and is_plain_text(c) for c in contacts):
            raise invalid_metadata("contacts must be short strings without control characters.")
        extra["contacts"] = contacts
    if id_token_alg is not None:
        extra["id_token_signed_response_alg"] = id_token_alg
    signing_alg = _signing_alg(data, auth_method)
    if signing_alg is not None:
        extra["token_endpoint_auth_signing_alg"] = signing_alg
    bound = data.get("dpop_bound_access_tokens")
    if bound is not None:
        if not isinstance(bound, bool):
            raise invalid_metadata("dpop_bound_access_tokens must be a boolean.")
        extra["dpop_bound_access_tokens"] = bound  # RFC 9449 §5.2
    require_par = data.get("require_pushed_authorization_requests", False)
    if not isinstance(require_par, bool):  # RFC 9126 §6: a JSON boolean
        raise invalid_metadata("require_pushed_authorization_requests must be true or false.")
    if require_par:
        extra["require_pushed_authorization_requests"] = True
    return extra


def _signing_alg(data: Mapping[str, Any], auth_method: str) -> str | None:
    """OpenID Connect Dynamic Registration §2 ``token_endpoint_auth_signing_alg``: the one
    algorithm the client's assertions may use, fitting its method (never ``none``); client
    authentication then refuses any other."""
    alg = _string(data, "token_endpoint_auth_signing_alg", max_length=16)
    if alg is None:
        return None
    allowed: tuple[str, ...] = ()
    if auth_method == "private_key_jwt":
        allowed = ASYMMETRIC_ALGORITHMS
    elif auth_method == "client_secret_jwt":
        allowed = tuple(HMAC_ALGORITHMS)
    if alg not in allowed:
        raise invalid_metadata("token_endpoint_auth_signing_alg must be one of "
                               f"{', '.join(allowed) or 'none'} for {auth_method}.")
    return alg


def _auth_method(ctx: Context, data: Mapping[str, Any], *, open_mode: bool) -> str:
    """RFC 7591 §2 ``token_endpoint_auth_method``: one this server has enabled."""
    auth_method = _string(data, "token_endpoint_auth_method")
    if auth_method is None:
        # RFC 7591 §2's default is client_secret_basic; the open endpoint makes public
        # clients only, and §3.2.1 lets the server substitute a value it can honour.
        auth_method = "none" if open_mode else "client_secret_basic"
    if auth_method not in AUTH_METHODS or auth_method not in ctx.settings.client_auth_methods:
        offered = [m for m in AUTH_METHODS if m in ctx.settings.client_auth_methods]
        raise invalid_metadata("token_endpoint_auth_method must be one of "
                               f"{', '.join(offered)}.")
    if open_mode and auth_method != "none":
        raise invalid_metadata("This server registers only public clients "
                               "(token_endpoint_auth_method none) without an initial access "
                               "token.")
    return auth_method


def validate(ctx: Context, data: Mapping[str, Any], *, open_mode: bool | None = None
             ) -> Metadata:
    """RFC 7591 §2: check every field this server understands; unknown fields are ignored.

    ``open_mode`` (default: ``PASSPORT_REGISTRATION == "open"``) applies the rules for metadata
    anyone may publish: public clients, https or loopback redirect URIs. Client ID metadata
    documents are validated that way too.
    """
    from ..jose.keys import ID_TOKEN_ALGORITHMS

    if open_mode is None:
        open_mode = ctx.settings.registration == "open"
    application_type = _string(data, "application_type") or "web"
    if application_type not in ("web", "native"):
        raise invalid_metadata("application_type must be web or native.")
    auth_method = _auth_method(ctx, data, open_mode=open_mode)
    grants = _grant_types(data)
    if "client_credentials" in grants and (auth_method == "none" or open_mode):
        raise invalid_metadata("The client_credentials grant needs a confidential client.")
    uris = _redirect_uris(data, open_mode=open_mode, native=application_type == "native")
    if "authorization_code" in grants and not uris:
        raise invalid_redirect_uri("The authorization_code grant needs at least one redirect "
                                   "URI.")
    id_token_alg = _string(data, "id_token_signed_response_alg")
    if id_token_alg is not None and id_token_alg not in ID_TOKEN_ALGORITHMS:
        raise invalid_metadata("id_token_signed_response_alg must be one of "
                               f"{', '.join(ID_TOKEN_ALGORITHMS)}.")
    jwks = _jwks(data, auth_method)
    extra = _extra(data, auth_method, application_type, id_token_alg)
    if jwks is not None:
        extra["jwks"] = json.loads(jwks)
    elif auth_method == "private_key_jwt":
        extra["jwks_uri"] = data["jwks_uri"]
    return Metadata(
        client_name=_client_name(data) or "Registered client",
        redirect_uris=uris,
        grant_types=grants,
        auth_method=auth_method,
        scopes=_scopes(ctx, data),
        extra=extra,
        jwks=jwks,
    )


def _jwks(data: Mapping[str, Any], auth_method: str) -> str | None:
    """RFC 7591 §2 ``jwks`` / ``jwks_uri``: one of them for ``private_key_jwt`` (never both),
    neither otherwise. A JWKS holding a private key is refused (jose/jwk.py)."""
    jwks, jwks_uri = data.get("jwks"), data.get("jwks_uri")
    if jwks is not None and jwks_uri is not None:
        raise invalid_metadata("Send jwks or jwks_uri, not both (RFC 7591 §2).")
    if auth_method != "private_key_jwt":
        if jwks is not None or jwks_uri is not None:
            raise invalid_metadata("jwks and jwks_uri are for token_endpoint_auth_method "
                                   "private_key_jwt.")
        return None
    if jwks_uri is not None:
        try:
            validate_jwks_uri(jwks_uri)
        except ClientError as exc:
            raise invalid_metadata(str(exc)) from None
        return None
    if jwks is None:
        raise invalid_metadata("private_key_jwt needs the client's public keys: jwks or "
                               "jwks_uri.")
    try:
        text = json.dumps(jwks, separators=(",", ":"), allow_nan=False)
        parse_jwks(loads_jwks(text))
    except (JWKError, ValueError) as exc:
        message = str(exc) if isinstance(exc, JWKError) else "jwks is not a JWK Set."
        raise invalid_metadata(f"jwks: {message}") from None
    return text


def _apply_policy(ctx: Context, data: Mapping[str, Any], policy: Policy | None,
                  client: Any = None) -> Metadata:
    """Validate, let the app's hook refuse or adjust, and validate what it returned."""
    metadata = validate(ctx, data)
    if policy is None:
        return metadata
    try:
        adjusted = policy(metadata.to_dict(), client=client)
    except RegistrationRefused as exc:
        raise OAuthError("invalid_client_metadata", str(exc) or "Registration refused.",
                         status=400) from None
    return metadata if adjusted is None else validate(ctx, adjusted)


# -- responses (RFC 7591 §3.2.1) -------------------------------------------------------------


def client_information(client: Any, *, configuration_uri: str, access_token: str,
                       secret: str | None = None) -> dict[str, Any]:
    """The client information response: what was registered, and how to manage it."""
    body: dict[str, Any] = {
        "client_id": client.id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "client_name": client.name,
        "redirect_uris": list(client.redirect_uris or ()),
        "grant_types": list(client.grant_types or ()),
        "response_types": ["code"] if client.has_grant_type("authorization_code") else [],
        **(client.registration_metadata or {}),
        "registration_access_token": access_token,
        "registration_client_uri": configuration_uri,
    }
    if client.allowed_scopes is not None:
        body["scope"] = format_scope(client.allowed_scopes)
    if secret is not None:
        body["client_secret"] = secret
    if client.secret_hash is not None:
        body["client_secret_expires_at"] = 0  # RFC 7591 §3.2.1: 0 = never expires
    return body


def _answer(status: int, body: dict[str, Any]) -> OAuthResponse:
    return OAuthResponse(status, body, dict(NO_STORE))


# -- operations ------------------------------------------------------------------------------


def check_initial_token(ctx: Context, presented: str | None) -> bool:
    """Whether ``presented`` is one of the configured initial access tokens.

    Every digest is compared (no early exit), each in constant time."""
    if not presented:
        return False
    digest = tokens.hash_secret(presented)
    found = False
    for stored in ctx.settings.registration_initial_tokens:
        found = tokens.secrets_equal(digest, stored) | found
    return found


def register(ctx: Context, data: Mapping[str, Any], *, initial_token: str | None,
             configuration_uri: Callable[[str], str], policy: Policy | None = None
             ) -> OAuthResponse:
    """RFC 7591 §3: validate, store, answer 201 with the client information."""
    # Fail closed: every mode but "open" needs an initial access token.
    if ctx.settings.registration != "open" and not check_initial_token(ctx, initial_token):
        raise OAuthError("invalid_token", "A valid initial access token is needed to register.",
                         status=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    metadata = _apply_policy(ctx, data, policy)
    client = ctx.models.Client(
        id=tokens.new_id(), name=metadata.client_name, user_id=None, first_party=False,
        revoked=False, created_at=ctx.now(), updated_at=ctx.now(),
    )
    store_metadata(client, metadata)
    client.registered = True
    access_token = tokens.new_secret()
    client.registration_token_hash = tokens.hash_secret(access_token)
    nbytes = HMAC_SECRET_BYTES if seals_secret(metadata.auth_method) else 32
    secret = client.set_secret(nbytes) if metadata.gets_secret else None
    if seals_secret(metadata.auth_method) and secret is not None:
        client.secret_encrypted = _seal(ctx, client.id, secret)
    ctx.session.add(client)
    ctx.session.flush()
    body = client_information(client, configuration_uri=configuration_uri(client.id),
                              access_token=access_token, secret=secret)
    ctx.commit()
    return _answer(201, body)


def _seal(ctx: Context, client_id: str, secret: str) -> str:
    """The encrypted copy a ``client_secret_jwt`` client's secret needs (jose/secret_box.py)."""
    try:
        return secret_box.seal(ctx.secret_box_key, client_id, secret)
    except secret_box.SecretBoxError:
        raise invalid_metadata("client_secret_jwt is not available on this server.") from None


def store_metadata(client: Any, metadata: Metadata) -> None:
    """Copy validated metadata onto a client row (registration and metadata documents)."""
    client.name = metadata.client_name
    client.token_endpoint_auth_method = metadata.auth_method
    client.jwks = metadata.jwks
    client.jwks_uri = metadata.extra.get("jwks_uri")
    client.redirect_uris = metadata.redirect_uris
    client.grant_types = metadata.grant_types
    client.allowed_scopes = metadata.scopes
    client.registration_metadata = metadata.extra
    client.id_token_signed_response_alg = metadata.extra.get("id_token_signed_response_alg")
    client.dpop_bound_access_tokens = bool(metadata.extra.get("dpop_bound_access_tokens"))
    client.require_pushed_authorization_requests = bool(
        metadata.extra.get("require_pushed_authorization_requests"))


#: A digest no token hashes to, so an unknown client costs the same comparison as a known one.
_NO_DIGEST = "0" * 64


def authenticate(ctx: Context, client_id: str, access_token: str | None) -> Any:
    """RFC 7592 §2: the registered client ``client_id`` if ``access_token`` is its registration
    access token, else a 401 (the same for a missing client, so ids cannot be probed)."""
    client = None
    if isinstance(client_id, str) and len(client_id) <= 64 and is_plain_text(client_id):
        Client = ctx.models.Client
        client = ctx.session.scalars(
            sa.select(Client).where(Client.id == client_id, Client.registered.is_(True),
                                    Client.revoked.is_(False))
        ).first()
    stored = getattr(client, "registration_token_hash", None) or _NO_DIGEST
    if not tokens.check_secret(access_token or "", stored) or client is None:
        raise invalid_token()
    return client


def read(ctx: Context, client: Any, *, configuration_uri: str, access_token: str
         ) -> OAuthResponse:
    """RFC 7592 §2.1: the current registration. The presented token is returned as the
    registration access token: only its digest is stored, and it stays valid."""
    return _answer(200, client_information(client, configuration_uri=configuration_uri,
                                           access_token=access_token))


def update(ctx: Context, client: Any, data: Mapping[str, Any], *, configuration_uri: str,
           access_token: str, policy: Policy | None = None) -> OAuthResponse:
    """RFC 7592 §2.2: replace the metadata (omitted fields take their defaults)."""
    if data.get("client_id") != client.id:
        raise invalid_metadata("The body must hold this client's client_id.")
    sent = [key for key in SERVER_FIELDS if key in data]
    if sent:
        raise invalid_metadata(f"{sent[0]} is set by the server and may not be sent.")
    presented = data.get("client_secret")
    if "client_secret" in data and not (isinstance(presented, str) and is_plain_text(presented)
                                        and client.check_secret(presented)):
        raise invalid_metadata("client_secret must be the current secret; it cannot be chosen.")
    metadata = _apply_policy(ctx, data, policy, client)
    if credential_kind(metadata.auth_method) != credential_kind(client.auth_method):
        raise invalid_metadata("token_endpoint_auth_method cannot change between none, a "
                               "secret, a secret JWT and a key; register a new client.")
    store_metadata(client, metadata)
    client.updated_at = ctx.now()
    ctx.session.flush()
    body = client_information(client, configuration_uri=configuration_uri,
                              access_token=access_token)
    ctx.commit()
    return _answer(200, body)


def delete(ctx: Context, client: Any) -> OAuthResponse:
    """RFC 7592 §2.3: revoke the client, its tokens and its registration access token."""
    from ..storage.management import revoke_client

    revoke_client(ctx, client)
    client.registration_token_hash = None
    ctx.commit()
    return OAuthResponse(204, {}, dict(NO_STORE))


# -- purging (``flask passport purge --unused-registrations DAYS``) -----------------------------


def purge_unused(session: Any, models: Any, *, older_than: timedelta) -> int:
    """Delete registered clients deleted through RFC 7592, or registered more than
    ``older_than`` ago with no access token issued since, and every row that references them.

    Use is read from the access tokens (their ``created_at`` is indexed per client), so the
    token endpoint writes nothing extra for it. The caller commits.
    """
    from ..storage.models import utcnow

    Client, AccessToken = models.Client, models.AccessToken
    cutoff = utcnow() - older_than
    recent = sa.exists().where(AccessToken.client_id == Client.id,
                               AccessToken.created_at >= cutoff)
    ids = list(session.scalars(sa.select(Client.id).where(
        Client.registered.is_(True),
        sa.or_(Client.revoked.is_(True), sa.and_(Client.created_at < cutoff, ~recent)),
    )))
    if not ids:
        return 0
    # Children first: SQLite enforces no foreign keys unless asked, so ON DELETE CASCADE
    # cannot be relied upon to leave no orphans.
    token_ids = sa.select(AccessToken.id).where(AccessToken.client_id.in_(ids))
    session.execute(sa.delete(models.RefreshToken)
                    .where(models.RefreshToken.access_token_id.in_(token_ids))
                    .execution_options(synchronize_session=False))
    for name in ("AuthCode", "DeviceCode", "PendingAuthorization", "PushedAuthorization",
                 "AccessToken"):
        model = getattr(models, name, None)
        if model is not None:
            session.execute(sa.delete(model).where(model.client_id.in_(ids))
                            .execution_options(synchronize_session=False))
    return int(session.execute(sa.delete(Client).where(Client.id.in_(ids))
                               .execution_options(synchronize_session=False)).rowcount)
