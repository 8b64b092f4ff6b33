"""OAuth errors (RFC 6749 §5.2, RFC 6750 §3) and the response shape every endpoint returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
#: What every endpoint says when the signing keys cannot be loaded: the administrator, not the
#: client, has to act (the details go to the log, never to the client).
KEYS_MISSING = ("The server's signing keys are missing; its administrator should run "
                "`flask passport keys`.")


@dataclass
class OAuthResponse:
    """A framework-free response: the views turn it into a Flask response."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class OAuthError(Exception):
    """An error with its RFC code; ``description`` is shown to clients: never put secrets in it."""

    status = 400

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})

    def to_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}

    def to_response(self) -> OAuthResponse:
        return OAuthResponse(self.status, self.to_dict(), {**NO_STORE, **self.headers})


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_client(description: str, *, basic_attempted: bool) -> OAuthError:
    # RFC 6749 §5.2: 401 with a challenge for the scheme the client tried.
    headers = {"WWW-Authenticate": 'Basic realm="oauth"'} if basic_attempted else {}
    return OAuthError("invalid_client", description, status=401, headers=headers)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def unauthorized_client(description: str) -> OAuthError:
    return OAuthError("unauthorized_client", description)


def unsupported_grant_type(description: str) -> OAuthError:
    return OAuthError("unsupported_grant_type", description)


def invalid_scope(description: str) -> OAuthError:
    return OAuthError("invalid_scope", description)


def server_error(description: str) -> OAuthError:
    return OAuthError("server_error", description, status=500)


def keys_missing() -> OAuthError:
    """A 500 for a request that needed the signing keys when they cannot be loaded."""
    return server_error(KEYS_MISSING)


def too_many_requests(wait: float, description: str) -> OAuthError:
    """RFC 6585 §4: 429 with ``Retry-After`` (whole seconds, at least one)."""
    seconds = max(1, math.ceil(wait))
    return OAuthError("too_many_requests", f"{description} Retry after {seconds} seconds.",
                      status=429, headers={"Retry-After": str(seconds)})


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def temporarily_unavailable(
    description: str = "The authorization server could not complete the request. Try again "
                       "later.", **kwargs: Any,
) -> OAuthError:
    """503 ``temporarily_unavailable``: the database failed, the client may retry later."""
    return OAuthError("temporarily_unavailable", description, status=503, **kwargs)


class BearerError(Exception):
    """RFC 6750 §3: an error on a protected resource, with its ``WWW-Authenticate`` challenge."""

    def __init__(
        self,
        error: str | None,
        description: str,
        *,
        status: int = 401,
        scope: str | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.scope = scope
        #: RFC 9728 §5.1: where the resource's metadata is, set by the guard when published.
        self.resource_metadata: str | None = None

    #: The authentication scheme the challenge names (RFC 6750 §3; DPoPError: RFC 9449 §7.1).
    scheme = "Bearer"

    def challenge(self, realm: str = "api") -> str:
        parts = [f'realm="{_quote(realm)}"']
        if self.error:
            parts.append(f'error="{self.error}"')
            parts.append(f'error_description="{_quote(self.description)}"')
        if self.scope:
            # RFC 6750 §3: the scopes needed, so a client can ask for them (step-up).
            parts.append(f'scope="{_quote(self.scope)}"')
        if self.resource_metadata:  # RFC 9728 §5.1, for every scheme
            parts.append(f'resource_metadata="{_quote(self.resource_metadata)}"')
        parts.extend(self.extra_parameters())
        return f"{self.scheme} " + ", ".join(parts)

    def extra_parameters(self) -> list[str]:
        """Auth-params a scheme adds after the common ones."""
        return []

    def to_response(self) -> OAuthResponse:
        # RFC 6750 §3.1: a request without any credentials gets no error code, in the
        # challenge or in the body: only the description says what is missing.
        body = {"error_description": self.description}
        if self.error:
            body = {"error": self.error, **body}
        if self.scope:
            body["scope"] = self.scope
        return OAuthResponse(self.status, body, {"WWW-Authenticate": self.challenge()})
