#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The container runtime on the standalone (cgroupfs) backend: lifecycle, isolation, limits,
# quiltd restarts and cleanup, asserted on what the kernel and the filesystem show.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || tap_skip_all "needs jq"

quiltd_start || { echo "Bail out! quiltd did not start"; exit 1; }

# field CONTAINER JQ-EXPR: a field of GET /containers/:id
field() { http GET "/containers/$1" | jq -r "$2"; }
state() { field "$1" .status; }
# wait_state CONTAINER STATE: up to 20 s
wait_state() {
        local i
        for i in $(seq 400); do
                [ "$(state "$1")" = "$2" ] && return 0
                sleep 0.05
        done
        echo "#   $1 is $(state "$1"), expected $2"
        return 1
}
logs() { quilt logs --stream stdout,stderr "$1" 2>&1; }
init_pid() { field "$1" .pid; }

# Traces a container leaves on the host: rows, directories, mounts, cgroups.
# Other tests (meson runs two at a time) create containers and mounts of their own, so
# only this quiltd's containers count: every id it ever logged, and mounts under QT_DIR.
host_traces() {
        local id
        quilt ps -a -q 2>/dev/null | sort
        ls "$QT_DIR/state/containers" "$QT_DIR/run/containers" 2>/dev/null
        grep -c "$QT_DIR" /proc/mounts
        for id in $(grep -Eo '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' \
                            "$QT_DIR/quiltd.log" | sort -u); do
                find /sys/fs/cgroup -maxdepth 3 -path "*quilt.slice/quilt-$id" -type d 2>/dev/null
        done | sort
}

# ---- the command runs, exits, and its status and output are kept --------------------
quilt create --name t -- sh -c 'echo hi; echo oops >&2; exit 3' > "$QT_DIR/t.id"
tap_is "create prints the id" "$(wc -l < "$QT_DIR/t.id")" 1
ID=$(cat "$QT_DIR/t.id")
tap_check "the container exits" wait_state t EXITED
tap_is "its exit code is 3" "$(field t .exit_code)" 3
tap_is "it was not signalled" "$(field t .exit_signal)" 0
tap_check "its output is in the monitor's log file" grep -q ' stdout F hi$' "$QT_DIR/state/containers/$ID/container.log"
tap_check "stderr is kept apart" grep -q ' stderr F oops$' "$QT_DIR/state/containers/$ID/container.log"
tap_check "quilt logs shows it" grep -qx hi <(logs t)
tap_is "addressed by a unique id prefix" "$(field "${ID:0:8}" .name)" t
tap_is "quilt wait reports the code" "$(quilt wait t)" 3
tap_is "POST /containers/:id/wait reports it too" "$(http POST /containers/t/wait '{}' | jq -r .exit_code)" 3

# argv is passed as given, never through a shell.
quilt create --name argv -- /bin/echo 'a  b' '$HOME' '"q"' > /dev/null
wait_state argv EXITED > /dev/null
tap_is "argv arrives word for word" "$(logs argv)" 'a  b $HOME "q"'

# ---- isolation ----------------------------------------------------------------------
quilt create --name iso --async-mode > /dev/null
tap_check "an async container without a command runs" wait_state iso RUNNING
PID=$(init_pid iso)
tap_check "its init is a live process" kill -0 "$PID"
touch "$QT_DIR/host-marker"
tap_check "/proc/<init>/root is not the host's root" test ! -e "/proc/$PID/root$QT_DIR/host-marker"
tap_check "... it is the image's" test -x "/proc/$PID/root/bin/busybox"
tap_is "hostname is the name" "$(nsenter -t "$PID" -u hostname)" iso
tap_is "its own pid namespace: init is 1 inside" \
        "$(grep NSpid "/proc/$PID/status" | awk '{print $NF}')" 1
for ns in pid mnt uts ipc net cgroup; do
        tap_check "namespace $ns is not the host's" \
                test "$(readlink "/proc/$PID/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")"
done
tap_is "the default capability set (Docker's)" "$(awk '/^CapEff/ {print $2}' "/proc/$PID/status")" \
        00000000a80425fb
tap_is "no_new_privs" "$(awk '/^NoNewPrivs/ {print $2}' "/proc/$PID/status")" 1
tap_is "seccomp filter" "$(awk '/^Seccomp:/ {print $2}' "/proc/$PID/status")" 2

quilt create --name probe -- sh -c '
        echo "pid1=$(cat /proc/1/comm)"
        echo "self=$$"
        mount -t tmpfs x /mnt 2>/dev/null && echo mount=ok || echo mount=denied
        unshare -m true 2>/dev/null && echo unshare=ok || echo unshare=denied
        insmod /nonexistent.ko 2>/dev/null && echo insmod=ok || echo insmod=denied
        (echo evil > /proc/sys/kernel/hostname) 2>/dev/null && echo sysctl=ok || echo sysctl=denied
        (echo 1 > /sys/kernel/profiling) 2>/dev/null && echo sys=ok || echo sys=denied
        [ -c /dev/null ] && [ -c /dev/urandom ] && [ -e /dev/ptmx ] && [ -d /dev/pts ] && echo dev=ok
        [ -e /dev/sda ] || [ -e /dev/vda ] || echo disks=hidden
        cat /proc/kcore 2>/dev/null | head -c1 | wc -c | sed "s/^/kcore=/"
        grep -c . /proc/self/mounts | sed "s/^/mounts=/"
' > /dev/null
wait_state probe EXITED > /dev/null
P=$(logs probe)
tap_check "the container's PID 1 is Quilt's init, not the command" grep -qx 'pid1=init' <<< "$P"
tap_check "the command is not PID 1" grep -qvx 'self=1' <<< "$(grep '^self=' <<< "$P")"
for probe in mount unshare insmod sysctl sys; do
        tap_check "$probe is denied inside" grep -qx "$probe=denied" <<< "$P"
done
tap_check "a minimal /dev" grep -qx 'dev=ok' <<< "$P"
tap_check "no host disks in /dev" grep -qx 'disks=hidden' <<< "$P"
tap_check "/proc/kcore is masked" grep -qx 'kcore=0' <<< "$P"

quilt create --name who --user 65534:65534 -- sh -c 'id -u; id -g; grep CapEff /proc/self/status' > /dev/null
wait_state who EXITED > /dev/null
tap_is "--user runs the command as that user" "$(logs who | head -2 | tr '\n' ' ')" "65534 65534 "
tap_check "... without capabilities" grep -q 'CapEff:.*0000000000000000' <<< "$(logs who)"

quilt create --name envwd -e FOO=bar -w /tmp -- sh -c 'echo "$FOO $(pwd) $HOSTNAME"' > /dev/null
wait_state envwd EXITED > /dev/null
tap_is "environment and working directory" "$(logs envwd)" "bar /tmp envwd"

# ---- limits -------------------------------------------------------------------------
cg_file() { # cg_file ID V1-CONTROLLER V1-FILE V2-FILE
        if [ -d /sys/fs/cgroup/$2 ]; then cat "/sys/fs/cgroup/$2/quilt.slice/quilt-$1/$3"
        else cat "/sys/fs/cgroup/quilt.slice/quilt-$1/$4"; fi
}
IID=$(field iso .container_id)
tap_is "default memory limit 512 MiB" "$(cg_file "$IID" memory memory.limit_in_bytes memory.max)" 536870912
tap_is "default pids limit 1024" "$(cg_file "$IID" pids pids.max pids.max)" 1024
if [ -d /sys/fs/cgroup/cpu ]; then
        tap_is "default CPU quota 50 %" "$(cg_file "$IID" cpu cpu.cfs_quota_us x)" 50000
else
        tap_is "default CPU quota 50 %" "$(cg_file "$IID" x x cpu.max)" "50000 100000"
fi

quilt create --name oom -- sh -c 'head -c $((600 * 1024 * 1024)) /dev/zero | tail' > /dev/null
tap_check "a 600 MiB allocation under the default limit ends" wait_state oom EXITED
tap_is "... reported as an OOM kill" "$(field oom .oom_killed)" true

# The shell gives up at the first fork that fails; "started" is a builtin, so it counts.
quilt create --name forks --pids 40 -- sh -c 'for i in $(seq 100); do sleep 60 & echo started; done' > /dev/null
wait_state forks EXITED > /dev/null
N=$(logs forks | grep -c started)
tap_check "a fork loop stops at the pids limit ($N forks succeeded)" test "$N" -ge 30 -a "$N" -le 40
tap_check "... because fork failed" grep -q "can't fork" <<< "$(logs forks)"

quilt create --name spin --cpu 50 -- sh -c 'while :; do :; done' > /dev/null
wait_state spin RUNNING > /dev/null
SID=$(field spin .container_id)
cpu_usec() {
        if [ -d /sys/fs/cgroup/cpuacct ]; then
                echo $(($(cat "/sys/fs/cgroup/cpuacct/quilt.slice/quilt-$SID/cpuacct.usage") / 1000))
        else awk '/usage_usec/ {print $2}' "/sys/fs/cgroup/quilt.slice/quilt-$SID/cpu.stat"; fi
}
sleep 0.5
A=$(cpu_usec); T0=$(date +%s%N); sleep 2; B=$(cpu_usec); T1=$(date +%s%N)
SHARE=$(( (B - A) * 10000 / ((T1 - T0) / 1000) ))  # hundredths of a percent of one CPU
echo "# busy loop under --cpu 50 got $((SHARE / 100)).$((SHARE % 100 / 10))% of a CPU"
tap_check "a busy loop under --cpu 50 gets about half a CPU" test "$SHARE" -ge 3500 -a "$SHARE" -le 6000
quilt kill spin > /dev/null
tap_check "kill ends it" wait_state spin EXITED
tap_is "... with SIGKILL" "$(field spin .exit_signal)" 9

# ---- lifecycle ----------------------------------------------------------------------
not_rm() { ! quilt rm iso 2>/dev/null; }
tap_check "rm refuses a running container" not_rm
tap_is "... and it still runs" "$(state iso)" RUNNING
quilt stop -t 5 iso > /dev/null
tap_is "stop ends an idle container with status 0" "$(state iso):$(field iso .exit_code)" EXITED:0
tap_check "its init is gone" test ! -e "/proc/$PID"

quilt create --name trap -- sh -c 'trap "" TERM; while :; do sleep 0.1; done' > /dev/null
wait_state trap RUNNING > /dev/null
T0=$(date +%s%N)
quilt stop -t 1 trap > /dev/null
T1=$(date +%s%N)
tap_check "stop -t 1 kills what ignores SIGTERM after the grace period" test "$(state trap)" = EXITED
echo "# stop of a SIGTERM-ignoring container took $(( (T1 - T0) / 1000000 )) ms"

quilt create --name keep -- sh -c 'echo run >> /state.txt; cat /state.txt | wc -l' > /dev/null
wait_state keep EXITED > /dev/null
quilt start keep > /dev/null
wait_state keep EXITED > /dev/null
tap_is "start reruns an exited container with its files kept" "$(logs keep | tail -1)" 2
KID=$(field keep .container_id)
tap_check "the file lives in the container's upper dir on the host" \
        test -f "$QT_DIR/state/containers/$KID/upper/state.txt"

quilt create --name gone --rm -- true > "$QT_DIR/gone.id"
GID=$(cat "$QT_DIR/gone.id")
for i in $(seq 200); do [ -d "$QT_DIR/state/containers/$GID" ] || break; sleep 0.05; done
tap_check "--rm: the container is removed when it exits" test ! -d "$QT_DIR/state/containers/$GID"
tap_check "... and its row too" test -z "$(quilt ps -a -q | grep "$GID")"

quilt create --name doomed -- sleep 300 > /dev/null
wait_state doomed RUNNING > /dev/null
DID=$(field doomed .container_id)
quilt rm -f doomed > /dev/null
tap_check "rm -f removes a running container" test ! -d "$QT_DIR/state/containers/$DID"
tap_check "... leaving no cgroup" test -z "$(find /sys/fs/cgroup -maxdepth 3 -name "quilt-$DID" 2>/dev/null)"

# ---- quiltd restarts; containers do not notice --------------------------------------
quilt create --name survivor -- sleep 300 > /dev/null
quilt create --name late -- sh -c 'sleep 2; exit 7' > /dev/null
wait_state survivor RUNNING > /dev/null
SPID=$(init_pid survivor)
kill -9 "$QUILTD_PID"; wait "$QUILTD_PID" 2>/dev/null; QUILTD_PID=
tap_check "containers outlive a SIGKILLed quiltd" kill -0 "$SPID"
sleep 2.5
quiltd_start || echo "Bail out! quiltd did not restart"
tap_is "after the restart it is still running" "$(state survivor)" RUNNING
tap_is "... with the same init" "$(init_pid survivor)" "$SPID"
tap_is "one that exited meanwhile shows its real exit code" "$(state late):$(field late .exit_code)" EXITED:7
quilt stop -t 1 survivor > /dev/null
tap_check "stop works on an adopted container" test ! -e "/proc/$SPID"
tap_is "... and records its end" "$(state survivor)" EXITED

# ---- bad requests get clear errors and leave nothing behind -------------------------
BEFORE=$(host_traces)
bad() { # bad NAME EXPECTED-MESSAGE-REGEX ARGS...
        local name=$1 re=$2 out; shift 2
        if out=$(quilt create "$@" 2>&1); then tap_fail "$name is refused"; return; fi
        if grep -Eqi "$re" <<< "$out"; then tap_ok "$name is refused: $out"; else tap_fail "$name: '$out'"; fi
}
bad "an unknown image" "not found" --image no-such-image -- true
bad "a duplicate name" "already exists" --name t -- true
bad "an invalid name" "invalid container name" --name 'bad name!' -- true
bad "a negative memory limit" "memory" --memory -5 -- true
bad "an empty command" "command" --name nocmd
bad "a command that does not exist" "No such file" --name nofile -- /does/not/exist
tap_is "failed creates leave no row, directory, mount or cgroup" "$(host_traces)" "$BEFORE"

# ---- 50 containers come and go without a trace --------------------------------------
for c in $(quilt ps -a -q); do quilt rm -f "$c" > /dev/null; done
BEFORE=$(host_traces)
for i in $(seq 50); do quilt create --name "many-$i" -- sleep 60 > /dev/null; done
tap_is "50 containers run" "$(quilt ps -q --state running | wc -l)" 50
for i in $(seq 50); do quilt rm -f "many-$i" > /dev/null; done
tap_is "after removing them, mounts, cgroups, directories and rows are as before" "$(host_traces)" "$BEFORE"

quiltd_stop
tap_done
