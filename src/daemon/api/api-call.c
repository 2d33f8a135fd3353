/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The call object both transports hand to handlers (see api.h), and the method tables. */

#include <stdarg.h>

#include "api.h"
#include "log.h"
#include "manager.h"
#include "rpc-kind.h"

int api_service_new(const ProtobufCServiceDescriptor *descriptor, const ApiHandlerEntry *handlers,
                    size_t n_handlers, ApiService **ret) {
        ApiService *s;

        s = new0(ApiService, 1);
        if (!s)
                return -ENOMEM;
        s->descriptor = descriptor;
        s->n_methods = descriptor->n_methods;
        s->methods = new0(ApiMethod, s->n_methods);
        if (!s->methods) {
                free(s);
                return -ENOMEM;
        }

        for (size_t i = 0; i < s->n_methods; i++) {
                ApiMethod *method = &s->methods[i];
                RpcKind kind;

                method->name = descriptor->methods[i].name;
                method->descriptor = &descriptor->methods[i];
                for (size_t j = 0; j < n_handlers; j++)
                        if (streq(handlers[j].name, method->name))
                                method->handler = handlers[j].handler;

                kind = rpc_kind(descriptor, method->name);
                method->server_streaming = kind & RPC_SERVER_STREAMING;
                method->client_streaming = kind & RPC_CLIENT_STREAMING;
        }

        *ret = s;
        return 0;
}

ApiService *api_service_free(ApiService *s) {
        if (!s)
                return NULL;
        free(s->methods);
        return mfree(s);
}

const ApiMethod *api_service_find_method(const ApiService *s, const char *name) {
        for (size_t i = 0; i < s->n_methods; i++)
                if (streq(s->methods[i].name, name))
                        return &s->methods[i];
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
        if (call->answered) {
                log_error("BUG: %s answered twice, ignoring the second answer.", call->method->name);
                if (reply)
                        protobuf_c_message_free_unpacked(reply, NULL);
                return;
        }
        call->status = QUILT_STATUS_OK;
        call->reply = reply;
        api_call_answer(call);
}

static int api_call_failv(ApiCall *call, QuiltStatusCode code, const char *format, va_list ap) {
        char *message = NULL;

        if (call->answered) {
                log_error("BUG: %s answered twice, ignoring the second answer.", call->method->name);
                return -EIO;
        }

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

int api_call_send(ApiCall *call, ProtobufCMessage *message) {
        int r;

        if (!message)
                return -EINVAL;

        if (!call->method->server_streaming || message->descriptor != call->method->descriptor->output) {
                log_error("BUG: %s sent a %s on a call that %s.", call->method->name, message->descriptor->name,
                          call->method->server_streaming ? "streams something else" : "does not stream");
                r = -EINVAL;
        } else if (call->answered) {
                log_error("BUG: %s sent a message after answering.", call->method->name);
                r = -ESTALE;
        } else if (call->cancelled || !call->send)
                r = -ECANCELED;
        else {
                r = call->send(call, message);
                if (r >= 0 && call->queued_bytes >= API_CALL_QUEUE_HIGH)
                        call->throttled = true;
                return r;
        }

        protobuf_c_message_free_unpacked(message, NULL);
        return r;
}

void api_call_queue_changed(ApiCall *call, size_t bytes) {
        call->queued_bytes = bytes;

        if (!call->throttled || bytes > API_CALL_QUEUE_LOW)
                return;
        call->throttled = false;
        if (call->on_drained && !call->answered && !call->cancelled)
                call->on_drained(call);
}

void api_call_cancel(ApiCall *call) {
        if (call->answered || call->cancelled)
                return;
        call->cancelled = true;

        log_debug("%s: the client went away%s.", call->method->name,
                  call->on_cancel ? "" : ", the call ends when its handler answers");
        if (call->on_cancel)
                call->on_cancel(call);
}

void api_call_dispatch(ApiCall *call) {
        const ApiMethod *method = call->method;

        log_debug("%s call from %s%s", method->name,
                  call->peer.transport == API_TRANSPORT_GRPC ? "gRPC" : "HTTP", call->peer.tcp ? " (TCP)" : "");

        if (!method->handler) {
                api_call_fail(call, QUILT_STATUS_UNIMPLEMENTED, "%s is not implemented by this quiltd yet.",
                              method->name);
                return;
        }

        (void) method->handler(call->manager, call);
}
