#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# systemd-harness.sh - a real systemd for Quilt's tests on hosts where PID 1 is not systemd.
#
# Boots /lib/systemd/system as PID 1 of new pid/mount/uts/ipc/cgroup(/net) namespaces on a
# throw-away overlay of the host's /, with the cgroup-v1 controller hierarchies mounted
# read-write inside, so that scopes and services really enforce MemoryMax=, TasksMax= and
# CPUQuota=. /proc/sys and /sys are read-only inside (nothing may change host sysctls).
# Built from the team's recipe, /work/shared/reference/systemd-harness.{md,sh}.
#
# Host side effects, all removed by stop/teardown (or by "gc" after a SIGKILL): one
# sub-cgroup "quilt-harness.XXXXXX" below the caller's cgroup in every hierarchy and a state
# dir $QUILT_HARNESS_TMPDIR/quilt-harness.XXXXXX (default /tmp). Mounts only exist in the
# harness' own mount namespace. Needs root, util-linux, overlayfs, systemd, dbus.
#
# Notes for tests:
# - Overlayfs cannot use the harness' overlay root as an upper dir: give container state a
#   tmpfs, e.g. --tmpfs /var/lib/quilt.
# - Bind the build tree in (--bind), for determinism; it can be bound at its own path.
# - The harness has its own network namespace unless --net host is given (no test does):
#   a quiltd inside creates quilt0, veths, its nft table and net.* sysctls (/proc/sys/net
#   is writable there) in that namespace only, and they vanish with it. Never combine a
#   networked quiltd with --net host.
# - cgroup v1 here: MemoryMax= is memory.limit_in_bytes, an OOM kill ends as Result=signal
#   (not oom-kill), MemoryHigh/Low, AllowedCPUs are ignored.
# shellcheck disable=SC2015 # "A && B || die" is meant as written throughout
set -u

USAGE='usage: systemd-harness.sh [run] [OPTIONS] [EXEC-OPTIONS] [--] COMMAND [ARG...]
                                           boot, run COMMAND inside, tear down
       systemd-harness.sh boot [OPTIONS]   boot, print the STATE dir, leave it running
       systemd-harness.sh exec STATE [EXEC-OPTIONS] [--] COMMAND [ARG...]
       systemd-harness.sh stop STATE       poweroff and remove everything
       systemd-harness.sh gc               clean up after harnesses that were killed
       systemd-harness.sh selftest [OPTIONS]  boot and check limits, journald, bus, ... (TAP)
OPTIONS:
  --bind SRC[:DST]     bind-mount a host path read-write (repeatable)
  --bind-ro SRC[:DST]  the same, read-only
  --tmpfs PATH         mount an empty tmpfs on PATH (repeatable)
  --dev PATH           bind a host device node, e.g. /dev/fuse (repeatable)
  --net private|host   network namespace (default: private, only lo)
  --mask UNIT          mask another unit (repeatable)
  --memory BYTES       memory limit for the whole harness
  --timeout SEC        boot timeout (default: 60)
  --owner PID          (boot) tear the harness down when process PID exits
  --save-journal FILE  write the journal to FILE before teardown
  --keep               keep the state dir (overlay upper dir, console.log)
  --debug              systemd debug log in STATE/console.log (implies --keep)
  -q, --quiet          no harness messages
EXEC-OPTIONS:
  -C DIR               working directory (default: /)
  -E VAR=VALUE         environment variable for COMMAND (repeatable)
  --unit               run COMMAND as a transient service (systemd-run --pipe --wait);
                       a signal death is then reported as 255
Exit status: that of COMMAND (a signal death is 128+N); 125 when the harness failed.'

SELF=$(readlink -f "$0")
TMPBASE=${QUILT_HARNESS_TMPDIR:-/tmp}
PATH_INSIDE=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Never needed inside, dangerous for the host (also dropped by the container's systemd).
DROP_CAPS=-sys_module,-sys_time,-sys_rawio,-syslog,-wake_alarm,-block_suspend,-mac_admin,-mac_override,-sys_pacct
# Units that are useless or slow in here.
DEFAULT_MASKS=(getty@.service console-getty.service container-getty@.service serial-getty@.service
        systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer man-db.timer
        e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer
        postgresql.service)
QUIET=0

msg() { [ "$QUIET" = 1 ] || echo "quilt-harness: $*" >&2; }
die() { echo "quilt-harness: ERROR: $*" >&2; exit 125; }

# ---------------------------------------------------------------------------- host cgroups
# The directories of the calling process' cgroup in every mounted hierarchy.
cg_own_dirs() {
        local _ ctrl path d
        while IFS=: read -r _ ctrl path; do
                case "$ctrl" in
                "") d=/sys/fs/cgroup/unified ;;
                name=systemd) d=/sys/fs/cgroup/systemd ;;
                *) d=/sys/fs/cgroup/$ctrl ;;
                esac
                [ -d "$d$path" ] && echo "$d${path%/}"
        done < "/proc/$BASHPID/cgroup"
}

# cg_create NAME LISTFILE: a child NAME of our own cgroup in every hierarchy.
cg_create() {
        local d
        : > "$2"
        for d in $(cg_own_dirs); do
                mkdir "$d/$1" || return 1
                echo "$d/$1" >> "$2"
                case "$d" in /sys/fs/cgroup/cpuset*) # v1 cpuset children start empty
                        cat "$d/cpuset.cpus" > "$d/$1/cpuset.cpus" || return 1
                        cat "$d/cpuset.mems" > "$d/$1/cpuset.mems" || return 1 ;;
                esac
        done
}

# cg_join LISTFILE: move the calling (sub)shell into those cgroups.
cg_join() {
        local d
        while read -r d; do echo "$BASHPID" > "$d/cgroup.procs" || return 1; done < "$1"
}

# cg_remove LISTFILE: remove the cgroups and everything systemd left below them.
cg_remove() {
        local d left _
        [ -f "$1" ] || return 0
        for _ in $(seq 40); do
                left=0
                while read -r d; do
                        [ -d "$d" ] || continue
                        find "$d" -depth -type d -exec rmdir {} + 2> /dev/null
                        [ -d "$d" ] && left=1
                done < "$1"
                [ $left = 0 ] && return 0
                sleep 0.25
        done
        echo "quilt-harness: WARNING: cgroups left behind:" >&2
        while read -r d; do [ -d "$d" ] && echo "  $d" >&2; done < "$1"
        return 1
}

# ---------------------------------------------------------------------------- PID 1 side
# Runs as PID 1 of the new pid namespace, in the new mount/uts/ipc/cgroup(/net) namespaces
# (whose cgroup root is the harness cgroup): builds the root and execs systemd.
inner() {
        set -e
        local S=$1 R=$1/merged
        # shellcheck disable=SC1091
        . "$S/config"
        local k v _ # our PID as seen by the host (/proc is still the host's here)
        while read -r k v _; do [ "$k" = NSpid: ] && echo "$v" > "$S/pid1"; done < /proc/self/status

        mount --make-rprivate /
        mount -t overlay overlay -o "lowerdir=/,upperdir=$S/upper,workdir=$S/work" "$R"

        # /proc, with /proc/sys read-only (sysctls are global; net.* is per netns and stays
        # writable with a private netns), and /proc/sysrq-trigger read-only
        mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
        mount --bind "$R/proc/sys" "$R/proc/sys"
        [ "$NET" = private ] && mount --bind "$R/proc/sys/net" "$R/proc/sys/net"
        mount -o remount,bind,ro,nosuid,nodev,noexec "$R/proc/sys"
        if [ -e "$R/proc/sysrq-trigger" ]; then
                mount --bind "$R/proc/sysrq-trigger" "$R/proc/sysrq-trigger"
                mount -o remount,bind,ro "$R/proc/sysrq-trigger"
        fi

        # /sys read-only (keeps udev and friends off the host); the v1 hierarchies and the
        # cgroup2 tracking hierarchy read-write on a tmpfs, with the same options as on the
        # host. In our cgroup namespace every path in /proc/self/cgroup reads "/".
        local cg=$R/sys/fs/cgroup ctrl path
        mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
        mount -t tmpfs -o mode=755,nosuid,nodev,noexec,size=4m tmpfs "$cg"
        while IFS=: read -r _ ctrl path; do
                case "$ctrl" in
                "") mkdir "$cg/unified"
                        mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$cg/unified" ;;
                name=systemd) mkdir "$cg/systemd"
                        mount -t cgroup -o nosuid,nodev,noexec,none,name=systemd cgroup "$cg/systemd" ;;
                *) mkdir "$cg/$ctrl"
                        mount -t cgroup -o "nosuid,nodev,noexec,$ctrl" cgroup "$cg/$ctrl" ;;
                esac
        done < /proc/self/cgroup
        # then the tmpfs read-only, so systemd cannot mount further v1 hierarchies
        mount -o remount,ro,nosuid,nodev,noexec,mode=755,size=4m "$cg"

        # minimal /dev. /dev/console is an inert file (or the pty of script(1) with --debug):
        # systemd only logs to a tty, and 5:1 would be the host's console.
        local n name ma mi
        mount -t tmpfs -o mode=755,nosuid,size=4m tmpfs "$R/dev"
        for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
                IFS=: read -r name ma mi <<< "$n"
                mknod -m 666 "$R/dev/$name" c "$ma" "$mi"
        done
        mkdir -p "$R/dev/pts" "$R/dev/shm" "$R/dev/net"
        mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts "$R/dev/pts"
        ln -s pts/ptmx "$R/dev/ptmx"
        ln -s /proc/self/fd "$R/dev/fd"
        ln -s /proc/self/fd/0 "$R/dev/stdin"
        ln -s /proc/self/fd/1 "$R/dev/stdout"
        ln -s /proc/self/fd/2 "$R/dev/stderr"
        touch "$R/dev/console"
        if [ -t 0 ]; then mount --bind "$(tty)" "$R/dev/console"; else mount --bind "$S/console.log" "$R/dev/console"; fi
        for n in "${DEVS[@]}"; do
                mkdir -p "$(dirname "$R$n")"
                touch "$R$n"
                mount --bind "$n" "$R$n"
        done

        mount -t tmpfs -o mode=755,nosuid,nodev,size=20% tmpfs "$R/run"
        mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"

        local b src dst mode
        for b in "${MOUNTS[@]}"; do
                IFS='|' read -r mode src dst <<< "$b"
                case "$mode" in
                tmpfs) mkdir -p "$R$dst"
                        mount -t tmpfs -o mode=755 tmpfs "$R$dst" ;;
                *) if [ -d "$src" ]; then mkdir -p "$R$dst"; else mkdir -p "$(dirname "$R$dst")"; touch "$R$dst"; fi
                        mount --rbind "$src" "$R$dst"
                        [ "$mode" = ro ] && mount -o remount,bind,ro "$R$dst" ;;
                esac
        done

        cd "$R"
        mkdir -p .oldroot
        pivot_root . .oldroot
        cd /
        umount -l /.oldroot
        rmdir /.oldroot
        # In a container, systemd reads its "kernel command line" options from argv.
        # shellcheck disable=SC2086
        exec setpriv --bounding-set "$DROP_CAPS" -- /usr/bin/env -i container=quilt-harness \
                PATH="$PATH_INSIDE" /lib/systemd/systemd systemd.unit=multi-user.target $SD_ARGS
}

# ---------------------------------------------------------------------------- host side
pid1_of() { cat "$1/pid1" 2> /dev/null; }

# alive STATE: is the harness' unshare process still running?
alive() {
        local p
        p=$(cat "$1/unshare.pid" 2> /dev/null) && [ -n "$p" ] || return 1
        tr '\0' ' ' 2> /dev/null < "/proc/$p/cmdline" | grep -qF "__inner $1"
}

# start_time PID: the process' start time (to notice PID reuse)
start_time() { sed 's/.*) //' "/proc/$1/stat" 2> /dev/null | cut -d' ' -f20; }

# boot PDEATH [OPTIONS...]: sets S (the state dir) and REST (left-over arguments); returns
# once systemd reached running or degraded, or dies.
boot() {
        local PDEATH=$1
        shift
        local NET=private MEM='' TIMEOUT=60 DEBUG=0 OWNER='' src dst
        local -a MOUNTS=() DEVS=() MASKS=("${DEFAULT_MASKS[@]}")
        local KEEP=0 SAVE_JOURNAL=''
        while [ $# -gt 0 ]; do
                case "$1" in
                --bind | --bind-ro)
                        [ $# -ge 2 ] || die "$1 needs an argument"
                        src=${2%%:*} dst=${2#*:}
                        [ "$dst" = "$2" ] && dst=$src
                        src=$(readlink -f "$src") && [ -e "$src" ] || die "bind source $2 does not exist"
                        case "$dst" in /*) ;; *) die "$1 $2: destination must be absolute" ;; esac
                        if [ "$1" = --bind-ro ]; then MOUNTS+=("ro|$src|$dst"); else MOUNTS+=("rw|$src|$dst"); fi
                        shift 2 ;;
                --tmpfs)
                        case "${2:-}" in /*) ;; *) die "--tmpfs needs an absolute path" ;; esac
                        MOUNTS+=("tmpfs||$2")
                        shift 2 ;;
                --dev)
                        [ -c "${2:-}" ] || [ -b "${2:-}" ] || die "--dev ${2:-}: not a device node"
                        DEVS+=("$2")
                        shift 2 ;;
                --net)
                        case "${2:-}" in private | host) NET=$2 ;; *) die "--net private|host" ;; esac
                        shift 2 ;;
                --mask) MASKS+=("$2"); shift 2 ;;
                --memory) MEM=$2; shift 2 ;;
                --timeout) TIMEOUT=$2; shift 2 ;;
                --owner)
                        [ -d "/proc/${2:-x}" ] || die "--owner ${2:-}: no such process"
                        OWNER=$2
                        shift 2 ;;
                --save-journal)
                        SAVE_JOURNAL=$(readlink -f "$2") || die "--save-journal $2: bad path"
                        shift 2 ;;
                --keep) KEEP=1; shift ;;
                --debug) DEBUG=1; KEEP=1; shift ;;
                -q | --quiet) QUIET=1; shift ;;
                -h | --help) echo "$USAGE"; exit 0 ;;
                --) shift; break ;;
                -*) die "unknown option $1 (see --help)" ;;
                *) break ;;
                esac
        done
        REST=("$@")
        [ "$(id -u)" = 0 ] || die "must run as root"
        [ -x /lib/systemd/systemd ] || die "/lib/systemd/systemd not found"
        [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] || die "/sys/fs/cgroup is not a v1/hybrid layout"

        local t0
        t0=$(date +%s%N)
        S=$(mktemp -d "$TMPBASE/quilt-harness.XXXXXX") || die "mktemp failed"
        chmod 700 "$S"
        mkdir -p "$S"/{upper/etc/systemd/system,upper/etc/systemd/journald.conf.d,work,merged}
        : > "$S/console.log"
        # Per-boot identity and speed-ups, all in the overlay's upper dir.
        systemd-id128 new > "$S/upper/etc/machine-id"
        basename "$S" | tr -c 'a-zA-Z0-9\n' - > "$S/upper/etc/hostname"
        printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\n' > "$S/upper/etc/systemd/journald.conf.d/harness.conf"
        local u
        for u in "${MASKS[@]}"; do ln -sf /dev/null "$S/upper/etc/systemd/system/$u"; done
        local SD_ARGS=''
        [ "$DEBUG" = 1 ] && SD_ARGS='systemd.log_level=debug systemd.log_target=console systemd.show_status=1'
        { declare -p NET MOUNTS DEVS SD_ARGS DROP_CAPS PATH_INSIDE; } > "$S/config"
        echo "$KEEP" > "$S/keep"
        echo "$SAVE_JOURNAL" > "$S/save_journal"

        cg_create "$(basename "$S")" "$S/cglist" || { cleanup "$S"; die "cannot create cgroups"; }
        if [ -n "$MEM" ]; then
                local m
                m=$(grep '/memory/' "$S/cglist") && echo "$MEM" > "$m/memory.limit_in_bytes" ||
                        { cleanup "$S"; die "cannot set --memory $MEM"; }
        fi

        local -a ns=(--pid --fork --kill-child=SIGKILL --mount --propagation private --uts --ipc --cgroup)
        [ "$NET" = private ] && ns+=(--net)
        local -a launch=(unshare "${ns[@]}" -- /bin/bash "$SELF" __inner "$S")
        # --debug: a pty for /dev/console (systemd logs to ttys only), logged to console.log
        [ "$DEBUG" = 1 ] && launch=(script -qfec "$(printf '%q ' "${launch[@]}")" "$S/console.log")
        # run/selftest: if this script dies, even by SIGKILL, unshare is SIGKILLed, and
        # --kill-child takes PID 1 (the whole namespace) with it; "gc" removes the rest.
        [ "$PDEATH" = 1 ] && launch=(setpriv --pdeathsig KILL -- "${launch[@]}")
        (
                cg_join "$S/cglist" || exit 125
                exec "${launch[@]}"
        ) < /dev/null > "$S/boot.log" 2>&1 &
        local up=$!
        echo "$up" > "$S/unshare.pid"
        # boot --owner: a detached watcher tears the harness down when the owner is gone
        if [ -n "$OWNER" ]; then
                setsid /bin/bash "$SELF" __watch "$S" "$OWNER" "$(start_time "$OWNER")" \
                        < /dev/null > /dev/null 2>&1 &
        fi

        # Wait for PID 1 to be systemd, then for the boot to finish.
        local p1='' st='' _
        for _ in $(seq 200); do
                p1=$(pid1_of "$S")
                [ -n "$p1" ] && [ "$(cat "/proc/$p1/comm" 2> /dev/null)" = systemd ] && break
                p1=''
                kill -0 "$up" 2> /dev/null || break
                sleep 0.05
        done
        [ -n "$p1" ] || { cat "$S/boot.log" >&2; cleanup "$S"; die "namespace setup failed (see above)"; }
        local deadline=$(($(date +%s) + TIMEOUT))
        while :; do
                st=$(timeout 10 nsenter -t "$p1" -a systemctl is-system-running --wait 2> /dev/null < /dev/null)
                case "$st" in running | degraded) break ;; esac
                # maintenance/stopping: the boot finished but failed (emergency mode, ...)
                if ! kill -0 "$p1" 2> /dev/null || [ "$(date +%s)" -gt "$deadline" ] ||
                        [ "$st" = maintenance ] || [ "$st" = stopping ]; then
                        echo "quilt-harness: boot did not finish (state: ${st:-none}); journal tail:" >&2
                        timeout 10 nsenter -t "$p1" -a journalctl -b --no-pager -n 60 >&2 < /dev/null
                        cat "$S/boot.log" >&2
                        cleanup "$S"
                        die "boot failed"
                fi
                sleep 0.1
        done
        if [ "$st" = degraded ]; then
                msg "WARNING: system is degraded, failed units:"
                nsenter -t "$p1" -a systemctl --failed --no-pager --plain >&2 < /dev/null
        fi
        msg "booted ($st) in $(( ($(date +%s%N) - t0) / 1000000 )) ms; state $S"
        return 0
}

# run_in STATE [EXEC-OPTIONS] [--] COMMAND...
run_in() {
        local S=$1
        shift
        local WD=/ UNIT=0 e
        local -a ENVS=() cmd
        while [ $# -gt 0 ]; do
                case "$1" in
                -C) WD=$2; shift 2 ;;
                -E) ENVS+=("$2"); shift 2 ;;
                --unit) UNIT=1; shift ;;
                --) shift; break ;;
                *) break ;;
                esac
        done
        [ $# -gt 0 ] || die "no command given"
        local p1
        p1=$(pid1_of "$S") && [ -n "$p1" ] && kill -0 "$p1" 2> /dev/null || die "harness $S is not running"
        if [ "$UNIT" = 1 ]; then
                local -a setenv=() argv=()
                for e in "${ENVS[@]}"; do setenv+=(-E "$e"); done
                for e in "$@"; do argv+=("${e//\$/\$\$}"); done # ExecStart= expands $VAR and $$
                cmd=(systemd-run --quiet --pipe --wait --collect --service-type=exec
                        -p WorkingDirectory="$WD" "${setenv[@]}" -- "${argv[@]}")
        else
                # the same capability bounding set as everything systemd starts in there
                # shellcheck disable=SC2016 # $0 and $@ are for the inner sh
                cmd=(setpriv --bounding-set "$DROP_CAPS" -- /usr/bin/env -i PATH="$PATH_INSIDE"
                        HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" "${ENVS[@]}"
                        /bin/sh -c 'cd -- "$0" || exit 125; exec "$@"' "$WD" "$@")
        fi
        # The client joins the harness' root cgroup ("/" inside). The fd dance keeps bash
        # from reporting "Killed" when COMMAND dies of a signal; COMMAND's stderr is untouched.
        { (
                exec 2>&4 4>&-
                cg_join "$S/cglist" || exit 125
                exec nsenter -t "$p1" -a -- "${cmd[@]}"
        ); } 4>&2 2> /dev/null
}

# cleanup STATE: save the journal, poweroff (SIGKILL after 10 s), remove cgroups and the
# state dir. Serialized on the state dir, so the owner watcher, "stop" and "gc" can race.
cleanup() {
        local S=$1 lk up p1 sj _
        [ -d "$S" ] || return 0
        exec {lk}< "$S" || return 0
        flock "$lk"
        if [ ! -f "$S/cglist" ]; then exec {lk}<&-; return 0; fi
        up=$(cat "$S/unshare.pid" 2> /dev/null)
        p1=$(pid1_of "$S")
        sj=$(cat "$S/save_journal" 2> /dev/null)
        if alive "$S"; then
                if [ -n "$sj" ] && [ -n "$p1" ]; then
                        timeout 20 nsenter -t "$p1" -a journalctl -b --no-pager -o short-monotonic > "$sj" 2>&1 < /dev/null
                fi
                [ -n "$p1" ] && kill -RTMIN+4 "$p1" 2> /dev/null # = systemctl poweroff
                for _ in $(seq 100); do alive "$S" || break; sleep 0.1; done
                if alive "$S"; then
                        msg "poweroff timed out, killing the namespace"
                        [ -n "$p1" ] && kill -KILL "$p1" 2> /dev/null
                        sleep 0.5
                        alive "$S" && kill -KILL "$up" 2> /dev/null
                        for _ in $(seq 50); do alive "$S" || break; sleep 0.1; done
                fi
        fi
        cg_remove "$S/cglist" && rm -f "$S/cglist"
        if [ "$(cat "$S/keep" 2> /dev/null)" = 1 ]; then
                msg "kept state dir $S"
        elif [ ! -f "$S/cglist" ]; then
                rm -rf --one-file-system "$S"
        fi
        exec {lk}<&-
}

# __watch STATE OWNER STARTTIME: detached; tears the harness down once OWNER is gone.
watch_owner() {
        local S=$1 owner=$2 t=$3
        while [ -f "$S/cglist" ] && [ "$(start_time "$owner")" = "$t" ]; do sleep 1; done
        QUIET=1
        cleanup "$S"
}

selftest_script() { # fed to bash -s inside the booted systemd
        cat << 'SELFTEST'
# TAP; exit status = number of failures
n=0 fail=0
ok()  { n=$((n + 1)); echo "ok $n - $*"; }
bad() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
# cgf CONTROLLER FILE: a file of the caller's own cgroup in that v1 hierarchy
cgf() { local p; p=$(awk -F: -v c="$1" '$2 == c { print $3 }' /proc/self/cgroup); cat "/sys/fs/cgroup/$1$p/$2"; }
export -f cgf
scope() { systemd-run --scope --quiet "$@"; }

s=$(systemctl is-system-running)
[ "$s" = running ] && ok "system state: $s" || bad "system state: $s"

v=$(scope -p MemoryMax=64M -- bash -c 'cgf memory memory.limit_in_bytes')
[ "$v" = 67108864 ] && ok "MemoryMax=64M -> memory.limit_in_bytes=$v" || bad "memory.limit_in_bytes=$v"
scope -p MemoryMax=64M -- python3 -c '
b = bytearray(200 << 20)
for i in range(0, len(b), 4096): b[i] = 1' 2> /dev/null
rc=$?
[ $rc = 137 ] && ok "MemoryMax=64M: 200 MiB allocation OOM-killed" || bad "200 MiB under MemoryMax=64M: rc=$rc"

v=$(scope -p TasksMax=20 -- bash -c 'cgf pids pids.max')
[ "$v" = 20 ] && ok "TasksMax=20 -> pids.max=$v" || bad "pids.max=$v"
kids=$(scope -p TasksMax=20 -- python3 -c '
import os, time
kids = []
try:
    for i in range(60):
        p = os.fork()
        if p == 0:
            time.sleep(2); os._exit(0)
        kids.append(p)
except OSError: pass
print(len(kids))
for p in kids: os.waitpid(p, 0)')
[ -n "$kids" ] && [ "$kids" -lt 20 ] && ok "TasksMax=20: fork loop stopped at $kids children" || bad "TasksMax=20: $kids children"

v=$(scope -p CPUQuota=50% -- bash -c 'echo $(cgf cpu cpu.cfs_quota_us)/$(cgf cpu cpu.cfs_period_us)')
[ "$v" = 50000/100000 ] && ok "CPUQuota=50% -> cfs quota/period=$v" || bad "cfs quota/period=$v"
v=$(scope -p CPUQuota=50% -- python3 -c '
import time
t = time.time(); c = time.process_time()
while time.time() - t < 2: pass
print("%.2f" % (time.process_time() - c))')
awk -v v="$v" 'BEGIN { exit !(v > 0 && v <= 1.2) }' && ok "CPUQuota=50%: busy loop got ${v}s CPU in 2s" || bad "CPUQuota=50%: ${v}s CPU in 2s"

v=$(scope -p Delegate=yes -p MemoryMax=128M -- bash -c '
        d=/sys/fs/cgroup/memory$(awk -F: "\$2 == \"memory\" { print \$3 }" /proc/self/cgroup)
        mkdir "$d/sub" && echo 33554432 > "$d/sub/memory.limit_in_bytes" &&
                echo $$ > "$d/sub/cgroup.procs" && cgf memory memory.limit_in_bytes')
[ "$v" = 33554432 ] && ok "Delegate=yes: payload made and limited its own sub-cgroup" || bad "Delegate=yes: $v"

tag=selftest-$RANDOM
echo "hello $tag" | systemd-cat -t "$tag"
for i in $(seq 20); do journalctl -q -t "$tag" -o cat | grep -q "hello $tag" && break; sleep 0.1; done
journalctl -q -t "$tag" -o cat | grep -q "hello $tag" && ok "journald: systemd-cat -> journalctl" || bad "journald"

v=$(busctl get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager Version 2>&1)
[ "${v#s }" != "$v" ] && ok "system bus: systemd $v" || bad "busctl: $v"
systemctl start systemd-machined && machinectl list --no-pager > /dev/null && ok "systemd-machined" || bad "systemd-machined"

printf '[Socket]\nListenStream=/run/selftest.sock\nAccept=yes\n' > /run/systemd/system/selftest.socket
printf '[Service]\nExecStart=/bin/sh -c "read l; echo pong-$l"\nStandardInput=socket\nStandardOutput=socket\n' > /run/systemd/system/selftest@.service
systemctl daemon-reload && systemctl start selftest.socket
v=$(python3 -c '
import socket
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect("/run/selftest.sock")
s.sendall(b"ping\n"); print(s.recv(100).decode().strip())' 2>&1)
[ "$v" = pong-ping ] && ok "socket activation: $v" || bad "socket activation: $v"

# what container rootfs need: overlayfs with its upper dir on a tmpfs (/tmp here)
d=$(mktemp -d) && mkdir "$d"/{l,u,w,m} && echo x > "$d/l/f" &&
        mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m" &&
        rm "$d/m/f" && [ -c "$d/u/f" ] && umount "$d/m" && ok "overlayfs on tmpfs" || bad "overlayfs on tmpfs"

echo "1..$n"
exit $fail
SELFTEST
}

# ---------------------------------------------------------------------------- main
traps() {
        trap '[ -n "$S" ] && cleanup "$S"' EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP
}

S=''
case "${1:-}" in
__inner) shift; inner "$@"; exit 125 ;;
__watch) shift; watch_owner "$@"; exit 0 ;;
-h | --help | "") echo "$USAGE"; [ -n "${1:-}" ]; exit ;;
boot)
        shift
        boot 0 "$@"
        [ ${#REST[@]} -eq 0 ] || { cleanup "$S"; die "boot takes no command"; }
        echo "$S" ;;
exec)
        shift
        [ $# -ge 2 ] || die "usage: exec STATE COMMAND..."
        S=$1
        shift
        run_in "$S" "$@" ;;
stop)
        [ -d "${2:-}" ] && [ -f "$2/unshare.pid" ] || die "usage: stop STATE"
        cleanup "$2" ;;
selftest)
        shift
        # a meson test: skip (77) only where a harness truly cannot run
        [ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 77; }
        [ -x /lib/systemd/systemd ] || { echo "1..0 # SKIP no /lib/systemd/systemd"; exit 77; }
        [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] || { echo "1..0 # SKIP not a cgroup v1/hybrid host"; exit 77; }
        traps
        boot 1 "$@"
        selftest_script | run_in "$S" -- /bin/bash -s
        exit ;;
gc)
        for S in "$TMPBASE"/quilt-harness.*; do
                [ -f "$S/cglist" ] || continue
                alive "$S" && continue
                # skip a harness that a concurrent caller is still setting up
                [ -f "$S/unshare.pid" ] || [ $(($(date +%s) - $(stat -c %Y "$S"))) -gt 120 ] || continue
                msg "cleaning up $S"
                cleanup "$S"
        done
        S='' ;;
*)
        [ "$1" = run ] && shift
        BOOT_ARGS=() EXEC_ARGS=()
        while [ $# -gt 0 ]; do
                case "$1" in
                -C | -E) EXEC_ARGS+=("$1" "$2"); shift 2 ;;
                --unit) EXEC_ARGS+=("$1"); shift ;;
                --bind | --bind-ro | --tmpfs | --dev | --net | --mask | --memory | --timeout | --save-journal)
                        BOOT_ARGS+=("$1" "$2"); shift 2 ;;
                --keep | --debug | -q | --quiet) BOOT_ARGS+=("$1"); shift ;;
                -h | --help) echo "$USAGE"; exit 0 ;;
                --) shift; break ;;
                -*) die "unknown option $1 (see --help)" ;;
                *) break ;;
                esac
        done
        [ $# -gt 0 ] || die "no command given (see --help)"
        traps
        boot 1 "${BOOT_ARGS[@]}"
        run_in "$S" "${EXEC_ARGS[@]}" -- "$@"
        exit ;;
esac
