#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Reading container logs back: how long quilt logs takes on a big log (all of it, the last
# lines, following), and whether reading one holds up the daemon's other calls (the API
# round trip of bench/api-latency, idle and while a big log is read in a loop).
#
# Usage: sudo bench/logs-latency.sh [BUILD-DIR] [MIB]     defaults: build, 16
# Standalone backend (the file log driver), a private quiltd in a temporary directory.
set -euo pipefail
BUILD=$(readlink -f "${1:-build}")
MIB=${2:-16}
N=${N:-20}
D=$(mktemp -d /tmp/quilt-bench-logs.XXXXXX)
PID=
LOOP=
cleanup() {
        [ -n "$LOOP" ] && kill "$LOOP" 2> /dev/null && wait "$LOOP" 2> /dev/null
        if [ -n "$PID" ]; then
                QUILT_HOST=unix:$D/quilt.sock "$BUILD/src/cli/quilt" rm -f big > /dev/null 2>&1 || true
                kill "$PID" 2> /dev/null
                wait "$PID" 2> /dev/null || true
        fi
        rm -rf "$D"
}
trap cleanup EXIT
cat > "$D/quiltd.conf" << CONF
[Daemon]
Backend=standalone
[API]
GRPCSocket=$D/quilt.sock
HTTPSocket=$D/http.sock
[Storage]
StateDirectory=$D/state
RuntimeDirectory=$D
[Logs]
MaxFileSize=${MIB}M
CONF
export QUILT_MONITOR=$BUILD/src/monitor/quilt-monitor QUILT_HOST=unix:$D/quilt.sock
# Its own network namespace: containers get theirs inside it, the host's is untouched.
unshare --net "$BUILD/src/daemon/quiltd" --config="$D/quiltd.conf" 2> "$D/quiltd.log" &
PID=$!
for _ in $(seq 200); do [ -S "$D/http.sock" ] && break; sleep 0.02; done
Q() { "$BUILD/src/cli/quilt" "$@"; }

# time_ms CMD...: wall time of CMD in ms (output discarded).
time_ms() {
        local t0=$EPOCHREALTIME
        "$@" > /dev/null 2>&1
        echo "$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))"
}
# stats NAME SAMPLES...: p50/p99/max of the samples (ms).
stats() {
        local name=$1
        shift
        printf '%s\n' "$@" | sort -n | awk -v name="$name" '{ a[NR] = $1 } END {
                printf "%-44s n=%d  p50=%d ms  p99=%d ms  max=%d ms\n", name, NR, a[int((NR + 1) / 2)],
                       a[int(NR * 0.99 + 0.999)], a[NR] }'
}

echo "quiltd $("$BUILD/src/daemon/quiltd" --version | cut -d' ' -f2), $(nproc) CPUs, a ${MIB} MiB log, N=$N"
Q create --name big -- sh -c "head -c $((MIB * 1024 * 1024 * 3 / 4)) /dev/urandom | base64" > /dev/null
for _ in $(seq 600); do [ "$(Q status big | awk '/^State:/ {print $2}')" = exited ] && break; sleep 0.1; done
LINES=$(cat "$D"/state/containers/*/container.log* | wc -l)
BYTES=$(cat "$D"/state/containers/*/container.log* | wc -c)
echo "log: $LINES lines, $((BYTES / 1024 / 1024)) MiB in container.log and container.log.1"

S=()
for _ in $(seq "$N"); do S+=("$(time_ms Q logs --tail 10 big)"); done
stats "quilt logs --tail 10 (reads from the end)" "${S[@]}"
S=()
for _ in $(seq "$N"); do S+=("$(time_ms Q logs --since 1s big)"); done
stats "quilt logs --since 1s (scans forward, sends none)" "${S[@]}"
S=()
for _ in $(seq "$N"); do S+=("$(time_ms Q logs big)"); done
stats "quilt logs (all of it, to /dev/null)" "${S[@]}"
T=$(printf '%s\n' "${S[@]}" | sort -n | sed -n "$(((N + 1) / 2))p")
[ "$T" -gt 0 ] && echo "  = $((BYTES / 1024 / T)) MiB/s of log file at the median"

if [ -x "$BUILD/bench/api-latency" ]; then
        echo "API round trip, idle:"
        "$BUILD/bench/api-latency" "unix:$D/quilt.sock" "$D/http.sock" 2000 | sed 's/^/  /'
        (while :; do Q logs big > /dev/null 2>&1; done) &
        LOOP=$!
        sleep 0.5
        echo "API round trip while another client reads the whole log in a loop:"
        "$BUILD/bench/api-latency" "unix:$D/quilt.sock" "$D/http.sock" 2000 | sed 's/^/  /'
        kill "$LOOP"
        wait "$LOOP" 2> /dev/null || true
        LOOP=
fi
echo "quiltd RSS after the run: $(awk '/VmRSS/{print $2, $3}' /proc/$PID/status)"
