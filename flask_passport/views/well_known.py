"""The root-level discovery routes: RFC 8414 metadata, the JWKS (RFC 7517 §5) and the RFC 9728
protected resource metadata.

They live on their own small blueprint, registered at the app root (not under ``/oauth``), because
RFC 8414 §3 fixes the path ``/.well-known/oauth-authorization-server``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, url_for

from ..jose.keys import KeyLoadError
from ..oauth2.metadata import EndpointUrls, build_metadata
from ..oauth2.resource_metadata import WELL_KNOWN as RESOURCE_METADATA_PATH
from ..oauth2.resource_metadata import document_for
from ..resource.metadata_view import metadata_response
from .cors import add_cors_headers

blueprint = Blueprint("passport_well_known", __name__)
blueprint.after_request(add_cors_headers)

METADATA_PATH = "/.well-known/oauth-authorization-server"
JWKS_PATH = "/.well-known/jwks.json"


def issuer_origin(issuer: str) -> str:
    """Scheme and host of absolute URLs: the issuer's, never the request's Host (a client
    chooses that header, and these documents are cached by proxies)."""
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}"


def _url(base: str, endpoint: str) -> str | None:
    if endpoint not in current_app.view_functions:
        return None
    return base + url_for(endpoint)


def metadata_document() -> dict[str, object]:
    """The metadata of the current app (needs a request context for the URLs)."""
    state = current_app.extensions["passport"]
    settings = state.settings
    issuer = state.issuer()
    base = issuer_origin(issuer)
    token_url = _url(base, "passport.token") or base + settings.url_prefix + "/token"
    authorize = _url(base, "passport.authorize") or base + settings.url_prefix + "/authorize"
    try:
        algorithms = [key.algorithm for key in state.keys().verifying.values()]
    except KeyLoadError:
        algorithms = []
    document = build_metadata(
        issuer=issuer,
        settings=settings,
        token_grants=state.passport._token_endpoint.grant_types(),
        scopes=state.passport.scope_ids(),
        urls=EndpointUrls(
            token=token_url,
            jwks=base + url_for("passport_well_known.jwks"),
            revocation=_url(base, "passport.revoke"),
            introspection=_url(base, "passport.introspect"),
            authorization=authorize,
            device_authorization=_url(base, "passport.device_code"),
            registration=_url(base, "passport.register") if settings.registration else None,
            pushed_authorization=_url(base, "passport.par"),
        ),
        signing_algorithms=algorithms,
    )
    if settings.protected_resource:
        # RFC 9728 §4: the protected resources this server issues tokens for.
        document["protected_resources"] = [p.resource for p in settings.protected_resource]
    return document


@blueprint.get(METADATA_PATH)
@blueprint.get(METADATA_PATH + "/<path:issuer_path>")
def metadata(issuer_path: str | None = None) -> Response:
    """RFC 8414 §3.1: an issuer with a path (``https://host/tenant``) is served at
    ``/.well-known/oauth-authorization-server/tenant``; any other path is not ours."""
    expected = urlsplit(current_app.extensions["passport"].issuer()).path.strip("/")
    if (issuer_path or "").strip("/") != expected:
        response = jsonify(error="not_found", error_description="No such issuer here.")
        response.status_code = 404
        return response
    response = jsonify(metadata_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration"


@blueprint.get(OPENID_CONFIGURATION_PATH)
@blueprint.get("/<path:issuer_path>" + OPENID_CONFIGURATION_PATH)
def openid_configuration(issuer_path: str | None = None) -> Response:
    """OpenID Connect Discovery 1.0 §4: ``{issuer}/.well-known/openid-configuration`` (the
    issuer's path comes *before* the well-known part, unlike RFC 8414)."""
    state = current_app.extensions["passport"]
    settings = state.settings
    issuer = state.issuer()
    expected = urlsplit(issuer).path.strip("/")
    if not settings.oidc_enabled or (issuer_path or "").strip("/") != expected:
        response = jsonify(error="not_found", error_description="No such issuer here.")
        response.status_code = 404
        return response
    from ..oauth2.metadata import build_openid_configuration
    from ..oauth2.oidc import SCOPE_CLAIMS

    base = issuer_origin(issuer)
    try:
        algorithms = state.keys().id_token_algorithms()
    except KeyLoadError:
        algorithms = []
    scopes = state.passport.scope_ids()
    document = build_openid_configuration(
        metadata_document(),
        userinfo=_url(base, "passport.userinfo") or base + settings.url_prefix + "/userinfo",
        end_session=_url(base, "passport.end_session"),
        id_token_algorithms=algorithms,
        claims=[c for scope in scopes for c in SCOPE_CLAIMS.get(scope, ())],
    )
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blueprint.get(JWKS_PATH)
def jwks() -> Response:
    state = current_app.extensions["passport"]
    try:
        document = state.keys().jwks()
    except KeyLoadError:
        response = jsonify(error="server_error",
                           error_description="The server has no signing keys yet.")
        response.status_code = 503
        return response
    response = jsonify(document)
    # Short cache: after a rotation, resource servers see the new key within minutes (and
    # refetch at once when they meet an unknown kid).
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def resource_documents() -> dict[str, dict[str, object]]:
    """RFC 9728 documents of the app's protected resources (PASSPORT_PROTECTED_RESOURCE), the
    app's own first; each names this server's issuer unless it lists its servers."""
    state = current_app.extensions["passport"]
    configured = state.settings.protected_resource
    if not configured:
        return {}
    issuer = state.issuer()
    scopes = state.passport.scope_ids()
    settings = state.settings
    algs = settings.dpop_algs if settings.dpop else None
    return {p.resource: document_for(p, issuer=issuer, scopes=scopes, dpop_algs=algs,
                                     dpop_required=settings.dpop and settings.dpop_required)
            for p in configured}


@blueprint.route(RESOURCE_METADATA_PATH, methods=["GET", "OPTIONS"])
@blueprint.route(RESOURCE_METADATA_PATH + "/<path:suffix>", methods=["GET", "OPTIONS"])
def protected_resource_metadata(suffix: str | None = None) -> Response:
    """RFC 9728 §3: ``/.well-known/oauth-protected-resource`` and, for a resource identifier
    with a path, ``/.well-known/oauth-protected-resource/<path>`` (§3.1)."""
    return metadata_response(resource_documents, suffix)
