"""Authorization server metadata (RFC 8414 §2), generated from the running configuration.

Only what is really enabled is advertised: the password grant only when it is on, the implicit
response type only when the implicit grant is on, ``plain`` PKCE only when allowed, and the
authorization endpoint only when the authorization code or implicit grant is available.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..settings import Settings
from .request_object import ALGORITHMS as REQUEST_OBJECT_ALGORITHMS


def auth_methods_metadata(settings: Settings, endpoint: str, *,
                          public: bool = True) -> dict[str, Any]:
    """RFC 8414 §2 ``<endpoint>_auth_methods_supported`` (PASSPORT_CLIENT_AUTH_METHODS; without
    ``none`` for introspection, which is for confidential resource servers only) and, when a JWT
    method is on, ``<endpoint>_auth_signing_alg_values_supported`` (never ``none``)."""
    from ..jose.jwk import ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS

    methods = [m for m in settings.client_auth_methods if public or m != "none"]
    doc: dict[str, Any] = {f"{endpoint}_auth_methods_supported": methods}
    algorithms: list[str] = []
    if "private_key_jwt" in methods:
        algorithms += ASYMMETRIC_ALGORITHMS
    if "client_secret_jwt" in methods:
        algorithms += HMAC_ALGORITHMS
    if algorithms:
        doc[f"{endpoint}_auth_signing_alg_values_supported"] = algorithms
    return doc

#: RFC 8628's grant type; its endpoint is advertised only when the grant is registered.
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

#: Grants handled at the token endpoint that are not advertised (issued in-process only).
_NOT_ADVERTISED = frozenset({"personal_access"})


@dataclass(frozen=True)
class EndpointUrls:
    """Absolute URLs of the endpoints, computed by the view from the app's routes."""

    token: str
    jwks: str
    revocation: str | None = None
    introspection: str | None = None
    authorization: str | None = None
    device_authorization: str | None = None
    registration: str | None = None  # RFC 7591, only when PASSPORT_REGISTRATION is on
    pushed_authorization: str | None = None  # RFC 9126 §5


def enabled_grant_types(settings: Settings, token_grants: Iterable[str]) -> list[str]:
    """The grant types this server will actually honour, in a stable order."""
    grants: list[str] = []
    for grant in token_grants:
        if grant in _NOT_ADVERTISED:
            continue
        if grant == "password" and not settings.password_grant:
            continue
        if grant == "implicit":  # decided by the setting below, wherever it is registered
            continue
        grants.append(grant)
    if settings.implicit_grant and "authorization_code" in grants:
        grants.append("implicit")
    return grants


def build_metadata(
    *,
    issuer: str,
    settings: Settings,
    token_grants: Iterable[str],
    scopes: Iterable[str],
    urls: EndpointUrls,
    signing_algorithms: Iterable[str],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The RFC 8414 §2 document for this server."""
    grants = enabled_grant_types(settings, token_grants)
    response_types: list[str] = []
    if "authorization_code" in grants:
        response_types.append("code")
    if "implicit" in grants:
        response_types.append("token")
    doc: dict[str, Any] = {
        "issuer": issuer,
        "token_endpoint": urls.token,
        "jwks_uri": urls.jwks,
        "scopes_supported": list(scopes),
        "response_types_supported": response_types,
        "grant_types_supported": grants,
        **auth_methods_metadata(settings, "token_endpoint"),
    }
    if response_types and urls.authorization:
        doc["authorization_endpoint"] = urls.authorization
        doc["response_modes_supported"] = ["query", "fragment"] if "token" in response_types \
            else ["query"]
        # RFC 9207 §3: every authorization response names the issuer.
        doc["authorization_response_iss_parameter_supported"] = True
        # RFC 9101 §10.5: request objects by value, signed with the client's registered key;
        # by reference only as a pushed request's request_uri (RFC 9126), which is not what
        # request_uri_parameter_supported (a client-hosted URL) means.
        doc["request_parameter_supported"] = True
        doc["request_uri_parameter_supported"] = False
        doc["request_object_signing_alg_values_supported"] = list(REQUEST_OBJECT_ALGORITHMS)
        if urls.pushed_authorization:
            # RFC 9126 §5: where to push, and whether every client must.
            doc["pushed_authorization_request_endpoint"] = urls.pushed_authorization
            doc["require_pushed_authorization_requests"] = settings.require_par
    if "authorization_code" in grants:
        doc["code_challenge_methods_supported"] = ["S256", "plain"] if settings.pkce_plain \
            else ["S256"]
    if urls.device_authorization and DEVICE_GRANT in grants:
        doc["device_authorization_endpoint"] = urls.device_authorization  # RFC 8628 §4
    if urls.revocation:
        doc["revocation_endpoint"] = urls.revocation
        doc.update(auth_methods_metadata(settings, "revocation_endpoint"))
    if urls.introspection:
        doc["introspection_endpoint"] = urls.introspection
        doc.update(auth_methods_metadata(settings, "introspection_endpoint", public=False))
    if urls.registration:
        doc["registration_endpoint"] = urls.registration  # RFC 8414 §2, RFC 7591 §3
    doc["access_token_signing_alg_values_supported"] = sorted(set(signing_algorithms))
    if settings.dpop:
        doc["dpop_signing_alg_values_supported"] = list(settings.dpop_algs)  # RFC 9449 §5.1
    if extra:
        doc.update(extra)
    return doc


#: OpenID Connect Discovery 1.0 §3: the ID token claims this server always may issue.
ID_TOKEN_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash")


def build_openid_configuration(
    metadata: Mapping[str, Any],
    *,
    userinfo: str,
    end_session: str | None,
    id_token_algorithms: Iterable[str],
    claims: Iterable[str],
) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 §3: the RFC 8414 document plus the OIDC members.

    Requests by reference (other than a pushed request's) and the ``claims`` parameter are not
    supported, which the document says explicitly (``request_uri_parameter_supported`` defaults
    to true otherwise); request objects by value are, as in the RFC 8414 document.
    """
    doc = dict(metadata)
    doc.update({
        "userinfo_endpoint": userinfo,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(dict.fromkeys(id_token_algorithms)),
        "claims_supported": list(dict.fromkeys([*ID_TOKEN_CLAIMS, *claims])),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": False,
        "request_parameter_supported": "authorization_endpoint" in metadata,
        "request_uri_parameter_supported": False,
    })
    if end_session:
        doc["end_session_endpoint"] = end_session
    return doc
