"""Refresh token rotation under real concurrency on PostgreSQL: exactly one of 20 wins."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PG_URL, database_config, db, make_app, new_client
from flask import Flask
from helpers import password_token, refresh

from flask_passport import signals
from flask_passport.storage.models import utcnow

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not PG_URL,
        reason="needs PostgreSQL: set PASSPORT_TEST_DATABASE_URL (SQLite serialises writers, so "
        "it cannot show a race)",
    ),
]

THREADS = 20


@pytest.fixture
def pg_app(tmp_path: Any, pg_schema: str | None, private_key_pem: str) -> Iterator[Flask]:
    config = database_config("postgresql", tmp_path, pg_schema)
    # One connection per thread, so all 20 really reach the database at once.
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {**config["SQLALCHEMY_ENGINE_OPTIONS"],
                                           "pool_size": THREADS + 2, "max_overflow": 0}
    config["PASSPORT_PRIVATE_KEY"] = private_key_pem
    app = make_app(config)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _race(app: Flask, work: Any) -> tuple[list[Any], float]:
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def run(i: int) -> None:
        with app.app_context():
            http = app.test_client()
            barrier.wait()
            try:
                results[i] = work(http)
            except Exception as exc:  # reported, and fails the test below
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    elapsed = time.perf_counter() - start
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results, elapsed


def test_twenty_parallel_refreshes_exactly_one_wins(pg_app: Flask) -> None:
    from conftest import User

    with pg_app.app_context():
        u = User(email="race@example.com")
        u.set_password("secret-password")
        db.session.add(u)
        db.session.commit()
        db.session.refresh(u)
        db.session.expunge(u)
    pc = new_client(pg_app, "password")
    first = password_token(pg_app.test_client(), pc, u)
    assert first.status_code == 200, first.json
    token = first.json["refresh_token"]

    reused: list[Any] = []

    def on_reuse(sender: Any, **kwargs: Any) -> None:
        reused.append(kwargs["family_id"])

    signals.refresh_token_reused.connect(on_reuse)
    try:
        results, elapsed = _race(pg_app, lambda http: refresh(http, pc, token))
    finally:
        signals.refresh_token_reused.disconnect(on_reuse)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    statuses = Counter(r.status_code for r in results)
    codes = Counter(r.json.get("error", "ok") for r in results)
    print(f"\n{THREADS} parallel refreshes of one token in {elapsed * 1000:.0f} ms: "
          f"statuses {dict(statuses)}, outcomes {dict(codes)}; {THREADS - 1 - len(reused)} "
          f"lost the conditional UPDATE, {len(reused)} arrived after the commit (reuse)")
    assert statuses[200] == 1, dict(codes)
    assert statuses[400] == THREADS - 1, dict(codes)
    assert set(codes) == {"ok", "invalid_grant"}

    with pg_app.app_context():
        models = pg_app.extensions["passport"].models
        rows = db.session.execute(sa.select(models.RefreshToken.id, models.RefreshToken.used_at)
                                  ).all()
        # The original plus exactly one successor: no double issue.
        assert len(rows) == 2
        assert sum(1 for r in rows if r.used_at is not None) == 1
        access = db.session.scalar(sa.select(sa.func.count()).select_from(models.AccessToken))
        assert access == 2
        assert all(r.used_at is None or r.used_at <= utcnow() for r in rows)
