"""Scale check: does the cost of a protected request and of issuing a token stay flat with a
million tokens in the tables? And how long does ``flask passport purge`` take for them?

``python bench/scale.py --backend sqlite`` (or ``postgresql``), see bench/README.md.

1. Two databases seeded alike; one gets ``--rows`` access tokens and as many refresh tokens
   (expired a month ago, so purgeable), bulk-loaded (SQLite: DBAPI ``executemany``; PostgreSQL:
   ``COPY``), then ``ANALYZE``.
2. Both served at once (gunicorn, 2 workers each); wrk runs interleaved A B B A; the paired
   ratio full/empty for a protected request (latency and req/s) and for client-credentials
   issuance.
3. PostgreSQL: ``EXPLAIN`` of the hot queries (they must be index scans).
4. ``flask passport purge --expired`` of the million rows (on a pseudo-terminal, so its
   progress bar shows), timed, while wrk keeps sending protected requests to the same database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import LUA, Server, Target, private_key_pem, run_wrk  # noqa: E402

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def pg_create(name: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_BASE + "postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return PG_BASE + name


def pg_drop(name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_BASE + "postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()


def fill(url: str, rows: int, client_id: str, user_id: int, chunk: int = 50_000) -> float:
    """Bulk-load ``rows`` expired access tokens and refresh tokens; returns seconds taken."""
    import sqlalchemy as sa

    from flask_passport.jose import tokens
    started = time.time()
    old = datetime.now(UTC) - timedelta(days=31)
    exp = old + timedelta(hours=1)
    engine = sa.create_engine(url)
    sqlite = url.startswith("sqlite")
    fmt = (lambda d: d.replace(tzinfo=None).isoformat(" ")) if sqlite else (lambda d: d)
    o, e, r_exp = fmt(old), fmt(exp), fmt(old + timedelta(days=14))
    at_cols = "id, user_id, client_id, name, scopes, revoked, created_at, updated_at, expires_at"
    rt_cols = "id, secret_hash, access_token_id, family_id, revoked, created_at, expires_at"
    done = 0
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        while done < rows:
            n = min(chunk, rows - done)
            at_ids = [tokens.new_id() for _ in range(n)]  # as the app makes them
            access = [(i, str(user_id), client_id, None, '["check-status"]', False, o, o, e)
                      for i in at_ids]
            refresh = []
            for i in at_ids:
                rid = tokens.new_id()
                refresh.append((rid, os.urandom(32).hex(), i, rid, False, o, r_exp))
            if sqlite:
                raw.executemany(f"INSERT INTO oauth_access_tokens ({at_cols}) VALUES "
                                "(?,?,?,?,?,?,?,?,?)", access)
                raw.executemany(f"INSERT INTO oauth_refresh_tokens ({rt_cols}) VALUES "
                                "(?,?,?,?,?,?,?)", refresh)
            else:
                cur = raw.cursor()
                with cur.copy(f"COPY oauth_access_tokens ({at_cols}) FROM STDIN") as copy:
                    for row in access:
                        copy.write_row(row)
                with cur.copy(f"COPY oauth_refresh_tokens ({rt_cols}) FROM STDIN") as copy:
                    for row in refresh:
                        copy.write_row(row)
            done += n
            print(f"\r  loaded {done:,} / {rows:,} access + refresh tokens", end="", flush=True)
        conn.exec_driver_sql("ANALYZE")
    print()
    engine.dispose()
    return time.time() - started


def paired(name: str, full: Target, empty: Target, rounds: int, duration: int, tmp: Path
           ) -> dict[str, Any]:
    ratios, lat = [], []
    for _ in range(rounds):
        a1 = run_wrk(full, duration, tmp, 0)
        b1 = run_wrk(empty, duration, tmp, 0)
        b2 = run_wrk(empty, duration, tmp, 0)
        a2 = run_wrk(full, duration, tmp, 0)
        ratios.append((a1["rps"] + a2["rps"]) / (b1["rps"] + b2["rps"]))
        lat.append((a1["p50_us"] + a2["p50_us"]) / (b1["p50_us"] + b2["p50_us"]))
    errors = sum(r["errors"] for r in full.results + empty.results)
    out = {"rps_ratio": statistics.median(ratios), "rps_spread": (min(ratios), max(ratios)),
           "p50_ratio": statistics.median(lat), "p50_spread": (min(lat), max(lat)),
           "full_rps": statistics.median(r["rps"] for r in full.results),
           "empty_rps": statistics.median(r["rps"] for r in empty.results),
           "full_p50_ms": statistics.median(r["p50_us"] for r in full.results) / 1000,
           "empty_p50_ms": statistics.median(r["p50_us"] for r in empty.results) / 1000,
           "errors": errors}
    print(f"  {name:28s} full/empty req/s {out['rps_ratio']:.2f}x "
          f"(spread {min(ratios):.2f}-{max(ratios):.2f}), p50 latency "
          f"{out['p50_ratio']:.2f}x (spread {min(lat):.2f}-{max(lat):.2f}); "
          f"full {out['full_rps']:.0f} req/s p50 {out['full_p50_ms']:.1f} ms, empty "
          f"{out['empty_rps']:.0f} req/s p50 {out['empty_p50_ms']:.1f} ms"
          + (f"  ERRORS {errors}" if errors else ""), flush=True)
    full.results, empty.results = [], []
    return out


def explain(url: str, client_id: str) -> None:
    """EXPLAIN the hot queries on PostgreSQL: each must use an index, not a scan."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    jti = str(uuid.uuid4())
    queries = {
        "protected request (token row + client + user, by jti)":
            "SELECT u.*, t.user_id, t.client_id, t.scopes, t.revoked, t.expires_at, c.revoked "
            "FROM oauth_access_tokens t JOIN oauth_clients c ON c.id = t.client_id "
            "LEFT OUTER JOIN users u ON u.id = CASE WHEN t.user_id ~ '^-?[0-9]{1,18}$' "
            "THEN CAST(t.user_id AS BIGINT) END "
            f"WHERE t.id = '{jti}'",
        "refresh grant (refresh row + access row, by selector)":
            "SELECT r.secret_hash, a.client_id FROM oauth_refresh_tokens r JOIN "
            f"oauth_access_tokens a ON a.id = r.access_token_id WHERE r.id = '{jti}'",
        "revocation cascade (refresh tokens of an access token)":
            f"UPDATE oauth_refresh_tokens SET revoked = true WHERE access_token_id = '{jti}' "
            "AND revoked = false",
        "reuse detection (a refresh family)":
            f"SELECT access_token_id FROM oauth_refresh_tokens WHERE family_id = '{jti}'",
        "another user's tokens": "SELECT id FROM oauth_access_tokens WHERE user_id = '2' "
                           "ORDER BY created_at DESC",
        "purge batch (expired refresh tokens, keyset)":
            "SELECT id FROM oauth_refresh_tokens WHERE expires_at < now() - interval '7 days' "
            f"AND id > '{jti}' ORDER BY id LIMIT 5000",
        "purge batch (expired access tokens, keyset)":
            "SELECT id FROM oauth_access_tokens WHERE expires_at < now() - interval '7 days' "
            f"AND id > '{jti}' ORDER BY id LIMIT 5000",
        "purge delete (the batch's ids, kept while a refresh token points at one)":
            f"DELETE FROM oauth_access_tokens t WHERE t.id IN ('{jti}', '{client_id}') AND "
            "NOT EXISTS (SELECT 1 FROM oauth_refresh_tokens r WHERE r.access_token_id = t.id)",
    }
    with engine.connect() as conn:
        for name, sql in queries.items():
            print(f"  -- {name}")
            plan = conn.exec_driver_sql("EXPLAIN " + sql).scalars().all()
            for line in plan:
                print(f"     {line}")
        conn.rollback()
    engine.dispose()


def purge_while_serving(url: str, env: dict[str, str], target: Target, tmp: Path,
                        batch_size: int) -> None:
    """Run the purge command on a pseudo-terminal while wrk keeps hitting the server."""
    cmd = (f"{sys.executable} -m flask --app example_app passport purge --expired "
           f"--batch-size {batch_size}")
    full_env = {**os.environ, **env, "DATABASE_URL": url, "PYTHONPATH": str(ROOT),
                "COLUMNS": "100"}
    log = tmp / "purge.log"
    started = time.time()
    proc = subprocess.Popen(["script", "-qefc", cmd, str(log)], env=full_env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    served = []
    while proc.poll() is None:
        served.append(run_wrk(target, 1, tmp, 0))
    proc.wait()
    took = time.time() - started
    text = log.read_bytes().decode(errors="replace").replace("\x1b[?25l", "")
    text = text.replace("\x1b[?25h", "")
    frames = [x for x in text.replace("\r", "\n").splitlines() if x.strip()]
    print(f"  purge took {took:.1f}s (exit {proc.returncode}); its terminal output (last frames "
          "of each progress bar):")
    last: dict[str, str] = {}
    for f in frames:
        if f.startswith(("refresh_tokens", "access_tokens", "auth_codes", "Purged")):
            last[f.split()[0]] = f
    for line in last.values():
        print(f"     {line.strip()}")
    if served:
        rps = [r["rps"] for r in served]
        errors = sum(r["errors"] for r in served)
        p99 = max(r["p99_us"] for r in served) / 1000
        print(f"  meanwhile: {len(served)} one-second wrk runs of GET /api/user: median "
              f"{statistics.median(rps):.0f} req/s (min {min(rps):.0f}), worst p99 {p99:.0f} ms, "
              f"{errors} errors")
    target.results = []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--no-purge", action="store_true",
                        help="stop after the paired runs (and EXPLAIN)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="passport-scale-"))
    pem = private_key_pem("RSA")
    # Rate limits off, as in run.py: a load test from one address would be answered 429.
    base_env = {"PASSPORT_PRIVATE_KEY": pem, "PASSPORT_ISSUER": "http://127.0.0.1",
                "PASSPORT_RATELIMIT_ENABLED": "0"}
    if args.backend == "sqlite":
        urls = {k: f"sqlite:///{tmp / k}.sqlite" for k in ("empty", "full")}
    else:
        urls = {k: pg_create(f"passport_scale_{k}") for k in ("empty", "full")}
    servers: list[Server] = []
    print(f"flask-passport scale check on {args.backend}: {args.rows:,} rows, wrk -t2 -c16, "
          f"{args.rounds} rounds A B B A of {args.duration}s runs", flush=True)
    try:
        from bench.seed import Ours

        seeded = {}
        envs = {}
        for key, url in urls.items():
            envs[key] = {**base_env, "DATABASE_URL": url}
            os.environ.update(envs[key])
            seeded[key] = Ours().seed()
        if args.backend == "sqlite":
            from bench.run import enable_wal

            for url in urls.values():
                enable_wal(url)
        took = fill(urls["full"], args.rows, seeded["full"]["machine"][0],
                    seeded["full"]["user_id"])
        print(f"  bulk load: {took:.1f}s", flush=True)
        for key in urls:
            envs[key]["BENCH_USER_ID"] = str(seeded[key]["user_id"])
            servers.append(Server(f"ours ({key})", "bench.wsgi:ours()", envs[key]))
        for s in servers:
            s.wait("/api/user")
        empty_s, full_s = servers

        def cc(key: str) -> str:
            cid, sec = seeded[key]["machine"]
            return f"grant_type=client_credentials&client_id={cid}&client_secret={sec}"

        paired("protected GET /api/user",
               Target(full_s, "GET", "/api/user", auth=f"Bearer {seeded['full']['pat']}"),
               Target(empty_s, "GET", "/api/user", auth=f"Bearer {seeded['empty']['pat']}"),
               args.rounds, args.duration, tmp)
        paired("token: client credentials",
               Target(full_s, "POST", "/oauth/token", cc("full")),
               Target(empty_s, "POST", "/oauth/token", cc("empty")),
               args.rounds, args.duration, tmp)
        if args.backend == "postgresql":
            print("  EXPLAIN (PostgreSQL, full tables):")
            explain(urls["full"].replace("postgresql+psycopg", "postgresql+psycopg"),
                    seeded["full"]["machine"][0])
        if not args.no_purge:
            purge_while_serving(urls["full"], envs["full"],
                                Target(full_s, "GET", "/api/user",
                                       auth=f"Bearer {seeded['full']['pat']}"),
                                tmp, args.batch_size)
    finally:
        for s in servers:
            s.stop()
        if args.backend == "postgresql":
            for key in urls:
                pg_drop(f"passport_scale_{key}")
    assert LUA.exists()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
