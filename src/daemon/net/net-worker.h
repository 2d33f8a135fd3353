/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One thread that does the network's blocking work (netlink, nftables, sysctls) in order,
 * so that the event loop never waits for the kernel's RTNL lock and operations on the
 * bridge, the veths and the firewall never race each other. The thread starts with the
 * first job. Finished jobs come back to the event loop through an eventfd, in the order
 * they were submitted.
 *
 * A job embeds NetJob as its first member. run() runs on the worker thread and may only
 * touch the job (and state that only the worker uses); done() runs on the event loop and
 * frees the job. When the worker is freed, jobs that have not been delivered are done()
 * with cancelled set, and must then only be freed. */

#include <stdbool.h>

#include <systemd/sd-event.h>

#include "macro.h"

typedef struct NetJob NetJob;
typedef struct NetWorker NetWorker;

struct NetJob {
        void (*run)(NetJob *job);
        void (*done)(NetJob *job);
        bool cancelled;
        NetJob *next;
};

int net_worker_new(sd_event *event, NetWorker **ret);
NetWorker *net_worker_free(NetWorker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(NetWorker *, net_worker_free);

/* Takes the job. -errno when the thread cannot be started; the job is not taken then. */
int net_worker_submit(NetWorker *w, NetJob *job);
