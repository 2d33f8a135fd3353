#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The systemd cgroup backend under a real systemd: boots one with tests/systemd-harness.sh
# (PID 1 in namespaces, cgroup v1/hybrid on these machines) and runs test-cgroup-backend
# --backend systemd inside: transient scopes with MemoryMax/CPUQuota/TasksMax checked in
# the kernel's files and in systemctl show, kill, destroy leaving no unit, the failure paths,
# and, where systemd-machined is installed, RegisterMachine as seen by machinectl. Its TAP
# output is this test's. The harness is always stopped (trap).
#
# Environment: QUILT_BUILD_DIR (required), QUILT_SOURCE_DIR (default: this file's ../).
set -u

SRC=${QUILT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${QUILT_BUILD_DIR:?QUILT_BUILD_DIR must name the meson build directory}
SRC=$(readlink -f "$SRC")
BUILD=$(readlink -f "$BUILD")
HARNESS=$SRC/tests/systemd-harness.sh
TEST=$BUILD/src/daemon/test-cgroup-backend

skip_all() { echo "1..0 # SKIP $*"; exit 77; }
bail() { echo "Bail out! $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -x /lib/systemd/systemd ] || skip_all "no /lib/systemd/systemd to boot"
[ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] ||
        skip_all "the systemd harness needs a cgroup v1/hybrid host (/sys/fs/cgroup is not a tmpfs)"
[ -x "$TEST" ] || bail "$TEST not built"

S=
finish() {
        local rc=$?
        [ -n "$S" ] && "$HARNESS" stop "$S"
        exit $rc
}
trap finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# --owner: the harness goes away with this script even if meson kills it.
S=$("$HARNESS" boot -q --owner $$ --bind "$BUILD:$BUILD") || bail "the systemd harness did not boot"

args=(--backend systemd)
# machined is bus-activated inside the harness when the package is installed (the harness'
# root is an overlay of the host's).
if [ -x /lib/systemd/systemd-machined ]; then
        args+=(--machine "quilt-test-$$")
else
        echo "# systemd-machined is not installed (systemd-container): RegisterMachine not checked"
fi

timeout 120 "$HARNESS" exec "$S" -- "$TEST" "${args[@]}"
