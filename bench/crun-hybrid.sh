# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the benchmarks that run crun next to quilt (container-latency.sh,
# exec-latency.sh). Needs log(), die() and an array HYBRID_V1=() from the caller.

v1_hierarchy() { awk -v c="$1" '$1 == c { print $2 }' /proc/cgroups; }

# crun refuses "hybrid mode" while the cgroup2 mount owns any controller; a systemd hybrid
# host mounts those as v1 hierarchies, so do the same for the crun series.
hybrid_fix() {
	local u=/sys/fs/cgroup/unified c
	[ "$(stat -fc %T $u 2>/dev/null)" = cgroup2fs ] || return 0
	for c in $(cat $u/cgroup.controllers); do
		[ -e /sys/fs/cgroup/"$c" ] && die "/sys/fs/cgroup/$c exists while $c is on cgroup2"
		mkdir /sys/fs/cgroup/"$c"
		mount -t cgroup -o "$c" cgroup /sys/fs/cgroup/"$c" ||
			{ rmdir /sys/fs/cgroup/"$c"; die "cannot mount $c as a v1 hierarchy"; }
		HYBRID_V1+=("$c")
		log "hybrid cgroups: $c moved to a v1 hierarchy for the crun series"
	done
	[ -z "$(cat $u/cgroup.controllers)" ] || die "cgroup2 still owns controllers: crun will refuse"
}

# A v1 hierarchy dies at umount only when it has no children, dying ones included (a
# container cgroup stays dying while its killed process waits to be reaped). Otherwise the
# kernel keeps it, unmounted: mount it again, clean up, and retry.
hybrid_undo() {
	local c d try
	for c in "${HYBRID_V1[@]}"; do
		d=/sys/fs/cgroup/$c
		for try in $(seq 60); do
			if mountpoint -q "$d"; then
				find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
				umount "$d" || true
			fi
			sleep 0.5
			if [ "$(v1_hierarchy "$c")" = 0 ]; then
				rmdir "$d"
				log "hybrid cgroups: $c is back on cgroup2 (try $try)"
				continue 2
			fi
			mount -t cgroup -o "$c" cgroup "$d" || true
		done
		log "WARNING: $c is still a v1 hierarchy; later: umount $d && rmdir $d"
	done
	HYBRID_V1=()
}
