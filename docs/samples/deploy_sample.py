"""Deploying: keys in the environment, gunicorn with several workers, a proxy in front."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import jwt
import requests

from flask_passport.jose import keys as passport_keys
from myapp import create_app, db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        key = passport_keys.generate_private_key()
        env = {
            **os.environ,
            "SECRET_KEY": "a-long-random-value",
            "DATABASE_URL": f"sqlite:///{tmp}/app.sqlite",
            "PASSPORT_PRIVATE_KEY": passport_keys.private_pem(key).decode(),
            "PASSPORT_PUBLIC_KEY": passport_keys.public_pem(key).decode(),
        }
        os.environ.update(env)
        app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"]})
        with app.app_context():
            db.create_all()
        cli = app.test_cli_runner()
        assert json.loads(cli.invoke(args=["passport", "install", "--json"]).output)["keys"] \
            == "existing"  # from the environment: nothing written to disk
        machine = json.loads(cli.invoke(args=["passport", "client", "--client", "--name",
                                              "Billing", "--json"]).output)
        port = free_port()
        env["PASSPORT_ISSUER"] = "https://auth.example.com"  # the public URL the proxy serves
        # gunicorn's own output goes to a file, shown if anything below fails (a missing
        # gunicorn or a worker that cannot boot reads as "connection refused" otherwise).
        log = open(os.path.join(tmp, "gunicorn.log"), "w+")  # noqa: SIM115
        # [gunicorn]
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
             "wsgi:app"],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )
        # [/gunicorn]
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(f"{base}/api/status", timeout=20)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.1)
            # As the proxy would forward a request for https://auth.example.com/oauth/token (the
            # issuer is the configured one whatever the forwarded headers say):
            forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "auth.example.com"}
            answer = requests.post(f"{base}/oauth/token", headers=forwarded, data={
                "grant_type": "client_credentials", "client_id": machine["id"],
                "client_secret": machine["secret"]}, timeout=10)
            assert answer.status_code == 200, answer.text
            token = answer.json()["access_token"]
            claims = jwt.decode(token, key.public_key(), algorithms=["RS256"],
                                options={"verify_aud": False})
            assert claims["iss"] == "https://auth.example.com", claims
            # Any worker verifies a token any other worker issued: same keys, same database.
            for _ in range(12):
                reply = requests.get(f"{base}/api/status", timeout=10,
                                     headers={"Authorization": f"Bearer {token}"})
                assert reply.status_code == 200, reply.text
        except BaseException:
            server.terminate()
            server.wait(timeout=15)
            log.seek(0)
            print(f"gunicorn's output:\n{log.read()}", file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait(timeout=15)
            log.close()
    print("deploy OK")


if __name__ == "__main__":
    main()
