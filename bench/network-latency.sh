#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the container network costs: create -> RUNNING and create -> exit with the network
# (--network quilt: veth pair, address, routes, DNS name, before the command starts) and
# without (--network none: loopback only), interleaved so that drift hits both alike; and
# the latency of a DNS lookup of a container's name on the gateway. Prints numbers; never
# decides pass or fail.
#
#   create -> RUNNING   quilt create --network quilt|none -- sleep 600  (then an untimed rm -f)
#   create -> exit      quilt run --rm --network quilt|none -- true
#   setup in quiltd     from the monitor's "init <pid>" to "net-ready" (quiltd's debug log):
#                       the veth pair, eth0's address and route, the DNS name; and the part
#                       of it spent on the network worker thread
#   DNS                 N_DNS queries (UDP, A record of a container's name) from quiltd's
#                       namespace to the gateway, one at a time
#
# Usage (root):  bench/network-latency.sh
# Environment:   N=100 timed calls per series   N_DNS=2000   WARMUP=5
#                QUILT_BUILD_DIR=<repo>/build
#
# Like tests/lib.sh it runs quiltd in a network namespace of its own (quilt-bench-*), so the
# host's network is never touched; the namespace and everything in it go at exit.
# Timing: bash $EPOCHREALTIME around each CLI call (so each number includes the CLI's own
# fork+exec and one gRPC round trip), nearest-rank percentiles.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${QUILT_BUILD_DIR:-$REPO/build}
N=${N:-100}
N_DNS=${N_DNS:-2000}
WARMUP=${WARMUP:-5}
QUILTD=$BUILD/src/daemon/quiltd
QUILT=$BUILD/src/cli/quilt
export QUILT_MONITOR=$BUILD/src/monitor/quilt-monitor

log() { printf '[bench %(%T)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"
[ -x "$QUILTD" ] && [ -x "$QUILT" ] || die "build first: ninja -C $BUILD"

NS=quilt-bench-$$
D=$(mktemp -d /tmp/quilt-netbench.XXXXXX)
QUILTD_PID=
cleanup() {
        set +e
        if [ -n "$QUILTD_PID" ]; then
                local ids
                ids=$("$QUILT" ps -a -q 2>/dev/null) && [ -n "$ids" ] && "$QUILT" rm -f $ids > /dev/null 2>&1
                kill "$QUILTD_PID" 2>/dev/null
                wait "$QUILTD_PID" 2>/dev/null
        fi
        ip netns delete "$NS" 2>/dev/null
        rm -rf "$D"
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -p "$D/state" "$D/run"
cat > "$D/quiltd.conf" << EOF
[Daemon]
Backend=standalone
[API]
GRPCSocket=$D/run/quilt.sock
HTTPSocket=$D/run/http.sock
[Storage]
StateDirectory=$D/state
RuntimeDirectory=$D/run
EOF
export QUILT_HOST=unix:$D/run/quilt.sock
# debug: the log says how long each container's network setup took inside quiltd
QUILT_LOG_LEVEL=debug nsenter --net="/run/netns/$NS" -- "$QUILTD" --config="$D/quiltd.conf" > "$D/quiltd.log" 2>&1 &
QUILTD_PID=$!
for _ in $(seq 250); do "$QUILT" health > /dev/null 2>&1 && break; sleep 0.02; done
"$QUILT" health > /dev/null || die "quiltd did not start: $(tail -5 "$D/quiltd.log")"

# stats FILE: "p50 p90 p99 mean" in ms of the microsecond samples in FILE
stats() {
        sort -n "$1" | awk '{ v[NR] = $1; s += $1 }
                function q(p) { i = int(p * NR + 0.999999); if (i < 1) i = 1; return v[i] / 1000 }
                END { printf "%7.2f %7.2f %7.2f %7.2f", q(0.5), q(0.9), q(0.99), s / NR / 1000 }'
}
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# series NAME ARGS...: one sample (µs) per call into $D/NAME
timed() {
        local out=$1 t0 t1
        shift
        t0=$(now_us)
        "$@" > "$D/last" 2>&1 || { cat "$D/last" >&2; die "failed: $*"; }
        t1=$(now_us)
        echo $((t1 - t0)) >> "$D/$out"
}

log "warming up ($WARMUP of each)"
for _ in $(seq "$WARMUP"); do
        "$QUILT" run --rm --network quilt -- true > /dev/null
        "$QUILT" run --rm --network none -- true > /dev/null
done

log "create -> RUNNING, $N each, interleaved"
for i in $(seq "$N"); do
        timed running-quilt "$QUILT" create --name "q$i" --network quilt -- sleep 600
        timed running-none "$QUILT" create --name "n$i" --network none -- sleep 600
        "$QUILT" rm -f "q$i" "n$i" > /dev/null
done

log "create -> exit, $N each, interleaved"
for i in $(seq "$N"); do
        timed exit-quilt "$QUILT" run --rm --network quilt -- true
        timed exit-none "$QUILT" run --rm --network none -- true
done

log "DNS: $N_DNS lookups of a container's name"
"$QUILT" create --name target --async-mode > /dev/null
nsenter --net="/run/netns/$NS" -- python3 - "$N_DNS" > "$D/dns" << 'PY'
import random, socket, struct, sys, time
n = int(sys.argv[1])
def query(name):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    return qid, q
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect(("10.42.0.1", 53))
for i in range(n):
    qid, q = query("target.quilt.local")
    t0 = time.perf_counter_ns()
    s.send(q)
    while True:
        r = s.recv(512)
        if struct.unpack(">H", r[:2])[0] == qid:
            break
    t1 = time.perf_counter_ns()
    if (r[3] & 0x0f) != 0 or struct.unpack(">H", r[6:8])[0] != 1:
        sys.exit("bad answer")
    print((t1 - t0) // 1000)
PY

printf '\n%-34s %7s %7s %7s %7s   (ms)\n' "series (N=$N)" p50 p90 p99 mean
for s in running-quilt running-none exit-quilt exit-none; do
        printf '%-34s %s\n' "$s" "$(stats "$D/$s")"
done
rq=$(sort -n "$D/running-quilt" | awk '{ v[NR] = $1 } END { print v[int(NR / 2 + 0.5)] }')
rn=$(sort -n "$D/running-none" | awk '{ v[NR] = $1 } END { print v[int(NR / 2 + 0.5)] }')
printf '%-34s %7.2f ms (p50 quilt - p50 none)\n' "network setup per container" "$(echo "($rq - $rn) / 1000" | bc -l)"
sed -n 's/.* is up, network set up in \([0-9]*\) us (\([0-9]*\) us of it in the worker).*/\1 \2/p' "$D/quiltd.log" > "$D/setup"
cut -d' ' -f1 "$D/setup" > "$D/setup-total"
cut -d' ' -f2 "$D/setup" > "$D/setup-worker"
printf '%-34s %s\n' "setup in quiltd: init -> net-ready" "$(stats "$D/setup-total")"
printf '%-34s %s\n' "  of which netlink+nft in worker" "$(stats "$D/setup-worker")"
printf '%-34s %s\n' "DNS lookup, UDP (N=$N_DNS)" "$(stats "$D/dns")"
printf '\nmachine: %s CPUs, load %s, kernel %s\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(uname -r)"
