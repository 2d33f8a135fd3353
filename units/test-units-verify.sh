#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-units-verify.sh QUILTD INSTALLED-QUILTD UNIT...
# Runs `systemd-analyze verify` over the (configured) units and fails on any error or
# warning. The units are copied to a temporary directory first with ExecStart= pointed at
# the quiltd in the build tree, because the installed path does not exist at build time;
# that the unit names the installed path is checked on its own. Needs no running systemd.
set -u
quiltd=$1 installed=$2; shift 2

command -v systemd-analyze > /dev/null || { echo "systemd-analyze not installed, skipping"; exit 77; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/quilt-units.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
fail=0

for u in "$@"; do
        cp "$u" "$dir/" || exit 1
done

exec_start=$(sed -n 's/^ExecStart=//p' "$dir/quilt.service")
if [ "$exec_start" != "$installed" ]; then
        echo "quilt.service: ExecStart=$exec_start, expected $installed"
        fail=1
fi
sed -i "s|^ExecStart=.*|ExecStart=$quiltd|" "$dir/quilt.service"

units=()
for u in "$@"; do units+=("$dir/$(basename "$u")"); done
out=$(cd "$dir" && systemd-analyze verify --man=no "${units[@]}" 2>&1)
rc=$?
if [ $rc != 0 ] || [ -n "$out" ]; then
        echo "systemd-analyze verify (rc=$rc):"
        echo "$out"
        fail=1
fi
[ $fail = 0 ] && echo "systemd-analyze verify: ${#units[@]} units OK"
exit $fail
