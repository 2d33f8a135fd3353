/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The CLI's gRPC client: one channel, one pluck completion queue. A unary call is a single
 * batch, so the CLI needs no threads of its own. A stream plucks its own tags (one for
 * sending, one for receiving, one for the status), so that one thread may send while
 * another receives. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "log.h"
#include "grpc-message.h"
#include "quilt-client.h"
#include "quilt.pb-c.h"
#include "rpc-kind.h"

/* As the daemon's limit, so that large exec output or logs are not refused here. */
#define CLIENT_MAX_MESSAGE_SIZE (64 * 1024 * 1024)

struct QuiltClient {
        const ProtobufCServiceDescriptor *service;
        grpc_channel *channel;
        grpc_completion_queue *cq;
        char *target;
        char *authorization; /* "Bearer <token>", or NULL */

        /* Registered lazily, per method of the service; grpc keeps pointers to the paths.
         * The mutex lets threads make calls on one client (quilt run's signal forwarder). */
        pthread_mutex_t mutex;
        void **registered;
        char **paths;
        size_t n_methods;
};

static bool port_valid(const char *s) {
        unsigned long v;
        char *end;

        if (isempty(s) || strlen(s) > 5)
                return false;
        for (const char *p = s; *p; p++)
                if (!isdigit((unsigned char) *p))
                        return false;
        v = strtoul(s, &end, 10);
        return *end == 0 && v >= 1 && v <= 65535;
}

/* A DNS name: letters, digits, '-' and '.', in labels of 1–63 characters that do not
 * start or end with '-'. */
static bool hostname_valid(const char *s) {
        size_t label = 0;

        if (isempty(s) || strlen(s) > 253)
                return false;

        for (const char *p = s; *p; p++) {
                if (*p == '.') {
                        if (label == 0 || p[-1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                if (!isalnum((unsigned char) *p) && *p != '-')
                        return false;
                if (*p == '-' && label == 0)
                        return false;
                if (++label > 63)
                        return false;
        }
        return label > 0 && s[strlen(s) - 1] != '-';
}

/* "HOST:PORT" or "[V6ADDR]:PORT" → a grpc target. IP literals go to grpc's address
 * resolvers ("ipv4:", "ipv6:"), so no DNS lookup is involved for the common
 * 127.0.0.1 case; names go to "dns:///". On -EINVAL, *ret_reason says what is wrong. */
static int tcp_target(const char *hostport, char **ret, const char **ret_reason) {
        _cleanup_free_ char *host = NULL;
        const char *port;
        unsigned char buf[sizeof(struct in6_addr)];
        int r;

        if (hostport[0] == '[') {
                const char *close = strchr(hostport, ']');

                if (!close) {
                        *ret_reason = "unterminated '[' of an IPv6 address";
                        return -EINVAL;
                }
                if (close[1] != ':') {
                        *ret_reason = "no port after the IPv6 address";
                        return -EINVAL;
                }
                host = strndup(hostport + 1, close - hostport - 1);
                if (!host)
                        return -ENOMEM;
                port = close + 2;
                if (inet_pton(AF_INET6, host, buf) != 1) {
                        *ret_reason = "invalid IPv6 address";
                        return -EINVAL;
                }
        } else {
                const char *colon = strrchr(hostport, ':');

                if (!colon) {
                        *ret_reason = "no port";
                        return -EINVAL;
                }
                host = strndup(hostport, colon - hostport);
                if (!host)
                        return -ENOMEM;
                port = colon + 1;
                if (inet_pton(AF_INET, host, buf) != 1 && !hostname_valid(host)) {
                        *ret_reason = inet_pton(AF_INET6, host, buf) == 1
                                              ? "an IPv6 address must be written in brackets, as [::1]:PORT"
                                              : "invalid host name";
                        return -EINVAL;
                }
        }

        if (!port_valid(port)) {
                *ret_reason = "the port must be a number from 1 to 65535";
                return -EINVAL;
        }

        if (hostport[0] == '[')
                r = asprintf(ret, "ipv6:[%s]:%s", host, port);
        else if (inet_pton(AF_INET, host, buf) == 1)
                r = asprintf(ret, "ipv4:%s:%s", host, port);
        else
                r = asprintf(ret, "dns:///%s:%s", host, port);
        return r < 0 ? -ENOMEM : 0;
}

static int host_to_target(const char *host, char **ret, const char **ret_reason) {
        const char *e;
        char *t;

        e = startswith(host, "unix:");
        if (e) {
                if (isempty(e)) {
                        *ret_reason = "empty socket path";
                        return -EINVAL;
                }
                t = strdup(host);
                if (!t)
                        return -ENOMEM;
                *ret = t;
                return 0;
        }

        e = startswith(host, "tcp:");
        return tcp_target(e ?: host, ret, ret_reason);
}

int quilt_client_new(const char *host, const char *token, QuiltClient **ret) {
        return quilt_client_new_for_service(host, token, &quilt__quilt_service__descriptor, ret);
}

int quilt_client_new_for_service(const char *host, const char *token, const ProtobufCServiceDescriptor *service,
                                 QuiltClient **ret) {
        grpc_arg args[] = {
                {
                        .type = GRPC_ARG_INTEGER,
                        .key = (char *) GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                        .value.integer = CLIENT_MAX_MESSAGE_SIZE,
                },
                {
                        .type = GRPC_ARG_INTEGER,
                        .key = (char *) GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
                        .value.integer = CLIENT_MAX_MESSAGE_SIZE,
                },
        };
        grpc_channel_args channel_args = {
                .num_args = ELEMENTSOF(args),
                .args = args,
        };
        _cleanup_free_ char *target = NULL, *authorization = NULL;
        grpc_channel_credentials *credentials;
        const char *reason = NULL;
        QuiltClient *c;
        int r;

        if (!host)
                host = getenv("QUILT_HOST");
        if (isempty(host))
                host = QUILT_DEFAULT_HOST;
        if (!token)
                token = getenv("QUILT_TOKEN");

        r = host_to_target(host, &target, &reason);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(
                        r,
                        "Invalid daemon address '%s': %s (expected unix:/PATH, tcp:HOST:PORT or HOST:PORT).",
                        host, reason);

        if (!isempty(token)) {
                /* A header value cannot carry line breaks or other control characters. */
                for (const char *p = token; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                return log_error_errno(EINVAL,
                                                       "Invalid token: contains control characters.");
                if (asprintf(&authorization, "Bearer %s", token) < 0)
                        return log_oom();
        }

        c = calloc(1, sizeof(QuiltClient));
        if (!c)
                return log_oom();
        c->service = service;
        pthread_mutex_init(&c->mutex, NULL);
        c->n_methods = service->n_methods;
        c->registered = calloc(c->n_methods, sizeof(void *));
        c->paths = calloc(c->n_methods, sizeof(char *));
        if (!c->registered || !c->paths) {
                free(c->registered);
                free(c->paths);
                free(c);
                return log_oom();
        }

        grpc_init();

        credentials = grpc_insecure_credentials_create();
        c->channel = grpc_channel_create(target, credentials, &channel_args);
        grpc_channel_credentials_release(credentials);
        c->cq = grpc_completion_queue_create_for_pluck(NULL);
        c->target = TAKE_PTR(target);
        c->authorization = TAKE_PTR(authorization);
        if (!c->channel || !c->cq) {
                quilt_client_free(c);
                return log_error_errno(ENOMEM, "Failed to set up gRPC channel.");
        }

        *ret = c;
        return 0;
}

QuiltClient *quilt_client_free(QuiltClient *c) {
        if (!c)
                return NULL;

        if (c->channel)
                grpc_channel_destroy(c->channel);
        if (c->cq) {
                grpc_event ev;

                grpc_completion_queue_shutdown(c->cq);
                /* All our calls were plucked, so this only picks up the shutdown itself. */
                do
                        ev = grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                         NULL);
                while (ev.type != GRPC_QUEUE_SHUTDOWN);
                grpc_completion_queue_destroy(c->cq);
        }
        grpc_shutdown();

        if (c->paths)
                for (size_t i = 0; i < c->n_methods; i++)
                        free(c->paths[i]);
        free(c->paths);
        free(c->registered);
        free(c->target);
        free(c->authorization);
        pthread_mutex_destroy(&c->mutex);
        return mfree(c);
}

static char *slice_to_string(grpc_slice s) {
        return strndup((const char *) GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s));
}

/* Looks method up in the service and registers it with the channel once. */
static int client_method(QuiltClient *c, const char *method, const ProtobufCMethodDescriptor **ret_md,
                         void **ret_registered) {
        const ProtobufCMethodDescriptor *md;
        size_t index;

        md = protobuf_c_service_descriptor_get_method_by_name(c->service, method);
        if (!md)
                return log_error_errno(EINVAL, "Unknown RPC '%s'.", method);
        index = md - c->service->methods;

        pthread_mutex_lock(&c->mutex);
        if (!c->registered[index]) {
                if (asprintf(&c->paths[index], "/%s/%s", c->service->name, md->name) < 0) {
                        c->paths[index] = NULL;
                        pthread_mutex_unlock(&c->mutex);
                        return log_oom();
                }
                c->registered[index] = grpc_channel_register_call(c->channel, c->paths[index], NULL, NULL);
                if (!c->registered[index]) {
                        pthread_mutex_unlock(&c->mutex);
                        return log_error_errno(ENOMEM, "Failed to register RPC %s.", method);
                }
        }
        *ret_registered = c->registered[index];
        pthread_mutex_unlock(&c->mutex);

        *ret_md = md;
        return 0;
}

int quilt_client_call(QuiltClient *c, const char *method, const ProtobufCMessage *request,
                      uint64_t timeout_usec, ProtobufCMessage **ret_reply, QuiltStatusCode *ret_code,
                      char **ret_message) {
        const ProtobufCMethodDescriptor *md = NULL;
        _cleanup_free_ void *empty_request = NULL;
        grpc_metadata_array initial_metadata, trailing_metadata;
        grpc_byte_buffer *send_bb = NULL, *recv_bb = NULL;
        grpc_slice status_details = grpc_empty_slice();
        grpc_status_code status = GRPC_STATUS_UNKNOWN;
        const char *error_string = NULL;
        grpc_metadata authorization = {};
        ProtobufCMessage *reply = NULL;
        char *message = NULL;
        gpr_timespec deadline;
        grpc_op ops[6] = {};
        grpc_call_error e;
        grpc_event ev;
        grpc_call *call;
        void *registered = NULL;
        size_t n = 0;
        int r;

        r = client_method(c, method, &md, &registered);
        if (r < 0)
                return r;

        /* NULL stands for the empty request, which is what most queries send. */
        if (!request) {
                empty_request = malloc(md->input->sizeof_message);
                if (!empty_request)
                        return log_oom();
                md->input->message_init(empty_request);
                request = empty_request;
        }
        if (request->descriptor != md->input)
                return log_error_errno(EINVAL, "BUG: %s takes a %s, not a %s.", method, md->input->name,
                                       request->descriptor->name);

        deadline = timeout_usec == 0 ? gpr_inf_future(GPR_CLOCK_REALTIME)
                                     : gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                                    gpr_time_from_micros((int64_t) MIN(timeout_usec,
                                                                                       (uint64_t) INT64_MAX),
                                                                         GPR_TIMESPAN));

        call = grpc_channel_create_registered_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, registered,
                                                   deadline, NULL);
        if (!call)
                return log_error_errno(ENOMEM, "Failed to create call for %s.", method);

        send_bb = grpc_message_pack(request);
        grpc_metadata_array_init(&initial_metadata);
        grpc_metadata_array_init(&trailing_metadata);

        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        /* Fail fast when the daemon is not there, instead of waiting for it to appear. */
        ops[n].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET;
        if (c->authorization) {
                authorization.key = grpc_slice_from_static_string("authorization");
                authorization.value = grpc_slice_from_static_string(c->authorization);
                ops[n].data.send_initial_metadata.count = 1;
                ops[n].data.send_initial_metadata.metadata = &authorization;
        }
        n++;

        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = send_bb;

        ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;

        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n++].data.recv_initial_metadata.recv_initial_metadata = &initial_metadata;

        ops[n].op = GRPC_OP_RECV_MESSAGE;
        ops[n++].data.recv_message.recv_message = &recv_bb;

        ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        ops[n].data.recv_status_on_client.trailing_metadata = &trailing_metadata;
        ops[n].data.recv_status_on_client.status = &status;
        ops[n].data.recv_status_on_client.status_details = &status_details;
        ops[n++].data.recv_status_on_client.error_string = &error_string;

        e = grpc_call_start_batch(call, ops, n, call, NULL);
        if (e != GRPC_CALL_OK) {
                r = log_error_errno(EIO, "Failed to start call %s: %s", method,
                                    grpc_call_error_to_string(e));
                goto finish;
        }

        ev = grpc_completion_queue_pluck(c->cq, call, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type != GRPC_OP_COMPLETE || !ev.success) {
                /* RECV_STATUS_ON_CLIENT always completes; failing here is a grpc bug. */
                r = log_error_errno(EIO, "Call %s did not complete.", method);
                goto finish;
        }

        if (status == GRPC_STATUS_OK) {
                reply = grpc_message_unpack(md->output, recv_bb);
                if (!reply) {
                        status = GRPC_STATUS_INTERNAL;
                        message = strdup(recv_bb ? "cannot decode the daemon's reply"
                                                 : "the daemon sent no reply");
                }
        } else {
                message = GRPC_SLICE_LENGTH(status_details) > 0 ? slice_to_string(status_details)
                                                                : strdup(error_string ?: "no details");
        }
        if (status != GRPC_STATUS_OK && !message) {
                r = log_oom();
                goto finish;
        }

        if (ret_reply)
                *ret_reply = TAKE_PTR(reply);
        if (ret_code)
                *ret_code = (QuiltStatusCode) status;
        if (ret_message)
                *ret_message = TAKE_PTR(message);
        r = 0;

finish:
        if (reply)
                protobuf_c_message_free_unpacked(reply, NULL);
        free(message);
        grpc_metadata_array_destroy(&initial_metadata);
        grpc_metadata_array_destroy(&trailing_metadata);
        grpc_slice_unref(status_details);
        gpr_free((void *) error_string);
        if (send_bb)
                grpc_byte_buffer_destroy(send_bb);
        if (recv_bb)
                grpc_byte_buffer_destroy(recv_bb);
        grpc_call_unref(call);
        return r;
}

/* ---- streams ------------------------------------------------------------------------ */

struct QuiltStream {
        QuiltClient *client;
        const ProtobufCMethodDescriptor *method;
        bool client_streaming;
        grpc_call *call;

        /* Their addresses are the tags of the three kinds of batches. */
        char send_tag, recv_tag, status_tag;

        /* The sending thread's. */
        bool send_closed;
        bool send_failed;

        /* The receiving thread's. */
        grpc_metadata_array initial_metadata;
        bool initial_metadata_requested;
        grpc_byte_buffer *recv_bb;
        bool recv_pending;

        /* RECV_STATUS_ON_CLIENT, started at open, plucked by the receiver at the end. */
        grpc_metadata_array trailing_metadata;
        grpc_status_code status;
        grpc_slice status_details;
        const char *error_string;
        bool status_pending;
        bool finished;
        QuiltStatusCode code;
        char *message;
};

/* Waits for tag's batch; false if it failed. */
static bool stream_pluck(QuiltStream *s, void *tag) {
        grpc_event ev;

        ev = grpc_completion_queue_pluck(s->client->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        return ev.type == GRPC_OP_COMPLETE && ev.success;
}

int quilt_client_stream_open(QuiltClient *c, const char *method, const ProtobufCMessage *first,
                             QuiltStream **ret) {
        const ProtobufCMethodDescriptor *md = NULL;
        _cleanup_free_ void *empty_request = NULL;
        grpc_metadata authorization = {};
        grpc_byte_buffer *bb;
        grpc_op ops[3] = {};
        grpc_call_error e;
        void *registered = NULL;
        QuiltStream *s;
        size_t n = 0;
        int r;

        r = client_method(c, method, &md, &registered);
        if (r < 0)
                return r;
        if (!first) {
                empty_request = malloc(md->input->sizeof_message);
                if (!empty_request)
                        return log_oom();
                md->input->message_init(empty_request);
                first = empty_request;
        }
        if (first->descriptor != md->input)
                return log_error_errno(EINVAL, "BUG: %s takes a %s, not a %s.", method, md->input->name,
                                       first->descriptor->name);

        s = new0(QuiltStream, 1);
        if (!s)
                return log_oom();
        s->client = c;
        s->method = md;
        s->client_streaming = rpc_kind(c->service, md->name) & RPC_CLIENT_STREAMING;
        s->status_details = grpc_empty_slice();
        grpc_metadata_array_init(&s->initial_metadata);
        grpc_metadata_array_init(&s->trailing_metadata);

        s->call = grpc_channel_create_registered_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, registered,
                                                      gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (!s->call) {
                quilt_client_stream_free(s);
                return log_error_errno(ENOMEM, "Failed to create call for %s.", method);
        }

        /* The status arrives whenever the call ends; its batch waits from the start. */
        ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        ops[0].data.recv_status_on_client.trailing_metadata = &s->trailing_metadata;
        ops[0].data.recv_status_on_client.status = &s->status;
        ops[0].data.recv_status_on_client.status_details = &s->status_details;
        ops[0].data.recv_status_on_client.error_string = &s->error_string;
        e = grpc_call_start_batch(s->call, ops, 1, &s->status_tag, NULL);
        if (e != GRPC_CALL_OK) {
                quilt_client_stream_free(s);
                return log_error_errno(EIO, "Failed to start call %s: %s", method, grpc_call_error_to_string(e));
        }
        s->status_pending = true;

        bb = grpc_message_pack(first);
        if (!bb) {
                quilt_client_stream_free(s);
                return log_oom();
        }

        memset(ops, 0, sizeof ops);
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[n].flags = GRPC_INITIAL_METADATA_WAIT_FOR_READY_EXPLICITLY_SET; /* fail fast */
        if (c->authorization) {
                authorization.key = grpc_slice_from_static_string("authorization");
                authorization.value = grpc_slice_from_static_string(c->authorization);
                ops[n].data.send_initial_metadata.count = 1;
                ops[n].data.send_initial_metadata.metadata = &authorization;
        }
        n++;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = bb;
        if (!s->client_streaming) {
                ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
                s->send_closed = true;
        }

        /* Never waits for the server's headers before sending (a server may send them only
         * with its first message); the receive side asks for them. */
        e = grpc_call_start_batch(s->call, ops, n, &s->send_tag, NULL);
        if (e != GRPC_CALL_OK) {
                grpc_byte_buffer_destroy(bb);
                quilt_client_stream_free(s);
                return log_error_errno(EIO, "Failed to start call %s: %s", method, grpc_call_error_to_string(e));
        }
        if (!stream_pluck(s, &s->send_tag))
                s->send_failed = true; /* the status says why */
        grpc_byte_buffer_destroy(bb);

        *ret = s;
        return 0;
}

static int stream_finish(QuiltStream *s) {
        if (!s->finished) {
                if (s->status_pending) {
                        (void) stream_pluck(s, &s->status_tag);
                        s->status_pending = false;
                }
                s->finished = true;
                s->code = (QuiltStatusCode) s->status;
                if (s->status != GRPC_STATUS_OK) {
                        s->message = GRPC_SLICE_LENGTH(s->status_details) > 0
                                             ? slice_to_string(s->status_details)
                                             : strdup(s->error_string ?: "no details");
                        if (!s->message)
                                return log_oom();
                }
        }
        return s->code == QUILT_STATUS_OK ? 0 : -EREMOTEIO;
}

int quilt_client_stream_recv(QuiltStream *s, const ProtobufCMessageDescriptor *type, uint64_t timeout_usec,
                             ProtobufCMessage **ret) {
        grpc_byte_buffer *bb;
        ProtobufCMessage *m;
        gpr_timespec deadline;
        grpc_event ev;

        if (s->finished)
                return stream_finish(s);

        if (!s->recv_pending) {
                grpc_op ops[2] = {};
                grpc_call_error e;
                size_t n = 0;

                if (!s->initial_metadata_requested) {
                        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
                        ops[n++].data.recv_initial_metadata.recv_initial_metadata = &s->initial_metadata;
                }
                ops[n].op = GRPC_OP_RECV_MESSAGE;
                ops[n++].data.recv_message.recv_message = &s->recv_bb;

                e = grpc_call_start_batch(s->call, ops, n, &s->recv_tag, NULL);
                if (e != GRPC_CALL_OK)
                        return log_error_errno(EIO, "Failed to receive on %s: %s", s->method->name,
                                               grpc_call_error_to_string(e));
                s->initial_metadata_requested = true;
                s->recv_pending = true;
        }

        deadline = timeout_usec == 0
                           ? gpr_inf_future(GPR_CLOCK_REALTIME)
                           : gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                          gpr_time_from_micros((int64_t) MIN(timeout_usec, (uint64_t) INT64_MAX),
                                                               GPR_TIMESPAN));
        ev = grpc_completion_queue_pluck(s->client->cq, &s->recv_tag, deadline, NULL);
        if (ev.type == GRPC_QUEUE_TIMEOUT)
                return -ETIMEDOUT; /* the batch stays; the next recv waits on */
        s->recv_pending = false;
        bb = TAKE_PTR(s->recv_bb);

        if (ev.type != GRPC_OP_COMPLETE || !ev.success || !bb) {
                if (bb)
                        grpc_byte_buffer_destroy(bb);
                return stream_finish(s); /* the end of the stream */
        }

        m = grpc_message_unpack(type ?: s->method->output, bb);
        grpc_byte_buffer_destroy(bb);
        if (!m) {
                grpc_call_cancel_with_status(s->call, GRPC_STATUS_INTERNAL, "cannot decode the daemon's message", NULL);
                (void) stream_finish(s);
                return -EBADMSG;
        }
        *ret = m;
        return 1;
}

int quilt_client_stream_send(QuiltStream *s, const ProtobufCMessage *message) {
        grpc_op op = { .op = GRPC_OP_SEND_MESSAGE };
        grpc_byte_buffer *bb;
        grpc_call_error e;
        bool ok;

        if (message->descriptor != s->method->input)
                return log_error_errno(EINVAL, "BUG: %s takes a %s, not a %s.", s->method->name,
                                       s->method->input->name, message->descriptor->name);
        if (s->send_closed || s->send_failed)
                return -EPIPE;

        bb = grpc_message_pack(message);
        if (!bb)
                return log_oom();
        op.data.send_message.send_message = bb;
        e = grpc_call_start_batch(s->call, &op, 1, &s->send_tag, NULL);
        ok = e == GRPC_CALL_OK && stream_pluck(s, &s->send_tag);
        grpc_byte_buffer_destroy(bb);
        if (!ok) {
                s->send_failed = true;
                return -EPIPE;
        }
        return 0;
}

int quilt_client_stream_close_send(QuiltStream *s) {
        grpc_op op = { .op = GRPC_OP_SEND_CLOSE_FROM_CLIENT };
        grpc_call_error e;

        if (s->send_closed)
                return 0;
        if (s->send_failed)
                return -EPIPE;
        s->send_closed = true;
        e = grpc_call_start_batch(s->call, &op, 1, &s->send_tag, NULL);
        if (e != GRPC_CALL_OK || !stream_pluck(s, &s->send_tag))
                return -EPIPE;
        return 0;
}

void quilt_client_stream_cancel(QuiltStream *s) {
        if (s && s->call)
                grpc_call_cancel(s->call, NULL);
}

void quilt_client_stream_status(QuiltStream *s, QuiltStatusCode *ret_code, const char **ret_message) {
        if (ret_code)
                *ret_code = s->finished ? s->code : QUILT_STATUS_UNKNOWN;
        if (ret_message)
                *ret_message = s->finished ? s->message : NULL;
}

QuiltStream *quilt_client_stream_free(QuiltStream *s) {
        if (!s)
                return NULL;

        if (s->call) {
                if (!s->finished)
                        grpc_call_cancel(s->call, NULL);
                /* Every batch completes once the call is cancelled; nothing of ours may be
                 * referenced by grpc after this. */
                if (s->recv_pending)
                        (void) stream_pluck(s, &s->recv_tag);
                if (s->status_pending)
                        (void) stream_pluck(s, &s->status_tag);
                grpc_call_unref(s->call);
        }
        if (s->recv_bb)
                grpc_byte_buffer_destroy(s->recv_bb);
        grpc_metadata_array_destroy(&s->initial_metadata);
        grpc_metadata_array_destroy(&s->trailing_metadata);
        grpc_slice_unref(s->status_details);
        gpr_free((void *) s->error_string);
        free(s->message);
        return mfree(s);
}
