#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Starts a private quiltd from the build tree and measures the event stream: live delivery
# and replay. Root (it runs a container). Usage: bench/events-latency.sh [BUILD-DIR] [N]
set -euo pipefail
# quiltd and its containers run in a network namespace of their own (bench/netns.sh).
. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
BUILD=$(readlink -f "${1:-build}")
N=${2:-1000}
D=$(mktemp -d /tmp/quilt-bench.XXXXXX)
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$D"' EXIT
cat > "$D/quiltd.conf" <<CONF
[Daemon]
Backend=standalone
[API]
GRPCSocket=$D/quilt.sock
HTTPSocket=$D/http.sock
[Storage]
StateDirectory=$D/state
RuntimeDirectory=$D/run
CONF
QUILT_MONITOR="$BUILD/src/monitor/quilt-monitor" "$BUILD/src/daemon/quiltd" --config="$D/quiltd.conf" 2> "$D/quiltd.log" &
PID=$!
for _ in $(seq 200); do [ -S "$D/http.sock" ] && break; sleep 0.02; done
echo "quiltd $("$BUILD/src/daemon/quiltd" --version | cut -d' ' -f2), $(nproc) CPUs, N=$N"
"$BUILD/bench/events-latency" "unix:$D/quilt.sock" "$D/http.sock" "$N"
echo "quiltd RSS after the run: $(awk '/VmRSS/{print $2, $3}' /proc/$PID/status)"
