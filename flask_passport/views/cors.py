"""CORS for the endpoints browser-based clients call (a SPA or a browser MCP client using the
code grant with PKCE, :doc:`javascript`): metadata, JWKS, token, revocation, userinfo, PAR,
device authorization and dynamic registration.

``Access-Control-Allow-Origin: *`` and never ``Allow-Credentials``: these endpoints
authenticate by header or body (client credentials, bearer or DPoP proofs), never by cookie, so
any origin may read their answers. The authorization endpoint, the consent form, introspection
(a resource-server endpoint) and the cookie-authenticated JSON APIs get no CORS headers, so
another origin can neither read nor preflight them.
"""

from __future__ import annotations

from flask import Response, request

#: Endpoint name -> the methods a browser may use there.
ENDPOINTS: dict[str, str] = {
    "passport_well_known.metadata": "GET",
    "passport_well_known.openid_configuration": "GET",
    "passport_well_known.jwks": "GET",
    "passport.token": "POST",
    "passport.revoke": "POST",
    "passport.userinfo": "GET, POST",
    "passport.par": "POST",
    "passport.device_code": "POST",
    "passport.register": "POST",
    "passport.registration_client": "GET, PUT, DELETE",
}
#: What a browser client sends: credentials or a token, a form or JSON body, a DPoP proof.
ALLOW_HEADERS = "Authorization, Content-Type, DPoP"
#: What it must read: the DPoP nonce (RFC 9449 §8) and the challenge of a 401.
EXPOSE_HEADERS = "DPoP-Nonce, WWW-Authenticate"
MAX_AGE = "86400"


def add_cors_headers(response: Response) -> Response:
    """``after_request`` of the passport blueprints: CORS headers on the endpoints above, and
    a preflight answer (Flask's automatic ``OPTIONS`` response) there."""
    methods = ENDPOINTS.get(request.endpoint or "")
    if methods is None:
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = methods
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE
    return response
