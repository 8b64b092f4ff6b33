"""``purge_tokens`` in small batches: exactly the purgeable rows go, live ones stay, progress is
reported per batch, and the CLI prints its summary."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from flask_passport.cli import count_purgeable, purge_tokens
from flask_passport.jose import tokens
from flask_passport.storage.models import utcnow


def _fill(app: Flask, client_id: str) -> None:
    db = app.extensions["sqlalchemy"]
    models = app.extensions["passport"].models
    old = utcnow() - timedelta(days=30)
    now = utcnow()
    with app.app_context():
        for i in range(7):  # expired long ago, with an expired refresh token each
            at = models.AccessToken(id=tokens.new_id(), user_id="1", client_id=client_id,
                                    scopes=[], revoked=False, created_at=old, updated_at=old,
                                    expires_at=old + timedelta(hours=1))
            db.session.add(at)
            db.session.flush()
            db.session.add(models.RefreshToken(id=tokens.new_id(), secret_hash="x" * 64,
                                               access_token_id=at.id, family_id=f"f{i}",
                                               revoked=False, created_at=old,
                                               expires_at=old + timedelta(days=1)))
        for _ in range(3):  # revoked long ago but not expired
            db.session.add(models.AccessToken(id=tokens.new_id(), user_id="1",
                                              client_id=client_id, scopes=[], revoked=True,
                                              created_at=old, updated_at=old,
                                              expires_at=now + timedelta(days=60)))
        for _ in range(4):  # live
            db.session.add(models.AccessToken(id=tokens.new_id(), user_id="1",
                                              client_id=client_id, scopes=[], revoked=False,
                                              created_at=now, updated_at=now,
                                              expires_at=now + timedelta(hours=1)))
        db.session.commit()


def test_purge_in_batches(app: Flask, machine_client: Any) -> None:
    _fill(app, machine_client.client.id)
    db = app.extensions["sqlalchemy"]
    models = app.extensions["passport"].models
    calls: list[tuple[str, int]] = []
    with app.app_context():
        options = {"revoked": True, "expired": True, "older_than": timedelta(days=7)}
        assert count_purgeable(db.session, models, **options) == {
            "refresh_tokens": 7, "access_tokens": 10, "auth_codes": 0,
                          "device_codes": 0, "pending_authorizations": 0,
                          "pushed_authorizations": 0,
                          "used_jtis": 0}
        counts = purge_tokens(db.session, models, batch_size=2,
                              progress=lambda t, n: calls.append((t, n)), **options)
        assert counts == {"refresh_tokens": 7, "access_tokens": 10, "auth_codes": 0,
                          "device_codes": 0, "pending_authorizations": 0,
                          "pushed_authorizations": 0,
                          "used_jtis": 0}
        left = db.session.scalars(db.select(models.AccessToken)).all()
        assert len(left) == 4 and all(not t.revoked for t in left)
    assert sum(n for t, n in calls if t == "access_tokens") == 10
    assert max(n for _, n in calls) == 2


def test_purge_command(app: Flask, machine_client: Any) -> None:
    _fill(app, machine_client.client.id)
    result = app.test_cli_runner().invoke(args=["passport", "purge", "--expired",
                                                "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert "Purged 7 refresh tokens, 7 access tokens and 0 auth codes." in result.output
