/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* CreateContainer: validate everything first (a bad request leaves nothing behind), then
 * hand a complete row to the runtime. A synchronous create answers once the command runs;
 * if it cannot start, the answer says why and the container is gone again. */

#include <math.h>
#include <string.h>
#include <sys/sysinfo.h>

#include <systemd/sd-id128.h>

#include "api-handlers.h"
#include "container-spec.h"
#include "handler-container-util.h"
#include "image-store.h"
#include "manager.h"
#include "mount-resolve.h"
#include "name-util.h"
#include "network.h"
#include "runtime.h"
#include "strv.h"
#include "time-util.h"

#define MEMORY_DEFAULT_MB 512
#define MEMORY_MIN_MB 6 /* below this not even init and a shell start */
#define CPU_DEFAULT_PERCENT 50.0
#define PIDS_DEFAULT 1024

typedef struct CreateContext {
        ApiCall *call;
        char *id;
} CreateContext;

static void create_context_free(CreateContext *ctx) {
        if (!ctx)
                return;
        free(ctx->id);
        free(ctx);
}

static int reply_created(ApiCall *call, const char *id) {
        Quilt__CreateContainerResponse *reply;

        reply = new0(Quilt__CreateContainerResponse, 1);
        if (!reply)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        quilt__create_container_response__init(reply);
        reply->success = true;
        reply->container_id = strdup(id);
        reply->error_message = strdup("");
        if (!reply->container_id || !reply->error_message) {
                protobuf_c_message_free_unpacked(&reply->base, NULL);
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }
        api_call_reply(call, &reply->base);
        return 0;
}

static void on_started(int error, const char *message, void *userdata) {
        CreateContext *ctx = userdata;

        if (error < 0)
                api_call_fail(ctx->call, QUILT_STATUS_FAILED_PRECONDITION, "container failed to start: %s",
                              message ?: strerror(-error));
        else
                (void) reply_created(ctx->call, ctx->id);
        create_context_free(ctx);
}

static int generate_id(char **ret) {
        sd_id128_t id;
        int r;

        /* sd_id128_randomize() gives a v4 UUID; written the usual way, with dashes. */
        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        return asprintf(ret,
                        "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", id.bytes[0],
                        id.bytes[1], id.bytes[2], id.bytes[3], id.bytes[4], id.bytes[5], id.bytes[6], id.bytes[7],
                        id.bytes[8], id.bytes[9], id.bytes[10], id.bytes[11], id.bytes[12], id.bytes[13],
                        id.bytes[14], id.bytes[15]) < 0
                       ? -ENOMEM
                       : 0;
}

/* Fills the record's limits from the request, or answers the call with what is wrong. */
static int validate_limits(ApiCall *call, const Quilt__CreateContainerRequest *req, ContainerRecord *c) {
        int ncpus = get_nprocs();

        if (req->memory_limit_mb < 0)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid memory limit %d MiB: it must be positive (0 means the default, %d MiB)",
                                     req->memory_limit_mb, MEMORY_DEFAULT_MB);
        if (req->memory_limit_mb > 0 && req->memory_limit_mb < MEMORY_MIN_MB)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid memory limit %d MiB: the minimum is %d MiB", req->memory_limit_mb,
                                     MEMORY_MIN_MB);
        c->memory_limit_bytes = (uint64_t) (req->memory_limit_mb ?: MEMORY_DEFAULT_MB) * 1024 * 1024;

        if (!isfinite(req->cpu_limit_percent) || req->cpu_limit_percent < 0)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid CPU limit %g%%: it must be positive (0 means the default, %g%%)",
                                     (double) req->cpu_limit_percent, CPU_DEFAULT_PERCENT);
        if (req->cpu_limit_percent > 100.0f * (float) ncpus)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid CPU limit %g%%: this host has %d CPUs, so at most %d%%",
                                     (double) req->cpu_limit_percent, ncpus, 100 * ncpus);
        /* Below 1 % the scheduler's granularity makes the quota meaningless. */
        if (req->cpu_limit_percent > 0 && req->cpu_limit_percent < 1.0f)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid CPU limit %g%%: the minimum is 1%%", (double) req->cpu_limit_percent);
        c->cpu_quota_percent = req->cpu_limit_percent > 0 ? (double) req->cpu_limit_percent : CPU_DEFAULT_PERCENT;

        if (req->pids_limit < 0)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid pids limit %lld: it must be positive (0 means the default, %d)",
                                     (long long) req->pids_limit, PIDS_DEFAULT);
        c->pids_limit = req->pids_limit ?: PIDS_DEFAULT;
        return 0;
}

static int validate_process(ApiCall *call, const Quilt__CreateContainerRequest *req, ContainerRecord *c) {
        size_t n;

        if (req->n_command == 0 && !req->async_mode)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "a command is required (or use async mode for a container that waits for exec)");
        if (req->n_command > 0 && isempty(req->command[0]))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "the command's first word is empty");
        if (req->n_setup_commands > 0)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "setup_commands are not supported: run setup steps with exec once the "
                                     "container runs");
        if (!isempty(req->working_directory) && req->working_directory[0] != '/')
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid working directory '%s': it must be an absolute path",
                                     req->working_directory);
        if (!isempty(req->user) && !container_user_is_valid(req->user))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid user '%s': expected UID[:GID] or NAME[:GROUP]", req->user);

        if (!(c->command = strv_copy_n(req->command, req->n_command)))
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        c->environment = new0(char *, req->n_environment + 1);
        if (!c->environment)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        for (n = 0; n < req->n_environment; n++) {
                const char *key = req->environment[n]->key, *value = req->environment[n]->value;

                if (!env_name_is_valid(key))
                        return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                             "invalid environment variable name '%s'", strempty(key));
                if (asprintf(&c->environment[n], "%s=%s", key, strempty(value)) < 0) {
                        c->environment[n] = NULL;
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
                }
        }

        c->labels = new0(char *, 2 * req->n_labels + 1);
        if (!c->labels)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        for (n = 0; n < req->n_labels; n++) {
                if (isempty(req->labels[n]->key))
                        return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "a label has an empty key");
                if (!(c->labels[2 * n] = strdup(req->labels[n]->key)) ||
                    !(c->labels[2 * n + 1] = strdup(strempty(req->labels[n]->value))))
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }

        if ((!isempty(req->working_directory) && !(c->working_directory = strdup(req->working_directory))) ||
            (!isempty(req->user) && !(c->user = strdup(req->user))))
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        return 0;
}

static int validate_namespaces(ApiCall *call, const Quilt__CreateContainerRequest *req, ContainerRecord *c) {
        unsigned seen = 0;
        size_t n = 0;

        c->host_namespaces = new0(char *, req->n_host_namespaces + 1);
        if (!c->host_namespaces)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        for (size_t i = 0; i < req->n_host_namespaces; i++) {
                ContainerNamespace ns = container_namespace_from_string(req->host_namespaces[i]);

                if (ns == CONTAINER_NS_MOUNT)
                        return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                             "the mount namespace cannot be shared with the host");
                if (ns == 0)
                        return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                             "unknown namespace '%s' (expected pid, uts, ipc, network or cgroup)",
                                             req->host_namespaces[i]);
                if (seen & ns)
                        continue;
                seen |= ns;
                /* Stored by canonical name, so "net" and "network" are one thing. */
                if (!(c->host_namespaces[n++] = strdup(container_namespace_to_string(ns))))
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }
        return 0;
}

/* network and host_namespaces say the same thing about the host's namespace; "host" adds
 * it to host_namespaces, and an empty network follows host_namespaces. */
static int validate_network(ApiCall *call, const Quilt__CreateContainerRequest *req, ContainerRecord *c) {
        bool host = false;
        size_t n = 0;

        for (char **i = c->host_namespaces; i && *i; i++, n++)
                if (container_namespace_from_string(*i) == CONTAINER_NS_NET)
                        host = true;

        if (isempty(req->network)) {
                c->network = host ? CONTAINER_NETWORK_HOST : CONTAINER_NETWORK_QUILT;
                return 0;
        }
        c->network = container_network_from_string(req->network);
        if (c->network < 0)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "unknown network '%s' (expected quilt, none or host)", req->network);
        if (host && c->network != CONTAINER_NETWORK_HOST)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "network '%s' conflicts with sharing the host's network namespace "
                                     "(host_namespaces has \"network\")",
                                     req->network);
        if (c->network == CONTAINER_NETWORK_HOST && !host) {
                char **l = realloc(c->host_namespaces, (n + 2) * sizeof(char *));

                if (!l)
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
                c->host_namespaces = l;
                l[n] = strdup(container_namespace_to_string(CONTAINER_NS_NET));
                l[n + 1] = NULL;
                if (!l[n])
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }
        return 0;
}

static int validate_identity(ApiCall *call, const Quilt__CreateContainerRequest *req, ContainerRecord *c) {
        int r;

        r = generate_id(&c->id);
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to generate a container id: %m");

        if (isempty(req->name)) {
                if (asprintf(&c->name, "quilt-%.8s", c->id) < 0)
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
        } else if (!container_name_is_valid(req->name))
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid container name '%s': use 1-%d letters, digits and '-', not starting "
                                     "or ending with '-' (it becomes the hostname and DNS name)",
                                     req->name, CONTAINER_NAME_MAX);
        else if (!(c->name = strdup(req->name)))
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        return 0;
}

typedef struct MountRequests {
        MountRequest *reqs;
        char ***options; /* per request, key, value, ... */
        size_t n;
        size_t n_strings; /* the first n_strings came from `volumes` and own their strings */
} MountRequests;

static void mount_requests_done(MountRequests *l) {
        for (size_t i = 0; i < l->n; i++) {
                if (i < l->n_strings)
                        mount_request_done(l->reqs + i);
                strv_free(l->options[i]);
        }
        free(l->reqs);
        free(l->options);
        *l = (MountRequests) {};
}

/* The request's mounts (the SDK's volume strings first, then the mounts field) checked
 * and resolved into what the container records, or the call answered with why not.
 * Nothing is created here: a named volume is created on first use by runtime_create(). */
static int validate_mounts(ApiCall *call, const Quilt__CreateContainerRequest *req, ContainerMount **ret,
                           size_t *ret_n) {
        _cleanup_(mount_requests_done) MountRequests l = {};
        _cleanup_free_ char *error = NULL;
        size_t total = req->n_volumes + req->n_mounts;
        int r;

        l.reqs = new0(MountRequest, MAX(total, (size_t) 1));
        l.options = new0(char **, MAX(total, (size_t) 1));
        if (!l.reqs || !l.options)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        for (size_t i = 0; i < req->n_volumes; i++) {
                r = mount_request_from_volume_string(req->volumes[i], l.reqs + l.n, &error);
                if (r < 0)
                        return api_call_fail_errno(call, r, "%s", error ?: "out of memory");
                l.n++;
                l.n_strings++;
        }
        for (size_t i = 0; i < req->n_mounts; i++) {
                const Quilt__Mount *p = req->mounts[i];
                MountRequest *mr = l.reqs + l.n;
                char **opts;

                switch (p->type) {
                case QUILT__MOUNT_TYPE__BIND:
                        mr->type = CONTAINER_MOUNT_BIND;
                        break;
                case QUILT__MOUNT_TYPE__VOLUME:
                        mr->type = CONTAINER_MOUNT_VOLUME;
                        break;
                case QUILT__MOUNT_TYPE__TMPFS:
                        mr->type = CONTAINER_MOUNT_TMPFS;
                        break;
                default:
                        return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                             "Mount validation failed: unknown mount type %d", (int) p->type);
                }
                opts = l.options[l.n] = new0(char *, 2 * p->n_options + 1);
                if (!opts)
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
                for (size_t j = 0; j < p->n_options; j++)
                        if (!(opts[2 * j] = strdup(strempty(p->options[j]->key))) ||
                            !(opts[2 * j + 1] = strdup(strempty(p->options[j]->value))))
                                return api_call_fail_errno(call, -ENOMEM, "out of memory");
                mr->source = p->source;
                mr->target = p->target;
                mr->readonly = p->readonly;
                mr->options = opts;
                l.n++;
        }

        r = mounts_resolve(call->manager->volumes, call->manager->config, l.reqs, l.n, ret, ret_n, &error);
        if (r < 0)
                return api_call_fail_errno(call, r, "%s", error ?: "out of memory");
        return 0;
}

typedef struct MountList {
        ContainerMount *mounts;
        size_t n;
} MountList;

static void mount_list_done(MountList *l) {
        container_mount_array_free(l->mounts, l->n);
        *l = (MountList) {};
}

int api_create_container(Manager *m, ApiCall *call) {
        const Quilt__CreateContainerRequest *req = (const Quilt__CreateContainerRequest *) call->request;
        _cleanup_(container_record_done) ContainerRecord c = {};
        _cleanup_(mount_list_done) MountList mounts = {};
        _cleanup_free_ char *image_error = NULL, *state_dir = NULL;
        CreateContext *ctx = NULL;
        int r;

        /* Mounts before the image: resolving an image path may import it. */
        if (validate_identity(call, req, &c) < 0 || validate_limits(call, req, &c) < 0 ||
            validate_process(call, req, &c) < 0 || validate_namespaces(call, req, &c) < 0 ||
            validate_network(call, req, &c) < 0 || validate_mounts(call, req, &mounts.mounts, &mounts.n) < 0)
                return 0;

        r = image_store_resolve(m->images, req->image_path, &c.image, &c.image_rootfs, &image_error);
        if (r < 0)
                return api_call_fail_errno(call, r, "%s", image_error ?: "could not resolve the image");

        r = runtime_state_dir(m->runtime, c.id, &state_dir);
        if (r < 0 || asprintf(&c.rootfs_path, "%s/rootfs", state_dir) < 0)
                return api_call_fail_errno(call, -ENOMEM, "out of memory");

        c.state = CONTAINER_PENDING;
        c.async_mode = req->async_mode;
        c.ephemeral = req->auto_remove;
        c.created_usec = now_usec(CLOCK_REALTIME);

        if (!req->async_mode) {
                ctx = new0(CreateContext, 1);
                if (!ctx || !(ctx->id = strdup(c.id))) {
                        create_context_free(ctx);
                        return api_call_fail_errno(call, -ENOMEM, "out of memory");
                }
                ctx->call = call;
        }

        r = runtime_create(m->runtime, &c, mounts.mounts, mounts.n, !req->async_mode, ctx ? on_started : NULL, ctx);
        if (r == -EEXIST) {
                create_context_free(ctx);
                return api_call_fail(call, QUILT_STATUS_ALREADY_EXISTS, "a container named '%s' already exists",
                                     c.name);
        }
        if (r == -ENOSPC) {
                _cleanup_free_ char *msg = network_pool_exhausted_message(m->network);

                create_context_free(ctx);
                return api_call_fail(call, QUILT_STATUS_RESOURCE_EXHAUSTED, "%s",
                                     msg ?: "the container network's address pool is exhausted");
        }
        if (r < 0) {
                create_context_free(ctx);
                return api_call_fail_errno(call, r, "failed to create the container: %m");
        }

        /* Async: the id now; the container's fate shows in its status. */
        if (req->async_mode)
                return reply_created(call, c.id);
        return 0;
}
