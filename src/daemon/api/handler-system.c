/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* GetHealth and GetSystemInfo: what quiltd and its host can do, from real checks. */

#include <sys/sysinfo.h>
#include <sys/utsname.h>

#include "api-handlers.h"
#include "events.h"
#include "log.h"
#include "manager.h"
#include "quilt-build.h"
#include "proto-map.h"
#include "quilt.pb-c.h"
#include "runtime.h"
#include "store.h"
#include "time-util.h"

typedef int (*HealthProbe)(Manager *m, char **ret_message);

static int probe_database(Manager *m, char **ret_message) {
        int r;

        r = store_check(m->store);
        if (r < 0) {
                if (asprintf(ret_message, "database query failed: %s", store_errmsg(m->store)) < 0)
                        *ret_message = NULL;
                return r;
        }
        if (asprintf(ret_message, "SQLite database answers (schema version %d)", store_schema_version(m->store)) < 0)
                *ret_message = NULL;
        return 0;
}

static int probe_cgroups(Manager *m, char **ret_message) {
        return host_check_cgroups(&m->host, ret_message);
}

static int probe_namespaces(Manager *m, char **ret_message) {
        return host_check_namespaces(ret_message);
}

static Quilt__HealthCheck *health_check_run(Manager *m, const char *name, HealthProbe probe) {
        Quilt__HealthCheck *check;
        char *message = NULL;
        uint64_t t0;
        int r;

        check = malloc(sizeof *check);
        if (!check)
                return NULL;
        quilt__health_check__init(check);

        t0 = now_usec(CLOCK_MONOTONIC);
        r = probe(m, &message);

        check->name = strdup(name);
        check->healthy = r >= 0;
        check->message = message ?: strdup(r >= 0 ? "ok" : strerror(-r));
        check->duration_ms = (now_usec(CLOCK_MONOTONIC) - t0) / USEC_PER_MSEC;
        if (!check->name || !check->message) {
                protobuf_c_message_free_unpacked(&check->base, NULL);
                return NULL;
        }
        if (r < 0)
                log_warning("Health check %s failed: %s", name, check->message);
        return check;
}

int api_get_health(Manager *m, ApiCall *call) {
        static const struct {
                const char *name;
                HealthProbe probe;
        } probes[] = {
                { "database", probe_database },
                { "cgroups", probe_cgroups },
                { "namespaces", probe_namespaces },
        };
        _cleanup_proto_ ProtobufCMessage *reply_base = NULL;
        Quilt__GetHealthResponse *reply;
        uint64_t total = 0, running = 0;
        bool healthy = true;

        reply = malloc(sizeof *reply);
        if (!reply)
                return api_call_fail_errno(call, ENOMEM, "Out of memory.");
        quilt__get_health_response__init(reply);
        reply_base = &reply->base;

        reply->checks = calloc(ELEMENTSOF(probes), sizeof(Quilt__HealthCheck *));
        if (!reply->checks)
                return api_call_fail_errno(call, ENOMEM, "Out of memory.");

        for (size_t i = 0; i < ELEMENTSOF(probes); i++) {
                Quilt__HealthCheck *check = health_check_run(m, probes[i].name, probes[i].probe);
                if (!check)
                        return api_call_fail_errno(call, ENOMEM, "Out of memory.");
                reply->checks[reply->n_checks++] = check;
                healthy = healthy && check->healthy;
        }

        /* Counting needs the database; a failed count is already reported by its check. */
        (void) store_count_containers(m->store, &total, &running);

        reply->healthy = healthy;
        reply->status = strdup(healthy ? "healthy" : "degraded");
        reply->uptime_seconds = (now_usec(CLOCK_MONOTONIC) - m->start_monotonic_usec) / USEC_PER_SEC;
        reply->containers_total = (uint32_t) MIN(total, UINT32_MAX);
        reply->containers_running = (uint32_t) MIN(running, UINT32_MAX);
        if (!reply->status)
                return api_call_fail_errno(call, ENOMEM, "Out of memory.");

        api_call_reply(call, TAKE_PTR(reply_base));
        return 0;
}

static int feature_put(Quilt__GetSystemInfoResponse *reply, const char *key, const char *value) {
        return proto_map_put((void ***) &reply->features, &reply->n_features,
                             &quilt__get_system_info_response__features_entry__descriptor, key, value);
}

static int limit_put(Quilt__GetSystemInfoResponse *reply, const char *key, const char *value) {
        return proto_map_put((void ***) &reply->limits, &reply->n_limits,
                             &quilt__get_system_info_response__limits_entry__descriptor, key, value);
}

static int read_ulong_file(const char *path, unsigned long *ret) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");

        if (!f)
                return -errno;
        if (fscanf(f, "%lu", ret) != 1)
                return -EIO;
        return 0;
}

int api_get_system_info(Manager *m, ApiCall *call) {
        _cleanup_proto_ ProtobufCMessage *reply_base = NULL;
        Quilt__GetSystemInfoResponse *reply;
        char buf[64];
        struct utsname u;
        struct sysinfo si;
        unsigned long pid_max = 0;
        int r = 0;

        reply = malloc(sizeof *reply);
        if (!reply)
                return api_call_fail_errno(call, ENOMEM, "Out of memory.");
        quilt__get_system_info_response__init(reply);
        reply_base = &reply->base;

        (void) uname(&u);
        reply->version = strdup(QUILT_VERSION);
        reply->runtime = NULL;
        if (asprintf(&reply->runtime, "linux/%s", u.machine) < 0)
                reply->runtime = NULL;
        reply->start_time = m->start_realtime_usec / USEC_PER_MSEC;

        if (!reply->version || !reply->runtime)
                return api_call_fail_errno(call, ENOMEM, "Out of memory.");

        snprintf(buf, sizeof buf, "%d", cgroup_layout_version(m->host.cgroup_layout));
        r |= feature_put(reply, "backend", quilt_backend_to_string(m->host.backend));
        r |= feature_put(reply, "log_driver", container_log_driver_to_string(m->host.log_driver));
        r |= feature_put(reply, "cgroup_version", buf);
        r |= feature_put(reply, "cgroup_layout", cgroup_layout_to_string(m->host.cgroup_layout));
        r |= feature_put(reply, "systemd", m->host.systemd_booted ? "yes" : "no");
        r |= feature_put(reply, "socket_activated", m->socket_activated ? "yes" : "no");
        r |= feature_put(reply, "storage", "sqlite");
        snprintf(buf, sizeof buf, "%d", store_schema_version(m->store));
        r |= feature_put(reply, "schema_version", buf);
        r |= feature_put(reply, "api", "grpc,http");
        r |= feature_put(reply, "volumes", "bind,volume,tmpfs");
        /* What quiltd holds for clients right now (this call not counted): calls and
         * streams in flight, which keep an idle quiltd from exiting, and waits on
         * containers. A client that went away must leave none behind. */
        snprintf(buf, sizeof buf, "%u", m->n_calls_in_flight > 0 ? m->n_calls_in_flight - 1 : 0);
        r |= feature_put(reply, "calls_in_flight", buf);
        snprintf(buf, sizeof buf, "%u", m->runtime ? runtime_count_waiters(m->runtime) : 0);
        r |= feature_put(reply, "container_waiters", buf);
        snprintf(buf, sizeof buf, "%u", events_count_subscriptions(m->events));
        r |= feature_put(reply, "event_subscribers", buf);

        /* Limits of the host, as facts: what containers can be given in total. */
        if (sysinfo(&si) >= 0) {
                snprintf(buf, sizeof buf, "%llu",
                         (unsigned long long) si.totalram * si.mem_unit / (1024 * 1024));
                r |= limit_put(reply, "memory_total_mb", buf);
        }
        snprintf(buf, sizeof buf, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
        r |= limit_put(reply, "cpu_count", buf);
        if (read_ulong_file("/proc/sys/kernel/pid_max", &pid_max) >= 0) {
                snprintf(buf, sizeof buf, "%lu", pid_max);
                r |= limit_put(reply, "pid_max", buf);
        }
        if (r != 0)
                return api_call_fail_errno(call, ENOMEM, "Out of memory.");

        api_call_reply(call, TAKE_PTR(reply_base));
        return 0;
}
