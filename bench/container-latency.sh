#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Container start latency and idle memory: quilt next to bare crun, in one run, on the same
# rootfs (quilt's built-in "minimal" image, which crun uses read-only as its bundle root).
# Prints numbers and quilt/crun ratios; it never decides pass or fail.
#
#   create -> RUNNING   quilt create -- sleep 600        vs  crun run -d (sleep 600 bundle)
#                       (each followed by an untimed quilt rm -f / crun delete -f)
#   create -> exit      quilt run --rm -- true           vs  crun run (/bin/true, own netns)
#   idle memory         N_IDLE idle `sleep 600` containers of each: Pss/Rss of quilt-monitor,
#                       init and the payload per container, memory-cgroup charge, removal time
#
# Usage (root):  bench/container-latency.sh
# Environment:   N=200 timed calls per series    N_IDLE=50 idle containers   WARMUP=5
#                QUILT_BUILD_DIR=<repo>/build    SKIP_INSTALL=1 (never call apt-get)
#                ONLY=crun|quilt (one half only; ONLY=crun builds its own busybox rootfs)
#                RAW_DIR=<dir> (keep per-call samples, microseconds, one per line)
#
# Method (as reference/anchor-bench.md): bash $EPOCHREALTIME around each CLI call (so every
# number includes one fork+exec, see the "harness floor" row), WARMUP untimed calls first,
# nearest-rank percentiles, hypervisor steal % per series from /proc/stat.
#
# Host changes, all undone by the EXIT trap: a private quiltd (config, state, runtime dir and
# sockets in a mktemp dir) and its containers; crun bundles and containers (ids qlb<pid>-*),
# /run/crun if it did not exist; and on hybrid-cgroup hosts whose cgroup2 mount
# (/sys/fs/cgroup/unified) still owns controllers, which crun refuses, those controllers are
# mounted as v1 hierarchies around the crun series only and given back to cgroup2 afterwards.
set -euo pipefail
# quiltd and its containers run in a network namespace of their own (bench/netns.sh).
. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${QUILT_BUILD_DIR:-$REPO/build}
N=${N:-200}
N_IDLE=${N_IDLE:-50}
WARMUP=${WARMUP:-5}
ONLY=${ONLY:-all}
PFX=qlb$$
QUILTD=$BUILD/src/daemon/quiltd
QUILT=$BUILD/src/cli/quilt
export QUILT_MONITOR=$BUILD/src/monitor/quilt-monitor

log() { printf '[bench %(%T)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
want() { [ "$ONLY" = all ] || [ "$ONLY" = "$1" ]; }

[ "$(id -u)" = 0 ] || die "run as root"
case $ONLY in all | crun | quilt) ;; *) die "ONLY must be crun or quilt" ;; esac

D=""
QUILTD_PID=""
HYBRID_V1=()   # controllers this run moved from cgroup2 to v1 hierarchies
PRE_RUNCRUN=$([ -e /run/crun ] && echo 1 || echo 0)
PRE_QSLICE=$(ls -d /sys/fs/cgroup/quilt.slice /sys/fs/cgroup/*/quilt.slice 2>/dev/null || true)

# ---- host setup and teardown ---------------------------------------------------------
# hybrid_fix, hybrid_undo: crun on hybrid-cgroup hosts.
. "$REPO"/bench/crun-hybrid.sh

install_missing() {
	local missing=() b
	for b in crun jq; do command -v $b >/dev/null || missing+=("$b"); done
	[ ${#missing[@]} = 0 ] && return 0
	[ "${SKIP_INSTALL:-0}" = 1 ] && die "missing ${missing[*]} (SKIP_INSTALL=1)"
	log "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# quilt-monitor processes of our quiltd: "quilt-monitor <RuntimeDirectory>/containers/<id>".
# init is forked from the monitor without an exec, so it carries the same command line:
# keep only the matches whose parent is not a match.
monitor_procs() { pgrep -f "^([^ ]*/)?quilt-monitor $D/run/containers/" || true; }
monitor_pids() {
	local all p
	all=" $(monitor_procs | tr '\n' ' ') "
	for p in $all; do
		[[ $all == *" $(awk '$1 == "PPid:" { print $2 }' /proc/"$p"/status 2>/dev/null) "* ]] || echo "$p"
	done
}

cleanup() {
	local rc=$? i left=""
	set +e
	trap - EXIT INT TERM
	log "cleanup"
	# The temp dir goes away below: show why quiltd failed, if it did.
	[ "$rc" = 0 ] || [ -z "$D" ] || [ ! -s "$D"/quiltd.log ] ||
		{ log "last lines of quiltd's log:"; tail -n 20 "$D"/quiltd.log | sed 's/^/  quiltd: /' >&2; }
	if command -v crun >/dev/null; then
		for i in $(crun list -q 2>/dev/null | grep "^$PFX-"); do crun delete -f "$i" >/dev/null 2>&1; done
	fi
	if [ -n "$QUILTD_PID" ]; then
		# Containers outlive quiltd: remove them while it still runs.
		for i in $("$QUILT" ps -a -q 2>/dev/null); do "$QUILT" rm -f "$i" >/dev/null 2>&1; done
		kill -TERM "$QUILTD_PID" 2>/dev/null
		for i in $(seq 100); do kill -0 "$QUILTD_PID" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$QUILTD_PID" 2>/dev/null
		wait "$QUILTD_PID" 2>/dev/null
	fi
	if [ -n "$D" ]; then
		i=$(monitor_procs)
		if [ -n "$i" ]; then
			log "WARNING: quilt-monitor still running after rm: $(echo $i); killing them"
			kill -KILL $i 2>/dev/null
			sleep 0.5
		fi
		# container cgroups: crun's /<id>, quilt's quilt.slice/quilt-<id> (standalone backend)
		find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name "$PFX-*" -delete 2>/dev/null
		for i in $(cat "$D"/ids 2>/dev/null); do
			find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/quilt.slice/quilt-$i" \
				-exec find {} -depth -type d -delete \; 2>/dev/null
		done
		for i in /sys/fs/cgroup/quilt.slice /sys/fs/cgroup/*/quilt.slice; do
			[ -d "$i" ] && ! grep -qxF "$i" <<<"$PRE_QSLICE" && rmdir "$i" 2>/dev/null
		done
		for i in $(awk -v d="$D" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
			umount "$i" 2>/dev/null || umount -l "$i"
		done
		[ -n "${RAW_DIR:-}" ] && mkdir -p "$RAW_DIR" && cp "$D"/raw/*.us "$RAW_DIR"/ 2>/dev/null
	fi
	hybrid_undo
	[ "$PRE_RUNCRUN" = 0 ] && [ -d /run/crun ] && rmdir /run/crun 2>/dev/null
	# what could be left behind
	if [ -n "$D" ]; then
		grep -qF "$D" /proc/self/mountinfo && left+=" mounts"
		[ -n "$(monitor_procs)" ] && left+=" monitors"
		[ -n "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -name "$PFX-*" 2>/dev/null)" ] && left+=" crun-cgroups"
		for i in $(cat "$D"/ids 2>/dev/null); do
			[ -n "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -path "*/quilt.slice/quilt-$i" 2>/dev/null)" ] &&
				{ left+=" quilt-cgroups"; break; }
		done
		rm -rf "$D"
		[ -e "$D" ] && left+=" $D"
	fi
	[ "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || true)" = "$CG_CONTROLLERS_BEFORE" ] ||
		left+=" cgroup2-controllers"
	[ "$PRE_RUNCRUN" = 0 ] && [ -e /run/crun ] && left+=" /run/crun"
	if [ -n "$left" ]; then log "WARNING: left behind:$left"; else log "cleanup done, nothing left behind"; fi
	exit $rc
}
CG_CONTROLLERS_BEFORE=$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || true)
trap cleanup EXIT
trap 'exit 130' INT TERM

start_quiltd() {
	mkdir -p "$D"/state "$D"/run
	cat >"$D"/quiltd.conf <<-EOF
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
	local i
	for i in $(seq 250); do
		[ -S "$D"/run/quilt.sock ] && "$QUILT" ps -a -q >/dev/null 2>&1 && return 0
		kill -0 "$QUILTD_PID" 2>/dev/null || break
		sleep 0.02
	done
	die "quiltd did not come up"
}

# Only for ONLY=crun: a tree like quilt's built-in "minimal" image (busybox-static).
build_rootfs() {
	local r=$D/rootfs a
	[ -x /bin/busybox ] || die "ONLY=crun needs /bin/busybox (apt-get install busybox-static)"
	mkdir -p "$r"/{bin,etc,tmp,proc,sys,dev,root,run}
	chmod 1777 "$r"/tmp
	cp /bin/busybox "$r"/bin/busybox
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$r"/bin/"$a"; done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r"/etc/passwd
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$r"/etc/group
	ROOTFS=$r
}

# b-true: `crun spec` defaults (pid, net, ipc, uts, mount namespaces) running /bin/true;
# b-sleep: the same running /bin/sleep 600. Root is $ROOTFS, read-only.
make_bundles() {
	mkdir -p "$D"/spec "$D"/b-true "$D"/b-sleep
	(cd "$D"/spec && crun spec)
	jq --arg r "$ROOTFS" '.process.terminal = false | .process.args = ["/bin/true"]
		| .root.path = $r | .root.readonly = true' "$D"/spec/config.json >"$D"/b-true/config.json
	jq '.process.args = ["/bin/sleep", "600"]' "$D"/b-true/config.json >"$D"/b-sleep/config.json
}

# ---- measuring -----------------------------------------------------------------------
declare -A P50
TABLE=""
MEM=""

cpu_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9 }' /proc/stat; }

# measure KEY LABEL FN [POST]: WARMUP untimed "FN wI" calls, then N timed "FN I";
# "POST I" runs untimed after every call.
measure() {
	local key=$1 label=$2 fn=$3 post=${4:-} i t0 t1 c0 s0 c1 s1 f=$D/raw/$1.us line
	log "measuring: $label ($N runs)"
	for ((i = 0; i < WARMUP; i++)); do
		"$fn" "w$i" || die "$label: warm-up call failed"
		[ -z "$post" ] || "$post" "w$i" || die "$label: untimed follow-up failed"
	done
	: >"$f"
	read -r c0 s0 < <(cpu_ticks)
	for ((i = 0; i < N; i++)); do
		t0=$EPOCHREALTIME
		"$fn" "$i" || die "$label: call $i failed"
		t1=$EPOCHREALTIME
		echo $((${t1/./} - ${t0/./})) >>"$f"
		[ -z "$post" ] || "$post" "$i" || die "$label: untimed follow-up $i failed"
	done
	read -r c1 s1 < <(cpu_ticks)
	line=$(sort -n "$f" | awk -v l="$label" -v st=$((s1 - s0)) -v ct=$((c1 - c0)) '
		function at(q,  r) { r = int(q * NR); if (r < q * NR) r++; return a[r < 1 ? 1 : r] / 1000 }
		{ a[NR] = $1 }
		END { printf "%-46s %5d %8.2f %8.2f %8.2f %8.2f %8.2f %6.1f\n", l, NR,
			at(.50), at(.95), at(.99), a[1] / 1000, a[NR] / 1000, ct ? 100 * st / ct : 0 }')
	TABLE+=$line$'\n'
	P50[$key]=$(awk '{ print $(NF - 5) }' <<<"$line")
}

floor_true() { "$ROOTFS"/bin/true; }
# The CLI's own share of every quilt number: starting a program linked against grpc and
# absl, plus one unary RPC on a fresh channel.
floor_cli_help() { "$QUILT" --help >/dev/null; }
floor_cli_rpc() { "$QUILT" health >/dev/null; }
q_create() { "$QUILT" create -- sleep 600 </dev/null >"$D"/id; }
q_rm() {
	local id
	id=$(<"$D"/id)
	[ -n "$id" ] || return 1
	echo "$id" >>"$D"/ids
	"$QUILT" rm -f "$id" >/dev/null
}
q_run() { "$QUILT" run --rm -- true </dev/null >/dev/null; }
c_run_d() { crun run -d -b "$D"/b-sleep "$PFX-d$1" </dev/null >/dev/null 2>&1; }
c_del_d() { crun delete -f "$PFX-d$1"; }
c_run() { crun run -b "$D"/b-true "$PFX-r$1" </dev/null >/dev/null; }

# ---- memory --------------------------------------------------------------------------
# kB sums over the given pids
sum_rss() { local p s=0 v; for p; do v=$(awk '$1 == "VmRSS:" { print $2 }' /proc/"$p"/status 2>/dev/null); s=$((s + ${v:-0})); done; echo $s; }
sum_pss() { local p s=0 v; for p; do v=$(awk '$1 == "Pss:" { print $2 }' /proc/"$p"/smaps_rollup 2>/dev/null); s=$((s + ${v:-0})); done; echo $s; }
children() { local p; for p; do pgrep -P "$p" || true; done; }

# memcg_bytes PID [STRIP]: memory charged to PID's memory cgroup (v1 usage_in_bytes or v2
# memory.current), after removing a trailing "/STRIP" from the cgroup path.
memcg_bytes() {
	local v1 path
	v1=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/"$1"/cgroup 2>/dev/null)
	if [ -n "$v1" ]; then
		path=$MEMCG_V1${v1%/"${2:-}"}/memory.usage_in_bytes
	else
		path=/sys/fs/cgroup$(awk -F: '$1 == 0 { print $3 }' /proc/"$1"/cgroup)
		path=${path%/"${2:-}"}/memory.current
	fi
	cat "$path" 2>/dev/null || echo 0
}
MEMCG_V1=$(findmnt -rn -t cgroup -o TARGET,OPTIONS | awk '$2 ~ /(^|,)memory(,|$)/ { print $1; exit }')

memrow() { MEM+=$(printf '%-62s %10s' "$1" "$2")$'\n'; }
per() { awk -v kb="$1" -v n="$2" 'BEGIN { printf "%.2f MiB", kb / n / 1024 }'; }
secs() { awk -v us="$1" 'BEGIN { printf "%.2f s", us / 1e6 }'; }

mem_quilt() {
	local i id ids=() mons inits pay cg=0 t0 t1 m
	log "memory: $N_IDLE idle quilt containers (sleep 600)"
	for ((i = 0; i < N_IDLE; i++)); do
		id=$("$QUILT" create -- sleep 600 </dev/null) || die "quilt create failed"
		ids+=("$id")
		echo "$id" >>"$D"/ids
	done
	sleep 2
	mapfile -t mons < <(monitor_pids)
	mapfile -t inits < <(children "${mons[@]}")
	mapfile -t pay < <(children "${inits[@]}")
	[ ${#mons[@]} = "$N_IDLE" ] && [ ${#inits[@]} = "$N_IDLE" ] && [ ${#pay[@]} = "$N_IDLE" ] ||
		log "WARNING: expected $N_IDLE each, found ${#mons[@]} monitors, ${#inits[@]} inits, ${#pay[@]} payloads"
	for m in "${mons[@]}"; do cg=$((cg + $(memcg_bytes "$m" supervisor))); done
	memrow "quilt: monitors / inits / payloads found" "${#mons[@]}/${#inits[@]}/${#pay[@]}"
	memrow "quilt: monitor+init PSS per container" "$(per $(($(sum_pss "${mons[@]}") + $(sum_pss "${inits[@]}"))) "$N_IDLE")"
	memrow "quilt: monitor+init RSS per container" "$(per $(($(sum_rss "${mons[@]}") + $(sum_rss "${inits[@]}"))) "$N_IDLE")"
	memrow "quilt:   monitor PSS / RSS per container" "$(per "$(sum_pss "${mons[@]}")" "$N_IDLE") / $(per "$(sum_rss "${mons[@]}")" "$N_IDLE")"
	memrow "quilt:   init PSS / RSS per container" "$(per "$(sum_pss "${inits[@]}")" "$N_IDLE") / $(per "$(sum_rss "${inits[@]}")" "$N_IDLE")"
	memrow "quilt: payload (sleep) PSS / RSS per container" "$(per "$(sum_pss "${pay[@]}")" "$N_IDLE") / $(per "$(sum_rss "${pay[@]}")" "$N_IDLE")"
	memrow "quilt: memcg charge of the container cgroup, per container" "$(per $((cg / 1024)) "$N_IDLE")"
	t0=$EPOCHREALTIME
	"$QUILT" rm -f "${ids[@]}" >/dev/null || die "quilt rm -f of the idle containers failed"
	t1=$EPOCHREALTIME
	memrow "quilt: rm -f of $N_IDLE containers (one call)" "$(secs $((${t1/./} - ${t0/./})))"
	[ -z "$("$QUILT" ps -a -q)" ] || log "WARNING: quilt ps -a is not empty after rm -f"
}

mem_crun() {
	local i pay=() cg=0 p t0 t1
	log "memory: $N_IDLE idle crun containers (sleep 600, no monitor process)"
	for ((i = 0; i < N_IDLE; i++)); do c_run_d "m$i" || die "crun run -d failed"; done
	sleep 2
	for ((i = 0; i < N_IDLE; i++)); do pay+=("$(crun state "$PFX-dm$i" | jq .pid)"); done
	for p in "${pay[@]}"; do cg=$((cg + $(memcg_bytes "$p"))); done
	memrow "crun: payload (sleep) PSS / RSS per container" "$(per "$(sum_pss "${pay[@]}")" "$N_IDLE") / $(per "$(sum_rss "${pay[@]}")" "$N_IDLE")"
	memrow "crun: memcg charge of the container cgroup, per container" "$(per $((cg / 1024)) "$N_IDLE")"
	t0=$EPOCHREALTIME
	for ((i = 0; i < N_IDLE; i++)); do c_del_d "m$i" || die "crun delete failed"; done
	t1=$EPOCHREALTIME
	memrow "crun: delete -f of $N_IDLE containers ($N_IDLE calls)" "$(secs $((${t1/./} - ${t0/./})))"
}

ratio() { # LABEL KEY-QUILT KEY-CRUN
	[ -n "${P50[$2]:-}" ] && [ -n "${P50[$3]:-}" ] || return 0
	awk -v l="$1" -v q="${P50[$2]}" -v c="${P50[$3]}" \
		'BEGIN { printf "%-46s %8.2f / %8.2f ms = %5.2fx\n", l, q, c, (c > 0 ? q / c : 0) }'
}

# ---- main ----------------------------------------------------------------------------
if want quilt; then
	for b in "$QUILTD" "$QUILT" "$QUILT_MONITOR"; do
		[ -x "$b" ] || die "$b is missing: build first with  meson setup build && ninja -C build  (or set QUILT_BUILD_DIR)"
	done
fi
want crun && install_missing
D=$(mktemp -d /tmp/quilt-clbench.XXXXXX)
mkdir -p "$D"/raw
VERSIONS=""

if want quilt; then
	start_quiltd
	VERSIONS+="$("$QUILTD" --version | head -1); $("$QUILT" --version | head -1); "
	# The first container makes quiltd build its "minimal" image; crun uses the same tree.
	id=$("$QUILT" create -- true </dev/null) || die "quilt create failed"
	echo "$id" >>"$D"/ids
	"$QUILT" rm -f "$id" >/dev/null
	ROOTFS=$D/state/images/minimal/rootfs
	[ -x "$ROOTFS"/bin/sleep ] || die "no minimal image at $ROOTFS"
else
	build_rootfs
fi
log "rootfs: $ROOTFS"

measure floor "harness floor: fork+exec busybox true" floor_true
if want quilt; then
	measure q_help "quilt --help (CLI start, no RPC)" floor_cli_help
	measure q_health "quilt health (CLI start + one RPC)" floor_cli_rpc
	measure q_create "quilt create -- sleep 600 (->RUNNING)" q_create q_rm
	measure q_run "quilt run --rm -- true (->exit)" q_run
	left=$("$QUILT" ps -a -q)
	[ -z "$left" ] || { log "WARNING: quilt run --rm left $(wc -l <<<"$left") containers"; "$QUILT" rm -f $left >/dev/null; }
	mem_quilt
fi
if want crun; then
	VERSIONS+="$(crun --version | head -1)"
	make_bundles
	hybrid_fix
	measure c_run_d "crun run -d sleep 600 (->running)" c_run_d c_del_d
	measure c_run "crun run /bin/true (netns, ->exit)" c_run
	mem_crun
	hybrid_undo
fi

cat <<EOF

== container latency on $(hostname): $(nproc) CPU, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)
   cgroups: $(stat -fc %T /sys/fs/cgroup)${CG_CONTROLLERS_BEFORE:+, cgroup2 on /sys/fs/cgroup/unified owns: $CG_CONTROLLERS_BEFORE (moved to v1 around the crun series)}
   ${VERSIONS%; }; quilt tree $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)
   rootfs: $( [ "$ONLY" = crun ] && echo "busybox-static tree built by this script" || echo "quilt's minimal image, read-only root for crun")
   ms per CLI call (wall clock, incl. fork+exec), nearest-rank percentiles after $WARMUP warm-up calls;
   steal% = hypervisor steal over the series (high = noisy numbers)

$(printf '%-46s %5s %8s %8s %8s %8s %8s %6s' series n p50 p95 p99 min max steal%)
${TABLE}
p50 ratios quilt / crun$([ "$ONLY" = all ] || echo ": need both halves (ONLY=$ONLY)")
$(ratio "create -> RUNNING" q_create c_run_d)
$(ratio "create -> exit" q_run c_run)

$(printf '%-62s %10s' "idle memory (N_IDLE=$N_IDLE)" value)
${MEM}
EOF
