#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Socket activation of quiltd under a real systemd (tests/systemd-harness.sh boots one as
# PID 1 in namespaces): install the build with `meson install` inside the harness, run
# systemd-sysusers and systemd-tmpfiles on our snippets, start ONLY quilt.socket, and check
# that the first gRPC call (quilt health) and the first HTTP call (curl) each start
# quilt.service through the sockets, that READY=1 and the watchdog work, and that the
# sockets and the journal look as documented. TAP; the journal is printed on failure.
#
# Environment: QUILT_BUILD_DIR (required), QUILT_SOURCE_DIR (default: this file's ../).
set -u

SRC=${QUILT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${QUILT_BUILD_DIR:?QUILT_BUILD_DIR must name the meson build directory}
SRC=$(readlink -f "$SRC")
BUILD=$(readlink -f "$BUILD")
HARNESS=$SRC/tests/systemd-harness.sh

N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
comment() { sed 's/^/# /'; }
# check NAME COMMAND...: one TAP line; on failure the command's output as comments
check() {
        local name=$1 out
        shift
        if out=$("$@" 2>&1); then
                ok "$name"
        else
                not_ok "$name"
                [ -n "$out" ] && comment <<< "$out"
        fi
}
# is NAME GOT EXPECTED
is() {
        if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   got '$2', expected '$3'"; fi
}
skip_all() { echo "1..0 # SKIP $*"; exit 77; }
bail() { echo "Bail out! $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -x /lib/systemd/systemd ] || skip_all "no /lib/systemd/systemd to boot"
[ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] ||
        skip_all "the systemd harness needs a cgroup v1/hybrid host (/sys/fs/cgroup is not a tmpfs)"
[ -x "$BUILD/src/daemon/quiltd" ] || bail "$BUILD/src/daemon/quiltd not built"
[ -x "$BUILD/src/cli/quilt" ] || bail "$BUILD/src/cli/quilt not built"
[ -f "$BUILD/meson-private/install.dat" ] || bail "$BUILD is not a configured meson build directory"

# Boot. The source and build trees are bound at their own paths (meson install needs
# that); /var/lib/quilt gets a tmpfs as on a real host (overlayfs cannot put container
# upper dirs on the harness' overlay root). --owner: the harness goes away with this test,
# even when meson kills it.
S=
finish() {
        local rc=$?
        [ -n "$S" ] && "$HARNESS" stop "$S"
        exit $rc
}
trap finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
S=$("$HARNESS" boot -q --owner $$ --tmpfs /var/lib/quilt --bind-ro "$SRC:$SRC" --bind "$BUILD:$BUILD") ||
        bail "the systemd harness did not boot"

inside() { timeout 60 "$HARNESS" exec "$S" -- "$@"; }
journal() {
        echo "# --- journal of quilt.service, quilt.socket, quilt-http.socket:"
        inside journalctl -b --no-pager -o short-monotonic -u quilt.service -u quilt.socket -u quilt-http.socket |
                comment
}
unit_prop() { inside systemctl show -P "$2" "$1"; }
http_health() { # prints "<http status> <healthy>"
        inside sh -c 'curl -s --max-time 30 --unix-socket /run/quilt/http.sock -o /tmp/health.json \
                        -w "%{http_code}" http://localhost/health; printf " "; jq -r .healthy /tmp/health.json'
}
# wait_journal PATTERN: journald may take a moment to get the line
wait_journal() {
        local _
        for _ in $(seq 50); do
                inside journalctl -b --no-pager -o cat -u quilt.service | grep -qE "$1" && return 0
                sleep 0.1
        done
        echo "no line matching /$1/ in the journal of quilt.service"
        return 1
}
# activated_by WHAT: quilt.service is active, its main process is the installed quiltd,
# and it said READY=1 (Type=notify: "active" only after READY=1; StatusText= is what
# quiltd sent with it)
activated_by() {
        is "$1 started quilt.service" "$(inside systemctl is-active quilt.service)" active
        local pid exe
        pid=$(unit_prop quilt.service MainPID)
        exe=$(inside readlink "/proc/$pid/exe")
        is "main PID ($pid) is $EXEC_START" "$exe" "$EXEC_START"
        local status
        status=$(unit_prop quilt.service StatusText)
        check "READY=1 received, StatusText='$status'" test -n "$status"
}

# 1. Install as a package would: meson install, then sysusers and tmpfiles.
check "meson install" inside meson install -C "$BUILD" --no-rebuild --quiet
check "systemd-sysusers creates the quilt group" inside sh -c 'systemd-sysusers && getent group quilt'
check "systemd-tmpfiles --create quilt.conf" inside systemd-tmpfiles --create quilt.conf
is "/var/lib/quilt mode" "$(inside stat -c '%a %U %G' /var/lib/quilt)" "711 root root"
check "systemctl daemon-reload" inside systemctl daemon-reload
for u in quilt.socket quilt-http.socket quilt.service quilt.slice; do
        is "$u found where meson installed it" "$(unit_prop "$u" LoadState)" loaded
done
EXEC_START=$(inside systemctl show -P ExecStart quilt.service | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
check "ExecStart=$EXEC_START is the installed quiltd" inside test -x "$EXEC_START"
is "quilt.service Type" "$(unit_prop quilt.service Type)" notify
is "quilt.service KillMode" "$(unit_prop quilt.service KillMode)" process

# 2. Start only quilt.socket: both sockets listen, the daemon does not run yet.
check "systemctl start quilt.socket" inside systemctl start quilt.socket
is "quilt.socket active" "$(inside systemctl is-active quilt.socket)" active
is "quilt-http.socket pulled in" "$(inside systemctl is-active quilt-http.socket)" active
is "quilt.service not started yet" "$(inside systemctl is-active quilt.service)" inactive
for sock in quilt.sock http.sock; do
        is "/run/quilt/$sock is a socket, 0660 root:quilt" \
                "$(inside stat -c '%F %a %U %G' "/run/quilt/$sock")" "socket 660 root quilt"
done

# 3. The first CLI call (gRPC) activates quiltd.
check "first call: quilt health" inside timeout 30 quilt health
activated_by "quilt health"
check "journal: quiltd ready, socket-activated" wait_journal '^quiltd ready: .*socket-activated'
check "journal: systemd backend chosen (sd_booted)" wait_journal '^quiltd ready: systemd backend'
is "quiltd got WatchdogSec=30s" "$(unit_prop quilt.service WatchdogUSec)" 30s
is "HTTP works on the same daemon" "$(http_health)" "200 true"

# 4. Stopped: the sockets stay, and an HTTP call activates quiltd again.
check "systemctl stop quilt.service" inside systemctl stop quilt.service
is "quilt.service inactive" "$(inside systemctl is-active quilt.service)" inactive
is "clean exit on SIGTERM (Result)" "$(unit_prop quilt.service Result)" success
is "quilt.socket still listening" "$(inside systemctl is-active quilt.socket)" active
is "HTTP call after stop: 200, healthy" "$(http_health)" "200 true"
activated_by "an HTTP call"
check "gRPC works on the HTTP-activated daemon" inside timeout 30 quilt health

# 5. From scratch, HTTP first: stopping quilt.socket stops everything and removes both
# socket files; starting it again and calling HTTP first activates the daemon.
check "systemctl stop quilt.socket" inside systemctl stop quilt.socket
is "quilt.service stopped with its socket" "$(inside systemctl is-active quilt.service)" inactive
is "quilt-http.socket stopped with quilt.socket" "$(inside systemctl is-active quilt-http.socket)" inactive
check "socket files removed (RemoveOnStop=)" inside sh -c '! test -e /run/quilt/quilt.sock && ! test -e /run/quilt/http.sock'
check "systemctl start quilt.socket again" inside systemctl start quilt.socket
is "quilt.service not started yet" "$(inside systemctl is-active quilt.service)" inactive
is "first call via HTTP: 200, healthy" "$(http_health)" "200 true"
activated_by "the first HTTP call"

# 6. The watchdog is really pinged: with WatchdogSec=2s the same process must still be
# serving after 5 s (systemd would have killed it with SIGABRT and restarted it), and
# systemd must have seen recent pings (WatchdogTimestamp= moves on each WATCHDOG=1).
check "drop-in WatchdogSec=2s" inside sh -c 'mkdir -p /run/systemd/system/quilt.service.d &&
        printf "[Service]\nWatchdogSec=2s\n" > /run/systemd/system/quilt.service.d/watchdog.conf &&
        systemctl daemon-reload && systemctl restart quilt.service'
is "watchdog: WatchdogUSec" "$(unit_prop quilt.service WatchdogUSec)" 2s
pid=$(unit_prop quilt.service MainPID)
ping1=$(unit_prop quilt.service WatchdogTimestampMonotonic)
sleep 5
is "watchdog: still active after 5 s" "$(inside systemctl is-active quilt.service)" active
is "watchdog: same main PID" "$(unit_prop quilt.service MainPID)" "$pid"
ping2=$(unit_prop quilt.service WatchdogTimestampMonotonic)
check "watchdog: pinged ($ping1 -> $ping2 µs)" test "${ping2:-0}" -gt "$((${ping1:-0} + 3000000))"
is "watchdog: no restarts" "$(unit_prop quilt.service NRestarts)" 0
is "watchdog: quilt health" "$(inside timeout 30 quilt health > /dev/null 2>&1; echo $?)" 0

# 7. IdleExitSec=: an idle socket-activated quiltd exits by itself, cleanly (Result=success,
# so no restart), the sockets stay with systemd, and the next call starts it again.
check "quiltd.conf with IdleExitSec=1" inside sh -c 'mkdir -p /etc/quilt &&
        printf "[Daemon]\nIdleExitSec=1\n" > /etc/quilt/quiltd.conf &&
        rm -f /run/systemd/system/quilt.service.d/watchdog.conf && systemctl daemon-reload &&
        systemctl restart quilt.service'
pid=$(unit_prop quilt.service MainPID)
check "idle: quilt health" inside timeout 30 quilt health
for _ in $(seq 100); do
        [ "$(inside systemctl is-active quilt.service)" = inactive ] && break
        sleep 0.1
done
is "idle: quilt.service exited by itself" "$(inside systemctl is-active quilt.service)" inactive
is "idle: it exited cleanly" "$(unit_prop quilt.service Result)" success
check "idle: the journal says why" wait_journal "Idle for 1s, exiting"
is "idle: quilt.socket still listening" "$(inside systemctl is-active quilt.socket)" active
is "idle: the next HTTP call is answered" "$(http_health)" "200 true"
activated_by "the first call after the idle exit"
check "idle: a new quiltd process ($pid before)" test "$(unit_prop quilt.service MainPID)" != "$pid"

# 8. ... but never while a stream is open: quilt events for 4 s keeps it up (IdleExitSec=1),
# and once the client goes away (timeout kills it) quiltd exits on idle again.
for _ in $(seq 100); do
        [ "$(inside systemctl is-active quilt.service)" = inactive ] && break
        sleep 0.1
done
inside sh -c 'timeout 4 quilt events > /dev/null 2>&1; true' &
streamer=$!
sleep 3
is "idle: an open event stream keeps quiltd running" "$(inside systemctl is-active quilt.service)" active
wait "$streamer"
for _ in $(seq 100); do
        [ "$(inside systemctl is-active quilt.service)" = inactive ] && break
        sleep 0.1
done
is "idle: once the stream's client is gone, quiltd exits on idle" "$(inside systemctl is-active quilt.service)" inactive
is "idle: cleanly" "$(unit_prop quilt.service Result)" success

[ "$FAILED" = 0 ] || journal
echo "1..$N"
[ "$FAILED" = 0 ]
