"""The WSGI entry point for production: ``gunicorn -w 4 -b 127.0.0.1:8000 wsgi:app``."""

from __future__ import annotations

import os

from werkzeug.middleware.proxy_fix import ProxyFix

from myapp import create_app

# [wsgi]
app = create_app({
    "SECRET_KEY": os.environ["SECRET_KEY"],
    "SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"],  # postgresql+psycopg://...
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    # The public URL (required): tokens carry it as `iss`, never the request's Host header.
    # PASSPORT_PRIVATE_KEY and PASSPORT_PUBLIC_KEY are read from the environment by Passport.
    "PASSPORT_ISSUER": os.environ["PASSPORT_ISSUER"],
})
# Behind one reverse proxy (nginx, a load balancer) that sets X-Forwarded-For/-Proto/-Host:
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
# [/wsgi]
