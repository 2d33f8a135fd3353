#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Exec latency: quilt next to crun exec and podman exec (when installed), in one run, on the
# same rootfs (quilt's built-in "minimal" image). Prints numbers; never decides pass or fail.
#
#   through one persistent gRPC connection (bench/exec-latency, no CLI start):
#     quilt exec true                 N_RPC round trips of ExecContainer ["true"]
#     quilt create + first exec       M creates (answered once the command runs) each
#                                     followed by ExecContainer ["echo", "hi"]
#   CLI against CLI (bash $EPOCHREALTIME around each call, so each includes a fork+exec):
#     quilt exec <c> true             vs  crun exec <c> /bin/true  vs  podman exec <c> true
#
# Usage (root):  bench/exec-latency.sh
# Environment:   N_RPC=1000  M=50  N_CLI=200  WARMUP=5  QUILT_BUILD_DIR=<repo>/build
#                SKIP_CRUN=1, SKIP_PODMAN=1 (leave them out)
#
# Host changes, undone by the EXIT trap: a network namespace for the run (bench/netns.sh); a
# private quiltd (everything in a mktemp dir) and its containers; one crun container (id qlx<pid>), /run/crun if it did not exist; on
# hybrid-cgroup hosts whose cgroup2 mount owns controllers (crun refuses those), the
# controllers are mounted as v1 hierarchies around the crun series only; one podman
# container (--rm, removed at the end).
set -euo pipefail
export LC_ALL=C
# quiltd and its containers run in a network namespace of their own (bench/netns.sh).
. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${QUILT_BUILD_DIR:-$REPO/build}
N_RPC=${N_RPC:-1000}
M=${M:-50}
N_CLI=${N_CLI:-200}
WARMUP=${WARMUP:-5}
PFX=qlx$$
QUILTD=$BUILD/src/daemon/quiltd
QUILT=$BUILD/src/cli/quilt
CLIENT=$BUILD/bench/exec-latency
export QUILT_MONITOR=$BUILD/src/monitor/quilt-monitor

log() { printf '[bench %(%T)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"
for b in "$QUILTD" "$QUILT" "$QUILT_MONITOR" "$CLIENT"; do
	[ -x "$b" ] || die "$b is missing: build first (meson setup build && ninja -C build)"
done

D=$(mktemp -d /tmp/quilt-xbench.XXXXXX)
QUILTD_PID=""
HYBRID_V1=()
PRE_RUNCRUN=$([ -e /run/crun ] && echo 1 || echo 0)
CRUN_UP=0
PODMAN_UP=0
. "$REPO"/bench/crun-hybrid.sh

cleanup() {
	local rc=$? i
	set +e
	trap - EXIT INT TERM
	[ "$rc" = 0 ] || [ ! -s "$D"/quiltd.log ] ||
		{ log "last lines of quiltd's log:"; tail -n 20 "$D"/quiltd.log | sed 's/^/  quiltd: /' >&2; }
	[ "$CRUN_UP" = 1 ] && crun delete -f "$PFX" >/dev/null 2>&1
	[ "$PODMAN_UP" = 1 ] && podman rm -f -t 0 "$PFX" >/dev/null 2>&1
	if [ -n "$QUILTD_PID" ]; then
		for i in $("$QUILT" ps -a -q 2>/dev/null); do "$QUILT" rm -f "$i" >/dev/null 2>&1; done
		kill -TERM "$QUILTD_PID" 2>/dev/null
		for i in $(seq 100); do kill -0 "$QUILTD_PID" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$QUILTD_PID" 2>/dev/null
		wait "$QUILTD_PID" 2>/dev/null
	fi
	hybrid_undo
	[ "$PRE_RUNCRUN" = 0 ] && [ -d /run/crun ] && rmdir /run/crun 2>/dev/null
	for i in $(awk -v d="$D" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount "$i" 2>/dev/null || umount -l "$i"
	done
	rm -rf "$D"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- quiltd --------------------------------------------------------------------------
mkdir -p "$D"/state "$D"/run "$D"/raw
cat >"$D"/quiltd.conf <<EOF
[Daemon]
Backend=standalone
[API]
GRPCSocket=$D/run/quilt.sock
HTTPSocket=$D/run/http.sock
[Storage]
StateDirectory=$D/state
RuntimeDirectory=$D/run
EOF
chmod 600 "$D"/quiltd.conf
export QUILT_HOST=unix:$D/run/quilt.sock
"$QUILTD" --config="$D"/quiltd.conf >"$D"/quiltd.log 2>&1 &
QUILTD_PID=$!
for i in $(seq 250); do
	[ -S "$D"/run/quilt.sock ] && "$QUILT" ps -a -q >/dev/null 2>&1 && break
	kill -0 "$QUILTD_PID" 2>/dev/null || die "quiltd did not come up"
	sleep 0.02
done
# No CPU limit to speak of, like crun's container: the default 50 % would throttle
# back-to-back execs, whose work is charged to the container.
"$QUILT" create --name xbench --cpu $((100 * $(nproc))) -- sleep 100000 </dev/null >/dev/null ||
	die "quilt create failed"
ROOTFS=$D/state/images/minimal/rootfs
[ -x "$ROOTFS"/bin/true ] || die "no minimal image at $ROOTFS"

# ---- measuring -----------------------------------------------------------------------
TABLE=""
cpu_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9 }' /proc/stat; }

# measure LABEL COMMAND...: WARMUP untimed calls, then N_CLI timed ones.
measure() {
	local label=$1 f=$D/raw/$RANDOM.us i t0 t1 c0 s0 c1 s1
	shift
	log "measuring: $label ($N_CLI runs)"
	for ((i = 0; i < WARMUP; i++)); do "$@" >/dev/null || die "$label: warm-up call failed"; done
	: >"$f"
	read -r c0 s0 < <(cpu_ticks)
	for ((i = 0; i < N_CLI; i++)); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null || die "$label: call $i failed"
		t1=$EPOCHREALTIME
		echo $((${t1/./} - ${t0/./})) >>"$f"
	done
	read -r c1 s1 < <(cpu_ticks)
	TABLE+=$(sort -n "$f" | awk -v l="$label" -v st=$((s1 - s0)) -v ct=$((c1 - c0)) '
		function at(q,  r) { r = int(q * NR); if (r < q * NR) r++; return a[r < 1 ? 1 : r] / 1000 }
		{ a[NR] = $1 }
		END { printf "%-40s %5d %8.2f %8.2f %8.2f %8.2f %6.1f", l, NR, at(.50), at(.95), at(.99), a[1] / 1000,
		      ct ? 100 * st / ct : 0 }')$'\n'
}

log "measuring: quilt over one gRPC connection ($N_RPC execs, $M create + first exec)"
RPC=$("$CLIENT" "$QUILT_HOST" "$N_RPC" "$M" 2>"$D"/client.err) || { cat "$D"/client.err >&2; die "exec-latency failed"; }

measure "harness floor: fork+exec busybox true" "$ROOTFS"/bin/true
measure "quilt health (CLI start + one RPC)" "$QUILT" health
measure "quilt exec <c> true" "$QUILT" exec xbench true

if [ "${SKIP_CRUN:-0}" != 1 ] && command -v crun >/dev/null && command -v jq >/dev/null; then
	mkdir -p "$D"/spec "$D"/b-sleep
	(cd "$D"/spec && crun spec)
	jq --arg r "$ROOTFS" '.process.terminal = false | .process.args = ["/bin/sleep", "100000"]
		| .root.path = $r | .root.readonly = true' "$D"/spec/config.json >"$D"/b-sleep/config.json
	hybrid_fix
	crun run -d -b "$D"/b-sleep "$PFX" </dev/null >/dev/null 2>&1 || die "crun run -d failed"
	CRUN_UP=1
	measure "crun exec <c> /bin/true" crun exec "$PFX" /bin/true
	crun delete -f "$PFX" >/dev/null 2>&1
	CRUN_UP=0
	hybrid_undo
else
	log "crun (or jq) is not installed: no crun series (anchor: crun exec 10.6 ms p50)"
fi

if [ "${SKIP_PODMAN:-0}" != 1 ] && command -v podman >/dev/null; then
	# --rootfs writes into the tree (/etc/hosts, ...): a copy, not quilt's image.
	cp -a "$ROOTFS" "$D"/podman-rootfs
	podman run -d --rm --network none --name "$PFX" --rootfs "$D"/podman-rootfs /bin/sleep 100000 >/dev/null ||
		die "podman run failed"
	PODMAN_UP=1
	measure "podman exec <c> true" podman exec "$PFX" /bin/true
else
	log "podman is not installed: no podman series (anchor: podman exec 181 ms p50)"
fi

cat <<EOF

== exec latency on $(hostname): $(nproc) CPU, kernel $(uname -r), cgroups $(stat -fc %T /sys/fs/cgroup), load $(cut -d' ' -f1-3 /proc/loadavg)
   $("$QUILTD" --version | head -1); quilt tree $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)

through one persistent gRPC connection (ms; no CLI start):
$RPC

CLI calls (ms, wall clock incl. fork+exec, nearest-rank percentiles after $WARMUP warm-up calls;
steal% = hypervisor steal over the series):
$(printf '%-40s %5s %8s %8s %8s %8s %6s' series n p50 p95 p99 min steal%)
${TABLE}
EOF
