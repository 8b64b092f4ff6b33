"""Fifty parallel redemptions of one credential on PostgreSQL: exactly one success each, no 5xx,
and a consistent database afterwards (RFC 9700 §2.2.2 and §4.14.2).

Real threads, each with its own test client, app context and pooled connection, released
together by a barrier, so the statements overlap inside the server. SQLite serialises writers
and cannot show these races, so the suite needs ``PASSPORT_TEST_DATABASE_URL``.

The device authorization grant (RFC 8628) is being built in another branch; when it lands, its
race belongs here too, written with :func:`reliability_support.race` exactly like these.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PG_URL
from flask import Flask
from reliability_support import REDIRECT, consent_code, orphans, race, row_counts
from standards_support import password_token, refresh

from flask_passport import signals

PARALLEL = 50

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="the concurrency suite needs PostgreSQL: set PASSPORT_TEST_DATABASE_URL"
)


@pytest.fixture
def backend() -> str:
    """PostgreSQL only (overrides the SQLite/PostgreSQL parametrisation of conftest)."""
    return "postgresql"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    config = dict(app_config)
    options = dict(config["SQLALCHEMY_ENGINE_OPTIONS"])
    # One connection per thread, so no request waits for the pool instead of the database.
    options.update(pool_size=PARALLEL + 2, max_overflow=0, pool_timeout=60)
    config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    config["PASSPORT_RATELIMIT_ENABLED"] = False
    return config


def _show(capsys: pytest.CaptureFixture[str], *lines: str) -> None:
    with capsys.disabled():
        print()
        for line in lines:
            print(line)


def test_fifty_parallel_code_exchanges_one_winner(
    app: Flask, client: Any, authz_login: Any, user: Any, authz_client: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    authz_login(client, user)
    code = consent_code(client, authz_client.client.id)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": authz_client.client.id, "client_secret": authz_client.secret}

    result = race(app, "authorization code x50", PARALLEL,
                  lambda http, _i: http.post("/oauth/token", data=form))
    counts, dangling = row_counts(app), orphans(app)
    _show(capsys, result.figures(), f"[reliability]   rows after: {counts} orphans: {dangling}")

    assert len(result.responses) == PARALLEL
    assert result.server_errors == 0, result.responses
    assert result.successes == 1, result.responses
    # Every loser waited on the winner's row lock, then saw a spent code: a replay.
    assert result.errors() == {"invalid_grant"}
    assert counts["access"] == 1 and counts["refresh"] == 1 and counts["codes"] == 1
    assert dangling == {"refresh->access": 0, "code->access": 0, "access->client": 0}
    with app.app_context():
        state = app.extensions["passport"]
        m, session = state.models, state.db.session
        token = session.scalars(sa.select(m.AccessToken)).one()
        code_row = session.scalars(sa.select(m.AuthCode)).one()
        refresh_row = session.scalars(sa.select(m.RefreshToken)).one()
        assert code_row.revoked is True and code_row.access_token_id == token.id
        assert refresh_row.access_token_id == token.id
        # RFC 6749 §4.1.2 / RFC 9700 §4.5: the replays revoked what the code issued.
        assert token.revoked is True and refresh_row.revoked is True


def test_fifty_parallel_refreshes_one_winner(
    app: Flask, password_client: Any, user: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    first = password_token(app.test_client(), password_client, user)
    reuse: list[str] = []

    def on_reuse(_sender: Any, **kw: Any) -> None:
        reuse.append(kw["family_id"])

    signals.refresh_token_reused.connect(on_reuse)
    try:
        result = race(app, "refresh token x50", PARALLEL,
                      lambda http, _i: refresh(http, password_client, first["refresh_token"]))
    finally:
        signals.refresh_token_reused.disconnect(on_reuse)
    counts, dangling = row_counts(app), orphans(app)
    _show(capsys, result.figures(),
          f"[reliability]   rows after: {counts} orphans: {dangling} "
          f"reuse detections: {len(reuse)}")

    assert len(result.responses) == PARALLEL
    assert result.server_errors == 0, result.responses
    assert result.successes == 1, result.responses
    assert result.errors() == {"invalid_grant"}
    # One rotation happened: the original pair and the winner's pair, nothing else.
    assert counts["access"] == 2 and counts["refresh"] == 2
    assert dangling == {"refresh->access": 0, "code->access": 0, "access->client": 0}
    family = first["refresh_token"].split(".")[0]
    winner = next(body for status, body in result.responses if status == 200)
    with app.app_context():
        state = app.extensions["passport"]
        m, session = state.models, state.db.session
        rows = {r.id: r for r in session.scalars(sa.select(m.RefreshToken))}
        original, successor = rows[family], rows[winner["refresh_token"].split(".")[0]]
        assert original.revoked is True and original.used_at is not None
        assert successor.family_id == family
        assert session.get(m.AccessToken, original.access_token_id).revoked is True
        # A loser that read the token after the winner committed saw a spent token: that is
        # reuse (RFC 9700 §4.14.2) and the family dies. Otherwise the winner's pair is live.
        live_access = session.get(m.AccessToken, successor.access_token_id)
        if reuse:
            assert set(reuse) == {family}
            assert successor.revoked is True and live_access.revoked is True
        else:
            assert successor.revoked is False and live_access.revoked is False


def test_fifty_parallel_revocations_and_refreshes_leave_nothing_alive(
    app: Flask, password_client: Any, user: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Half the threads revoke a refresh token while the other half try to rotate it."""
    first = password_token(app.test_client(), password_client, user)

    def call(http: Any, i: int) -> Any:
        if i % 2:
            return refresh(http, password_client, first["refresh_token"])
        return http.post("/oauth/revoke", data={
            "token": first["refresh_token"], "client_id": password_client.client.id,
            "client_secret": password_client.secret})

    result = race(app, "revoke x25 + refresh x25", PARALLEL, call)
    counts, dangling = row_counts(app), orphans(app)
    refreshes = [result.responses[i] for i in range(1, PARALLEL, 2)]
    revokes = [result.responses[i] for i in range(0, PARALLEL, 2)]
    rotated = sum(1 for status, _ in refreshes if status == 200)
    _show(capsys, result.figures(),
          f"[reliability]   of which refresh successes={rotated} (at most 1), revocations "
          f"answered 200={sum(1 for s, _ in revokes if s == 200)} of {len(revokes)}",
          f"[reliability]   rows after: {counts} orphans: {dangling}")

    assert result.server_errors == 0, result.responses
    assert rotated <= 1
    assert all(status == 200 for status, _ in revokes), revokes
    assert dangling == {"refresh->access": 0, "code->access": 0, "access->client": 0}
    assert counts["refresh"] in (1, 2) and counts["access"] == counts["refresh"]
    with app.app_context():
        state = app.extensions["passport"]
        m, session = state.models, state.db.session
        # RFC 7009 §2.1: revoking the refresh token revoked its whole grant, including a pair
        # a racing rotation created, whichever order the database ran them in.
        assert session.scalar(sa.select(sa.func.count()).select_from(m.RefreshToken).where(
            m.RefreshToken.revoked.is_(False))) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(m.AccessToken).where(
            m.AccessToken.revoked.is_(False))) == 0
