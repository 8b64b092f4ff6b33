"""One command for the whole benchmark: ``python bench/run.py`` (see bench/README.md).

Starts, on loopback, gunicorn (2 sync workers) servers: the example app (token cache off, and
on), the Authlib reference and a bare Flask route; seeds SQLite and PostgreSQL; drives every
scenario with wrk (-t2 -c16) in short interleaved runs (A B C C B A per round: ours, bare,
Authlib); prints requests/s, p50/p99 latency, server CPU per request, and the paired ratios
(median of the per-round ratios, with their min-max spread). Bounded in time: about
``rounds x duration x 40`` seconds per backend plus a few seconds of setup.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "lua" / "bench.lua"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "passport_bench"
TICKS = os.sysconf("SC_CLK_TCK")


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("wrk is missing: apt-get install -y wrk", flush=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user+system) of ``pid`` and its descendants, from /proc."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICKS
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(_proc_cpu(int(c)) for c in children)


class Server:
    """A gunicorn server (its own process group, killed by its pid at the end)."""

    def __init__(self, name: str, target: str, env: dict[str, str], workers: int = 2) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "sync",
             "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "--timeout", "30",
             target],
            cwd=ROOT, env=full_env, start_new_session=True,
        )

    def wait(self, path: str = "/", timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.name} exited with {self.proc.returncode}")
            try:
                urllib.request.urlopen(self.url + path, timeout=2)
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server {self.name} did not start")

    def cpu(self) -> float:
        return _proc_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@dataclass
class Target:
    """One side of a comparison: a server, a request, and optionally a pool factory."""

    server: Server
    method: str
    path: str
    body: str | None = None
    auth: str | None = None
    pool: Any = None  # callable(n) -> list[str], for single-use values
    pool_header: str | None = None  # send each pool value in this header (DPoP proofs)
    results: list[dict[str, Any]] = field(default_factory=list)


def run_wrk(t: Target, duration: float, tmp: Path, pool_size: int) -> dict[str, Any]:
    env = {**os.environ, "BENCH_METHOD": t.method, "BENCH_THREADS": "2"}
    if t.body is not None:
        env["BENCH_BODY"] = t.body
    if t.auth:
        env["BENCH_AUTH"] = t.auth
    if t.pool is not None:
        pool_file = tmp / "pool.txt"
        pool_file.write_text("\n".join(t.pool(pool_size)) + "\n")
        env["BENCH_POOL"] = str(pool_file)
        if t.pool_header:
            env["BENCH_POOL_HEADER"] = t.pool_header
    cpu0 = t.server.cpu()
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{duration}s", "--timeout", "5s", "-s", str(LUA),
         t.server.url + t.path],
        env=env, capture_output=True, text=True, timeout=duration + 30,
    )
    cpu = t.server.cpu() - cpu0
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    r = json.loads(line[len("BENCHJSON "):])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["errors"] = (r["status_errors"] + r["connect_errors"] + r["read_errors"]
                   + r["write_errors"] + r["timeouts"])
    r["cpu_ms_per_req"] = 1000 * cpu / max(r["requests"], 1)
    r["cpu_cores"] = cpu / (r["duration_us"] / 1e6)
    if t.pool is not None and r["requests"] > pool_size:
        r["pool_exhausted"] = True
    t.results.append(r)
    return r


def scenario(name: str, targets: dict[str, Target], rounds: int, duration: float, tmp: Path,
             pool_size: int, report: dict[str, Any]) -> None:
    """Interleaved rounds: ours, refs..., refs reversed, ours; ratios per round, then medians."""
    refs = [k for k in targets if k != "ours"]
    order = ["ours", *refs, *reversed(refs), "ours"]
    ratios: dict[str, list[float]] = {k: [] for k in refs}
    for _ in range(rounds):
        got: dict[str, list[float]] = {k: [] for k in targets}
        for key in order:
            got[key].append(run_wrk(targets[key], duration, tmp, pool_size)["rps"])
        for k in refs:
            ratios[k].append(sum(got["ours"]) / sum(got[k]))
    entry: dict[str, Any] = {"targets": {}, "ratios": {}}
    print(f"\n== {name}")
    for key, t in targets.items():
        res = t.results
        med = {m: statistics.median(r[m] for r in res)
               for m in ("rps", "p50_us", "p99_us", "cpu_ms_per_req", "cpu_cores")}
        errors = sum(r["errors"] for r in res)
        exhausted = any(r.get("pool_exhausted") for r in res)
        entry["targets"][key] = {**med, "errors": errors, "runs": len(res),
                                 "requests": sum(r["requests"] for r in res)}
        print(f"  {key:8s} {t.server.name:22s} {med['rps']:8.0f} req/s  p50 "
              f"{med['p50_us'] / 1000:6.2f} ms  p99 {med['p99_us'] / 1000:7.2f} ms  "
              f"server CPU {med['cpu_ms_per_req']:5.2f} ms/req ({med['cpu_cores']:.2f} cores)"
              + (f"  ERRORS {errors}" if errors else "")
              + ("  POOL EXHAUSTED" if exhausted else ""))
    for k, values in ratios.items():
        med = statistics.median(values)
        entry["ratios"][k] = {"median": med, "min": min(values), "max": max(values),
                              "rounds": values}
        print(f"  ours / {k:8s} = {med:5.2f}x  (spread {min(values):.2f}-{max(values):.2f}, "
              f"{len(values)} rounds)")
    report[name] = entry
    for t in targets.values():
        t.results = []


def backend_url(backend: str, tmp: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / name}.sqlite"
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"


def reset_pg() -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {PG_DB}"))
    engine.dispose()


def enable_wal(url: str) -> None:
    """SQLite in WAL mode (persistent in the file), as any concurrent deployment would use."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    engine.dispose()


def redis_reachable(url: str) -> bool:
    if not url:
        return False
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
        return True
    except Exception as exc:  # any failure: skip the reference, say why
        # The URL is not printed: it may carry a password.
        print(f"(no broadcast reference: Redis unavailable: {type(exc).__name__})")
        return False


def private_key_pem(kind: str) -> str:
    from flask_passport.jose import keys
    return keys.private_pem(keys.generate_private_key(kind)).decode()


def dpop_targets(server: Server, issuer: str, client_id: str, secret: str
                 ) -> dict[str, Target]:
    """The DPoP scenario (RFC 9449): the same route with a DPoP-bound user token and a proof
    per request ("ours"), paired with a Bearer token for the same user ("bearer"). Proofs are
    single use, so each run gets a pool minted just before it (well within their 60 s)."""
    import uuid

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    from bench.seed import PASSWORD
    from flask_passport.jose.dpop import access_token_hash
    from flask_passport.jose.keys import public_jwk

    key = ec.generate_private_key(ec.SECP256R1())
    header = {"typ": "dpop+jwt", "jwk": public_jwk(key.public_key())}

    def proof(method: str, url: str, token: str | None = None) -> str:
        claims = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
        if token is not None:
            claims["ath"] = access_token_hash(token)
        return jwt.encode(claims, key, algorithm="ES256", headers=header)

    def user_token(dpop: str | None) -> dict[str, Any]:
        body = (f"grant_type=password&client_id={client_id}&client_secret={secret}"
                f"&username=bench%40example.com&password={PASSWORD}&scope=check-status")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if dpop:
            headers["DPoP"] = dpop
        req = urllib.request.Request(server.url + "/oauth/token", data=body.encode(),
                                     headers=headers)
        return json.loads(urllib.request.urlopen(req, timeout=10).read())  # type: ignore

    bound = user_token(proof("POST", issuer + "/oauth/token"))
    assert bound["token_type"] == "DPoP", bound
    token = bound["access_token"]
    bearer = user_token(None)["access_token"]
    url = issuer + "/api/user"  # htu names the configured issuer's origin, not the port
    return {
        "ours": Target(server, "GET", "/api/user", auth=f"DPoP {token}",
                       pool=lambda n: [proof("GET", url, token) for _ in range(n)],
                       pool_header="DPoP"),
        "bearer": Target(server, "GET", "/api/user", auth=f"Bearer {bearer}"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=1,
                        help="seconds per wrk run (wrk takes whole seconds)")
    parser.add_argument("--key", default="RSA", choices=["RSA", "ES256", "EdDSA"])
    parser.add_argument("--scenarios", default="all",
                        help="comma list: cc,password,refresh,code,protected,scopes,cached,"
                             "personal,introspect,dpop")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0",
                        help="Redis for the cached scenario's broadcast reference ('' skips it)")
    args = parser.parse_args()
    ensure_wrk()
    wanted = set(args.scenarios.split(",")) if args.scenarios != "all" else None

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    sys.path.insert(0, str(ROOT))
    tmp = Path(tempfile.mkdtemp(prefix="passport-bench-"))
    issuer = "http://127.0.0.1"
    pem = private_key_pem(args.key)
    pool_size = int(args.duration * 3000) + 500
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                              "rounds": args.rounds, "duration": args.duration, "key": args.key}
    servers: list[Server] = []
    started = time.time()
    print(f"flask-passport bench: {args.key} keys, wrk -t2 -c16, {args.rounds} rounds of "
          f"{args.duration}s runs, gunicorn -w 2 (sync). Ratios: median of per-round ratios "
          "(spread = min-max).", flush=True)
    try:
        bare = Server("bare Flask", "bench.wsgi:bare()", {})
        servers.append(bare)
        bare.wait("/bare")
        for backend in args.backends.split(","):
            if backend == "postgresql":
                reset_pg()
            ours_url = backend_url(backend, tmp, "ours")
            ref_url = backend_url(backend, tmp, "authlib")
            # Rate limits off: a load test from one address would be answered 429, and errors
            # are cheap (the Authlib reference has no limiter either).
            env_ours = {"DATABASE_URL": ours_url, "PASSPORT_PRIVATE_KEY": pem,
                        "PASSPORT_ISSUER": issuer, "PASSPORT_RATELIMIT_ENABLED": "0"}
            env_ref = {"DATABASE_URL": ref_url, "BENCH_PRIVATE_KEY": pem, "BENCH_ISSUER": issuer,
                       "BENCH_KEY_TYPE": {"RSA": "RSA", "ES256": "EC", "EdDSA": "OKP"}[args.key]}
            os.environ.update(env_ours)
            from bench.seed import PASSWORD, Ours, Reference

            ours_app = Ours()
            seeded = ours_app.seed()
            os.environ.update(env_ref)
            ref_app = Reference()
            ref = ref_app.seed()
            if backend == "sqlite":
                enable_wal(ours_url)
                enable_wal(ref_url)
            env_ours["BENCH_USER_ID"] = str(seeded["user_id"])
            ours = Server(f"ours ({backend})", "bench.wsgi:ours()", env_ours)
            cached = Server(f"ours+cache ({backend})", "bench.wsgi:ours()",
                            {**env_ours, "PASSPORT_TOKEN_CACHE_TTL": "30"})
            authlib = Server(f"Authlib ({backend})", "bench.authlib_app:create_app()", env_ref)
            servers += [ours, cached, authlib]
            # The cache with cross-process revocation over Redis: a hit should cost the same.
            broadcast = None
            if want("cached") and redis_reachable(args.redis):
                broadcast = Server(f"ours+cache+redis ({backend})", "bench.wsgi:ours()",
                                   {**env_ours, "PASSPORT_TOKEN_CACHE_TTL": "30",
                                    "PASSPORT_TOKEN_CACHE_BROADCAST_URL": args.redis,
                                    "PASSPORT_TOKEN_CACHE_BROADCAST_CHANNEL":
                                        f"passport-bench-{backend}"})
                servers.append(broadcast)
            for s in (ours, cached, authlib, broadcast):
                if s is not None:
                    s.wait("/api/user")
            # A user token on the Authlib server, through its own password grant.
            pw_id, pw_secret = ref["password"]
            body = (f"grant_type=password&client_id={pw_id}&client_secret={pw_secret}"
                    f"&username=bench%40example.com&password={PASSWORD}&scope=check-status")
            req = urllib.request.Request(authlib.url + "/oauth/token", data=body.encode(),
                                         headers={"Content-Type":
                                                  "application/x-www-form-urlencoded"})
            ref_token = "unavailable"
            if args.key != "EdDSA":
                ref_token = json.loads(urllib.request.urlopen(req, timeout=10).read())[
                    "access_token"]

            print(f"\n##### backend: {backend}", flush=True)
            results: dict[str, Any] = {}
            mid, msecret = seeded["machine"]
            pid, psecret = seeded["password"]
            rmid, rmsecret = ref["machine"]
            bare_post = Target(bare, "POST", "/bare", "a=b")
            bare_get = Target(bare, "GET", "/bare")

            def cc(cid: str, sec: str) -> str:
                return f"grant_type=client_credentials&client_id={cid}&client_secret={sec}"

            def pw(cid: str, sec: str) -> str:
                return (f"grant_type=password&client_id={cid}&client_secret={sec}"
                        f"&username=bench%40example.com&password={PASSWORD}")

            def rt(cid: str, sec: str) -> str:
                return f"grant_type=refresh_token&client_id={cid}&client_secret={sec}" \
                       "&refresh_token={TOKEN}"

            def run(name: str, targets: dict[str, Target], results: dict[str, Any] = results
                    ) -> None:
                if args.key == "EdDSA" and "authlib" in targets:
                    # Authlib 1.9's RFC 9068 code (joserfc) refuses EdDSA unless a custom
                    # registry is configured: compare with bare Flask only.
                    targets = {k: v for k, v in targets.items() if k != "authlib"}
                scenario(name, targets, args.rounds, args.duration, tmp, pool_size, results)

            if want("cc"):
                run("token: client credentials", {
                    "ours": Target(ours, "POST", "/oauth/token", cc(mid, msecret)),
                    "bare": bare_post,
                    "authlib": Target(authlib, "POST", "/oauth/token", cc(rmid, rmsecret))})
            if want("password"):
                run("token: password", {
                    "ours": Target(ours, "POST", "/oauth/token", pw(pid, psecret)),
                    "bare": bare_post,
                    "authlib": Target(authlib, "POST", "/oauth/token", pw(*ref["password"]))})
            if want("refresh"):
                run("token: refresh (pre-minted pool, one fresh token per request)", {
                    "ours": Target(ours, "POST", "/oauth/token", rt(pid, psecret),
                                   pool=lambda n, o=ours_app, u=seeded["user_id"], c=pid:
                                   o.mint_refresh_tokens(n, u, c)),
                    "bare": bare_post,
                    "authlib": Target(authlib, "POST", "/oauth/token", rt(*ref["password"]),
                                      pool=lambda n, r=ref_app, u=ref["user_id"],
                                      c=ref["password"][0]: r.mint_refresh_tokens(n, u, c))})
            if want("code"):
                if not seeded["has_code_grant"]:
                    print("\n== token: authorization code exchange\n  SKIPPED: the "
                          "authorization_code grant is not registered in this build.")
                else:
                    cid, csec = seeded["code"]
                    redirect = "http%3A%2F%2F127.0.0.1%3A9%2Fcallback"
                    run("token: authorization code exchange (pre-minted codes)", {
                        "ours": Target(
                            ours, "POST", "/oauth/token",
                            f"grant_type=authorization_code&client_id={cid}&client_secret={csec}"
                            f"&redirect_uri={redirect}&code={{TOKEN}}",
                            pool=lambda n, o=ours_app, u=seeded["user_id"], c=cid:
                            o.mint_auth_codes(n, u, c, "http://127.0.0.1:9/callback")),
                        "bare": bare_post})
            pat = f"Bearer {seeded['pat']}"
            # The example app's own unprotected JSON route: what the app costs before any
            # token check, so "ours / app" is the price of the guard alone.
            app_floor = Target(ours, "GET", "/bench/plain")
            if want("protected"):
                run("protected: require_oauth() GET /api/user", {
                    "ours": Target(ours, "GET", "/api/user", auth=pat),
                    "bare": bare_get,
                    "app": app_floor,
                    "app_user": Target(ours, "GET", "/bench/user"),
                    "authlib": Target(authlib, "GET", "/api/user", auth=f"Bearer {ref_token}")})
            if want("dpop"):
                run("protected: DPoP-bound token vs Bearer GET /api/user (one fresh proof "
                    "per request)", dpop_targets(ours, issuer, pid, psecret))
            if want("scopes"):
                run("protected: scopes(check-status, place-orders) GET /api/orders", {
                    "ours": Target(ours, "GET", "/api/orders", auth=pat), "bare": bare_get})
            if want("cached"):
                run("protected: GET /api/user, PASSPORT_TOKEN_CACHE_TTL=30", {
                    "ours": Target(cached, "GET", "/api/user", auth=pat),
                    "bare": bare_get,
                    "app": Target(cached, "GET", "/bench/plain"),
                    "authlib": Target(authlib, "GET", "/api/user", auth=f"Bearer {ref_token}"),
                    **({"redis": Target(broadcast, "GET", "/api/user", auth=pat)}
                       if broadcast is not None else {})})
            if want("personal"):
                run("personal access token creation (POST /bench/personal-token)", {
                    "ours": Target(ours, "POST", "/bench/personal-token", "a=b"),
                    "bare": bare_post})
            if want("introspect"):
                path = seeded["introspect_path"]
                rsid, rssecret = seeded["resource"]
                if path is None:
                    print("\n== introspection\n  SKIPPED: no introspection endpoint in this "
                          "build.")
                else:
                    run(f"introspection POST {path}", {
                        "ours": Target(ours, "POST", path,
                                       f"token={seeded['pat']}&client_id={rsid}"
                                       f"&client_secret={rssecret}"),
                        "bare": bare_post})
            report[backend] = results
            for s in (ours, cached, authlib):
                s.stop()
                servers.remove(s)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nTotal time: {time.time() - started:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
