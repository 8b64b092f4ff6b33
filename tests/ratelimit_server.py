"""A test app process for the shared-limit test: serves on a loopback port, prints the port.

Config comes as JSON in ``PASSPORT_TEST_APP_CONFIG``; it exits after ``--lifetime`` seconds.
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
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    threading.Timer(lifetime, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
