/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* StartContainer, StopContainer, KillContainer, RemoveContainer, WaitContainer: each
 * looks the container up, asks the runtime, and answers when the runtime is done. */

#include <signal.h>
#include <string.h>

#include "api-handlers.h"
#include "handler-container-util.h"
#include "manager.h"
#include "network.h"
#include "runtime.h"
#include "signal-util.h"
#include "store.h"

/* Replies of the shape { bool success = 1; string error_message = 2; ... }. */
static void reply_success(ApiCall *call) {
        const ProtobufCMessageDescriptor *d = call->method->descriptor->output;
        ProtobufCMessage *reply;
        int *success;

        reply = calloc(1, d->sizeof_message);
        if (!reply) {
                api_call_fail_errno(call, -ENOMEM, "out of memory");
                return;
        }
        protobuf_c_message_init(d, reply);

        /* Every string field starts as the shared empty default; give each its own heap
         * copy so the reply is freed like any other. */
        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = d->fields + i;
                void *member = (char *) reply + f->offset;

                if (f->label != PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_STRING &&
                    !(*(char **) member = strdup(""))) {
                        protobuf_c_message_free_unpacked(reply, NULL);
                        api_call_fail_errno(call, -ENOMEM, "out of memory");
                        return;
                }
                if (streq(f->name, "success") && f->type == PROTOBUF_C_TYPE_BOOL) {
                        success = member;
                        *success = true;
                }
        }
        api_call_reply(call, reply);
}

static void on_done(int error, const char *message, void *userdata) {
        ApiCall *call = userdata;

        if (error < 0)
                api_call_fail_errno(call, error, "%s", message ?: strerror(-error));
        else
                reply_success(call);
}

int api_start_container(Manager *m, ApiCall *call) {
        const Quilt__StartContainerRequest *req = (const Quilt__StartContainerRequest *) call->request;
        _cleanup_(container_record_done) ContainerRecord c = {};
        int r;

        if (container_lookup(call, req->container_id, req->container_name, &c) < 0)
                return 0;
        if (runtime_is_live(m->runtime, c.id))
                return api_call_fail(call, QUILT_STATUS_FAILED_PRECONDITION, "container '%s' is already %s",
                                     c.name, container_state_to_string(c.state));

        r = runtime_start(m->runtime, c.id, on_done, call);
        if (r == -ENOSPC) {
                _cleanup_free_ char *msg = network_pool_exhausted_message(m->network);

                return api_call_fail(call, QUILT_STATUS_RESOURCE_EXHAUSTED, "failed to start container '%s': %s",
                                     c.name, msg ?: "the container network's address pool is exhausted");
        }
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to start container '%s': %m", c.name);
        return 0;
}

int api_stop_container(Manager *m, ApiCall *call) {
        const Quilt__StopContainerRequest *req = (const Quilt__StopContainerRequest *) call->request;
        _cleanup_(container_record_done) ContainerRecord c = {};
        uint64_t grace;
        int r;

        if (req->timeout_seconds < 0)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT,
                                     "invalid timeout %d s: it must not be negative", req->timeout_seconds);
        if (container_lookup(call, req->container_id, req->container_name, &c) < 0)
                return 0;

        if (req->grace_present_case == QUILT__STOP_CONTAINER_REQUEST__GRACE_PRESENT_GRACE_SECONDS)
                grace = (uint64_t) req->grace_seconds * USEC_PER_SEC;
        else if (req->timeout_seconds > 0)
                grace = (uint64_t) req->timeout_seconds * USEC_PER_SEC;
        else
                grace = RUNTIME_STOP_GRACE_DEFAULT_USEC;

        r = runtime_stop(m->runtime, c.id, grace, on_done, call);
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to stop container '%s': %m", c.name);
        return 0;
}

int api_kill_container(Manager *m, ApiCall *call) {
        const Quilt__KillContainerRequest *req = (const Quilt__KillContainerRequest *) call->request;
        _cleanup_(container_record_done) ContainerRecord c = {};
        int sig = SIGKILL, r;

        if (!isempty(req->signal)) {
                sig = signal_from_string(req->signal);
                if (sig < 0)
                        return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "unknown signal '%s'", req->signal);
        }
        if (container_lookup(call, req->container_id, req->container_name, &c) < 0)
                return 0;

        r = runtime_kill(m->runtime, c.id, sig);
        if (r == -ESRCH)
                return api_call_fail(call, QUILT_STATUS_FAILED_PRECONDITION, "container '%s' is not running (%s)",
                                     c.name, container_state_to_string(c.state));
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to signal container '%s': %m", c.name);
        reply_success(call);
        return 0;
}

int api_remove_container(Manager *m, ApiCall *call) {
        const Quilt__RemoveContainerRequest *req = (const Quilt__RemoveContainerRequest *) call->request;
        _cleanup_(container_record_done) ContainerRecord c = {};
        int r;

        if (container_lookup(call, req->container_id, req->container_name, &c) < 0)
                return 0;

        r = runtime_remove(m->runtime, c.id, req->force, on_done, call);
        if (r == -EBUSY)
                return api_call_fail(call, QUILT_STATUS_FAILED_PRECONDITION,
                                     "container '%s' is %s: stop it first, or remove it with force", c.name,
                                     container_state_to_string(c.state));
        if (r < 0)
                return api_call_fail_errno(call, r, "failed to remove container '%s': %m", c.name);
        return 0;
}

typedef struct WaitContext {
        ApiCall *call;
        char *id;
} WaitContext;

static void wait_context_free(WaitContext *ctx) {
        if (ctx->call)
                ctx->call->handler_data = NULL;
        free(ctx->id);
        free(ctx);
}

static void on_wait_done(int error, const char *message, void *userdata);

/* The client went away: a wait can take forever, so the waiter goes at once. */
static void on_wait_cancel(ApiCall *call) {
        WaitContext *ctx = call->handler_data;

        (void) runtime_unwait(call->manager->runtime, ctx->id, on_wait_done, ctx);
        wait_context_free(ctx);
        api_call_fail(call, QUILT_STATUS_CANCELLED, "the client went away");
}

static void on_wait_done(int error, const char *message, void *userdata) {
        WaitContext *ctx = userdata;
        ApiCall *call = ctx->call;
        _cleanup_(container_record_done) ContainerRecord c = {};
        Quilt__WaitContainerResponse *reply;
        int r;

        r = error < 0 ? error : store_container_get(call->manager->store, ctx->id, &c);
        if (r == -ENOENT)
                /* Removed on exit (--rm): nothing is left to tell. */
                api_call_fail(call, QUILT_STATUS_NOT_FOUND, "container %s was removed when it exited", ctx->id);
        else if (r < 0)
                api_call_fail_errno(call, r, "%s", message ?: "failed to read the container's exit");
        else if (!(reply = new0(Quilt__WaitContainerResponse, 1)))
                api_call_fail_errno(call, -ENOMEM, "out of memory");
        else {
                quilt__wait_container_response__init(reply);
                reply->status = container_status_to_proto(c.state);
                reply->exit_code = c.exit_code;
                reply->exit_signal = c.exit_signal;
                reply->oom_killed = c.oom_killed;
                reply->container_id = strdup(c.id);
                reply->error_message = strdup(strempty(c.error_message));
                if (!reply->container_id || !reply->error_message) {
                        protobuf_c_message_free_unpacked(&reply->base, NULL);
                        api_call_fail_errno(call, -ENOMEM, "out of memory");
                } else
                        api_call_reply(call, &reply->base);
        }
        ctx->call = NULL; /* answered: freed by its transport */
        wait_context_free(ctx);
}

int api_wait_container(Manager *m, ApiCall *call) {
        const Quilt__WaitContainerRequest *req = (const Quilt__WaitContainerRequest *) call->request;
        _cleanup_(container_record_done) ContainerRecord c = {};
        WaitContext *ctx;
        int r;

        if (container_lookup(call, req->container_id, req->container_name, &c) < 0)
                return 0;

        ctx = new0(WaitContext, 1);
        if (!ctx || !(ctx->id = strdup(c.id))) {
                free(ctx);
                return api_call_fail_errno(call, -ENOMEM, "out of memory");
        }
        ctx->call = call;
        call->handler_data = ctx;
        call->on_cancel = on_wait_cancel;

        /* May answer at once, when the container does not run. */
        r = runtime_wait(m->runtime, c.id, on_wait_done, ctx);
        if (r < 0) {
                wait_context_free(ctx);
                return api_call_fail_errno(call, r, "failed to wait for container '%s': %m", c.name);
        }
        return 0;
}
