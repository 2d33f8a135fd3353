# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared helpers for the shell integration tests (sourced, bash). Each test gets a private
# quiltd: its own state and runtime directories and sockets under a temporary directory,
# so tests never touch /var/lib/quilt or /run/quilt and can run side by side.
#
#   quiltd_start [CONFIG-LINES...]   start quiltd; extra lines are appended to quiltd.conf
#                                    as "Section.Key=Value" (e.g. "API.HTTPListen=127.0.0.1:0")
#   quiltd_stop                      SIGTERM and wait; fails the test if it does not exit
#   quilt ARGS...                    the CLI against this quiltd
#   in_quiltd_netns CMD...           run CMD in quiltd's network namespace (see below)
#   http METHOD PATH [BODY]          curl against the HTTP socket; prints body, sets $HTTP_STATUS
#   tap_ok/tap_fail/tap_is/tap_done  TAP output

set -u

BUILD_DIR=${QUILT_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
QUILTD_BIN=$BUILD_DIR/src/daemon/quiltd
QUILT_BIN=$BUILD_DIR/src/cli/quilt
# quiltd runs the container monitor from the build tree, not from libexecdir.
export QUILT_MONITOR=$BUILD_DIR/src/monitor/quilt-monitor

TAP_N=0
TAP_FAILED=0
tap_ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
tap_fail() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
# tap_check NAME COMMAND...: ok when COMMAND succeeds
tap_check() { local name=$1; shift; if "$@"; then tap_ok "$name"; else tap_fail "$name"; fi; }
# tap_is NAME GOT EXPECTED
tap_is() {
        if [ "$2" = "$3" ]; then tap_ok "$1"; else tap_fail "$1"; echo "#   got '$2', expected '$3'"; fi
}
# meson (1.0) reads a TAP plan "1..0 # SKIP" as a skip; exit 77 would count as an error.
tap_skip_all() { echo "1..0 # SKIP $*"; exit 0; }
tap_done() { echo "1..$TAP_N"; [ "$TAP_FAILED" = 0 ]; }

[ "$(id -u)" = 0 ] || tap_skip_all "needs root"
[ -x "$QUILTD_BIN" ] || { echo "Bail out! $QUILTD_BIN not built"; exit 1; }

# Network isolation. Each test runs in a private, named network namespace
# (/run/netns/quilt-test-*, only lo, up): quiltd and everything the test starts live there,
# so the quilt0 bridge, veths, nft tables and sysctls a networked quiltd creates never reach
# the host's network namespace, tests running in parallel do not collide, and TCP listeners
# (API.HTTPListen=127.0.0.1:...) stay reachable from the test. The first time lib.sh is
# sourced it creates the namespace, re-runs the test script inside it with nsenter (not
# "ip netns exec", which remounts /sys and hides /sys/fs/cgroup), and deletes the namespace
# when the test ends, which also removes any veth or bridge left in it.
# QUILT_TEST_NETNS=host opts out, for the opt-in tests that need the machine's own network
# (tests/test-network-internet.sh).
if [ "${QUILT_TEST_NETNS:-}" = host ]; then
        :
elif [ -z "${QUILT_TEST_NETNS:-}" ]; then
        QUILT_TEST_NETNS=quilt-test-$$-$RANDOM
        ip netns add "$QUILT_TEST_NETNS" || { echo "Bail out! cannot create network namespace $QUILT_TEST_NETNS"; exit 1; }
        export QUILT_TEST_NETNS
        trap 'ip netns delete "$QUILT_TEST_NETNS"' EXIT
        trap 'exit 143' TERM
        trap 'exit 130' INT
        ip -n "$QUILT_TEST_NETNS" link set lo up || exit 1
        nsenter --net="/run/netns/$QUILT_TEST_NETNS" -- "$BASH" "$0" "$@"
        exit $?
fi
# in_quiltd_netns CMD...: CMD in quiltd's (and this test's) network namespace, also from
# a process that has left it (e.g. after nsenter into another namespace).
in_quiltd_netns() {
        if [ "$QUILT_TEST_NETNS" = host ]; then "$@"; else nsenter --net="/run/netns/$QUILT_TEST_NETNS" -- "$@"; fi
}

QT_DIR=$(mktemp -d /tmp/quilt-test.XXXXXX)
QUILTD_PID=
export QUILT_HOST=unix:$QT_DIR/run/quilt.sock
HTTP_SOCK=$QT_DIR/run/http.sock

# Containers outlive quiltd by design, so a test that ends early (a failure, a timeout)
# would leave its containers running on the machine: kill what is left in the cgroups of
# this test's containers and remove those cgroups (standalone backend; the systemd harness
# tears down its own tree).
quiltd_reap_containers() {
        local id dir
        for id in $(ls "$QT_DIR/state/containers" 2>/dev/null); do
                for dir in /sys/fs/cgroup/*/quilt.slice/quilt-"$id" /sys/fs/cgroup/quilt.slice/quilt-"$id"; do
                        [ -d "$dir" ] || continue
                        find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
                done
        done
        for id in $(ls "$QT_DIR/state/containers" 2>/dev/null); do
                for dir in /sys/fs/cgroup/*/quilt.slice/quilt-"$id" /sys/fs/cgroup/quilt.slice/quilt-"$id"; do
                        [ -d "$dir" ] || continue
                        timeout 5 sh -c 'until find "$1" -depth -type d -exec rmdir {} + 2>/dev/null; do sleep 0.05; done' \
                                sh "$dir" || true
                done
        done
}

quiltd_cleanup() {
        [ -n "$QUILTD_PID" ] && kill -KILL "$QUILTD_PID" 2>/dev/null
        quiltd_reap_containers
        rm -rf "$QT_DIR"
}
trap quiltd_cleanup EXIT

quiltd_write_config() {
        local line section key
        mkdir -p "$QT_DIR/state" "$QT_DIR/run"
        {
                echo "[Daemon]"
                echo "Backend=standalone"
                echo "[API]"
                echo "GRPCSocket=$QT_DIR/run/quilt.sock"
                echo "HTTPSocket=$QT_DIR/run/http.sock"
                echo "[Storage]"
                echo "StateDirectory=$QT_DIR/state"
                echo "RuntimeDirectory=$QT_DIR/run"
                for line in "$@"; do
                        section=${line%%.*}
                        key=${line#*.}
                        printf '[%s]\n%s\n' "$section" "$key"
                done
        } > "$QT_DIR/quiltd.conf"
        # quiltd refuses a Token= that everyone can read.
        chmod 600 "$QT_DIR/quiltd.conf"
}

quiltd_start() {
        quiltd_write_config "$@"
        # Sockets of an earlier quiltd in this test must not pass for the new one's.
        rm -f "$QT_DIR/run/quilt.sock" "$QT_DIR/run/http.sock"
        # nsenter execs quiltd (no fork for a network namespace): $! is quiltd's pid.
        if [ "$QUILT_TEST_NETNS" = host ]; then
                "$QUILTD_BIN" --config="$QT_DIR/quiltd.conf" > "$QT_DIR/quiltd.log" 2>&1 &
        else
                nsenter --net="/run/netns/$QUILT_TEST_NETNS" -- "$QUILTD_BIN" --config="$QT_DIR/quiltd.conf" > "$QT_DIR/quiltd.log" 2>&1 &
        fi
        QUILTD_PID=$!
        local i
        # A socket file exists from bind() on, a moment before listen(): wait for an answer.
        for i in $(seq 250); do
                [ -S "$QT_DIR/run/quilt.sock" ] && [ -S "$QT_DIR/run/http.sock" ] &&
                        curl -sf -o /dev/null --unix-socket "$HTTP_SOCK" http://localhost/health && return 0
                kill -0 "$QUILTD_PID" 2>/dev/null || break
                sleep 0.02
        done
        echo "# quiltd did not come up:"; sed 's/^/#   /' "$QT_DIR/quiltd.log"
        return 1
}

quiltd_stop() {
        [ -n "$QUILTD_PID" ] || return 0
        kill -TERM "$QUILTD_PID" 2>/dev/null
        local i
        for i in $(seq 250); do
                kill -0 "$QUILTD_PID" 2>/dev/null || { wait "$QUILTD_PID"; local rc=$?; QUILTD_PID=; return $rc; }
                sleep 0.02
        done
        echo "# quiltd did not exit on SIGTERM"
        return 1
}

quilt() { "$QUILT_BIN" "$@"; }

HTTP_STATUS=
http() {
        local method=$1 path=$2 body=${3-} out
        out=$(mktemp "$QT_DIR/http.XXXXXX")
        if [ -n "$body" ]; then
                HTTP_STATUS=$(curl -s -o "$out" -w '%{http_code}' --unix-socket "$HTTP_SOCK" -X "$method" \
                        -H 'Content-Type: application/json' --data-binary "$body" "http://localhost$path")
        else
                HTTP_STATUS=$(curl -s -o "$out" -w '%{http_code}' --unix-socket "$HTTP_SOCK" -X "$method" \
                        "http://localhost$path")
        fi
        cat "$out"
        rm -f "$out"
}
