#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine (the `test` extra: what the tests
# import or start, and ruff and mypy), then run it; pytest's arguments pass through.
# PASSPORT_TEST_DATABASE_URL=postgresql+psycopg://... also runs every database test on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[test]"
# Debian packages: chromium for the browser tests (driven by Playwright; never
# `playwright install`), graphviz for the docs' diagrams (tests/test_docs.py builds the docs).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The OpenID Connect relying-party test runs panva's openid-client (v5) on Node.js; it installs
# it from the npm registry into tests/oidc_node/ itself, and is skipped (saying why) without npm.
# tests/js_clients/ holds the other independent JavaScript clients (panva's oauth4webapi and
# jose, the official MCP TypeScript SDK), pinned, installed the same way.
if command -v npm >/dev/null 2>&1; then
  (cd tests/oidc_node && npm install --no-audit --no-fund --loglevel=error) || true
  (cd tests/js_clients && npm install --no-audit --no-fund --loglevel=error) || true
fi
exec python -m pytest "$@"
