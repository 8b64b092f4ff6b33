"""The authorization endpoint's protocol (RFC 6749 §3.1, §4.1.1-§4.1.2, §4.2.1-§4.2.2).

:func:`validate_request` turns the query parameters into an :class:`AuthorizationRequest`, in a
fixed order: the client, then the redirect URI. Until both are proven, errors are
:class:`AuthorizationPageError` (the view shows an HTML page, never redirects: RFC 6749 §4.1.2.1,
RFC 9700 §4.1.1); afterwards they are :class:`AuthorizationRedirectError`, which knows where to
send the user agent back. :func:`approve` issues the code (or, for the implicit grant, the
token) and :func:`deny` builds the ``access_denied`` redirect. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa

from .. import signals
from ..jose import tokens
from ..jose.dpop import is_thumbprint
from . import (
    client_metadata_document,
    dpop,
    oidc,
    pkce,
    redirect_uri,
    request_object,
    resource_indicators,
)
from .context import MAX_PARAM_LENGTH, Context
from .errors import OAuthError
from .scope_policy import resolve_scopes

RESPONSE_TYPES = ("code", "token")
#: OpenID Connect Core §3.1.2.1 ``prompt`` values understood here.
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
#: ``state`` is echoed back and kept in the session while the user decides, so it is capped.
MAX_STATE_LENGTH = 1024


class AuthorizationPageError(Exception):
    """An error shown on the server's own page: the client or redirect URI is not proven."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class AuthorizationRequest:
    """A validated authorization request: everything the consent step and the code bind to."""

    client_id: str
    redirect_uri: str
    redirect_uri_sent: bool
    response_type: str
    scopes: list[str]
    state: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None
    prompt: list[str] = field(default_factory=list)
    #: OpenID Connect Core §3.1.2.1: the oldest login (in seconds) the client accepts.
    max_age: int | None = None
    #: RFC 9207: the issuer named in every response, so a client talking to several servers
    #: can tell which one answered (the mix-up attack, RFC 9700 §4.4).
    issuer: str | None = None
    #: RFC 8707: the registered resources (URIs) the client asked for; the code is bound to them.
    resources: list[str] = field(default_factory=list)
    #: RFC 9449 §10: the thumbprint of the DPoP key that must redeem the code.
    dpop_jkt: str | None = None
    #: RFC 9126: the request came through ``/oauth/par`` (made again, it is pushed again).
    pushed: bool = False

    @property
    def redirect_target(self) -> str:
        """Where the answer goes, as the consent page names it: host and port (RFC 8252 §7.3
        loopback redirects differ only by port), or the private-use scheme (§7.1)."""
        parts = urlsplit(self.redirect_uri)
        return parts.netloc.rpartition("@")[2] or f"{parts.scheme}:"

    @property
    def uses_fragment(self) -> bool:
        """RFC 6749 §4.2.2: the implicit grant answers in the fragment."""
        return self.response_type == "token"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuthorizationRequest:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_query(self) -> list[tuple[str, str]]:
        """This request as ``/oauth/authorize`` parameters, to make it again (e.g. after the
        user switched accounts). Everything a decision acts on is here, since a decision sees
        only these fields; ``redirect_uri`` only if the client sent it (RFC 6749 §3.1.2.3)."""
        query = [("client_id", self.client_id), ("response_type", self.response_type)]
        if self.redirect_uri_sent:
            query.append(("redirect_uri", self.redirect_uri))
        query.append(("scope", " ".join(self.scopes)))
        optional = {"state": self.state, "code_challenge": self.code_challenge,
                    "code_challenge_method": self.code_challenge_method, "nonce": self.nonce,
                    "prompt": " ".join(self.prompt) or None,
                    "max_age": None if self.max_age is None else str(self.max_age),
                    "dpop_jkt": self.dpop_jkt}
        query.extend((k, v) for k, v in optional.items() if v is not None)
        query.extend(("resource", uri) for uri in self.resources)
        return query

    def redirect(self, params: Mapping[str, str | None]) -> str:
        """The redirect back to the client with ``params``, ``state`` and (RFC 9207 §2, on
        success and error alike) ``iss``: every authorization response is built here."""
        values = {k: v for k, v in params.items() if v is not None}
        if self.state is not None:
            values["state"] = self.state
        if self.issuer is not None:
            values["iss"] = self.issuer
        return build_redirect(self.redirect_uri, values, fragment=self.uses_fragment)

    def error(self, error: str, description: str) -> AuthorizationRedirectError:
        return AuthorizationRedirectError(error, description, self)


class AuthorizationRedirectError(Exception):
    """An error sent back to the proven redirect URI (RFC 6749 §4.1.2.1, §4.2.2.1)."""

    def __init__(self, error: str, description: str, request: AuthorizationRequest) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.request = request

    @property
    def location(self) -> str:
        return self.request.redirect({"error": self.error, "error_description": self.description})


def build_redirect(uri: str, params: dict[str, str], *, fragment: bool = False) -> str:
    """Add ``params`` to ``uri``'s query (keeping its own query, RFC 6749 §3.1.2) or fragment."""
    parts = urlsplit(uri)
    if fragment:
        return urlunsplit(parts._replace(fragment=urlencode(params)))
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _collect(items: Iterable[tuple[str, str]]
             ) -> tuple[dict[str, str], set[str], list[str]]:
    """The parameters (first value of each), those sent more than once, and every
    ``resource`` value (RFC 8707 §2: the one parameter that may repeat)."""
    params: dict[str, str] = {}
    duplicated: set[str] = set()
    resources: list[str] = []
    for key, value in items:
        if key == resource_indicators.PARAMETER:
            resources.append(value)
            continue
        if key in params:
            duplicated.add(key)
        params.setdefault(key, value)
    return params, duplicated, resources


def client_allows(client: Any, response_type: str | None) -> bool:
    """Whether ``client`` may use ``response_type``; unknown types are judged after the redirect."""
    if response_type == "code":
        return bool(client.has_grant_type("authorization_code"))
    if response_type == "token":
        return bool(
            client.has_grant_type("implicit") or client.has_grant_type("authorization_code")
        )
    return True


def validate_request(
    ctx: Context, items: Iterable[tuple[str, str]], *, pushed: bool = False
) -> tuple[AuthorizationRequest, Any]:
    """Validate an authorization request; return it with its client, or raise one of the errors.

    The steps run in the order RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.2 give: the
    client and its redirect URI first (their errors are a page), then everything else (its
    errors go back to the redirect URI), so the first failing step decides the error.
    ``pushed`` says the parameters came through ``/oauth/par`` (RFC 9126): being pushed or
    being used from there, they satisfy a client's or the server's requirement to push.
    The same rules serve ``/oauth/authorize`` and the pushed authorization request endpoint.
    """
    params, duplicated, resources = expand_request_object(ctx, *_collect(items))
    client, request = _client_and_redirect_uri(ctx, params, duplicated)
    # From here on errors go back to the client.
    _request_uri(request, params)
    _pushed_required(ctx, request, client, pushed)
    _parameter_syntax(request, params, duplicated)
    _response_type(ctx, request, params.get("response_type"))
    _response_mode(request, params.get("response_mode"))
    _implicit_without_dpop(ctx, request, client)
    _oidc_parameters(request, params)
    _scopes(ctx, request, client, params)
    _resources(ctx, request, client, resources, explicit_scope=bool(params.get("scope")))
    if request.response_type == "code":
        _pkce(ctx, request, client, params)
        _dpop_jkt(ctx, request, params)
    request.nonce = params.get("nonce")
    request.pushed = pushed
    return request, client


def expand_request_object(ctx: Context, params: dict[str, str], duplicated: set[str],
                          resources: list[str]) -> tuple[dict[str, str], set[str], list[str]]:
    """RFC 9101 §6.3: with a ``request`` parameter, the verified request object's parameters
    (its ``resource`` values among them, RFC 8707) replace the others (``client_id`` outside
    names the client whose keys verify it, and must be the one inside). Errors are a page:
    the redirect URI the object names is not proven while the object is not."""
    if "request" not in params:
        return params, duplicated, resources
    if "request" in duplicated:
        raise AuthorizationPageError("invalid_request", "The request parameter was sent twice.")
    if "request_uri" in params:
        raise AuthorizationPageError("invalid_request", "Send request or request_uri, not both.")
    client = _client(ctx, params, duplicated)
    try:
        inner, inner_resources = request_object.parameters(ctx, client, params["request"],
                                                           params.get("client_id"))
    except request_object.InvalidRequestObject as exc:
        raise AuthorizationPageError("invalid_request_object", str(exc)) from None
    return inner, set(), inner_resources


def pushed_required(ctx: Context, client: Any) -> bool:
    """RFC 9126 §5-§6: whether ``client`` may send its authorization requests only by pushing
    them (``PASSPORT_REQUIRE_PAR``, or the client's
    ``require_pushed_authorization_requests``)."""
    return ctx.settings.require_par or bool(
        getattr(client, "require_pushed_authorization_requests", False))


def _client_and_redirect_uri(
    ctx: Context, params: dict[str, str], duplicated: set[str]
) -> tuple[Any, AuthorizationRequest]:
    """The client, then its redirect URI: until both are proven, every error is an
    :class:`AuthorizationPageError` (RFC 6749 §4.1.2.1, §3.1.2.4)."""
    client = _client(ctx, params, duplicated)
    return client, _redirect_uri(ctx, client, params, duplicated)


def _client(ctx: Context, params: dict[str, str], duplicated: set[str]) -> Any:
    """RFC 6749 §4.1.2.1: an unknown or revoked client, or one that may not use the response
    type, is told to the user on a page, never redirected to an unproven URI."""
    client_id = params.get("client_id") or ""
    if "client_id" in duplicated:
        raise AuthorizationPageError("invalid_request", "The client_id parameter was sent twice.")
    if not client_id:
        raise AuthorizationPageError("invalid_request", "The client_id parameter is required.")
    if client_metadata_document.enabled_for(ctx, client_id):
        # The document's redirect URIs are not proven until it is fetched and valid, so
        # every problem with it is a page too.
        try:
            client = client_metadata_document.resolve(ctx, client_id)
        except OAuthError as exc:
            raise AuthorizationPageError(exc.error, exc.description) from None
    else:
        client = client_metadata_document.by_client_id(ctx, client_id)
    if client is None or client.revoked:
        raise AuthorizationPageError("invalid_client", "The client is unknown or has been revoked.")
    if not client_allows(client, params.get("response_type")):
        raise AuthorizationPageError(
            "unauthorized_client", "This client may not use the requested response_type."
        )
    return client


def _redirect_uri(
    ctx: Context, client: Any, params: dict[str, str], duplicated: set[str]
) -> AuthorizationRequest:
    """RFC 6749 §3.1.2.3-§3.1.2.4: the redirect URI matches one registered for ``client``
    exactly (or is its only one), else a page; the request it returns can redirect errors."""
    if "redirect_uri" in duplicated:
        raise AuthorizationPageError("invalid_request",
                                     "The redirect_uri parameter was sent twice.")
    presented = params.get("redirect_uri")
    resolved = redirect_uri.resolve(client.redirect_uris or [], presented)
    if resolved is None:
        if presented is None:
            raise AuthorizationPageError(
                "invalid_request",
                "The redirect_uri parameter is required: this client has several redirect URIs.",
            )
        raise AuthorizationPageError(
            "invalid_request", "The redirect_uri does not match a URI registered for this client."
        )
    # The implicit grant answers in the fragment (RFC 6749 §4.2.2.1), errors included, but
    # only when it is on; otherwise the error goes in the query like the code flow's.
    fragment = params.get("response_type") == "token" and ctx.settings.implicit_grant
    state = params.get("state")
    return AuthorizationRequest(
        client_id=client.public_id,
        redirect_uri=resolved,
        redirect_uri_sent=presented is not None,
        response_type="token" if fragment else "code",
        scopes=[],
        state=state if state is not None and len(state) <= MAX_STATE_LENGTH else None,
        issuer=ctx.issuer,
    )


def _request_uri(request: AuthorizationRequest, params: dict[str, str]) -> None:
    """RFC 9101 §5.2: request objects by reference are supported only as the ``request_uri``
    of a pushed request (RFC 9126, taken before validation); any other is refused rather
    than the plain parameters acted on while the client meant the referenced ones."""
    if "request_uri" in params:
        raise request.error("request_uri_not_supported",
                            "Only a request_uri from the pushed authorization request "
                            "endpoint is supported.")


def _pushed_required(ctx: Context, request: AuthorizationRequest, client: Any,
                     pushed: bool) -> None:
    """RFC 9126 §5: where pushing is required, a request sent only in the query is refused."""
    if not pushed and pushed_required(ctx, client):
        raise request.error("invalid_request", "This client must push its authorization "
                            "requests to the pushed authorization request endpoint (RFC 9126) "
                            "and send the request_uri it gets.")


def _parameter_syntax(
    request: AuthorizationRequest, params: dict[str, str], duplicated: set[str]
) -> None:
    """RFC 6749 §3.1: no parameter twice; each within its size cap and free of NUL, so nothing
    oversized or unstorable reaches the database."""
    if duplicated:
        raise request.error("invalid_request",
                            f"The {sorted(duplicated)[0]} parameter was sent more than once.")
    too_long = [k for k, v in params.items()
                if len(v) > (MAX_STATE_LENGTH if k == "state" else MAX_PARAM_LENGTH)]
    if too_long:
        raise request.error("invalid_request", f"The {too_long[0]} parameter is too long.")
    with_nul = [k for k, v in params.items() if "\x00" in v]
    if with_nul:
        raise request.error("invalid_request",
                            f"The {with_nul[0][:32]} parameter contains a NUL character.")


def _response_type(ctx: Context, request: AuthorizationRequest, response_type: str | None) -> None:
    """RFC 6749 §3.1.1: ``code``, or ``token`` while the implicit grant is enabled."""
    if not response_type:
        raise request.error("invalid_request", "The response_type parameter is required.")
    if response_type not in RESPONSE_TYPES:
        raise request.error("unsupported_response_type",
                            "Only response_type=code is supported.")
    if response_type == "token" and not ctx.settings.implicit_grant:
        raise request.error("unsupported_response_type",
                            "The implicit grant is disabled; use response_type=code with PKCE.")
    request.response_type = response_type


def _implicit_without_dpop(ctx: Context, request: AuthorizationRequest, client: Any) -> None:
    """RFC 9449 §5.2: a client registered with ``dpop_bound_access_tokens`` (or any client
    while ``PASSPORT_DPOP_REQUIRED`` is on) must only get DPoP-bound access tokens. The
    implicit grant issues the token at the authorization endpoint, where no proof can be
    sent (RFC 9449 §10 binds only codes), so it would be a Bearer token: refuse it."""
    if request.response_type == "token" and dpop.required_for(ctx, client):
        raise request.error(
            "unauthorized_client",
            "This client must use DPoP-bound access tokens, which the implicit grant cannot "
            "issue; use response_type=code with PKCE and DPoP (RFC 9449 §5.2).")


def _response_mode(request: AuthorizationRequest, response_mode: str | None) -> None:
    """OAuth 2.0 Multiple Response Type Encoding Practices §2.1: only each response type's
    default mode is served (the query for ``code``, the fragment for ``token``, as the metadata
    says), so ``form_post`` or a mode that would put tokens in a query is refused rather than
    silently answered another way the client is not listening for."""
    if response_mode is None:
        return
    default = "fragment" if request.response_type == "token" else "query"
    if response_mode != default:
        raise request.error("invalid_request",
                            f"response_mode={response_mode[:32]} is not supported: the answer "
                            f"comes in the {default} of the redirect URI.")


def _oidc_parameters(request: AuthorizationRequest, params: dict[str, str]) -> None:
    """OpenID Connect Core §3.1.2.1-§3.1.2.2: ``prompt`` values known and ``none`` alone,
    ``max_age`` a non-negative integer, ``nonce`` within its cap."""
    prompt = [p for p in (params.get("prompt") or "").split(" ") if p]
    unknown = [p for p in prompt if p not in PROMPTS]
    if unknown:
        raise request.error("invalid_request", f"The prompt value {unknown[0][:32]!r} is unknown.")
    if "none" in prompt and len(prompt) > 1:
        raise request.error("invalid_request", "prompt=none cannot be combined with other values.")
    request.prompt = prompt
    try:
        request.max_age = oidc.parse_max_age(params.get("max_age"))
    except ValueError as exc:
        raise request.error("invalid_request", str(exc)) from None
    if len(params.get("nonce") or "") > oidc.MAX_NONCE_LENGTH:
        raise request.error("invalid_request", "The nonce parameter is too long.")


def _dpop_jkt(ctx: Context, request: AuthorizationRequest, params: dict[str, str]) -> None:
    """RFC 9449 §10: ``dpop_jkt`` binds the code to a key; it must be a SHA-256 thumbprint.
    Ignored when DPoP is off (the token request could not prove the key anyway)."""
    value = params.get("dpop_jkt")
    if value is None or not ctx.settings.dpop:
        return
    if not is_thumbprint(value):
        raise request.error("invalid_request",
                            "The dpop_jkt parameter must be a JWK SHA-256 thumbprint.")
    request.dpop_jkt = value


def _scopes(ctx: Context, request: AuthorizationRequest, client: Any,
            params: dict[str, str]) -> None:
    """RFC 6749 §3.3: the requested scopes, each registered and allowed for ``client``."""
    try:
        request.scopes = resolve_scopes(ctx, params.get("scope"), client, "authorization_code")
    except OAuthError as exc:
        raise request.error(exc.error, exc.description) from None


def _resources(ctx: Context, request: AuthorizationRequest, client: Any, values: list[str],
               *, explicit_scope: bool) -> None:
    """RFC 8707 §2: the requested resources, each registered and allowed for ``client``
    (``invalid_target``), and the scopes for them (``invalid_scope``)."""
    try:
        resources, request.scopes = resource_indicators.for_new_grant(
            ctx.resources, client, values, request.scopes, explicit=explicit_scope)
    except OAuthError as exc:
        raise request.error(exc.error, exc.description) from None
    request.resources = resources or []


def _pkce(
    ctx: Context, request: AuthorizationRequest, client: Any, params: dict[str, str]
) -> None:
    """RFC 7636 §4.3-§4.4; public clients must use PKCE (RFC 9700 §2.1.1), and with
    ``PASSPORT_PKCE_REQUIRED = "all"`` confidential ones too (draft-ietf-oauth-v2-1 §4.1.1)."""
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    if not challenge:
        if method:
            raise request.error("invalid_request",
                                "code_challenge_method was sent without a code_challenge.")
        if pkce.required_for(client, ctx.settings.pkce_required):
            raise request.error("invalid_request",
                                "This client must use PKCE: send a code_challenge (S256).")
        return
    method = method or pkce.PLAIN  # RFC 7636 §4.3: plain when the method is absent
    if method not in pkce.allowed_methods(ctx.settings.pkce_plain):
        raise request.error("invalid_request",
                            "The code_challenge_method must be S256.")
    if not pkce.is_valid_challenge(challenge, method):
        raise request.error("invalid_request", "The code_challenge is malformed (RFC 7636 §4.2).")
    request.code_challenge = challenge
    request.code_challenge_method = method


def has_covering_token(ctx: Context, client_id: str, user_id: str, scopes: list[str],
                       resources: list[str] | None = None) -> bool:
    """Whether the user already holds a live token for this client with all of ``scopes``
    (and, RFC 8707, for all of ``resources``: approving one resource is not approving
    another)."""
    AccessToken = ctx.models.AccessToken
    rows = ctx.session.execute(
        sa.select(AccessToken.scopes, AccessToken.resources)
        .where(
            AccessToken.user_id == user_id,
            AccessToken.client_id == client_id,
            AccessToken.revoked.is_(False),
            AccessToken.expires_at > ctx.now(),
        )
        .order_by(AccessToken.created_at.desc())
        .limit(20)
    )
    wanted, targets = set(scopes), set(resources or ())
    return any(("*" in (held or ()) or wanted <= set(held or ()))
               and targets <= set(aud or ()) for held, aud in rows)


def earlier_approval_stands(ctx: Context, client: Any, user_id: str, scopes: list[str],
                            redirect_to: str, resources: list[str] | None = None) -> bool:
    """Whether the user's earlier approval (a live token with all of ``scopes``) lets the
    consent page be skipped: only for confidential clients, and only for a redirect URI
    registered as it is. A public client is not authenticated, and a redirect URI does not
    prove who receives the code (any loopback port matches, RFC 8252 §7.3; a private-use
    scheme can be claimed by another app), so RFC 8252 §8.6 asks for the user's consent every
    time; a loopback port other than the registered one may be another local process, so the
    user is asked again there too."""
    return (bool(client.confidential) and redirect_to in (client.redirect_uris or ())
            and has_covering_token(ctx, client.id, user_id, scopes, resources))


def issue_code(
    ctx: Context, request: AuthorizationRequest, client: Any, user_id: str,
    auth_time: datetime | None = None,
) -> str:
    """Store a new code (only its digest) bound to what was approved; return the plain code."""
    now = ctx.now()
    selector, plain, digest = tokens.make_opaque_token()
    ctx.session.add(
        ctx.models.AuthCode(
            id=selector,
            secret_hash=digest,
            user_id=user_id,
            client_id=client.id,
            scopes=list(request.scopes),
            redirect_uri=request.redirect_uri,
            redirect_uri_sent=request.redirect_uri_sent,
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            nonce=request.nonce,
            auth_time=auth_time,
            dpop_jkt=request.dpop_jkt,
            revoked=False,
            created_at=now,
            expires_at=now + ctx.settings.auth_code_lifetime,
            # Only when asked, so a replaced model without the column still works.
            **({"resources": list(request.resources)} if request.resources else {}),
        )
    )
    ctx.emit(signals.auth_code_issued, code_id=selector, client=client, user_id=user_id,
             scopes=list(request.scopes))
    return plain


def approve(
    ctx: Context, request: AuthorizationRequest, client: Any, user: Any,
    auth_time: datetime | None = None,
) -> str:
    """Approve: issue the code (or implicit token) and return the redirect location."""
    from .grants import implicit

    user_id = ctx.user_id_of(user)
    ctx.emit(signals.authorization_approved, client=client, user=user,
             scopes=list(request.scopes))
    if request.response_type == "token":
        return request.redirect(implicit.issue(ctx, client, user, user_id, request.scopes,
                                               request.resources or None))
    return request.redirect({"code": issue_code(ctx, request, client, user_id, auth_time)})


def deny(ctx: Context, request: AuthorizationRequest, client: Any, user: Any) -> str:
    """The user said no: RFC 6749 §4.1.2.1 ``access_denied``."""
    ctx.emit(signals.authorization_denied, client=client, user=user, scopes=list(request.scopes))
    return request.error("access_denied", "The user denied the request.").location
