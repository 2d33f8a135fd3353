/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <string.h>

#include "cgroup-backend.h"
#include "handler-container-util.h"
#include "manager.h"
#include "network.h"
#include "proto-map.h"
#include "runtime.h"
#include "store.h"
#include "store-volumes.h"
#include "strv.h"

int container_lookup(ApiCall *call, const char *container_id, const char *container_name, ContainerRecord *ret) {
        Manager *m = call->manager;
        _cleanup_free_ char *id = NULL;
        const char *ref = !isempty(container_name) ? container_name : container_id;
        int r;

        if (isempty(ref))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "no container given: set container_id (an id, a unique id prefix or a name)");

        r = store_container_resolve(m->store, ref, &id);
        /* By name means by name: a name-shaped id prefix must not match. */
        if (r >= 0 && !isempty(container_name)) {
                r = store_container_get(m->store, id, ret);
                if (r >= 0 && !streq(ret->name, container_name)) {
                        container_record_done(ret);
                        r = -ENOENT;
                }
        } else if (r >= 0)
                r = store_container_get(m->store, id, ret);

        if (r == -ENOENT)
                return api_call_fail(call, QUILT_STATUS_NOT_FOUND, "container '%s' not found", ref);
        if (r == -ENOTUNIQ)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "'%s' matches more than one container id; give more of the id", ref);
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to look up container '%s': %m", ref);
        return 0;
}

Quilt__ContainerStatus container_status_to_proto(ContainerState s) {
        switch (s) {
        case CONTAINER_RUNNING:
                return QUILT__CONTAINER_STATUS__RUNNING;
        case CONTAINER_EXITED:
                return QUILT__CONTAINER_STATUS__EXITED;
        case CONTAINER_FAILED:
                return QUILT__CONTAINER_STATUS__FAILED;
        default:
                return QUILT__CONTAINER_STATUS__PENDING;
        }
}

static char *strdup_or_empty(const char *s) {
        return strdup(strempty(s));
}

static Quilt__Mount *mount_to_proto(const ContainerMount *cm) {
        _cleanup_proto_ ProtobufCMessage *owned = NULL;
        Quilt__Mount *p;
        char buf[32];

        p = new0(Quilt__Mount, 1);
        if (!p)
                return NULL;
        quilt__mount__init(p);
        owned = &p->base;

        p->type = cm->type == CONTAINER_MOUNT_VOLUME ? QUILT__MOUNT_TYPE__VOLUME
                  : cm->type == CONTAINER_MOUNT_TMPFS ? QUILT__MOUNT_TYPE__TMPFS
                                                      : QUILT__MOUNT_TYPE__BIND;
        p->readonly = cm->readonly;
        if (!(p->target = strdup_or_empty(cm->target)))
                return NULL;
        if (cm->subpath ? asprintf(&p->source, "%s/%s", cm->source, cm->subpath) < 0
                        : !(p->source = strdup_or_empty(cm->source))) {
                p->source = NULL;
                return NULL;
        }
        if (cm->type == CONTAINER_MOUNT_TMPFS) {
                (void) snprintf(buf, sizeof buf, "%" PRIu64, cm->size);
                if (proto_map_put((void ***) &p->options, &p->n_options, &quilt__mount__options_entry__descriptor,
                                  "size", buf) < 0)
                        return NULL;
                (void) snprintf(buf, sizeof buf, "%04o", (unsigned) cm->mode);
                if (proto_map_put((void ***) &p->options, &p->n_options, &quilt__mount__options_entry__descriptor,
                                  "mode", buf) < 0 ||
                    proto_map_put((void ***) &p->options, &p->n_options, &quilt__mount__options_entry__descriptor,
                                  "exec", cm->exec ? "true" : "false") < 0)
                        return NULL;
        }
        TAKE_PTR(owned);
        return p;
}

static int container_info_add_mounts(Manager *m, Quilt__ContainerInfo *info, const char *id) {
        ContainerMount *mounts = NULL;
        size_t n = 0;
        int r;

        r = store_container_mounts_get(m->store, id, &mounts, &n);
        if (r < 0)
                return r;
        info->mounts = new0(Quilt__Mount *, MAX(n, (size_t) 1));
        if (!info->mounts) {
                container_mount_array_free(mounts, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                info->mounts[i] = mount_to_proto(mounts + i);
                if (!info->mounts[i]) {
                        container_mount_array_free(mounts, n);
                        return -ENOMEM;
                }
                info->n_mounts++;
        }
        container_mount_array_free(mounts, n);
        return 0;
}

Quilt__ContainerInfo *container_info_from_record(Manager *m, const ContainerRecord *c) {
        _cleanup_proto_ ProtobufCMessage *owned = NULL;
        Quilt__ContainerInfo *info;
        char address[INET_ADDRSTRLEN];

        info = new0(Quilt__ContainerInfo, 1);
        if (!info)
                return NULL;
        quilt__container_info__init(info);
        owned = &info->base;

        info->status = container_status_to_proto(c->state);
        info->pid = c->pid;
        info->exit_code = c->exit_code;
        info->exit_signal = c->exit_signal;
        info->oom_killed = c->oom_killed;
        info->created_at = c->created_usec / USEC_PER_SEC;
        info->started_at = c->started_usec / USEC_PER_SEC;
        info->exited_at = c->exited_usec / USEC_PER_SEC;
        info->memory_limit_bytes = c->memory_limit_bytes;
        info->cpu_limit_percent = (float) c->cpu_quota_percent;
        info->pids_limit = c->pids_limit;
        info->auto_remove = c->ephemeral;
        info->async_mode = c->async_mode;
        info->monitor_pid = c->monitor_pid;

        (void) network_container_address(m->network, c->id, address);

        /* protobuf-c wants "" rather than NULL for unset strings in messages it frees. */
        if (!(info->container_id = strdup_or_empty(c->id)) || !(info->name = strdup_or_empty(c->name)) ||
            !(info->rootfs_path = strdup_or_empty(c->rootfs_path)) || !(info->ip_address = strdup(address)) ||
            !(info->network = strdup_or_empty(container_network_to_string(c->network))) ||
            !(info->image = strdup_or_empty(c->image)) ||
            !(info->working_directory = strdup_or_empty(c->working_directory)) ||
            !(info->user = strdup_or_empty(c->user)) || !(info->error_message = strdup_or_empty(c->error_message)) ||
            !(info->log_driver = strdup_or_empty(container_log_driver_to_string(c->log_driver))))
                return NULL;

        if (!(info->command = strv_copy(c->command)) || !(info->host_namespaces = strv_copy(c->host_namespaces)))
                return NULL;
        info->n_command = strv_length(info->command);
        info->n_host_namespaces = strv_length(info->host_namespaces);

        for (char **i = c->labels; i && i[0] && i[1]; i += 2)
                if (proto_map_put((void ***) &info->labels, &info->n_labels,
                                  &quilt__container_info__labels_entry__descriptor, i[0], i[1]) < 0)
                        return NULL;
        for (char **i = c->environment; i && *i; i++) {
                const char *eq = strchr(*i, '=');
                _cleanup_free_ char *key = eq ? strndup(*i, eq - *i) : NULL;

                if (!key || proto_map_put((void ***) &info->environment, &info->n_environment,
                                          &quilt__container_info__environment_entry__descriptor, key, eq + 1) < 0)
                        return NULL;
        }

        if (container_info_add_mounts(m, info, c->id) < 0)
                return NULL;

        if (cgroup_backend_display_path(m->cgroups, c->id, &info->cgroup) < 0)
                info->cgroup = strdup("");
        if (!info->cgroup)
                return NULL;

        TAKE_PTR(owned);
        return info;
}
