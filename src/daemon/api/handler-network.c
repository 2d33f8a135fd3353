/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* ListNetworkAllocations, GetContainerNetwork, ComprehensiveNetworkCleanup: the container
 * network from real state (the address table and what is set up now). */

#include <arpa/inet.h>

#include "api-handlers.h"
#include "handler-container-util.h"
#include "ip-util.h"
#include "manager.h"
#include "net-nft.h"
#include "network.h"
#include "store-network.h"
#include "strv.h"

/* "active": the veth is up and the container runs; "allocated": an address kept for a
 * container that does not run (or whose network is being set up). */
static const char *allocation_status(Manager *m, const NetworkAllocation *a) {
        return a->setup_completed && a->container_state == CONTAINER_RUNNING &&
                               network_is_active(m->network, a->container_id)
                       ? "active"
                       : "allocated";
}

static Quilt__NetworkAllocation *allocation_to_proto(Manager *m, const NetworkAllocation *a) {
        _cleanup_proto_ ProtobufCMessage *owned = NULL;
        Quilt__NetworkAllocation *p;
        char address[INET_ADDRSTRLEN];

        p = new0(Quilt__NetworkAllocation, 1);
        if (!p)
                return NULL;
        quilt__network_allocation__init(p);
        owned = &p->base;

        p->setup_completed = a->setup_completed;
        p->allocation_time = (int64_t) (a->allocated_usec / USEC_PER_SEC);
        if (!(p->container_id = strdup(a->container_id)) ||
            !(p->ip_address = strdup(ipv4_to_string(a->address, address))) ||
            !(p->bridge_interface = strdup(network_bridge(m->network))) || !(p->veth_host = strdup(a->veth_host)) ||
            !(p->veth_container = strdup(NETWORK_CONTAINER_IFNAME)) || !(p->status = strdup(allocation_status(m, a))))
                return NULL;
        TAKE_PTR(owned);
        return p;
}

int api_list_network_allocations(Manager *m, ApiCall *call) {
        _cleanup_proto_ ProtobufCMessage *owned = NULL;
        Quilt__ListNetworkAllocationsResponse *reply;
        NetworkAllocation *a = NULL;
        size_t n = 0;
        int r;

        r = store_network_list(m->store, &a, &n);
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to list the network allocations: %m");

        reply = new0(Quilt__ListNetworkAllocationsResponse, 1);
        if (!reply) {
                network_allocation_array_free(a, n);
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }
        quilt__list_network_allocations_response__init(reply);
        owned = &reply->base;
        reply->allocations = new0(Quilt__NetworkAllocation *, MAX(n, (size_t) 1));
        if (!reply->allocations) {
                network_allocation_array_free(a, n);
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                reply->allocations[i] = allocation_to_proto(m, a + i);
                if (!reply->allocations[i]) {
                        network_allocation_array_free(a, n);
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
                }
                reply->n_allocations++;
        }
        network_allocation_array_free(a, n);

        api_call_reply(call, TAKE_PTR(owned));
        return 0;
}

int api_get_container_network(Manager *m, ApiCall *call) {
        const Quilt__GetContainerNetworkRequest *req = (const Quilt__GetContainerNetworkRequest *) call->request;
        _cleanup_(container_record_done) ContainerRecord c = {};
        _cleanup_(network_allocation_done) NetworkAllocation a = {};
        _cleanup_proto_ ProtobufCMessage *owned = NULL;
        Quilt__GetContainerNetworkResponse *reply;
        Quilt__ContainerNetworkConfig *cfg;
        char address[INET_ADDRSTRLEN] = "";
        const char *status;
        bool have;
        int r;

        if (container_lookup(call, req->container_id, NULL, &c) < 0)
                return 0;

        r = store_network_get(m->store, c.id, &a);
        if (r < 0 && r != -ENOENT)
                return api_call_fail_errno(call, r, "failed to read the network of container %s: %m", c.name);
        have = r >= 0;
        if (have) {
                (void) ipv4_to_string(a.address, address);
                status = allocation_status(m, &a);
        } else
                /* A container without an address is not on the bridge: say how it is networked. */
                status = c.network == CONTAINER_NETWORK_HOST ? "host" : "none";

        reply = new0(Quilt__GetContainerNetworkResponse, 1);
        cfg = new0(Quilt__ContainerNetworkConfig, 1);
        if (!reply || !cfg) {
                free(reply);
                free(cfg);
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }
        quilt__get_container_network_response__init(reply);
        quilt__container_network_config__init(cfg);
        owned = &reply->base;
        reply->network_config = cfg;
        reply->success = true;
        cfg->setup_completed = have && a.setup_completed;
        if (!(reply->error_message = strdup("")) || !(cfg->ip_address = strdup(address)) ||
            !(cfg->bridge_interface = strdup(have ? network_bridge(m->network) : "")) ||
            !(cfg->veth_host = strdup(have ? a.veth_host : "")) ||
            !(cfg->veth_container = strdup(have ? NETWORK_CONTAINER_IFNAME : "")) || !(cfg->status = strdup(status)))
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        api_call_reply(call, TAKE_PTR(owned));
        return 0;
}

static void on_pruned(int error, const char *message, char **removed, void *userdata) {
        ApiCall *call = userdata;
        Quilt__ComprehensiveNetworkCleanupResponse *reply;

        if (error < 0) {
                api_call_fail(call, QUILT_STATUS_INTERNAL, "network cleanup failed: %s", message ?: strerror(-error));
                return;
        }

        reply = new0(Quilt__ComprehensiveNetworkCleanupResponse, 1);
        if (!reply) {
                api_call_fail_errno(call, -ENOMEM, "out of memory");
                return;
        }
        quilt__comprehensive_network_cleanup_response__init(reply);
        reply->success = true;
        reply->cleaned_resources = strv_copy(removed);
        reply->n_cleaned_resources = strv_length(reply->cleaned_resources);
        reply->error_message = strdup("");
        if (!reply->cleaned_resources || !reply->error_message) {
                protobuf_c_message_free_unpacked(&reply->base, NULL);
                api_call_fail_errno(call, -ENOMEM, "out of memory");
                return;
        }
        api_call_reply(call, &reply->base);
}

int api_comprehensive_network_cleanup(Manager *m, ApiCall *call) {
        unsigned n = network_n_active(m->network);
        int r;

        if (n > 0)
                return api_call_fail(call, QUILT_STATUS_FAILED_PRECONDITION,
                                     "the container network is in use by %u running container%s; nothing was "
                                     "removed (stop them first)",
                                     n, n == 1 ? "" : "s");
        r = network_prune(m->network, on_pruned, call);
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to clean up the container network: %m");
        return 0;
}
