/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One handler per RPC, shared by both transports.
 *
 * A transport (gRPC or HTTP/JSON) decodes a request into its protobuf-c message, wraps it
 * in an ApiCall with api_call_new(), sets call->complete and call->userdata, and calls
 * api_call_dispatch(). The handler answers exactly once, with api_call_reply() or
 * api_call_fail(), either before it returns or later from the event loop (a handler that
 * has to wait for a container keeps the call and answers when it is done). Answering
 * invokes call->complete, which sends the result and then frees the call with
 * api_call_free().
 *
 * Ownership of messages: a request is owned by its call. A reply is built entirely from
 * heap memory (strdup()ed strings, malloc()ed arrays and sub-messages), so that
 * protobuf_c_message_free_unpacked(reply, NULL) frees it; api_call_reply() takes it.
 *
 * Everything here runs on the sd-event thread. */

#include <stdbool.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "macro.h"
#include "status.h"

typedef struct Manager Manager;
typedef struct ApiCall ApiCall;

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
        bool server_streaming;                       /* StreamEvents */
} ApiMethod;

struct ApiCall {
        Manager *manager;
        const ApiMethod *method;
        ProtobufCMessage *request; /* owned */
        ApiPeer peer;

        /* The result, set by api_call_reply()/api_call_fail(). */
        QuiltStatusCode status;
        char *status_message;      /* owned; NULL when OK */
        ProtobufCMessage *reply;   /* owned; NULL unless OK */
        bool answered;

        /* Set by the transport: sends the result, then frees the call. */
        void (*complete)(ApiCall *call);
        void *userdata;
};

/* The method table, in the order of the service descriptor. */
const ApiMethod *api_methods(size_t *ret_n);
const ApiMethod *api_method_find(const char *name);

/* Takes ownership of request. Counts the call as in flight until api_call_free(), which
 * keeps an idle daemon from exiting while it works. */
int api_call_new(Manager *m, const ApiMethod *method, ProtobufCMessage *request, const ApiPeer *peer,
                 ApiCall **ret);
ApiCall *api_call_free(ApiCall *call);
DEFINE_TRIVIAL_CLEANUP_FUNC(ApiCall *, api_call_free);

/* Runs the method's handler, or answers UNIMPLEMENTED when it has none. */
void api_call_dispatch(ApiCall *call);

/* Answers OK with reply (taken). */
void api_call_reply(ApiCall *call, ProtobufCMessage *reply);
/* Answers with an error status and a message; returns -EIO-style negative for convenience. */
int api_call_fail(ApiCall *call, QuiltStatusCode code, const char *format, ...) _printf_(3, 4);
/* Answers with the status that matches a negative errno and a message. */
int api_call_fail_errno(ApiCall *call, int error, const char *format, ...) _printf_(3, 4);

/* Frees a message built by a handler or decoded by a transport. */
static inline void proto_message_freep(ProtobufCMessage **m) {
        if (*m)
                protobuf_c_message_free_unpacked(*m, NULL);
}
#define _cleanup_proto_ _cleanup_(proto_message_freep)
