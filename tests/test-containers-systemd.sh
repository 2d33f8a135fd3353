#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The container runtime on the systemd backend, under a real systemd booted by
# tests/systemd-harness.sh: Quilt installed as a package would be, quiltd socket-activated,
# one scope per container with its limits, machined registration, limits that bite, a
# quiltd killed under running containers, and removal that leaves no unit or cgroup.
#
# Environment: QUILT_BUILD_DIR (required), QUILT_SOURCE_DIR (default: this file's ../).
source "$(dirname "${BASH_SOURCE[0]}")/harness-lib.sh"

[ -x "$BUILD/src/daemon/quiltd" ] || bail "$BUILD/src/daemon/quiltd not built"

harness_boot 40 -u quilt.service
scope_prop() { inside systemctl show -P "$2" "quilt-$1.scope"; }
traces() {
        inside sh -c 'systemctl list-units --all --no-legend "quilt-*.scope" | grep -c .;
                      find /sys/fs/cgroup -path "*quilt.slice/quilt-*" -type d | sort;
                      grep -c . /proc/mounts; ls /var/lib/quilt/containers /run/quilt/containers'
}

harness_install_quilt
is "quiltd picked the systemd backend" \
        "$(inside sh -c 'quilt info --json | jq -r .features.backend')" systemd
BEFORE=$(traces)

# ---- a scope per container, with its limits -------------------------------------------
# The host's network before quiltd sets up the container network (in the harness).
HOST_NET_BEFORE=$(ip -o link show | awk -F': ' '{ print $2 }' | sort; nft list tables 2>/dev/null | sort)
check "create a container" inside quilt create --name web --memory 64 --cpu 25 --pids 99 -- sleep 300
ID=$(field web .container_id)
is "quilt-<id>.scope is active" "$(scope_prop "$ID" ActiveState)" active
is "... in quilt.slice" "$(scope_prop "$ID" Slice)" quilt.slice
is "MemoryMax is the limit" "$(scope_prop "$ID" MemoryMax)" 67108864
is "TasksMax is the limit" "$(scope_prop "$ID" TasksMax)" 99
is "CPUQuotaPerSecUSec is the limit" "$(scope_prop "$ID" CPUQuotaPerSecUSec)" 250ms
is "Delegate=yes" "$(scope_prop "$ID" Delegate)" yes
STATUS=$(inside systemctl status --no-pager "quilt-$ID.scope")
check "systemctl status shows the monitor" grep -q 'quilt-monitor' <<< "$STATUS"
check "systemctl status shows the command" grep -q 'sleep 300' <<< "$STATUS"
PID=$(field web .pid)
check "the container's init is in the scope's payload cgroup" \
        inside grep -q "quilt.slice/quilt-$ID.scope/payload" "/proc/$PID/cgroup"
if inside test -x /lib/systemd/systemd-machined; then
        check "machinectl list shows it" inside sh -c 'machinectl list --no-legend | grep -qw web'
        is "machined knows its leader" "$(inside machinectl show -p Leader --value web)" "$PID"
fi

# ---- the container network lives in the harness' network namespace only -----------------
# (the harness has a private one; this test itself runs in the host's)
WEB_IP=$(field web .ip_address)
check "the container has an address on the bridge ($WEB_IP)" grep -Eq '^10\.42\.' <<< "$WEB_IP"
is "... on its eth0" "$(inside nsenter -t "$PID" -n ip -4 -o addr show dev eth0 | awk '{ print $4 }')" "$WEB_IP/16"
check "quilt0 exists inside the harness" inside ip link show quilt0
check "a second container reaches it by name" inside quilt run --rm -- ping -c 1 -W 2 web
is "the host's network namespace is untouched (links, nft tables)" \
        "$(ip -o link show | awk -F': ' '{ print $2 }' | sort; nft list tables 2>/dev/null | sort)" "$HOST_NET_BEFORE"

# ---- exec: in the scope, in a cgroup of its own ----------------------------------------
is "exec runs in the container" "$(inside quilt exec web sh -c 'echo $(hostname) $(cat /proc/1/comm)')" "web init"
EXEC_CG=$(inside sh -c "quilt exec web sleep 2 & sleep 1; find /sys/fs/cgroup -path '*quilt-$ID.scope/payload/exec-*' -type d; wait")
check "a running exec has a cgroup below the scope's payload ($(echo $EXEC_CG))" test -n "$EXEC_CG"
is "... which is gone afterwards" \
        "$(inside find /sys/fs/cgroup -path "*quilt-$ID.scope/payload/exec-*" -type d)" ""
is "exec --timeout kills it in the scope too" "$(inside sh -c 'quilt exec --timeout 500ms web sleep 30 2>/dev/null; echo $?')" 124

# ---- limits bite ------------------------------------------------------------------------
check "create a container that allocates 600 MiB" \
        inside quilt create --name oom -- sh -c 'head -c 629145600 /dev/zero | tail'
check "it ends" wait_state oom EXITED
is "... as an OOM kill" "$(field oom .oom_killed)" true

check "create a fork loop with --pids 40" inside quilt create --name forks --pids 40 -- \
        sh -c 'for i in $(seq 100); do sleep 60 & echo started; done'
wait_state forks EXITED > /dev/null
NFORK=$(inside quilt logs forks | grep -c started)
check "the fork loop stops at the pids limit ($NFORK forks succeeded)" test "$NFORK" -ge 30 -a "$NFORK" -le 40

check "create a busy loop with --cpu 50" inside quilt create --name spin --cpu 50 -- sh -c 'while :; do :; done'
SPIN=$(field spin .pid)
# The busy loop is init's child; its utime + stime (clock ticks, USER_HZ 100) over 2 s.
USAGE=$(inside sh -c "c=\$(cut -d' ' -f1 /proc/$SPIN/task/$SPIN/children); t() { cut -d' ' -f14,15 /proc/\$c/stat | tr ' ' +; }
        sleep 0.5; a=\$((\$(t))); t0=\$(date +%s%N); sleep 2; b=\$((\$(t))); t1=\$(date +%s%N)
        echo \$(( (b - a) * 100000000000 / (t1 - t0) ))")
echo "# busy loop under --cpu 50 got $((USAGE / 100)).$((USAGE % 100))% of a CPU"
check "a busy loop under --cpu 50 gets about half a CPU" test "${USAGE:-0}" -ge 3500 -a "${USAGE:-0}" -le 6000
check "kill it" inside quilt kill spin

# ---- quiltd dies; containers do not ---------------------------------------------------
check "SIGKILL quilt.service" inside systemctl kill -s KILL quilt.service
sleep 0.5
check "the container's init survived" inside kill -0 "$PID"
is "the next call starts quiltd again, and it is still RUNNING" "$(field web .status)" RUNNING
check "stop works on the adopted container" inside quilt stop -t 2 web
is "... it has exited" "$(field web .status)" EXITED
for _ in $(seq 50); do [ "$(scope_prop "$ID" ActiveState)" = active ] || break; sleep 0.1; done
is "its scope is gone with it" "$(scope_prop "$ID" ActiveState)" inactive

# ---- nothing left behind -------------------------------------------------------------
check "remove them all" inside sh -c 'for c in $(quilt ps -a -q); do quilt rm -f "$c" || exit 1; done'
is "no scope, cgroup, mount or directory is left" "$(traces)" "$BEFORE"
is "no veth is left on quilt0" "$(inside bridge link show | grep -c 'master quilt0')" 0

echo "1..$N"
[ "$FAILED" = 0 ]
