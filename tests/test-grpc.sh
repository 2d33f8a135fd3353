#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The gRPC transport end to end:
#   - grpcio (an independent gRPC implementation) against quiltd's unix socket,
#     through tests/test-grpc-interop.py;
#   - a TCP listener with API.Token=: the same interop test with the token, and the CLI
#     refused without a token or with a wrong one, with the daemon serving on afterwards;
#   - a clean exit on SIGTERM.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Debian's grpcio and grpc-tools are installed for this interpreter only.
PYTHON=/usr/bin/python3
INTEROP=$(dirname "${BASH_SOURCE[0]}")/test-grpc-interop.py

"$PYTHON" -c 'import grpc, grpc_tools.protoc' 2>/dev/null ||
        tap_skip_all "$PYTHON lacks grpcio/grpc_tools (python3-grpcio, python3-grpc-tools)"
[ -x "$QUILT_BIN" ] || { echo "Bail out! $QUILT_BIN not built"; exit 1; }

# Runs the interop test and folds its TAP lines into ours, prefixed with what it ran against.
run_interop() {
        local label=$1 target=$2 out line rc
        out=$("$PYTHON" "$INTEROP" "$target" 2>&1)
        rc=$?
        while IFS= read -r line; do
                case $line in
                        "ok "*" # SKIP"*)
                                TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $label: ${line#ok * - }" ;;
                        "ok "*) tap_ok "$label: ${line#ok * - }" ;;
                        "not ok "*) tap_fail "$label: ${line#not ok * - }" ;;
                        "Bail out!"*) tap_fail "$label: ${line#Bail out! }" ;;
                        "1.."*) ;;
                        "#"*) echo "$line" ;;
                        *) echo "# $line" ;;
                esac
        done <<< "$out"
        [ "$rc" = 0 ] || echo "# interop test ($label) exited with $rc"
}

free_port() {
        "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- unix socket ------------------------------------------------------------------------

if quiltd_start; then
        tap_ok "quiltd starts"
        run_interop "unix" "$QUILT_HOST"
        tap_check "quiltd exits cleanly on SIGTERM" quiltd_stop
else
        tap_fail "quiltd starts"
fi

# ---- TCP with a token -------------------------------------------------------------------

TOKEN=s3cr3t-$RANDOM$RANDOM
PORT=$(free_port)
TCP_HOST=tcp:127.0.0.1:$PORT

# quiltd refuses Token= in a world-readable file, so hand it over in a private one.
(umask 077; echo "$TOKEN" > "$QT_DIR/token")
# The first quiltd's socket files are still there; quiltd_start waits for them to appear.
rm -f "$QT_DIR/run/quilt.sock" "$QT_DIR/run/http.sock"

if quiltd_start "API.GRPCListen=127.0.0.1:$PORT" "API.TokenFile=$QT_DIR/token" &&
   kill -0 "$QUILTD_PID" 2>/dev/null; then
        tap_ok "quiltd starts with a TCP listener and a token"

        # quiltd_start waits for the unix sockets only.
        for i in $(seq 100); do
                "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1).close()" \
                        2>/dev/null && break
                sleep 0.05
        done

        QUILT_TOKEN=$TOKEN run_interop "tcp+token" "$TCP_HOST"

        # Its exit status also reflects the host's health checks, so look for the reply.
        out=$(QUILT_HOST=$TCP_HOST QUILT_TOKEN=$TOKEN quilt health 2>&1)
        if echo "$out" | grep -q "database"; then
                tap_ok "quilt health over TCP with the token gets the health report"
        else
                tap_fail "quilt health over TCP with the token gets the health report"
                echo "$out" | sed 's/^/#   /'
        fi

        out=$(env -u QUILT_TOKEN QUILT_HOST=$TCP_HOST "$QUILT_BIN" health 2>&1)
        rc=$?
        if [ "$rc" != 0 ] && echo "$out" | grep -qi "token" && echo "$out" | grep -qi "authenticat"; then
                tap_ok "quilt health over TCP without a token is refused, naming the token"
        else
                tap_fail "quilt health over TCP without a token is refused, naming the token"
                echo "#   rc=$rc: $out"
        fi

        out=$(QUILT_HOST=$TCP_HOST QUILT_TOKEN=wrong-$TOKEN quilt health 2>&1)
        rc=$?
        if [ "$rc" != 0 ] && echo "$out" | grep -qi "token" && echo "$out" | grep -qi "authenticat"; then
                tap_ok "quilt health over TCP with a wrong token is refused, naming the token"
        else
                tap_fail "quilt health over TCP with a wrong token is refused, naming the token"
                echo "#   rc=$rc: $out"
        fi

        # A prefix of the token must not do (the comparison covers the whole token).
        out=$(QUILT_HOST=$TCP_HOST QUILT_TOKEN=${TOKEN%?} quilt health 2>&1)
        rc=$?
        if [ "$rc" != 0 ] && echo "$out" | grep -q "UNAUTHENTICATED"; then
                tap_ok "a prefix of the token is refused"
        else
                tap_fail "a prefix of the token is refused"
                echo "#   rc=$rc: $out"
        fi

        out=$(QUILT_HOST=$TCP_HOST QUILT_TOKEN=$TOKEN quilt info --json 2>&1)
        rc=$?
        tap_is "quilt info --json over TCP still works after refusals" "$rc" 0

        # The unix socket needs no token, even when one is configured.
        out=$(env -u QUILT_TOKEN "$QUILT_BIN" info --json 2>&1)
        rc=$?
        tap_is "quilt info over the unix socket needs no token" "$rc" 0
        [ "$rc" = 0 ] || echo "$out" | sed 's/^/#   /'

        tap_check "quiltd exits cleanly on SIGTERM" quiltd_stop
else
        tap_fail "quiltd starts with a TCP listener and a token"
fi

if [ "$TAP_FAILED" != 0 ] && [ -f "$QT_DIR/quiltd.log" ]; then
        echo "# quiltd log:"
        sed 's/^/#   /' "$QT_DIR/quiltd.log"
fi

tap_done
