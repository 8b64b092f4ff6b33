"""The tutorial, step by step, in an empty folder: the real ``flask`` commands, the development
server, and the partner's script calling the API."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
FLASK = [sys.executable, "-m", "flask", "--app", "myapp"]


def run(folder: str, *args: str) -> str:
    done = subprocess.run([*FLASK, *args], cwd=folder, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(HERE / "myapp.py", folder)
        shutil.copy(HERE / "partner.py", folder)
        run(folder, "init-db")
        assert "Personal access client created" in run(folder, "passport", "install")
        partner = json.loads(run(folder, "passport", "client", "--client",
                                 "--name", "Partner service", "--json"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([*FLASK, "run", "--port", str(port)], cwd=folder,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            shop = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    assert requests.get(f"{shop}/api/status", timeout=10).status_code == 401
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.1)
            env = {**os.environ, "SHOP_URL": shop, "CLIENT_ID": partner["id"],
                   "CLIENT_SECRET": partner["secret"]}
            done = subprocess.run([sys.executable, "partner.py"], cwd=folder, env=env,
                                  capture_output=True, text=True, timeout=60, check=False)
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "The shop says: ok", done.stdout
            # Everything lives in the app's instance folder: the database and the keys.
            instance = Path(folder) / "instance"
            assert {"app.sqlite", "oauth-private.key", "oauth-public.key"} <= \
                {p.name for p in instance.iterdir()}
            assert instance.joinpath("oauth-private.key").stat().st_mode & 0o077 == 0
        finally:
            server.terminate()
            server.wait(timeout=15)
    print("tutorial OK")


if __name__ == "__main__":
    main()
