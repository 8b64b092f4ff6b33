"""Helpers shared by the reliability suites: getting a code through the consent page, racing
requests from real threads, counting rows, and printing the figures CI shows."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import sqlalchemy as sa
from flask import Flask

from flask_passport.oauth2 import pkce

REDIRECT = "https://app.example.com/callback"


def consent_code(http: Any, client_id: str, *, verifier: str | None = None,
                 scope: str = "check-status") -> str:
    """Approve an authorization request on the real consent page; returns the code.

    ``http`` must be a test client whose session is signed in. With ``verifier`` the request
    carries an S256 PKCE challenge (RFC 7636 §4.2).
    """
    query = {"client_id": client_id, "redirect_uri": REDIRECT, "response_type": "code",
             "scope": scope, "state": "st-1"}
    if verifier is not None:
        query.update(code_challenge=pkce.s256(verifier), code_challenge_method="S256")
    page = http.get("/oauth/authorize?" + urlencode(query))
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"',
                             page.get_data(as_text=True)))
    answer = http.post("/oauth/authorize", data=fields | {"approve": "Authorize"})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


@dataclass
class RaceResult:
    """What a race produced: each response's status and JSON body, and how long it took."""

    name: str
    responses: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def successes(self) -> int:
        return sum(1 for status, _ in self.responses if status == 200)

    @property
    def server_errors(self) -> int:
        return sum(1 for status, _ in self.responses if status >= 500)

    def errors(self) -> set[str]:
        return {body.get("error", "?") for status, body in self.responses if status != 200}

    def figures(self) -> str:
        return (f"[reliability] {self.name}: requests tried={len(self.responses)} "
                f"parallel successes={self.successes} 5xx={self.server_errors} "
                f"errors={sorted(self.errors())} wall={self.seconds:.2f}s")


def race(app: Flask, name: str, n: int, call: Callable[[Any, int], Any]) -> RaceResult:
    """Run ``call(test_client, i)`` from ``n`` threads released together by a barrier.

    Each thread has its own test client, hence its own app context, session and pooled
    database connection: the requests really overlap inside the database.
    """
    barrier = threading.Barrier(n)
    slots: list[Any] = [None] * n

    def run(i: int) -> None:
        http = app.test_client()
        barrier.wait(timeout=60)
        try:
            resp = call(http, i)
            slots[i] = (resp.status_code, resp.get_json(silent=True) or {})
        except Exception as exc:  # a crash is a result too: counted as a 5xx
            slots[i] = (599, {"error": f"exception {type(exc).__name__}"})

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    result = RaceResult(name, seconds=time.perf_counter() - started)
    result.responses = [s if s is not None else (598, {"error": "thread hung"}) for s in slots]
    return result


def row_counts(app: Flask) -> dict[str, int]:
    """How many rows each passport table holds."""
    with app.app_context():
        state = app.extensions["passport"]
        models = state.models
        return {
            name: state.db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for name, model in (("clients", models.Client), ("access", models.AccessToken),
                                ("refresh", models.RefreshToken), ("codes", models.AuthCode))
        }


def snapshot(app: Flask) -> dict[str, Any]:
    """Every passport row's identity and state: equal snapshots mean nothing was written."""
    with app.app_context():
        state = app.extensions["passport"]
        m, session = state.models, state.db.session
        snap = {
            "clients": sorted(session.execute(
                sa.select(m.Client.id, m.Client.secret_hash, m.Client.revoked)).all()),
            "access": sorted(session.execute(
                sa.select(m.AccessToken.id, m.AccessToken.revoked)).all()),
            "refresh": sorted(session.execute(
                sa.select(m.RefreshToken.id, m.RefreshToken.revoked, m.RefreshToken.used_at,
                          m.RefreshToken.access_token_id)).all()),
            "codes": sorted(session.execute(
                sa.select(m.AuthCode.id, m.AuthCode.revoked, m.AuthCode.access_token_id)).all()),
        }
        return snap


def orphans(app: Flask) -> dict[str, int]:
    """Rows pointing at rows that do not exist (refresh -> access, code -> access)."""
    with app.app_context():
        state = app.extensions["passport"]
        m, session = state.models, state.db.session
        refresh = session.scalar(
            sa.select(sa.func.count()).select_from(m.RefreshToken).where(
                ~sa.exists().where(m.AccessToken.id == m.RefreshToken.access_token_id)))
        codes = session.scalar(
            sa.select(sa.func.count()).select_from(m.AuthCode).where(
                m.AuthCode.access_token_id.is_not(None),
                ~sa.exists().where(m.AccessToken.id == m.AuthCode.access_token_id)))
        access = session.scalar(
            sa.select(sa.func.count()).select_from(m.AccessToken).where(
                ~sa.exists().where(m.Client.id == m.AccessToken.client_id)))
        return {"refresh->access": refresh, "code->access": codes, "access->client": access}
