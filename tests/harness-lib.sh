# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the tests that install Quilt into a real systemd booted by
# tests/systemd-harness.sh (test-containers-systemd.sh, test-logs-systemd.sh): paths, TAP
# helpers, the preconditions, booting the harness with a journal dump on failure, running
# commands inside it, and installing Quilt there as a package would be.
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
check() {
        local name=$1 out
        shift
        if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name"; [ -n "$out" ] && comment <<< "$out"; fi
}
is() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   got '$2', expected '$3'"; fi; }
skip_all() { echo "1..0 # SKIP $*"; exit 77; }
bail() { echo "Bail out! $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -x /lib/systemd/systemd ] || skip_all "no /lib/systemd/systemd to boot"
[ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] ||
        skip_all "the systemd harness needs a cgroup v1/hybrid host (/sys/fs/cgroup is not a tmpfs)"

# harness_boot LINES [JOURNALCTL-ARGS...]: boots the harness into $S, with Quilt's source and
# build trees visible inside; when a check failed, the last LINES lines of the journal
# (narrowed by JOURNALCTL-ARGS) are printed before the harness is stopped.
S=
HARNESS_JOURNAL_LINES=40
HARNESS_JOURNAL_ARGS=()
harness_finish() {
        local rc=$?
        if [ "$FAILED" != 0 ] && [ -n "$S" ]; then
                echo "# --- journal:"
                "$HARNESS" exec "$S" -- journalctl -b --no-pager -o short-monotonic "${HARNESS_JOURNAL_ARGS[@]}" |
                        tail -"$HARNESS_JOURNAL_LINES" | comment
        fi
        [ -n "$S" ] && "$HARNESS" stop "$S"
        exit $rc
}
harness_boot() {
        HARNESS_JOURNAL_LINES=$1
        shift
        HARNESS_JOURNAL_ARGS=("$@")
        trap harness_finish EXIT
        trap 'exit 143' TERM
        trap 'exit 130' INT
        S=$("$HARNESS" boot -q --owner $$ --tmpfs /var/lib/quilt --bind-ro "$SRC:$SRC" --bind "$BUILD:$BUILD") ||
                bail "the systemd harness did not boot"
}

inside() { timeout 120 "$HARNESS" exec "$S" -- "$@"; }
field() { inside sh -c "curl -s --unix-socket /run/quilt/http.sock http://localhost/containers/$1 | jq -r '$2'"; }
wait_state() {
        local i
        for i in $(seq 100); do
                [ "$(field "$1" .status)" = "$2" ] && return 0
                sleep 0.2
        done
        echo "#   $1 is $(field "$1" .status), expected $2"
        return 1
}

# Quilt installed from the build tree as its package would be, socket-activated.
harness_install_quilt() {
        check "meson install" inside meson install -C "$BUILD" --no-rebuild --quiet
        check "sysusers, tmpfiles, daemon-reload" inside sh -c \
                'systemd-sysusers && systemd-tmpfiles --create quilt.conf && systemctl daemon-reload'
        check "systemctl start quilt.socket" inside systemctl start quilt.socket
}
