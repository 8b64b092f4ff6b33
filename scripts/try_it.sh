#!/usr/bin/env bash
# The README's "Try it", as a new user runs it, with the commands read from README.md so the two
# cannot drift: install, seed, start the server (in the background), get a client-credentials
# token with the seeded id and secret, and call the protected route, which must answer 200.
# Runs with the `python` and `flask` on PATH (CI: a new virtualenv). The server listens on
# 127.0.0.1:5000 as the README says, or on a free port (FLASK_RUN_PORT) when 5000 is taken.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM -- "-$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "try_it: $*" >&2
  if [ -s "$work/server.log" ]; then echo "--- the server's output:" >&2; cat "$work/server.log" >&2; fi
  exit 1
}

# The first block: `install && seed && run`.
python scripts/readme_blocks.py "Try it" sh 0 >"$work/start.sh"
mapfile -t steps < <(sed -e 's/ && /\n/g' "$work/start.sh" | sed -e '/^[[:space:]]*$/d')
[ "${#steps[@]}" = 3 ] || fail "expected 'install && seed && run' in README.md, got: ${steps[*]}"
install="${steps[0]}" seed="${steps[1]}" run="${steps[2]}"
case "$run" in *" run") ;; *) fail "the last step is not '... run': $run" ;; esac

echo "\$ $install"
eval "$install"
echo "\$ $seed"
eval "$seed" >"$work/seed.json" || fail "seed failed"
read -r client_id client_secret < <(python -c '
import json, sys
client = json.load(open(sys.argv[1]))["clients"]["client_credentials"]
print(client["id"], client["secret"])' "$work/seed.json") || fail "seed printed no client_credentials client"

port=5000
if ! python -c 'import socket; socket.create_server(("127.0.0.1", 5000)).close()' 2>/dev/null; then
  port="$(python -c 'import socket; s = socket.create_server(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  echo "try_it: 127.0.0.1:5000 is taken; the server listens on $port (FLASK_RUN_PORT)"
fi
echo "\$ $run   # in the background, port $port"
# Its own session, so that stopping it stops the reloader's children too.
FLASK_RUN_PORT="$port" setsid bash -c "exec $run" >"$work/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
  curl -s -o /dev/null "$base/" && break
  kill -0 "$server" 2>/dev/null || fail "the server exited"
  sleep 0.2
done
curl -s -o /dev/null "$base/" || fail "the server did not answer on $base within 60 s"

# The second block: the two curl steps, with the seeded id and secret, then the token.
python scripts/readme_blocks.py "Try it" sh 1 | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' >"$work/curl.sh"
mapfile -t curls <"$work/curl.sh"
[ "${#curls[@]}" = 2 ] || fail "expected two curl commands in README.md, got ${#curls[@]}"
token_step="${curls[0]//127.0.0.1:5000/127.0.0.1:$port}"
token_step="${token_step//client_id=ID/"client_id=$client_id"}"
token_step="${token_step//client_secret=SECRET/"client_secret=$client_secret"}"
echo "\$ ${curls[0]}"
eval "$token_step" >"$work/token.json"
access_token="$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["access_token"])' \
  "$work/token.json")" || fail "no access token: $(cat "$work/token.json")"

call_step="${curls[1]//127.0.0.1:5000/127.0.0.1:$port}"
call_step="${call_step//ACCESS_TOKEN/"$access_token"}"
echo "\$ ${curls[1]}"
status="$(eval "$call_step -o $work/status.json -w '%{http_code}'")"
cat "$work/status.json"; echo
[ "$status" = 200 ] || fail "the protected route answered $status, not 200"
echo "try_it: OK (the protected route answered 200)"
