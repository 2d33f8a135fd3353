/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>

#include "api-handlers.h"
#include "api.h"
#include "log.h"
#include "manager.h"
#include "quilt.pb-c.h"

/* Which RPCs have a handler. The method table itself comes from the service descriptor,
 * so it cannot drift from proto/quilt.proto; an RPC without an entry here is answered
 * UNIMPLEMENTED. */
static const struct {
        const char *name;
        ApiHandler handler;
} handlers[] = {
        { "GetHealth", api_get_health },
        { "GetSystemInfo", api_get_system_info },
        { "CreateContainer", api_create_container },
        { "GetContainerStatus", api_get_container_status },
        { "GetContainerLogs", api_get_container_logs },
        { "StopContainer", api_stop_container },
        { "RemoveContainer", api_remove_container },
        { "StartContainer", api_start_container },
        { "KillContainer", api_kill_container },
        { "GetContainerByName", api_get_container_by_name },
        { "ListContainers", api_list_containers },
        { "WaitContainer", api_wait_container },
        { "ListImages", api_list_images },
        { "ImportImage", api_import_image },
        { "RemoveImage", api_remove_image },
        { "CreateVolume", api_create_volume },
        { "RemoveVolume", api_remove_volume },
        { "ListVolumes", api_list_volumes },
        { "InspectVolume", api_inspect_volume },
        { "PruneVolumes", api_prune_volumes },
        { "ReadFile", api_read_file },
        { "WriteFile", api_write_file },
        { "ListFiles", api_list_files },
        /* DNS */
        { "ListDnsEntries", api_list_dns_entries },
};

/* protobuf-c does not record streaming in its descriptors. */
static const char *const server_streaming_methods[] = {
        "StreamEvents",
};

const ApiMethod *api_methods(size_t *ret_n) {
        static ApiMethod *table = NULL;
        const ProtobufCServiceDescriptor *service = &quilt__quilt_service__descriptor;

        if (!table) {
                table = calloc(service->n_methods, sizeof(ApiMethod));
                if (!table)
                        abort();

                for (unsigned i = 0; i < service->n_methods; i++) {
                        ApiMethod *method = &table[i];

                        method->name = service->methods[i].name;
                        method->descriptor = &service->methods[i];
                        for (size_t j = 0; j < ELEMENTSOF(handlers); j++)
                                if (streq(handlers[j].name, method->name))
                                        method->handler = handlers[j].handler;
                        for (size_t j = 0; j < ELEMENTSOF(server_streaming_methods); j++)
                                if (streq(server_streaming_methods[j], method->name))
                                        method->server_streaming = true;
                }
        }

        if (ret_n)
                *ret_n = service->n_methods;
        return table;
}

const ApiMethod *api_method_find(const char *name) {
        size_t n;
        const ApiMethod *table = api_methods(&n);

        for (size_t i = 0; i < n; i++)
                if (streq(table[i].name, name))
                        return &table[i];
        return NULL;
}

int api_call_new(Manager *m, const ApiMethod *method, ProtobufCMessage *request, const ApiPeer *peer,
                 ApiCall **ret) {
        ApiCall *call;

        call = calloc(1, sizeof(ApiCall));
        if (!call)
                return -ENOMEM;

        *call = (ApiCall) {
                .manager = m,
                .method = method,
                .request = request,
                .peer = peer ? *peer : (ApiPeer) {},
                .status = QUILT_STATUS_UNKNOWN,
        };

        manager_call_started(m);
        *ret = call;
        return 0;
}

ApiCall *api_call_free(ApiCall *call) {
        if (!call)
                return NULL;

        if (call->request)
                protobuf_c_message_free_unpacked(call->request, NULL);
        if (call->reply)
                protobuf_c_message_free_unpacked(call->reply, NULL);
        free(call->status_message);

        manager_call_finished(call->manager);
        return mfree(call);
}

static void api_call_answer(ApiCall *call) {
        /* Answering twice is a handler bug that would send two replies on one call. */
        if (call->answered) {
                log_error("BUG: %s answered twice, ignoring the second answer.", call->method->name);
                return;
        }
        call->answered = true;

        if (call->complete)
                call->complete(call);
        else
                api_call_free(call);
}

void api_call_reply(ApiCall *call, ProtobufCMessage *reply) {
        call->status = QUILT_STATUS_OK;
        call->reply = reply;
        api_call_answer(call);
}

static int api_call_failv(ApiCall *call, QuiltStatusCode code, const char *format, va_list ap) {
        char *message = NULL;

        if (vasprintf(&message, format, ap) < 0)
                message = NULL;

        call->status = code == QUILT_STATUS_OK ? QUILT_STATUS_UNKNOWN : code;
        call->status_message = message;
        api_call_answer(call);
        return -EIO;
}

int api_call_fail(ApiCall *call, QuiltStatusCode code, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = api_call_failv(call, code, format, ap);
        va_end(ap);
        return r;
}

int api_call_fail_errno(ApiCall *call, int error, const char *format, ...) {
        va_list ap;
        int r;

        /* Lets the format use %m for the error's text. */
        errno = abs(error);
        va_start(ap, format);
        r = api_call_failv(call, quilt_status_code_from_errno(error), format, ap);
        va_end(ap);
        return r;
}

void api_call_dispatch(ApiCall *call) {
        const ApiMethod *method = call->method;

        log_debug("%s call from %s%s", method->name,
                  call->peer.transport == API_TRANSPORT_GRPC ? "gRPC" : "HTTP", call->peer.tcp ? " (TCP)" : "");

        if (!method->handler || method->server_streaming) {
                api_call_fail(call, QUILT_STATUS_UNIMPLEMENTED, "%s is not implemented by this quiltd yet.",
                              method->name);
                return;
        }

        (void) method->handler(call->manager, call);
}
