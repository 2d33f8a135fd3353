/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One handler per RPC, shared by both transports.
 *
 * A transport (gRPC or HTTP/JSON) decodes a request into its protobuf-c message, wraps it
 * in an ApiCall with api_call_new(), sets call->complete, call->send and call->userdata,
 * and calls api_call_dispatch(). The handler answers exactly once, with api_call_reply()
 * or api_call_fail(), either before it returns or later from the event loop (a handler
 * that has to wait for a container keeps the call and answers when it is done). Answering
 * invokes call->complete, which sends the result; the transport frees the call with
 * api_call_free() once it is done with it. After answering, the handler must not touch
 * the call again, and none of its callbacks is invoked any more.
 *
 * Ownership of messages: a request is owned by its call. A reply is built entirely from
 * heap memory (strdup()ed strings, malloc()ed arrays and sub-messages), so that
 * protobuf_c_message_free_unpacked(reply, NULL) frees it; api_call_reply() and
 * api_call_send() take it.
 *
 * Cancellation (every call, unary ones too): when the client goes away (gRPC: the call was
 * cancelled, hit its deadline or lost its connection; HTTP: the connection closed) before
 * the call was answered, call->on_cancel runs if the handler set one. It must release what
 * it holds for the call (a waiter, a log follower, an exec it started for the client) and
 * answer the call, normally with api_call_fail(call, QUILT_STATUS_CANCELLED, …); the
 * answer goes nowhere, but answering is what frees the call, exactly once. Without
 * on_cancel the call stays until the handler answers it, and the answer is dropped.
 * call->cancelled tells a handler that its client is gone.
 *
 * Streaming calls (ApiMethod.server_streaming and/or client_streaming; see rpc-kind.h for
 * where a method's kind is declared):
 * - The handler runs once, with the first request message (for a client-streaming or
 *   bidirectional call, the client's first message).
 * - api_call_send() queues one response message; messages go out in order. A stream ends
 *   with api_call_reply(call, NULL) (OK; a non-NULL reply is sent as a last message first)
 *   or api_call_fail*(); whatever is queued is delivered before the status.
 * - Backpressure: while api_call_queued_bytes() is at or above API_CALL_QUEUE_HIGH, a
 *   producer should stop reading its source (a pipe, a journal) and resume from
 *   call->on_drained, which runs once the queue has fallen to API_CALL_QUEUE_LOW or below.
 *   api_call_send() never refuses a message for being over the mark: staying bounded is
 *   the producer's part.
 * - call->on_message: a further client message arrived (the callee owns it);
 *   call->on_half_close: the client will send nothing more. Both for client-streaming and
 *   bidirectional calls only. Messages are received one at a time.
 * - HTTP serves server-streaming calls as NDJSON (see api-http.c); client-streaming and
 *   bidirectional calls are gRPC only.
 * - call->handler_data is the handler's own state.
 *
 * Everything here runs on the sd-event thread. */

#include <stdbool.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "macro.h"
#include "status.h"

typedef struct Manager Manager;
typedef struct ApiCall ApiCall;

/* Backpressure marks of a call's send queue, in bytes of encoded messages. */
#define API_CALL_QUEUE_HIGH (1024U * 1024U)
#define API_CALL_QUEUE_LOW  (256U * 1024U)

typedef enum ApiTransport {
        API_TRANSPORT_GRPC,
        API_TRANSPORT_HTTP,
} ApiTransport;

typedef struct ApiPeer {
        ApiTransport transport;
        bool tcp;              /* came in over a TCP listener (authenticated by token) */
        bool has_credentials;  /* pid/uid/gid are valid (unix socket, SO_PEERCRED) */
        pid_t pid;
        uid_t uid;
        gid_t gid;
} ApiPeer;

/* Runs the RPC. Must answer the call exactly once (now or later); the return value is
 * ignored, it exists so that handlers can "return api_call_fail(...)". */
typedef int (*ApiHandler)(Manager *m, ApiCall *call);

typedef struct ApiMethod {
        const char *name;                            /* "GetHealth" */
        const ProtobufCMethodDescriptor *descriptor; /* input and output types */
        ApiHandler handler;                          /* NULL: answered with UNIMPLEMENTED */
        bool server_streaming;                       /* returns (stream …) */
        bool client_streaming;                       /* takes (stream …) */
} ApiMethod;

/* A service as the transports serve it: its descriptor and one ApiMethod per method, in
 * the descriptor's order. quiltd serves api_quilt_service(); the transports' unit test
 * serves a service of its own. */
typedef struct ApiService {
        const ProtobufCServiceDescriptor *descriptor;
        ApiMethod *methods;
        size_t n_methods;
} ApiService;

typedef struct ApiHandlerEntry {
        const char *name;
        ApiHandler handler;
} ApiHandlerEntry;

/* Builds the method table from descriptor, the streaming kinds from rpc-kind.c and the
 * handlers given by name. */
int api_service_new(const ProtobufCServiceDescriptor *descriptor, const ApiHandlerEntry *handlers,
                    size_t n_handlers, ApiService **ret);
ApiService *api_service_free(ApiService *s);
const ApiMethod *api_service_find_method(const ApiService *s, const char *name);

/* quiltd's QuiltService (api.c). */
const ApiService *api_quilt_service(void);
/* Its method table and a lookup by name, for code that predates ApiService. */
const ApiMethod *api_methods(size_t *ret_n);
const ApiMethod *api_method_find(const char *name);

struct ApiCall {
        Manager *manager;
        const ApiMethod *method;
        ProtobufCMessage *request; /* owned */
        ApiPeer peer;

        /* The result, set by api_call_reply()/api_call_fail(). */
        QuiltStatusCode status;
        char *status_message;      /* owned; NULL when OK */
        ProtobufCMessage *reply;   /* owned; NULL unless OK (optional for streaming calls) */
        bool answered;
        bool cancelled;            /* the client went away */

        /* Set by the handler (all optional; see above). */
        void *handler_data;
        void (*on_cancel)(ApiCall *call);
        void (*on_drained)(ApiCall *call);
        void (*on_message)(ApiCall *call, ProtobufCMessage *message);
        void (*on_half_close)(ApiCall *call);

        /* Set by the transport: complete() sends the result (the transport frees the call
         * later); send() queues one message of a server stream (takes it; negative errno
         * when it cannot, then the message is freed). queued_bytes is kept by the transport
         * through api_call_queue_changed(). */
        void (*complete)(ApiCall *call);
        int (*send)(ApiCall *call, ProtobufCMessage *message);
        void *userdata;
        size_t queued_bytes;
        bool throttled; /* went over API_CALL_QUEUE_HIGH; on_drained is due */
};

/* Takes ownership of request. Counts the call as in flight until api_call_free(), which
 * keeps an idle daemon from exiting while it works or streams. */
int api_call_new(Manager *m, const ApiMethod *method, ProtobufCMessage *request, const ApiPeer *peer,
                 ApiCall **ret);
ApiCall *api_call_free(ApiCall *call);
DEFINE_TRIVIAL_CLEANUP_FUNC(ApiCall *, api_call_free);

/* Runs the method's handler, or answers UNIMPLEMENTED when it has none. */
void api_call_dispatch(ApiCall *call);

/* Answers OK with reply (taken). For a streaming call reply may be NULL. */
void api_call_reply(ApiCall *call, ProtobufCMessage *reply);
/* Answers with an error status and a message; returns -EIO-style negative for convenience. */
int api_call_fail(ApiCall *call, QuiltStatusCode code, const char *format, ...) _printf_(3, 4);
/* Answers with the status that matches a negative errno and a message. */
int api_call_fail_errno(ApiCall *call, int error, const char *format, ...) _printf_(3, 4);

/* Server streaming: queues message (taken, always, also on failure). 0, -ECANCELED when
 * the client is gone (stop producing; on_cancel follows or has run), -EINVAL for a method
 * that does not stream or a message of the wrong type, -ESTALE after the answer, -ENOMEM. */
int api_call_send(ApiCall *call, ProtobufCMessage *message);
/* Bytes queued for the client and not yet taken by its connection. */
static inline size_t api_call_queued_bytes(const ApiCall *call) {
        return call->queued_bytes;
}

/* For transports: the client went away. Runs on_cancel once, for an unanswered call. */
void api_call_cancel(ApiCall *call);
/* For transports: the send queue now holds bytes; runs on_drained when it fell low. */
void api_call_queue_changed(ApiCall *call, size_t bytes);

/* Frees a message built by a handler or decoded by a transport. */
static inline void proto_message_freep(ProtobufCMessage **m) {
        if (*m)
                protobuf_c_message_free_unpacked(*m, NULL);
}
#define _cleanup_proto_ _cleanup_(proto_message_freep)
