"""What the example app needs to run as a web server: a secret key that is never a known
default, SQLite tuned for concurrent requests, and pages that refuse to be framed."""

from __future__ import annotations

import contextlib
import os
import secrets
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response

#: The file in the instance folder that keeps the generated secret key.
SECRET_KEY_FILE = "secret_key"
#: How long a SQLite connection waits for another one's write lock before failing (ms).
BUSY_TIMEOUT_MS = 5000


def secret_key(instance_path: str) -> str:
    """``SECRET_KEY`` from the environment, else a random key kept in the instance folder.

    The key is made once (0600) and reused on the next start, so sessions and API cookies
    survive a restart; workers starting together agree on one key (link, then read).
    """
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    path = os.path.join(instance_path, SECRET_KEY_FILE)
    with contextlib.suppress(FileNotFoundError), open(path, encoding="ascii") as file:
        kept = file.read().strip()
        if kept:
            return kept
    temporary = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):  # another worker was first: use its key
            os.link(temporary, path)  # atomic: a reader never sees a half-written key
    finally:
        os.unlink(temporary)
    with open(path, encoding="ascii") as file:
        return file.read().strip()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run while one connection writes (the default rollback journal blocks
    them), and the busy timeout makes a second writer wait instead of failing with
    ``database is locked``. ``synchronous=NORMAL`` is durable across crashes of the app in WAL
    mode and saves an fsync per commit."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def tune_sqlite(engines: dict[Any, sa.Engine]) -> None:
    """Add :func:`_sqlite_pragmas` to every new connection of the SQLite engines (only)."""
    for engine in engines.values():
        if engine.dialect.name == "sqlite" and not sa.event.contains(
                engine, "connect", _sqlite_pragmas):
            sa.event.listen(engine, "connect", _sqlite_pragmas)


def refuse_framing(response: Response) -> Response:
    """``after_request``: no other site may frame the app's pages (clickjacking the login or
    dashboard); Passport's own pages set the same headers and keep theirs."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    if "Content-Security-Policy" not in response.headers:
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


def init_app(app: Flask, db: Any) -> None:
    """Tune the app's SQLite engines and refuse framing (after ``db.init_app(app)``)."""
    with app.app_context():
        tune_sqlite(db.engines)
    app.after_request(refuse_framing)
