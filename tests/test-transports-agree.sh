#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One handler, two transports: `quilt health` (gRPC over quilt.sock) and GET /health
# (HTTP over http.sock) must report the same facts, and so must the system information.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || { echo "Bail out! jq is not installed"; exit 1; }

quiltd_start || { echo "Bail out! quiltd did not start"; exit 1; }

# Durations and uptime legitimately differ between two calls; everything else may not.
facts='{healthy, status, containers_total, containers_running,
        checks: [.checks[] | {name, healthy, message}]}'

grpc_health=$(quilt --json health | jq -S "$facts")
# Not in $(...): that would run http in a subshell and lose $HTTP_STATUS.
http GET /health > "$QT_DIR/health.json"
tap_is "GET /health answers 200" "$HTTP_STATUS" 200
http_health=$(jq -S "$facts" "$QT_DIR/health.json")
tap_check "gRPC health has the database, cgroups and namespaces checks" \
        test "$(jq -c '[.checks[].name] | sort' <<< "$grpc_health")" = '["cgroups","database","namespaces"]'
tap_is "gRPC and HTTP report the same health" "$grpc_health" "$http_health"
tap_check "the database check really passed" \
        test "$(jq -r '.checks[] | select(.name == "database") | .healthy' <<< "$grpc_health")" = true

info='{version, runtime, start_time, features, limits}'
grpc_info=$(quilt --json info | jq -S "$info")
http GET /system/info > "$QT_DIR/info.json"
tap_is "GET /system/info answers 200" "$HTTP_STATUS" 200
http_info=$(jq -S "$info" "$QT_DIR/info.json")
tap_is "gRPC and HTTP report the same system information" "$grpc_info" "$http_info"
tap_is "the backend is the one configured" "$(jq -r .features.backend <<< "$grpc_info")" standalone
tap_is "the cgroup layout is the host's" "$(jq -r .features.cgroup_layout <<< "$grpc_info")" \
        "$(if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then echo v2;
           elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then echo hybrid;
           else echo v1; fi)"
tap_is "cpu_count is the host's" "$(jq -r .limits.cpu_count <<< "$grpc_info")" "$(nproc)"

tap_check "quiltd shuts down cleanly on SIGTERM" quiltd_stop
tap_done
