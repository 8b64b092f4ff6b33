#!/bin/sh
# The curl side of each grant. Usage: BASE=http://127.0.0.1:5000 CLIENT_ID=... sh curl_tokens.sh GRANT
set -eu
case "$1" in
client_credentials)
# [client-credentials]
curl -sf -X POST "$BASE/oauth/token" \
  -d grant_type=client_credentials \
  -d client_id="$CLIENT_ID" \
  -d client_secret="$CLIENT_SECRET" \
  -d scope="check-status"
# [/client-credentials]
;;
password)
# [password]
curl -sf -X POST "$BASE/oauth/token" \
  -d grant_type=password \
  -d client_id="$CLIENT_ID" \
  -d client_secret="$CLIENT_SECRET" \
  --data-urlencode username="$USERNAME" \
  --data-urlencode password="$PASSWORD" \
  -d scope="check-status place-orders"
# [/password]
;;
refresh_token)
# [refresh]
curl -sf -X POST "$BASE/oauth/token" \
  -d grant_type=refresh_token \
  -d refresh_token="$REFRESH_TOKEN" \
  -d client_id="$CLIENT_ID" \
  -d client_secret="$CLIENT_SECRET"
# [/refresh]
;;
call_api)
# [call-api]
curl -sf "$BASE/api/user" \
  -H "Accept: application/json" \
  -H "Authorization: Bearer $ACCESS_TOKEN"
# [/call-api]
;;
esac
