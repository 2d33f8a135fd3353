# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced (bash) by the benchmarks that run containers, right after "set -euo pipefail":
# re-runs the calling script in a network namespace of its own (/run/netns/quilt-bench-*,
# only lo), so that the container network its quiltd sets up (the quilt0 bridge, veths,
# Quilt's nft table, net.ipv4.ip_forward) never touches the host's; the namespace goes when
# the script ends. tests/lib.sh does the same for the tests. nsenter, not "ip netns exec",
# which remounts /sys and hides /sys/fs/cgroup.
if [ -z "${QUILT_BENCH_NETNS:-}" ]; then
        QUILT_BENCH_NETNS=quilt-bench-$$-$RANDOM
        export QUILT_BENCH_NETNS
        ip netns add "$QUILT_BENCH_NETNS" || { echo "cannot create network namespace $QUILT_BENCH_NETNS" >&2; exit 1; }
        trap 'ip netns delete "$QUILT_BENCH_NETNS"' EXIT
        trap 'exit 143' TERM
        trap 'exit 130' INT
        ip -n "$QUILT_BENCH_NETNS" link set lo up
        rc=0
        nsenter --net="/run/netns/$QUILT_BENCH_NETNS" -- "$BASH" "$0" "$@" || rc=$?
        exit $rc
fi
