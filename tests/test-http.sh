#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The HTTP/JSON transport against a private quiltd: routes, JSON errors, status codes,
# bearer tokens on TCP, and that bad requests never take the daemon down.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v curl > /dev/null || tap_skip_all "curl is not installed"
command -v jq > /dev/null || tap_skip_all "jq is not installed"

# Token= is refused in a world-readable config file, and lib.sh writes it with our umask.
umask 077

# jq_is NAME JSON FILTER EXPECTED: the filter's (raw) output on JSON equals EXPECTED.
jq_is() {
        local got
        got=$(printf '%s' "$2" | jq -r "$3" 2>/dev/null) || got="(not JSON: $2)"
        tap_is "$1" "$got" "$4"
}

# req METHOD PATH [BODY]: like http, but leaves the body in $body; http itself must not
# run in a command substitution, which would lose $HTTP_STATUS.
body=
req() {
        http "$@" > "$QT_DIR/body.out"
        body=$(cat "$QT_DIR/body.out")
}

# still_serving: GET /health answers 200, so the previous request did not hurt the daemon.
still_serving() {
        http GET /health > /dev/null
        tap_is "quiltd still serves after $1" "$HTTP_STATUS" 200
}

quiltd_start || { echo "Bail out! quiltd did not start"; exit 1; }

# The socket file can appear a moment before quiltd serves it (slow machines, valgrind).
for _ in $(seq 250); do
        curl -s -o /dev/null --unix-socket "$HTTP_SOCK" http://localhost/health && break
        sleep 0.02
done

# ---- happy paths over the unix socket -------------------------------------------------

req GET /health
tap_is "GET /health is 200" "$HTTP_STATUS" 200
jq_is "GET /health says healthy" "$body" '.healthy' true
jq_is "GET /health has a database check" "$body" '[.checks[] | select(.name == "database")] | length' 1
jq_is "GET /health uses snake_case names" "$body" 'has("uptime_seconds")' true

req GET /system/info
tap_is "GET /system/info is 200" "$HTTP_STATUS" 200
jq_is "GET /system/info has a version" "$body" '.version | length > 0' true
jq_is "GET /system/info has a features map" "$body" '.features | type' object

req GET /system/info/
tap_is "a trailing slash is ignored" "$HTTP_STATUS" 200

req POST /quilt.QuiltService/GetHealth '{}'
tap_is "POST /quilt.QuiltService/GetHealth {} is 200" "$HTTP_STATUS" 200
jq_is "generic RPC route answers the reply message" "$body" '.healthy' true

req POST /quilt.QuiltService/GetSystemInfo
tap_is "an empty body is the empty message" "$HTTP_STATUS" 200

# (curl sends application/x-www-form-urlencoded unless told otherwise; "Content-Type:" drops it.)
body=$(curl -s --unix-socket "$HTTP_SOCK" -X POST -H 'Content-Type:' --data-binary '{}' \
        http://localhost/quilt.QuiltService/GetHealth)
jq_is "a body without a JSON Content-Type header is accepted" "$body" '.healthy' true

headers=$(curl -s -D - -o /dev/null --unix-socket "$HTTP_SOCK" http://localhost/health)
tap_check "replies are application/json" grep -qi '^Content-Type: application/json' <<< "$headers"

# ---- errors ----------------------------------------------------------------------------

req POST /quilt.QuiltService/GetHealth '{"healthy": '
tap_is "malformed JSON is 400" "$HTTP_STATUS" 400
jq_is "malformed JSON says so" "$body" '.error | startswith("malformed JSON body: ")' true
jq_is "malformed JSON has a position" "$body" '.error | test("at [0-9]+:[0-9]+$")' true
jq_is "malformed JSON is INVALID_ARGUMENT" "$body" '.details.code' INVALID_ARGUMENT
still_serving "malformed JSON"

req POST /quilt.QuiltService/GetHealth '{"bogus": 1}'
tap_is "unknown field is 400" "$HTTP_STATUS" 400
jq_is "unknown field is named" "$body" '.error' "unknown field 'bogus' in quilt.GetHealthRequest"
jq_is "unknown field error names the method" "$body" '.details.method' GetHealth
still_serving "an unknown field"

req POST /quilt.QuiltService/GetMetrics '{"include_system": "yes"}'
tap_is "wrong type is 400" "$HTTP_STATUS" 400
jq_is "wrong type names the field" "$body" '.error' "include_system: expected true or false, got string"
jq_is "wrong type has grpc_code 3" "$body" '.details.grpc_code' 3
still_serving "a wrong type"

req POST /quilt.QuiltService/GetHealth '[1, 2]'
tap_is "a JSON array body is 400" "$HTTP_STATUS" 400
jq_is "a JSON array body is explained" "$body" '.error' "expected an object, got array"

req POST /quilt.QuiltService/GetHealth $'{"a": "\xff"}'
tap_is "invalid UTF-8 is 400" "$HTTP_STATUS" 400

req POST /quilt.QuiltService/GetHealth '{"a": 1, "a": 2}'
tap_is "duplicate keys are 400" "$HTTP_STATUS" 400

body=$(curl -s -w '\n%{http_code}' --unix-socket "$HTTP_SOCK" -X POST -H 'Content-Type: text/plain' \
        --data-binary '{}' http://localhost/quilt.QuiltService/GetHealth)
tap_is "a non-JSON Content-Type is 415" "${body##*$'\n'}" 415

req GET /no/such/thing
tap_is "unknown route is 404" "$HTTP_STATUS" 404
jq_is "unknown route is a JSON error" "$body" '.details.code' NOT_FOUND
still_serving "an unknown route"

req GET /no/%FF%FE
tap_is "a URL with non-UTF-8 bytes is 404" "$HTTP_STATUS" 404
jq_is "its error is valid JSON" "$body" '.details.code' NOT_FOUND

req POST /quilt.QuiltService/NoSuchMethod '{}'
tap_is "unknown RPC is 404" "$HTTP_STATUS" 404
jq_is "unknown RPC is named" "$body" '.error | contains("NoSuchMethod")' true

headers=$(curl -s -D - -o /dev/null --unix-socket "$HTTP_SOCK" -X DELETE http://localhost/health)
tap_check "wrong method on a known path is 405" grep -q '^HTTP/1.1 405' <<< "$headers"
tap_check "405 lists the allowed methods" grep -qi '^Allow: GET' <<< "$headers"

req GET /quilt.QuiltService/GetHealth
tap_is "GET on an RPC route is 405" "$HTTP_STATUS" 405

# Server streaming is NDJSON: one object per message, the status as the last line.
headers=$(curl -s -D - -o "$QT_DIR/stream.out" --unix-socket "$HTTP_SOCK" -X POST \
        -H 'Content-Type: application/json' --data '{"since": 0, "until_now": true}' \
        http://localhost/quilt.QuiltService/StreamEvents)
tap_check "a server-streaming RPC answers 200" grep -q '^HTTP/1.1 200' <<< "$headers"
tap_check "as application/x-ndjson" grep -qi '^Content-Type: application/x-ndjson' <<< "$headers"
tap_check "chunked" grep -qi '^Transfer-Encoding: chunked' <<< "$headers"
tap_is "the last line is the status" "$(tail -n 1 "$QT_DIR/stream.out")" '{"status":"OK"}'
req GET '/events?type=bogus'
tap_is "an error before the stream is an ordinary error" "$HTTP_STATUS" 400
jq_is "with its code" "$body" '.details.code' INVALID_ARGUMENT

# Which RPCs have no handler yet changes as quiltd grows: use the first that answers 501.
unimplemented=
for m in ComprehensiveNetworkCleanup ForceCleanup ListContainerCleanupTasks GetCleanupTaskStatus ListCleanupTasks \
         GetCleanupStatus SetupContainerNetworkPostStart SetContainerNetwork GetContainerNetwork \
         ListMonitoringProcesses GetMonitorStatus ListActiveMonitors; do
        req POST "/quilt.QuiltService/$m" '{}'
        if [ "$HTTP_STATUS" = 501 ]; then unimplemented=$m; break; fi
done
if [ -n "$unimplemented" ]; then
        tap_ok "an unimplemented RPC ($unimplemented) is 501"
        jq_is "an unimplemented RPC is UNIMPLEMENTED" "$body" '.details.code' UNIMPLEMENTED
        jq_is "an unimplemented RPC names the method" "$body" '.details.method' "$unimplemented"
else
        tap_ok "# SKIP every unary RPC is implemented"
fi
still_serving "unimplemented RPCs"

# 16 MiB is the limit; 17 MiB is refused, from Content-Length, before it is read.
big=$QT_DIR/big.json
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' ' ' > "$big"
status=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$HTTP_SOCK" -X POST \
        -H 'Content-Type: application/json' --data-binary "@$big" http://localhost/quilt.QuiltService/GetHealth)
tap_is "a body over 16 MiB is 413" "$status" 413
status=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$HTTP_SOCK" -X POST -H 'Transfer-Encoding: chunked' \
        -H 'Content-Type: application/json' --data-binary "@$big" http://localhost/quilt.QuiltService/GetHealth)
tap_is "a chunked body over 16 MiB is 413" "$status" 413
rm -f "$big"
still_serving "oversized bodies"

# A client that goes away in the middle of a request.
printf 'POST /quilt.QuiltService/GetHealth HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"he' |
        timeout 2 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); s.close()' "$HTTP_SOCK"
still_serving "a client hung up mid-body"

# Keep-alive: several requests on one connection.
out=$(curl -s --unix-socket "$HTTP_SOCK" http://localhost/health http://localhost/system/info http://localhost/health)
tap_is "three requests on one connection" "$(printf '%s\n' "$out" | jq -s 'length')" 3

quiltd_stop
tap_is "quiltd exits cleanly" "$?" 0

# ---- TCP with a token -------------------------------------------------------------------

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
quiltd_start "API.HTTPListen=127.0.0.1:$port" "API.Token=secret" || { echo "Bail out! quiltd did not start"; exit 1; }

# Wait for the TCP listener as well (quiltd_start waits for the unix sockets only).
for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/health" && break
        sleep 0.02
done

tcp() { curl -s -o "$QT_DIR/tcp.out" -w '%{http_code}' "$@"; }

tap_is "TCP without a token is 401" "$(tcp "http://127.0.0.1:$port/system/info")" 401
jq_is "401 is UNAUTHENTICATED" "$(cat "$QT_DIR/tcp.out")" '.details.code' UNAUTHENTICATED
headers=$(curl -s -D - -o /dev/null "http://127.0.0.1:$port/system/info")
tap_check "401 carries WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' <<< "$headers"
tap_is "TCP with a wrong token is 401" \
        "$(tcp -H 'Authorization: Bearer secreT' "http://127.0.0.1:$port/system/info")" 401
tap_is "TCP with a longer wrong token is 401" \
        "$(tcp -H 'Authorization: Bearer secretsecret' "http://127.0.0.1:$port/system/info")" 401
tap_is "TCP with another scheme is 401" \
        "$(tcp -H 'Authorization: Basic c2VjcmV0' "http://127.0.0.1:$port/system/info")" 401
tap_is "TCP with the right token is 200" \
        "$(tcp -H 'Authorization: Bearer secret' "http://127.0.0.1:$port/system/info")" 200
tap_is "TCP RPC route with the right token is 200" \
        "$(tcp -H 'Authorization: Bearer secret' -X POST -d '{}' -H 'Content-Type: application/json' \
                "http://127.0.0.1:$port/quilt.QuiltService/GetHealth")" 200
tap_is "unknown route without a token is 401, not 404" "$(tcp "http://127.0.0.1:$port/nope")" 401
tap_is "GET /health over TCP needs no token" "$(tcp "http://127.0.0.1:$port/health")" 200
tap_is "the unix socket needs no token" "$(http GET /system/info > /dev/null; echo "$HTTP_STATUS")" 200

quiltd_stop
tap_is "quiltd with a TCP listener exits cleanly" "$?" 0

tap_done
