#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds Quilt with warnings as errors in ./build and runs the whole test suite; the exit
# status is meson test's. Run as root (most tests need namespaces, cgroups and a systemd
# booted by tests/systemd-harness.sh; without root they skip).
#   QUILT_SKIP_DEPS=1   do not install the Debian packages (tools/install-deps.sh)
#   extra arguments     passed to meson test (e.g. --suite unit, or a test name)
set -euo pipefail

cd "$(dirname "$0")/.."

if [ "${QUILT_SKIP_DEPS:-0}" != 1 ]; then
        tools/install-deps.sh
fi

if [ -f build/build.ninja ]; then
        # an existing build directory: make sure it has -Werror, then let ninja regenerate
        meson configure build -Dwerror=true
elif ! meson setup build --werror; then
        echo "test.sh: meson setup failed; retrying with --wipe" >&2
        meson setup --wipe build --werror
fi

ninja -C build

rc=0
meson test -C build --print-errorlogs --num-processes 2 "$@" || rc=$?

# Tests killed at their timeout may leave a harness behind (its cgroups, its state dir).
if [ "$(id -u)" = 0 ]; then
        tests/systemd-harness.sh gc || true
fi
exit $rc
