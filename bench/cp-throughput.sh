#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# quilt cp and the file RPCs: throughput of one big file and of a tree of small files, in
# both directions, and how long quiltd takes to answer GetHealth while a big copy runs
# (the file RPCs move one chunk per call on the event loop; this shows what that costs
# other clients). Prints numbers; it never decides pass or fail.
#
# Usage (root):  bench/cp-throughput.sh
# Environment:   RUNS=5 (timed copies per series, median reported)   SIZE_MB=50
#                FILES=1000 (small files of 4 KiB in the tree)        HEALTH_N=200
#                QUILT_BUILD_DIR=<repo>/build
#
# Host changes, undone by the EXIT trap: a private quiltd (config, state, runtime directory
# and sockets in a mktemp dir) and one container.
set -euo pipefail
# quiltd and its containers run in a network namespace of their own (bench/netns.sh).
. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${QUILT_BUILD_DIR:-$REPO/build}
RUNS=${RUNS:-5}
SIZE_MB=${SIZE_MB:-50}
FILES=${FILES:-1000}
HEALTH_N=${HEALTH_N:-200}
QUILTD=$BUILD/src/daemon/quiltd
QUILT=$BUILD/src/cli/quilt
export QUILT_MONITOR=$BUILD/src/monitor/quilt-monitor

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v curl >/dev/null || { echo "needs curl" >&2; exit 1; }

D=$(mktemp -d /tmp/quilt-bench-cp.XXXXXX)
QUILTD_PID=
cleanup() {
        [ -n "$QUILTD_PID" ] && "$QUILT" rm -f bench >/dev/null 2>&1 || true
        [ -n "$QUILTD_PID" ] && kill "$QUILTD_PID" 2>/dev/null && wait "$QUILTD_PID" 2>/dev/null || true
        rm -rf "$D"
}
trap cleanup EXIT

mkdir -p "$D/state" "$D/run"
cat > "$D/quiltd.conf" <<EOF
[Daemon]
Backend=standalone
[API]
GRPCSocket=$D/run/quilt.sock
HTTPSocket=$D/run/http.sock
[Storage]
StateDirectory=$D/state
RuntimeDirectory=$D/run
EOF
chmod 600 "$D/quiltd.conf"
export QUILT_HOST=unix:$D/run/quilt.sock
"$QUILTD" --config="$D/quiltd.conf" > "$D/quiltd.log" 2>&1 &
QUILTD_PID=$!
for _ in $(seq 250); do
        curl -sf -o /dev/null --unix-socket "$D/run/http.sock" http://localhost/health && break
        sleep 0.02
done
"$QUILT" create --name bench --async-mode --memory 1g >/dev/null

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# timed CMD...: seconds with ms precision
timed() {
        local t0=$EPOCHREALTIME
        "$@" >/dev/null
        awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'
}

head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$D/big.bin"
mkdir -p "$D/tree"
for i in $(seq "$FILES"); do head -c 4096 /dev/urandom > "$D/tree/f$i"; done

series() { # NAME BYTES CMD...
        local name=$1 bytes=$2 s
        shift 2
        s=$(for _ in $(seq "$RUNS"); do "$@"; done | median)
        awk -v n="$name" -v s="$s" -v b="$bytes" 'BEGIN { printf "%-34s median %7.3f s  %8.1f MiB/s\n", n, s, b / 1048576 / s }'
}
in_big() { timed "$QUILT" cp "$D/big.bin" bench:/tmp/big.bin; }
out_big() { rm -f "$D/back.bin"; timed "$QUILT" cp bench:/tmp/big.bin "$D/back.bin"; }
in_tree() { timed "$QUILT" cp "$D/tree" bench:/tmp/tree; }
out_tree() { rm -rf "$D/back-tree"; timed "$QUILT" cp bench:/tmp/tree "$D/back-tree"; }

echo "quilt cp, $RUNS runs per series ($(nproc) CPUs, $(uname -r))"
series "host -> container, ${SIZE_MB} MiB file" $((SIZE_MB * 1048576)) in_big
series "container -> host, ${SIZE_MB} MiB file" $((SIZE_MB * 1048576)) out_big
cmp -s "$D/big.bin" "$D/back.bin" || echo "  (the copy differs!)"
series "host -> container, $FILES x 4 KiB" $((FILES * 4096)) in_tree
series "container -> host, $FILES x 4 KiB" $((FILES * 4096)) out_tree

# GetHealth latency idle, then while big copies run back to back.
health() {
        for _ in $(seq "$HEALTH_N"); do
                curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$D/run/http.sock" http://localhost/health
        done | awk '{ printf "%.3f\n", $1 * 1000 }' | sort -n |
                awk '{ a[NR] = $1 } END { printf "p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", a[int(NR * 0.5 + 0.5)], a[int(NR * 0.99 + 0.5)], a[NR] }'
}
echo "GetHealth over HTTP, idle:              $(health)"
( while :; do "$QUILT" cp "$D/big.bin" bench:/tmp/big2.bin; "$QUILT" cp bench:/tmp/big2.bin "$D/back2.bin"; done ) \
        >/dev/null 2>&1 &
COPIER=$!
sleep 0.3
echo "GetHealth over HTTP, during big copies: $(health)"
kill "$COPIER" 2>/dev/null
wait "$COPIER" 2>/dev/null || true
