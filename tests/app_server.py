"""A test app in its own process (tests that need several processes: the shared rate limit,
the token cache's broadcast): serves on a loopback port and prints the port.

Config comes as JSON in ``PASSPORT_TEST_APP_CONFIG``; ``PASSPORT_TEST_ROUTES=1`` adds the guard
tests' protected routes (``helpers.add_routes``). It exits after ``argv[1]`` seconds.
"""

from __future__ import annotations

import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))

from conftest import make_app
from werkzeug.serving import make_server


def main() -> None:
    config = json.loads(os.environ["PASSPORT_TEST_APP_CONFIG"])
    lifetime = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    app = make_app(config)
    if os.environ.get("PASSPORT_TEST_ROUTES") == "1":
        from helpers import add_routes

        from flask_passport.resource.guard import token_cache

        add_routes(app)

        @app.get("/_cache")
        def cache_state() -> dict[str, object]:
            """What this process's token cache holds, for the broadcast test."""
            state = app.extensions["passport"]
            cache = token_cache(state)
            listener = state.token_cache_slot.listener
            return {"entries": len(cache) if cache is not None else 0,
                    "subscribed": listener is not None and listener.subscribed.is_set()}

        @app.get("/_memory")
        def memory() -> dict[str, int]:
            """This process's resident and peak resident memory in KiB (Linux), for the
            request-body cap test."""
            with open("/proc/self/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            return {"rss": int(fields["VmRSS"].split()[0]), "peak": int(fields["VmHWM"].split()[0])}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    threading.Timer(lifetime, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
