#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Drives quilt-monitor directly, the way quiltd does (src/shared/container-spec.h), with
# no quiltd: a BusyBox rootfs, a cgroupfs leaf per container made here, config.json
# written by hand, "go" on fd 3 and the report read from fd 4. Every check looks at a real
# effect: the log file, exit.json, /proc, the cgroup tree, the overlay's upper dir.
set -u

BUILD_DIR=${QUILT_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
MONITOR=$BUILD_DIR/src/monitor/quilt-monitor
BUSYBOX=/bin/busybox

TAP_N=0
TAP_FAILED=0
tap_ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
tap_fail() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
tap_check() { local name=$1; shift; if "$@"; then tap_ok "$name"; else tap_fail "$name"; fi; }
tap_is() { if [ "$2" = "$3" ]; then tap_ok "$1"; else tap_fail "$1"; echo "#   got '$2', expected '$3'"; fi; }
tap_skip_all() { echo "1..0 # SKIP $*"; exit 77; }
matches() { [[ $1 =~ $2 ]]; }
not() { ! "$@"; }

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
[ -x "$BUSYBOX" ] || tap_skip_all "needs $BUSYBOX (busybox-static)"
command -v jq > /dev/null || tap_skip_all "needs jq"
[ -x "$MONITOR" ] || { echo "Bail out! $MONITOR not built"; exit 1; }

T=$(mktemp -d /tmp/quilt-test-monitor.XXXXXX)
chmod 0755 "$T"
CGROUP_LEAVES=()
MONITOR_PIDS=()

cleanup() {
        local pid dir
        for pid in "${MONITOR_PIDS[@]}"; do kill -KILL "$pid" 2> /dev/null; done
        for dir in "${CGROUP_LEAVES[@]}"; do
                [ -d "$dir" ] || continue
                # Whatever is left (a failed test) is killed so that the directories go away.
                for pid in $(cat "$dir"/*/cgroup.procs "$dir"/cgroup.procs 2> /dev/null); do
                        kill -KILL "$pid" 2> /dev/null
                done
                sleep 0.1
                rmdir "$dir"/payload "$dir"/supervisor "$dir" 2> /dev/null
        done
        umount -R "$T"/c-*/state/rootfs 2> /dev/null
        rm -rf "$T"
}
trap cleanup EXIT

# The hierarchies a leaf is made in: cgroup v2 (and its memory controller enabled for
# children), or the v1 controllers that matter here.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        CGROUP_V2=1
        CGROUP_ROOTS=(/sys/fs/cgroup)
        for c in memory pids cpu; do echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2> /dev/null; done
else
        CGROUP_V2=0
        CGROUP_ROOTS=()
        for c in memory pids cpu; do [ -d /sys/fs/cgroup/$c ] && CGROUP_ROOTS+=(/sys/fs/cgroup/$c); done
        # A hybrid host also has cgroup2 (no controllers, but cgroup.kill): use it too, so
        # that the monitor runs its v2 code here as well.
        [ -f /sys/fs/cgroup/unified/cgroup.procs ] && CGROUP_ROOTS+=(/sys/fs/cgroup/unified)
fi
CGROUP_ROOTS_ALL=("${CGROUP_ROOTS[@]}")
[ ${#CGROUP_ROOTS[@]} -gt 0 ] || tap_skip_all "no cgroup hierarchy found"
MEMORY_ROOT=
for r in "${CGROUP_ROOTS[@]}"; do
        [ -e "$r/memory.max" ] || [ -e "$r/memory.limit_in_bytes" ] || [ "$CGROUP_V2" = 1 ] && MEMORY_ROOT=$r
done

# The image: busybox and one relative symlink per applet, a passwd with root and nobody.
LOWER=$T/lower
mkdir -p "$LOWER"/{bin,etc,tmp,proc,sys,dev,root}
cp "$BUSYBOX" "$LOWER/bin/busybox"
for applet in $("$BUSYBOX" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$LOWER/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$LOWER/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$LOWER/etc/group"
chmod 1777 "$LOWER/tmp"

json_str() {
        local s=${1//\\/\\\\}
        s=${s//\"/\\\"}
        s=${s//$'\n'/\\n}
        s=${s//$'\t'/\\t}
        printf '"%s"' "$s"
}

json_array() {
        local first=1 a
        printf '['
        for a in "$@"; do
                [ $first = 1 ] || printf ','
                first=0
                json_str "$a"
        done
        printf ']'
}

# Options for the next container (reset by start_container).
OPT_USER=null
OPT_NAMESPACES='"pid","mount","uts","ipc","network","cgroup"'
OPT_WORKDIR=/
OPT_LOG_MAX=1048576
OPT_MEMORY=
OPT_NNP=true
OPT_LOG_DRIVER=file
OPT_LOG_CREATED=false
OPT_WRAP=()

N=0
# start_container NAME ARGV...: sets C (its directory), LEAF, MPID, REPORT (the line on fd 4,
# empty if none in 10 s).
start_container() {
        local name=$1 root caps
        shift
        N=$((N + 1))
        C=$T/c-$N
        LEAF=quilt-test-$$-$N
        mkdir -p "$C"/run "$C"/state/{upper,work,rootfs}
        caps=$(json_array CAP_CHOWN CAP_DAC_OVERRIDE CAP_FSETID CAP_FOWNER CAP_MKNOD CAP_NET_RAW CAP_SETGID \
                CAP_SETUID CAP_SETFCAP CAP_SETPCAP CAP_NET_BIND_SERVICE CAP_SYS_CHROOT CAP_KILL CAP_AUDIT_WRITE)
        cat > "$C/run/config.json" <<EOF
{
  "id": "00000000-0000-4000-8000-$(printf '%012d' $N)",
  "name": $(json_str "$name"),
  "run_dir": "$C/run",
  "state_dir": "$C/state",
  "cgroup_leaf": "$LEAF",
  "rootfs_lower": "$LOWER",
  "rootfs_upper": "$C/state/upper",
  "rootfs_work": "$C/state/work",
  "rootfs_target": "$C/state/rootfs",
  "argv": $(json_array "$@"),
  "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
  "working_directory": $(json_str "$OPT_WORKDIR"),
  "user": $OPT_USER,
  "namespaces": [$OPT_NAMESPACES],
  "capabilities": $caps,
  "no_new_privileges": $OPT_NNP,
  "seccomp": true,
  "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1024}],
  "log": {"driver": "$OPT_LOG_DRIVER", "path": "$C/state/container.log", "max_bytes": $OPT_LOG_MAX,
          "created": $OPT_LOG_CREATED}
}
EOF
        for root in "${CGROUP_ROOTS[@]}"; do
                mkdir "$root/$LEAF"
                CGROUP_LEAVES+=("$root/$LEAF")
        done
        if [ -n "$OPT_MEMORY" ]; then
                if [ "$CGROUP_V2" = 1 ]; then
                        echo "$OPT_MEMORY" > "$MEMORY_ROOT/$LEAF/memory.max"
                        echo 0 > "$MEMORY_ROOT/$LEAF/memory.swap.max" 2> /dev/null
                else
                        echo "$OPT_MEMORY" > "$MEMORY_ROOT/$LEAF/memory.limit_in_bytes"
                        # With swap the limit would only slow the allocation down.
                        echo "$OPT_MEMORY" > "$MEMORY_ROOT/$LEAF/memory.memsw.limit_in_bytes" 2> /dev/null
                fi
        fi

        # FIFOs stand in for quiltd's pipes: fd 3 read end, fd 4 write end.
        mkfifo "$C/run/control" "$C/run/report"
        "${OPT_WRAP[@]}" "$MONITOR" "$C/run" < /dev/null 3< "$C/run/control" 4> "$C/run/report" 2> "$C/run/monitor.log" &
        MPID=$!
        MONITOR_PIDS+=("$MPID")
        exec {CONTROL}> "$C/run/control" {REPORT_FD}< "$C/run/report"

        # quiltd says "go" once the monitor is in the container's cgroup.
        for root in "${CGROUP_ROOTS[@]}"; do echo "$MPID" > "$root/$LEAF/cgroup.procs"; done
        if [ "${OPT_NO_GO:-0}" = 1 ]; then
                exec {CONTROL}>&-
        else
                echo go >&$CONTROL
        fi
        REPORT=
        read -r -t 10 REPORT <&$REPORT_FD
        exec {REPORT_FD}<&- {CONTROL}>&- 2> /dev/null

        OPT_USER=null
        OPT_NAMESPACES='"pid","mount","uts","ipc","network","cgroup"'
        OPT_WORKDIR=/
        OPT_LOG_MAX=1048576
        OPT_MEMORY=
        OPT_NO_GO=0
        OPT_NNP=true
        OPT_LOG_DRIVER=file
        OPT_LOG_CREATED=false
        OPT_WRAP=()
        CGROUP_ROOTS=("${CGROUP_ROOTS_ALL[@]}")
}

# wait_monitor: waits (at most 30 s) for the monitor to exit; sets MONITOR_STATUS.
wait_monitor() {
        local i
        for i in $(seq 300); do
                kill -0 "$MPID" 2> /dev/null || break
                sleep 0.1
        done
        if kill -0 "$MPID" 2> /dev/null; then
                echo "# monitor $MPID did not exit"
                kill -KILL "$MPID"
        fi
        wait "$MPID"
        MONITOR_STATUS=$?
}

exit_field() { jq -r ".$1" "$C/run/exit.json" 2> /dev/null; }

log_has() { grep -Eq "^[0-9]+ $1\$" "$C/state/container.log"; }

show_diagnostics() {
        echo "# report: $REPORT"
        sed 's/^/# monitor.log: /' "$C/run/monitor.log" 2> /dev/null
        sed 's/^/# container.log: /' "$C/state/container.log" 2> /dev/null
        sed 's/^/# exit.json: /' "$C/run/exit.json" 2> /dev/null
}

# check_cleaned_up: after the monitor's exit, no payload/ and no process in the leaf.
check_cleaned_up() {
        local root procs=
        for root in "${CGROUP_ROOTS[@]}"; do
                [ -d "$root/$LEAF/payload" ] && { tap_fail "$1: payload/ removed ($root)"; return; }
                procs+=$(cat "$root/$LEAF/cgroup.procs" "$root/$LEAF/supervisor/cgroup.procs" 2> /dev/null)
        done
        tap_is "$1: payload/ removed, nothing left in the cgroup" "$procs" ""
}

# --- A command that exits: output, status, log format ---------------------------------
start_container box sh -c 'echo hi; echo err >&2; echo data > /tmp/written-by-container; exit 3'
tap_check "report is 'running <pid>'" matches "$REPORT" '^running [0-9]+$'
wait_monitor
tap_is "monitor exits 0" "$MONITOR_STATUS" 0
tap_is "exit.json: exit_code 3" "$(exit_field exit_code)" 3
tap_is "exit.json: no signal" "$(exit_field exit_signal)" 0
tap_is "exit.json: started" "$(exit_field started)" true
tap_is "exit.json: no error" "$(exit_field error)" null
tap_check "exit.json: exited after started" [ "$(exit_field exited_usec)" -ge "$(exit_field started_usec)" ]
tap_check "exit.json has mode 0600" [ "$(stat -c %a "$C/run/exit.json")" = 600 ]
tap_check "log: '<usec> stdout F hi'" log_has "stdout F hi"
tap_check "log: '<usec> stderr F err'" log_has "stderr F err"
tap_check "log: started, with init's pid" log_has "system started Container started, init pid ${REPORT#running }"
tap_check "log: exited with its code" log_has "system exited Container exited with code 3"
tap_check "log: no 'created' unless asked for" not grep -q " system created " "$C/state/container.log"
tap_is "log: started first, output, exited last" \
        "$(cut -d' ' -f2,3 "$C/state/container.log" | sed -n '1p;$p' | tr '\n' ,)" "system started,system exited,"
tap_check "log: timestamps never go back" sh -c "cut -d' ' -f1 '$C/state/container.log' | sort -nc"
tap_is "the overlay's upper dir holds the container's file" "$(cat "$C/state/upper/tmp/written-by-container" 2> /dev/null)" data
tap_check "the host's /tmp does not" [ ! -e /tmp/written-by-container ]
tap_check "the host does not see the rootfs mount" not grep -q " $C/state/rootfs " /proc/self/mountinfo
check_cleaned_up "exited command"
[ "$TAP_FAILED" = 0 ] || show_diagnostics

# --- What the command sees inside --------------------------------------------------------
PROBE='
echo "pid1-cmdline=$(tr "\0" " " < /proc/1/cmdline)"
echo "pid1-comm=$(cat /proc/1/comm)"
echo "hostname=$(hostname)"
grep -E "^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status | tr -d "\t" | sed "s/:/=/"
mount -t tmpfs x /tmp 2>/dev/null && echo mount=ok || echo mount=denied
unshare -m true 2>/dev/null && echo unshare=ok || echo unshare=denied
(echo evil > /proc/sys/kernel/hostname) 2>/dev/null && echo proc-sys=writable || echo proc-sys=readonly
(echo x > /sys/kernel/uevent_helper) 2>/dev/null && echo sys=writable || echo sys=readonly
echo "timer-list-size=$(cat /proc/timer_list 2>/dev/null | wc -c)"
echo "firmware-entries=$(ls -A /sys/firmware 2>/dev/null | wc -l)"
echo "lo=$(cat /sys/class/net/lo/operstate)"
ls /sys/class/net | tr "\n" " " | sed "s/^/net=/;s/ $//"; echo
echo "cgroup=$(grep -E "^0::|memory" /proc/self/cgroup | head -1 | cut -d: -f3)"
echo "dev=$(ls /dev | tr "\n" " ")"
echo "null-mode=$(stat -c %a /dev/null)"
echo "cwd=$(pwd)"
echo "stdin=$(readlink /proc/self/fd/0)"
echo "fds=$(ls /proc/self/fd | tr "\n" " ")"
'
start_container probe-box sh -c "$PROBE"
wait_monitor
probe() { sed -n "s/^[0-9]* stdout F $1=//p" "$C/state/container.log"; }
tap_check "PID 1 is the monitor's init" matches "$(probe pid1-cmdline)" quilt-monitor
tap_is "PID 1 is called init" "$(probe pid1-comm)" init
tap_is "hostname is the container's name" "$(probe hostname)" probe-box
tap_is "CapEff is Docker's default set" "$(probe CapEff)" 00000000a80425fb
tap_is "CapBnd is Docker's default set" "$(probe CapBnd)" 00000000a80425fb
tap_is "no ambient capabilities" "$(probe CapAmb)" 0000000000000000
tap_is "NoNewPrivs is set" "$(probe NoNewPrivs)" 1
tap_is "seccomp filter mode" "$(probe Seccomp)" 2
tap_is "mount -t tmpfs fails" "$(probe mount)" denied
tap_is "unshare -m fails" "$(probe unshare)" denied
tap_is "/proc/sys is read-only" "$(probe proc-sys)" readonly
tap_is "/sys is read-only" "$(probe sys)" readonly
if [ -s /proc/timer_list ] || [ "$(wc -c < /proc/timer_list 2> /dev/null)" != 0 ]; then
        tap_is "/proc/timer_list is masked by /dev/null" "$(probe timer-list-size)" 0
else
        tap_ok "# SKIP the kernel has no /proc/timer_list"
fi
if [ -n "$(ls -A /sys/firmware 2> /dev/null)" ]; then
        tap_is "/sys/firmware is masked by an empty tmpfs" "$(probe firmware-entries)" 0
else
        tap_ok "# SKIP the host's /sys/firmware is empty"
fi
tap_is "only lo in the network namespace" "$(probe net)" lo
tap_check "lo is up" matches "$(probe lo)" '^(unknown|up)$'
tap_is "the cgroup namespace is rooted at payload/" "$(probe cgroup)" /
tap_is "minimal /dev" "$(probe dev)" "fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero "
tap_is "/dev/null is 0666" "$(probe null-mode)" 666
tap_is "working directory" "$(probe cwd)" /
tap_is "stdin is /dev/null" "$(probe stdin)" /dev/null
tap_is "no fd leaks into the command (0-2, and ls's own)" "$(probe fds)" "0 1 2 3 "
check_cleaned_up "probe"
[ "$TAP_FAILED" = 0 ] || show_diagnostics

# Without no_new_privs the filter is loaded while init still has CAP_SYS_ADMIN.
OPT_NNP=false
start_container nnp-box sh -c 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status | tr -d "\t"; unshare -m true 2>/dev/null || echo unshare=denied'
wait_monitor
tap_check "no_new_privileges false: NoNewPrivs 0" log_has "stdout F NoNewPrivs:0"
tap_check "no_new_privileges false: seccomp still on" log_has "stdout F Seccomp:2"
tap_check "no_new_privileges false: Docker's capabilities" log_has "stdout F CapEff:00000000a80425fb"
tap_check "no_new_privileges false: unshare denied" log_has "stdout F unshare=denied"

# --- A user from the image's /etc/passwd -------------------------------------------------
OPT_USER='"nobody"'
start_container user-box sh -c 'id -u; id -g; grep CapEff /proc/self/status'
wait_monitor
tap_check "user nobody: uid 65534" log_has "stdout F 65534"
tap_check "user nobody: no effective capabilities" log_has "stdout F CapEff:.0000000000000000"
OPT_USER='"1234:nogroup"'
start_container user-box2 sh -c 'echo "ids=$(id -u):$(id -g)"'
wait_monitor
tap_check "user 1234:nogroup" log_has "stdout F ids=1234:65534"
OPT_USER='"ghost"'
start_container user-box3 true
wait_monitor
tap_is "unknown user fails clearly" "$REPORT" "failed user ghost is not in the container's /etc/passwd: No such process"

# --- Setup failures ------------------------------------------------------------------------
start_container bad-exec /nonexistent/command arg
wait_monitor
tap_is "bad argv0: failed report" "$REPORT" "failed exec /nonexistent/command: No such file or directory"
tap_is "bad argv0: exit.json error" "$(exit_field error)" "exec /nonexistent/command: No such file or directory"
tap_is "bad argv0: not started" "$(exit_field started)" false
tap_is "bad argv0: exit code 127" "$(exit_field exit_code)" 127
tap_check "bad argv0: the failure is in the log" \
        log_has "system failed Container failed to start: exec /nonexistent/command: No such file or directory"
tap_check "bad argv0: no 'exited' for a command that never ran" not grep -q " system exited " "$C/state/container.log"
check_cleaned_up "bad argv0"

OPT_WORKDIR=/does/not/exist
start_container bad-cwd true
wait_monitor
tap_is "missing working directory" "$REPORT" "failed chdir /does/not/exist: No such file or directory"

OPT_NO_GO=1
start_container no-go true
wait_monitor
tap_is "EOF before go: exit 1" "$MONITOR_STATUS" 1
tap_is "EOF before go: no report" "$REPORT" ""
tap_check "EOF before go: no exit.json" [ ! -e "$C/run/exit.json" ]
tap_check "EOF before go: no payload/" [ ! -e "${CGROUP_ROOTS[0]}/$LEAF/payload" ]

# --- Signals -----------------------------------------------------------------------------
start_container sleeper sleep 1000
INIT=${REPORT#running }
CMD=$(cat /proc/"$INIT"/task/"$INIT"/children 2> /dev/null | tr -d ' ')
tap_check "the command is init's child" [ -n "$CMD" ]
tap_check "the command's root is not the host's root" \
        [ "$(stat -L -c %d:%i /proc/"$CMD"/root)" != "$(stat -L -c %d:%i /)" ]
tap_check "init's root is not the host's root" [ "$(stat -L -c %d:%i /proc/"$INIT"/root)" != "$(stat -L -c %d:%i /)" ]
tap_check "init is in payload/" grep -q "/$LEAF/payload\$" /proc/"$INIT"/cgroup
tap_check "the monitor is in supervisor/" grep -q "/$LEAF/supervisor\$" /proc/"$MPID"/cgroup
kill -TERM "$INIT"
wait_monitor
tap_is "SIGTERM to init: the command died of SIGTERM" "$(exit_field exit_signal)" 15
tap_check "SIGTERM to init: logged" log_has "system exited Container killed by signal 15 \\(SIGTERM\\)"
check_cleaned_up "SIGTERM to init"
tap_check "the command is gone" [ ! -e /proc/"$CMD" ]

start_container async-box
tap_check "empty argv: running" matches "$REPORT" '^running [0-9]+$'
kill -TERM "$MPID"
wait_monitor
tap_is "empty argv: SIGTERM to the monitor stops it cleanly" "$(exit_field exit_code):$(exit_field exit_signal)" 0:0
tap_is "empty argv: started" "$(exit_field started)" true

# Without a pid namespace nothing kills the background process when init exits: the
# monitor must find it in the cgroup.
OPT_NAMESPACES='"mount","uts","ipc","network"'
start_container no-pidns sh -c 'sleep 1000 & echo "bg=$!"'
wait_monitor
tap_is "no pid namespace: exit 0" "$(exit_field exit_code)" 0
check_cleaned_up "no pid namespace: the orphan was killed"
# The same with v1 hierarchies only, where there is no cgroup.kill: the monitor's loop
# over cgroup.procs has to do it.
if [ "$CGROUP_V2" = 0 ] && [ "${CGROUP_ROOTS_ALL[-1]}" = /sys/fs/cgroup/unified ]; then
        OPT_NAMESPACES='"mount","uts","ipc","network"'
        CGROUP_ROOTS=("${CGROUP_ROOTS_ALL[@]:0:${#CGROUP_ROOTS_ALL[@]}-1}")
        start_container no-pidns-v1 sh -c 'sleep 1000 & echo "bg=$!"'
        wait_monitor
        check_cleaned_up "no pid namespace, cgroup v1 only: the orphan was killed"
fi

# --- Memory limit ------------------------------------------------------------------------
if [ -n "$MEMORY_ROOT" ]; then
        OPT_MEMORY=64M
        start_container oom-box sh -c 'x=$(head -c 209715200 /dev/zero | tr "\0" a); echo "survived ${#x}"'
        wait_monitor
        tap_is "OOM: killed by SIGKILL" "$(exit_field exit_signal)" 9
        tap_is "OOM: oom_killed" "$(exit_field oom_killed)" true
        tap_check "OOM: logged" grep -q " system oom Container ran out of memory" "$C/state/container.log"
        tap_check "OOM: killed by SIGKILL, logged" log_has "system exited Container killed by signal 9 \\(SIGKILL\\)"
        check_cleaned_up "OOM"
else
        tap_ok "# SKIP no memory controller"
fi

# --- Log: long lines, partial lines, rotation ----------------------------------------------
OPT_LOG_MAX=4000
OPT_LOG_CREATED=true
start_container log-box sh -c 'i=0; while [ $i -lt 100 ]; do echo "line $i"; i=$((i+1)); done; head -c 20000 /dev/zero | tr "\0" x; printf tail'
wait_monitor
tap_check "rotated to container.log.1" [ -s "$C/state/container.log.1" ]
tap_check "rotation keeps the file under max_bytes" [ "$(stat -c %s "$C/state/container.log")" -le 4000 ]
LONG=$(cat "$C/state/container.log.1" "$C/state/container.log" | sed -n 's/^[0-9]* stdout P \(x*\)\(tail\)\{0,1\}$/\1\2/p' | tr -d '\n')
tap_is "a 20000-byte line is cut at 16 KiB into partial records, and nothing is lost" "${#LONG}" 20004
tap_check "the unterminated last line is flushed at EOF, partial" grep -Eq '^[0-9]+ stdout P x*tail$' "$C/state/container.log"
tap_check "the last record is 'exited'" sh -c "tail -n1 '$C/state/container.log' | grep -q ' system exited '"

OPT_LOG_CREATED=true
start_container created-box sh -c 'e=$(printf "\303\251"); printf a; printf "%9000s" | sed "s/ /$e/g"; echo; printf "\000bin\377\n"'
wait_monitor
tap_is "created, then started" "$(cut -d' ' -f2,3 "$C/state/container.log" | head -2 | tr '\n' ,)" \
        "system created,system started,"
tap_check "a long UTF-8 line is cut between characters" python3 -c '
import sys
pieces = [l.split(b" ", 3)[3] for l in open(sys.argv[1], "rb").read().split(b"\n") if b" stdout " in l]
assert len(pieces) == 3, pieces
assert len(pieces[0]) == 16383, len(pieces[0])
for p in pieces[:2]: p.decode("utf-8")
assert pieces[0] + pieces[1] == b"a" + "\u00e9".encode() * 9000
assert pieces[2] == b"\x00bin\xff"
' "$C/state/container.log"

# --- The journal log driver ---------------------------------------------------------------
# A stand-in journald: a datagram socket in $T, bind-mounted over /run/systemd/journal in a
# mount namespace of the monitor's own, records what libsystemd sends.
JOURNAL_RECEIVER='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1] + "/socket")
with open(sys.argv[1] + "/entries", "ab", buffering=0) as f:
    while True:
        f.write(s.recv(1 << 20) + b"--\n")
'
if ldconfig -p 2> /dev/null | grep -q "libsystemd.so.0 "; then
        mkdir "$T/journal"
        python3 -c "$JOURNAL_RECEIVER" "$T/journal" &
        RECEIVER=$!
        MONITOR_PIDS+=("$RECEIVER")
        for i in $(seq 50); do [ -S "$T/journal/socket" ] && break; sleep 0.1; done
        OPT_LOG_DRIVER=journal
        OPT_WRAP=(unshare -m --propagation private sh -c \
                'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal &&
                 mount --bind "$0" /run/systemd/journal && exec "$@"' "$T/journal")
        start_container jbox sh -c 'echo hello-journal; echo to-stderr >&2; printf no-newline'
        wait_monitor
        sleep 0.2
        kill "$RECEIVER"
        ENTRIES=$(cat "$T/journal/entries" 2> /dev/null)
        entry() { awk -v RS='--\n' -v m="MESSAGE=$1\n" 'index($0, m)' <<< "$ENTRIES"; }
        OUT=$(entry hello-journal)
        ERR=$(entry to-stderr)
        ID=$(jq -r .id "$C/run/config.json")
        tap_is "journal: exit 0" "$(exit_field exit_code)" 0
        tap_check "journal: stdout line sent" [ -n "$OUT" ]
        tap_check "journal: stdout is PRIORITY=6" grep -qx PRIORITY=6 <<< "$OUT"
        tap_check "journal: stderr is PRIORITY=3" grep -qx PRIORITY=3 <<< "$ERR"
        tap_check "journal: QUILT_STREAM" grep -qx QUILT_STREAM=stderr <<< "$ERR"
        tap_check "journal: SYSLOG_IDENTIFIER is the name" grep -qx SYSLOG_IDENTIFIER=jbox <<< "$OUT"
        tap_check "journal: QUILT_CONTAINER_ID" grep -qx "QUILT_CONTAINER_ID=$ID" <<< "$OUT"
        tap_check "journal: QUILT_CONTAINER_NAME" grep -qx "QUILT_CONTAINER_NAME=jbox" <<< "$OUT"
        tap_check "journal: Docker's CONTAINER_ID (12 characters)" grep -qx "CONTAINER_ID=${ID:0:12}" <<< "$OUT"
        tap_check "journal: Docker's CONTAINER_NAME" grep -qx "CONTAINER_NAME=jbox" <<< "$OUT"
        tap_check "journal: no container.log" [ ! -e "$C/state/container.log" ]
        START=$(awk -v RS='--\n' 'index($0, "QUILT_EVENT=started\n")' <<< "$ENTRIES")
        EXITED=$(awk -v RS='--\n' 'index($0, "QUILT_EVENT=exited\n")' <<< "$ENTRIES")
        tap_check "journal: 'started' is a system entry" grep -qx QUILT_STREAM=system <<< "$START"
        tap_check "journal: 'started' is PRIORITY=5" grep -qx PRIORITY=5 <<< "$START"
        tap_check "journal: 'exited' carries the exit code" grep -qx QUILT_EXIT_CODE=0 <<< "$EXITED"
        tap_check "journal: 'exited' says so" grep -qx "MESSAGE=Container exited with code 0" <<< "$EXITED"
        tap_check "journal: whole lines are not partial" not grep -q CONTAINER_PARTIAL_MESSAGE <<< "$OUT"
        tap_check "journal: the unterminated last line is partial" \
                grep -qx CONTAINER_PARTIAL_MESSAGE=true <<< "$(entry no-newline)"
        [ "$TAP_FAILED" = 0 ] || { show_diagnostics; echo "$ENTRIES" | sed 's/^/# journal: /'; }
else
        tap_ok "# SKIP no libsystemd.so.0 for the journal driver"
fi

echo "1..$TAP_N"
[ "$TAP_FAILED" = 0 ]
