"""Property tests: malformed input to the token endpoint and protected routes is a 4xx, never a
500 (hypothesis; a modest number of examples so the suite stays quick)."""

from __future__ import annotations

import string
from typing import Any

from flask import Flask
from helpers import add_routes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

header_text = st.text(alphabet=string.printable.replace("\n", "").replace("\r", ""),
                      max_size=300)
params = st.dictionaries(
    st.sampled_from(["grant_type", "client_id", "client_secret", "scope", "username",
                     "password", "refresh_token", "code", "junk"]),
    st.one_of(st.text(max_size=80), st.sampled_from(["client_credentials", "password",
                                                     "refresh_token", "*", ""])),
    max_size=6,
)


@FUZZ
@given(auth=header_text)
def test_any_authorization_header_is_refused_cleanly(app: Flask, client: Any, auth: str) -> None:
    if "me" not in app.view_functions:
        add_routes(app)
    resp = client.get("/me", headers={"Authorization": auth})
    assert resp.status_code in (400, 401), (auth, resp.status_code)
    # A request that used the DPoP scheme (RFC 9449 §7.1) is answered with a DPoP challenge.
    dpop = auth.partition(" ")[0].lower() == "dpop" and auth.partition(" ")[2].strip()
    assert resp.headers["WWW-Authenticate"].startswith("DPoP " if dpop else "Bearer")


@FUZZ
@given(data=params, auth=st.one_of(st.none(), header_text))
def test_any_token_request_is_refused_cleanly(client: Any, machine_client: Any,
                                              data: dict[str, str], auth: str | None) -> None:
    headers = {"Authorization": auth} if auth is not None else {}
    resp = client.post("/oauth/token", data=data, headers=headers)
    assert resp.status_code in (400, 401), (data, auth, resp.status_code, resp.json)
    assert resp.json["error"] in ("invalid_request", "invalid_client", "invalid_grant",
                                  "unauthorized_client", "unsupported_grant_type",
                                  "invalid_scope")
    assert resp.headers["Cache-Control"] == "no-store"
