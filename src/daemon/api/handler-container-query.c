/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* GetContainerStatus, GetContainerByName, ListContainers: reads of the database (and of
 * the cgroup of a container), never changes. GetContainerLogs is in handler-container-logs.c. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api-handlers.h"
#include "cgroup-backend.h"
#include "handler-container-util.h"
#include "manager.h"
#include "runtime.h"
#include "store.h"

int api_get_container_status(Manager *m, ApiCall *call) {
        const Quilt__GetContainerStatusRequest *req = (const Quilt__GetContainerStatusRequest *) call->request;
        _cleanup_(container_record_done) ContainerRecord c = {};
        _cleanup_proto_ ProtobufCMessage *owned = NULL;
        Quilt__GetContainerStatusResponse *reply;

        if (container_lookup(call, req->container_id, req->container_name, &c) < 0)
                return 0;

        reply = new0(Quilt__GetContainerStatusResponse, 1);
        if (!reply)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        quilt__get_container_status_response__init(reply);
        owned = &reply->base;

        reply->container = container_info_from_record(m, &c);
        if (!reply->container)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        reply->status = reply->container->status;
        reply->exit_code = c.exit_code;
        reply->exit_signal = c.exit_signal;
        reply->oom_killed = c.oom_killed;
        reply->pid = c.pid;
        reply->created_at = reply->container->created_at;
        reply->started_at = reply->container->started_at;
        reply->exited_at = reply->container->exited_at;
        if (runtime_is_live(m->runtime, c.id))
                (void) cgroup_backend_memory_usage(m->cgroups, c.id, &reply->memory_usage_bytes);

        if (!(reply->container_id = strdup(c.id)) || !(reply->name = strdup(c.name)) ||
            !(reply->error_message = strdup(strempty(c.error_message))) ||
            !(reply->rootfs_path = strdup(strempty(c.rootfs_path))) || !(reply->ip_address = strdup(reply->container->ip_address)))
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        api_call_reply(call, TAKE_PTR(owned));
        return 0;
}

int api_get_container_by_name(Manager *m, ApiCall *call) {
        const Quilt__GetContainerByNameRequest *req = (const Quilt__GetContainerByNameRequest *) call->request;
        _cleanup_(container_record_done) ContainerRecord c = {};
        Quilt__GetContainerByNameResponse *reply;

        if (isempty(req->name))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "no name given");
        if (container_lookup(call, NULL, req->name, &c) < 0)
                return 0;

        reply = new0(Quilt__GetContainerByNameResponse, 1);
        if (!reply)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        quilt__get_container_by_name_response__init(reply);
        reply->found = true;
        reply->container_id = strdup(c.id);
        reply->error_message = strdup("");
        if (!reply->container_id || !reply->error_message) {
                protobuf_c_message_free_unpacked(&reply->base, NULL);
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }
        api_call_reply(call, &reply->base);
        return 0;
}

static bool labels_match(const ContainerRecord *c, Quilt__ListContainersRequest__LabelFilterEntry **filter,
                         size_t n) {
        for (size_t i = 0; i < n; i++) {
                bool found = false;

                for (char **l = c->labels; l && l[0] && l[1] && !found; l += 2)
                        found = streq(l[0], filter[i]->key) &&
                                (isempty(filter[i]->value) || streq(l[1], filter[i]->value));
                if (!found)
                        return false;
        }
        return true;
}

int api_list_containers(Manager *m, ApiCall *call) {
        const Quilt__ListContainersRequest *req = (const Quilt__ListContainersRequest *) call->request;
        _cleanup_proto_ ProtobufCMessage *owned = NULL;
        Quilt__ListContainersResponse *reply;
        ContainerState state = _CONTAINER_STATE_INVALID;
        ContainerRecord *records = NULL;
        size_t n = 0;
        int r;

        if (req->state_filter_present_case == QUILT__LIST_CONTAINERS_REQUEST__STATE_FILTER_PRESENT_STATE_FILTER &&
            !isempty(req->state_filter)) {
                state = container_state_from_string(req->state_filter);
                if (state < 0)
                        return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                             "unknown state '%s' (expected pending, running, exited or failed)",
                                             req->state_filter);
        }

        r = store_container_list(m->store, state, &records, &n);
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to list containers: %m");

        reply = new0(Quilt__ListContainersResponse, 1);
        if (!reply) {
                container_record_array_free(records, n);
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }
        quilt__list_containers_response__init(reply);
        owned = &reply->base;
        reply->containers = new0(Quilt__ContainerInfo *, n ?: 1);
        if (!reply->containers) {
                container_record_array_free(records, n);
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }

        for (size_t i = 0; i < n; i++) {
                Quilt__ContainerInfo *info;

                if (!isempty(req->name_filter) && !strstr(records[i].name, req->name_filter))
                        continue;
                if (!labels_match(records + i, req->label_filter, req->n_label_filter))
                        continue;
                info = container_info_from_record(m, records + i);
                if (!info) {
                        container_record_array_free(records, n);
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
                }
                reply->containers[reply->n_containers++] = info;
        }
        container_record_array_free(records, n);

        api_call_reply(call, TAKE_PTR(owned));
        return 0;
}
