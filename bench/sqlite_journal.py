"""The example app's SQLite settings, measured: the client-credentials token endpoint under
gunicorn (2 sync workers, wrk -t2 -c16 on loopback) with SQLite's default rollback journal
versus the example app's WAL journal + busy timeout + ``synchronous=NORMAL``.

    PYTHONPATH=. python bench/sqlite_journal.py --rounds 3 --duration 5

Runs are interleaved (default, WAL, WAL, default per round) so the machine's drift cancels in
the ratio; the figures go in docs/deploying.rst. Never part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from flask import Flask

from bench.run import Server, Target, ensure_wrk, run_wrk


def app() -> Flask:
    """The example app; ``BENCH_JOURNAL=delete`` turns its SQLite tuning back to the defaults."""
    import sqlalchemy as sa

    from example_app import create_app, db
    from example_app.web_server import _sqlite_pragmas

    application = create_app()
    if os.environ.get("BENCH_JOURNAL") == "delete":
        with application.app_context():
            sa.event.remove(db.engine, "connect", _sqlite_pragmas)
    return application


def _prepare(url: str, journal: str) -> None:
    """Switch the file's journal mode (persistent in the file) before the server starts."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f"PRAGMA journal_mode={journal}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    args = parser.parse_args()
    ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'bench.sqlite'}"
        from flask_passport.jose import keys
        pem = keys.private_pem(keys.generate_private_key("RSA", 2048)).decode()
        env = {"DATABASE_URL": url, "SECRET_KEY": "b" * 48, "PASSPORT_RATELIMIT_ENABLED": "0",
               "PASSPORT_ISSUER": "http://127.0.0.1", "PASSPORT_PRIVATE_KEY": pem}
        os.environ.update(env)
        from example_app import create_app, db
        from example_app.commands import seed_data

        seeding = create_app()
        with seeding.app_context():
            seeded = seed_data(5000)
            db.session.remove()
            db.engine.dispose()  # no connection may stay open while the journal mode changes
        machine = seeded["clients"]["client_credentials"]
        body = (f"grant_type=client_credentials&client_id={machine['id']}"
                f"&client_secret={machine['secret']}&scope=check-status")
        rps: dict[str, list[float]] = {"delete": [], "wal": []}
        errors = 0
        for _ in range(args.rounds):
            for journal in ("delete", "wal", "wal", "delete"):
                _prepare(url, journal)
                server = Server(journal, "bench.sqlite_journal:app()",
                                {**env, "BENCH_JOURNAL": journal})
                try:
                    server.wait("/login")
                    result = run_wrk(Target(server, "POST", "/oauth/token", body=body),
                                     args.duration, tmp, 0)
                finally:
                    server.stop()
                rps[journal].append(result["rps"])
                errors += result["errors"]
                print(f"{journal:6s} {result['rps']:7.0f} req/s  errors {result['errors']}",
                      flush=True)
    default, wal = statistics.median(rps["delete"]), statistics.median(rps["wal"])
    print(f"median: rollback journal {default:.0f} req/s, WAL {wal:.0f} req/s, "
          f"ratio {wal / default:.2f}x ({args.rounds} rounds x {args.duration}s, "
          f"{errors} errors)")


if __name__ == "__main__":
    main()
