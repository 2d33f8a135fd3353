/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "api-grpc.h"
#include "api-http.h"
#include "api.h"
#include "cgroup-backend.h"
#include "dns-server.h"
#include "events.h"
#include "image-store.h"
#include "network.h"
#include "runtime.h"
#include "fs-util.h"
#include "log.h"
#include "manager-listen.h"
#include "manager.h"
#include "store.h"
#include "time-util.h"
#include "volume-store.h"

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, shutting down.", strsignal((int) si->ssi_signo));
        m->exiting = true;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down.");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_idle_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (m->n_calls_in_flight > 0)
                return 0;

        log_info("Idle for %" PRIu64 "s, exiting; the sockets stay with systemd.",
                 m->config->idle_exit_usec / USEC_PER_SEC);
        m->exiting = true;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Exiting on idle.");
        return sd_event_exit(m->event, 0);
}

/* Idle exit only makes sense when systemd holds the sockets and starts us again on the
 * next connection; without socket activation nobody would. */
static bool manager_may_exit_on_idle(Manager *m) {
        return m->socket_activated && m->config->idle_exit_usec > 0;
}

static void manager_arm_idle_timer(Manager *m) {
        int r;

        if (!manager_may_exit_on_idle(m) || m->exiting)
                return;

        if (!m->idle_timer) {
                r = sd_event_add_time_relative(m->event, &m->idle_timer, CLOCK_MONOTONIC, m->config->idle_exit_usec,
                                               USEC_PER_SEC, on_idle_timeout, m);
                if (r < 0) {
                        log_warning_errno(r, "Failed to set up the idle timer, staying up: %m");
                        return;
                }
                (void) sd_event_source_set_description(m->idle_timer, "idle-exit");
                return;
        }

        (void) sd_event_source_set_time_relative(m->idle_timer, m->config->idle_exit_usec);
        (void) sd_event_source_set_enabled(m->idle_timer, SD_EVENT_ONESHOT);
}

void manager_call_started(Manager *m) {
        m->n_calls_in_flight++;
        if (m->idle_timer)
                (void) sd_event_source_set_enabled(m->idle_timer, SD_EVENT_OFF);
}

void manager_call_finished(Manager *m) {
        if (m->n_calls_in_flight > 0)
                m->n_calls_in_flight--;
        if (m->n_calls_in_flight == 0)
                manager_arm_idle_timer(m);
}

int manager_new(QuiltConfig *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        /* Owns config from here on, also when failing. */
        m = calloc(1, sizeof *m);
        if (!m) {
                config_free(config);
                return log_oom();
        }
        m->config = config;
        m->start_realtime_usec = now_usec(CLOCK_REALTIME);
        m->start_monotonic_usec = now_usec(CLOCK_MONOTONIC);

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");

        /* SIGTERM and SIGINT are blocked in main() before any thread exists. */
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_exit_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGTERM: %m");
        r = sd_event_add_signal(m->event, NULL, SIGINT, on_exit_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGINT: %m");

        /* Pings the service manager's watchdog when WatchdogSec= is set, from the loop itself,
         * so a wedged loop is noticed. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the watchdog, continuing without: %m");

        r = host_detect(config->backend, &m->host);
        if (r < 0)
                return r;
        r = host_detect_log_driver(&m->host, config->log_driver);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* Transports first: they cancel calls in flight, which reference the manager. */
        m->grpc = api_grpc_free(m->grpc);
        m->http = api_http_free(m->http);
        for (size_t i = 0; i < m->n_activation_fds; i++)
                safe_close(m->activation_fds[i]);
        free(m->activation_fds);
        strv_free(m->activation_names);
        sd_event_source_unref(m->idle_timer);
        /* Containers keep running: the runtime only lets go of its monitors. */
        runtime_free(m->runtime);
        network_free(m->network);
        dns_server_free(m->dns);
        cgroup_backend_free(m->cgroups);
        image_store_free(m->images);
        volume_store_free(m->volumes);
        events_free(m->events);
        store_free(m->store);
        sd_event_unref(m->event);
        config_free(m->config);
        return mfree(m);
}

static int manager_setup_directories(Manager *m) {
        static const struct {
                const char *subdir;
                mode_t mode;
        } state_dirs[] = {
                { "", 0711 },
                { "/images", 0700 },
                { "/containers", 0711 },
                { "/volumes", 0700 },
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(state_dirs); i++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s%s", m->config->state_dir, state_dirs[i].subdir) < 0)
                        return log_oom();
                r = mkdir_p(p, state_dirs[i].mode);
                if (r < 0)
                        return log_error_errno(r, "Failed to create %s: %m", p);
        }

        r = mkdir_p(m->config->runtime_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", m->config->runtime_dir);
        return 0;
}

static int manager_setup_dns(Manager *m) {
        int r;

        r = dns_server_new(m->event, &m->dns);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the DNS server: %m");

        /* config_load() checked every entry, so this fails only without memory. */
        r = dns_server_set_upstreams(m->dns, m->config->dns_upstreams);
        if (r < 0)
                return log_error_errno(r, "Failed to set the DNS upstream servers: %m");
        return 0;
}

static int manager_setup_runtime(Manager *m) {
        _cleanup_free_ char *images_dir = NULL, *volumes_dir = NULL, *run_containers = NULL;
        int r;

        if (asprintf(&images_dir, "%s/images", m->config->state_dir) < 0 ||
            asprintf(&volumes_dir, "%s/volumes", m->config->state_dir) < 0 ||
            asprintf(&run_containers, "%s/containers", m->config->runtime_dir) < 0)
                return log_oom();

        r = mkdir_p(run_containers, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", run_containers);

        r = image_store_new(m->store, images_dir, &m->images);
        if (r < 0)
                return log_error_errno(r, "Failed to open the image store %s: %m", images_dir);

        r = volume_store_new(m->store, volumes_dir, &m->volumes);
        if (r < 0)
                return log_error_errno(r, "Failed to open the volume store %s: %m", volumes_dir);

        r = cgroup_backend_new(m->event, &m->host, &m->cgroups);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the %s cgroup backend: %m",
                                       quilt_backend_to_string(m->host.backend));

        r = network_new(m, &m->network);
        if (r < 0)
                return r;
        r = runtime_new(m, &m->runtime);
        if (r < 0)
                return r;

        /* Before READY=1: every command must see containers as they really are. */
        return runtime_reconcile(m->runtime);
}

int manager_startup(Manager *m) {
        _cleanup_free_ char *db_path = NULL;
        int r;

        r = manager_setup_directories(m);
        if (r < 0)
                return r;

        if (asprintf(&db_path, "%s/quilt.db", m->config->state_dir) < 0)
                return log_oom();
        r = store_open(db_path, &m->store);
        if (r < 0)
                return log_error_errno(r, "Failed to open the database %s: %m", db_path);

        /* Before the runtime: reconciling running containers puts their names back. */
        r = manager_setup_dns(m);
        if (r < 0)
                return r;
        /* Before the runtime: reconciling records the deaths that happened meanwhile. */
        r = events_new(m, &m->events);
        if (r < 0)
                return log_oom();

        r = manager_setup_runtime(m);
        if (r < 0)
                return r;

        r = api_grpc_new(m, api_quilt_service(), &m->grpc);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the gRPC server: %m");
        r = api_http_new(m, api_quilt_service(), &m->http);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the HTTP server: %m");

        r = manager_listen(m);
        if (r < 0)
                return r;

        manager_arm_idle_timer(m);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        log_info("quiltd ready: %s backend, cgroup %s, %s log driver, database schema %d%s.",
                 quilt_backend_to_string(m->host.backend), cgroup_layout_to_string(m->host.cgroup_layout),
                 container_log_driver_to_string(m->host.log_driver),
                 store_schema_version(m->store), m->socket_activated ? ", socket-activated" : "");
        (void) sd_notifyf(false, "READY=1\nSTATUS=Serving (%s backend).", quilt_backend_to_string(m->host.backend));

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}
