/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* quiltd's one object: the event loop and everything that hangs off it. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "config.h"
#include "host.h"
#include "macro.h"

typedef struct ApiGrpc ApiGrpc;
typedef struct ApiHttp ApiHttp;
typedef struct CgroupBackend CgroupBackend;
typedef struct DnsServer DnsServer;
typedef struct Events Events;
typedef struct ImageStore ImageStore;
typedef struct Network Network;
typedef struct Runtime Runtime;
typedef struct Store Store;
typedef struct VolumeStore VolumeStore;

typedef struct Manager {
        sd_event *event;
        QuiltConfig *config;
        Store *store;
        Events *events;
        ImageStore *images;
        VolumeStore *volumes;
        CgroupBackend *cgroups;
        Network *network;
        Runtime *runtime;
        /* The DNS server for containers; created at start-up with the configured upstreams.
         * The network code makes it listen on the bridge address (DNSPort=) and adds and
         * removes containers' names. */
        DnsServer *dns;
        ApiGrpc *grpc;
        ApiHttp *http;
        HostInfo host;

        uint64_t start_realtime_usec;
        uint64_t start_monotonic_usec;

        /* Sockets passed by systemd, until manager_listen() hands them to the transports. */
        int *activation_fds;
        char **activation_names;
        size_t n_activation_fds;

        unsigned n_calls_in_flight;
        sd_event_source *idle_timer;
        bool socket_activated;
        bool exiting;
} Manager;

int manager_new(QuiltConfig *config, Manager **ret); /* takes config */
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Opens the database, reconciles state, sets up the listeners. */
int manager_startup(Manager *m);
int manager_run(Manager *m);

/* Called by api_call_new()/api_call_free(): an idle daemon may exit (IdleExitSec=) only
 * while nothing is in flight. */
void manager_call_started(Manager *m);
void manager_call_finished(Manager *m);
