#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine, then run it.
# PASSPORT_TEST_DATABASE_URL=postgresql+psycopg://... also runs every database test on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[test,docs]"
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
exec python -m pytest "$@"
