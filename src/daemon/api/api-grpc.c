/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The gRPC transport.
 *
 * Threads: one thread of ours sits in grpc_completion_queue_next() (it is also grpc's I/O
 * poller for the server connections) and hands every completion to the sd-event thread
 * through a mutex-protected queue and an eventfd. Everything else — accepting, decoding,
 * dispatching, grpc_call_start_batch() — happens on the sd-event thread, so no
 * application state needs a lock.
 *
 * Listeners: grpc 1.51 has no listen-fd API, and its "unix:" listener unlinks the path
 * (fatal for a systemd-owned socket), so quiltd accept()s itself and hands each
 * connection to grpc_server_add_channel_from_fd().
 *
 * Authentication: there are two grpc servers on the one completion queue, one for
 * connections from listeners that require a token and one for the rest. Whether a call
 * needs a token is decided by the server it arrived on, never by the "fd:<n>" peer string,
 * because fd numbers are reused: a call queued on a connection that grpc has since closed
 * could otherwise be judged by the listener of a newer connection with the same number.
 * The fd map is only used for the peer's credentials, and only when it agrees with the
 * server the call came through.
 *
 * Each call is one GrpcCall, refcounted: every batch in flight holds a reference through
 * its tag, and so does the handler until it answers. When a call arrives, a
 * RECV_CLOSE_ON_SERVER batch is started at once: its completion with "cancelled" is the
 * only word of a client that went away (cancelled, past its deadline, disconnected), and
 * turns into the handler's on_cancel. Sending is one batch at a time (grpc allows one
 * SEND_MESSAGE in flight per call): messages wait in a queue, the status behind them, and
 * a unary answer (initial metadata, message, status) is a single batch. Client streams are
 * received one RECV_MESSAGE at a time; the handler runs with the first message. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "api-grpc.h"
#include "bearer-token.h"
#include "grpc-message.h"
#include "api.h"
#include "log.h"
#include "manager.h"
#include "quilt.pb-c.h"

/* How many calls per method grpc can hand us without waiting for a re-post. Calls beyond
 * that are queued inside grpc, so this bounds latency under bursts, not correctness. */
#define GRPC_REQUESTS_PER_METHOD     4
#define GRPC_REQUESTS_UNKNOWN_METHOD 2

/* grpc's default of 4 MiB is tight for exec output and logs: an ExecContainer reply
 * carries up to 32 MiB of output (plus its framing). */
#define GRPC_MAX_MESSAGE_SIZE (64 * 1024 * 1024)

/* After EMFILE & co. the listening socket stays readable; pause it instead of spinning. */
#define GRPC_ACCEPT_RETRY_USEC (1 * USEC_PER_SEC)

typedef struct GrpcTag GrpcTag;
struct GrpcTag {
        void (*handler)(GrpcTag *tag, bool ok);
};

typedef struct GrpcEvent {
        GrpcTag *tag;
        bool ok;
} GrpcEvent;

/* What we learnt about a connection at accept time, indexed by its fd number. */
typedef struct GrpcConnection {
        bool used;
        bool require_token;
        ApiPeer peer;
} GrpcConnection;

typedef struct GrpcServer {
        ApiGrpc *grpc;
        grpc_server *server;
        bool require_token;
        void **methods; /* registered method handles, in the service's order */
        GrpcTag shutdown_tag;
        bool shutdown_done;
} GrpcServer;

typedef struct GrpcListener GrpcListener;
struct GrpcListener {
        ApiGrpc *grpc;
        int fd;
        bool require_token;
        bool tcp;
        sd_event_source *source;
        sd_event_source *retry_source;
        GrpcListener *next;
};

typedef struct GrpcMessage GrpcMessage;
struct GrpcMessage {
        grpc_byte_buffer *buffer;
        size_t size;
        GrpcMessage *next;
};

typedef struct GrpcCall GrpcCall;
struct GrpcCall {
        /* One tag per kind of batch; each batch in flight holds a reference. */
        GrpcTag request_tag, close_tag, send_tag, recv_tag;
        unsigned n_refs;

        GrpcServer *server;
        const ApiMethod *method; /* NULL: a catch-all request for methods we do not know */

        grpc_call *call;
        gpr_timespec deadline;
        grpc_call_details details; /* catch-all requests only */
        grpc_metadata_array metadata;
        grpc_byte_buffer *payload; /* the request, unless the method is client-streaming */

        /* With its handler from dispatch until it answers (that reference is the handler's);
         * freed with the GrpcCall, so that it counts as in flight until all is sent. */
        ApiCall *api_call;

        /* Sending: one batch at a time; messages wait in the queue, the status after them. */
        GrpcMessage *queue, *queue_tail;
        grpc_byte_buffer *sending;
        size_t sending_size;
        size_t queued_bytes; /* queue plus sending */
        bool send_busy;
        bool initial_metadata_sent;
        bool finish_queued;
        bool status_sent;
        QuiltStatusCode status;
        grpc_slice status_details;
        bool has_status_details;

        /* Receiving (client-streaming calls): one message at a time. */
        grpc_byte_buffer *recv_payload;
        bool recv_busy;
        bool awaiting_first; /* the handler runs with the first message */
        bool half_closed;
        sd_event_source *half_close_source;

        int cancelled; /* RECV_CLOSE_ON_SERVER's verdict */
        bool dead;     /* the client is gone or a batch failed: nothing more goes out */

        GrpcCall *prev, *next;
};

struct ApiGrpc {
        Manager *manager;
        bool grpc_initialized;

        grpc_completion_queue *cq;
        grpc_server_credentials *credentials;
        GrpcServer *servers[2]; /* indexed by require_token */

        const ApiService *service;
        char **method_paths; /* "/quilt.QuiltService/GetHealth"; grpc keeps pointers to them */

        GrpcListener *listeners;
        GrpcConnection *connections;
        size_t n_connections;
        GrpcCall *calls; /* every GrpcCall in existence */

        /* The bridge from the completion-queue thread. */
        int event_fd;
        sd_event_source *event_source;
        pthread_t thread;
        bool thread_started;
        pthread_mutex_t mutex;
        GrpcEvent *queue;
        size_t n_queue, n_queue_allocated;

        bool shutting_down;
        bool cq_shut_down;
};

/* ---- the completion-queue thread and its bridge to sd-event ------------------------- */

static void *grpc_cq_thread(void *userdata) {
        ApiGrpc *g = userdata;

        for (;;) {
                grpc_event ev;
                bool was_empty;

                ev = grpc_completion_queue_next(g->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
                if (ev.type == GRPC_QUEUE_SHUTDOWN)
                        break;
                if (ev.type != GRPC_OP_COMPLETE)
                        continue;

                pthread_mutex_lock(&g->mutex);
                if (g->n_queue >= g->n_queue_allocated) {
                        size_t n = MAX(g->n_queue_allocated * 2, (size_t) 64);
                        GrpcEvent *q = realloc(g->queue, n * sizeof(GrpcEvent));

                        /* A lost completion would leak its call and hang the shutdown, and
                         * grpc itself aborts when it runs out of memory. */
                        if (!q)
                                abort();
                        g->queue = q;
                        g->n_queue_allocated = n;
                }
                was_empty = g->n_queue == 0;
                g->queue[g->n_queue++] = (GrpcEvent){ .tag = ev.tag, .ok = ev.success != 0 };
                pthread_mutex_unlock(&g->mutex);

                /* The sd-event side empties the whole queue per wakeup, so only the first
                 * event after it did needs to wake it. */
                if (was_empty) {
                        uint64_t one = 1;

                        while (write(g->event_fd, &one, sizeof one) < 0 && errno == EINTR)
                                ;
                }
        }

        return NULL;
}

static void grpc_dispatch_events(ApiGrpc *g) {
        GrpcEvent *events;
        size_t n;

        pthread_mutex_lock(&g->mutex);
        events = TAKE_PTR(g->queue);
        n = g->n_queue;
        g->n_queue = g->n_queue_allocated = 0;
        pthread_mutex_unlock(&g->mutex);

        for (size_t i = 0; i < n; i++)
                events[i].tag->handler(events[i].tag, events[i].ok);

        free(events);
}

static void grpc_event_fd_flush(ApiGrpc *g) {
        uint64_t v;

        /* Must happen before the queue is taken: a push after the read wakes us again. */
        (void) !read(g->event_fd, &v, sizeof v);
}

static int grpc_on_event_fd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ApiGrpc *g = userdata;

        grpc_event_fd_flush(g);
        grpc_dispatch_events(g);
        return 0;
}

/* ---- calls --------------------------------------------------------------------------- */

static int grpc_call_request(GrpcServer *s, const ApiMethod *method);

static void gcall_ref(GrpcCall *c) {
        c->n_refs++;
}

static GrpcCall *grpc_call_free(GrpcCall *c) {
        ApiGrpc *g;

        if (!c)
                return NULL;

        g = c->server->grpc;
        if (c->prev)
                c->prev->next = c->next;
        else
                g->calls = c->next;
        if (c->next)
                c->next->prev = c->prev;

        /* Answered (or detached from its handler by api_grpc_free()) by now. */
        api_call_free(c->api_call);

        if (c->call)
                grpc_call_unref(c->call);
        grpc_metadata_array_destroy(&c->metadata);
        if (!c->method)
                grpc_call_details_destroy(&c->details);
        if (c->payload)
                grpc_byte_buffer_destroy(c->payload);
        if (c->recv_payload)
                grpc_byte_buffer_destroy(c->recv_payload);
        if (c->sending)
                grpc_byte_buffer_destroy(c->sending);
        while (c->queue) {
                GrpcMessage *m = c->queue;

                c->queue = m->next;
                grpc_byte_buffer_destroy(m->buffer);
                free(m);
        }
        if (c->has_status_details)
                grpc_slice_unref(c->status_details);
        sd_event_source_disable_unref(c->half_close_source);
        return mfree(c);
}

static void gcall_unref(GrpcCall *c) {
        assert(c->n_refs > 0);
        if (--c->n_refs == 0)
                grpc_call_free(c);
}

/* Nothing more will go out: the client is gone or a batch failed. */
static void grpc_call_kill(GrpcCall *c) {
        c->dead = true;
        while (c->queue) {
                GrpcMessage *m = c->queue;

                c->queue = m->next;
                grpc_byte_buffer_destroy(m->buffer);
                free(m);
        }
        c->queue_tail = NULL;
        c->queued_bytes = c->sending ? c->sending_size : 0;
}

/* Starts a batch holding a reference for its tag. false if it could not be started. */
static bool grpc_call_start_ops(GrpcCall *c, const grpc_op *ops, size_t n, GrpcTag *tag, const char *what) {
        grpc_call_error e;

        /* grpc aborts on a batch for a queue that is shut down. */
        if (c->server->grpc->cq_shut_down)
                return false;

        e = grpc_call_start_batch(c->call, ops, n, tag, NULL);
        if (e != GRPC_CALL_OK) {
                log_error("Failed to start %s batch of gRPC call %s: %s", what,
                          c->method ? c->method->name : "(unknown method)", grpc_call_error_to_string(e));
                return false;
        }
        gcall_ref(c);
        return true;
}

/* Starts the next send batch unless one is in flight: the initial metadata (once), the
 * next queued message, and the status once nothing is queued before it. A unary answer
 * is thus a single batch. */
static void grpc_call_pump(GrpcCall *c) {
        grpc_op ops[3] = {};
        size_t n = 0;

        if (c->send_busy || c->dead || c->status_sent)
                return;

        if (!c->initial_metadata_sent) {
                ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
                ops[n++].data.send_initial_metadata.count = 0;
        }

        if (c->queue) {
                GrpcMessage *m = c->queue;

                c->queue = m->next;
                if (!c->queue)
                        c->queue_tail = NULL;
                c->sending = m->buffer;
                c->sending_size = m->size;
                free(m);

                ops[n].op = GRPC_OP_SEND_MESSAGE;
                ops[n++].data.send_message.send_message = c->sending;
        }

        if (!c->queue && c->finish_queued) {
                ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
                ops[n].data.send_status_from_server.status = (grpc_status_code) c->status;
                ops[n].data.send_status_from_server.status_details =
                        c->has_status_details ? &c->status_details : NULL;
                ops[n++].data.send_status_from_server.trailing_metadata_count = 0;
                c->status_sent = true;
        }

        if (n == 0)
                return;

        c->initial_metadata_sent = true;
        c->send_busy = true;
        if (!grpc_call_start_ops(c, ops, n, &c->send_tag, "send")) {
                c->send_busy = false;
                grpc_call_kill(c);
        }
}

static void grpc_call_enqueue(GrpcCall *c, grpc_byte_buffer *buffer, size_t size) {
        GrpcMessage *m;

        m = new0(GrpcMessage, 1);
        if (!m) {
                /* Losing a message in the middle of a stream would corrupt it silently. */
                log_oom();
                grpc_byte_buffer_destroy(buffer);
                grpc_call_cancel_with_status(c->call, GRPC_STATUS_RESOURCE_EXHAUSTED, "quiltd is out of memory",
                                             NULL);
                grpc_call_kill(c);
                return;
        }
        m->buffer = buffer;
        m->size = size;
        if (c->queue_tail)
                c->queue_tail->next = m;
        else
                c->queue = m;
        c->queue_tail = m;
        c->queued_bytes += size;
}

/* Queues the status (with message) behind whatever is queued, and sends. */
static void grpc_call_finish(GrpcCall *c, QuiltStatusCode code, const char *message) {
        if (c->finish_queued)
                return;
        c->finish_queued = true;
        c->status = code;
        if (message) {
                c->status_details = grpc_slice_from_copied_string(message);
                c->has_status_details = true;
        }
        grpc_call_pump(c);
}

static void grpc_call_finish_status(GrpcCall *c, QuiltStatusCode code, const char *format, ...) _printf_(3, 4);
static void grpc_call_finish_status(GrpcCall *c, QuiltStatusCode code, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&message, format, ap) < 0)
                message = NULL;
        va_end(ap);

        grpc_call_finish(c, code, message ?: quilt_status_code_to_string(code));
}

/* ApiCall.send: packs a stream message and queues it. */
static int grpc_call_on_api_send(ApiCall *api_call, ProtobufCMessage *message) {
        GrpcCall *c = api_call->userdata;
        grpc_byte_buffer *buffer;
        size_t size;

        if (!c || c->dead) {
                protobuf_c_message_free_unpacked(message, NULL);
                return -ECANCELED;
        }

        size = protobuf_c_message_get_packed_size(message);
        buffer = grpc_message_pack(message);
        protobuf_c_message_free_unpacked(message, NULL);
        if (!buffer)
                return -ENOMEM;

        grpc_call_enqueue(c, buffer, size);
        api_call->queued_bytes = c->queued_bytes;
        grpc_call_pump(c);
        return c->dead ? -ECANCELED : 0;
}

/* ApiCall.complete: the handler answered. */
static void grpc_call_on_api_complete(ApiCall *api_call) {
        GrpcCall *c = api_call->userdata;
        QuiltStatusCode code = api_call->status;
        const char *message = api_call->status_message;

        if (!c) {
                /* Detached at shutdown: nobody is left to tell. */
                api_call_free(api_call);
                return;
        }

        if (code == QUILT_STATUS_OK && api_call->reply) {
                if (api_call->reply->descriptor != c->method->descriptor->output) {
                        log_error("BUG: handler of %s answered with a %s instead of a %s.", c->method->name,
                                  api_call->reply->descriptor->name, c->method->descriptor->output->name);
                        code = QUILT_STATUS_INTERNAL;
                        message = "internal error: the handler produced no valid reply";
                } else if (!c->dead) {
                        size_t size = protobuf_c_message_get_packed_size(api_call->reply);
                        grpc_byte_buffer *buffer = grpc_message_pack(api_call->reply);

                        if (buffer)
                                grpc_call_enqueue(c, buffer, size);
                        else {
                                code = QUILT_STATUS_RESOURCE_EXHAUSTED;
                                message = "quiltd is out of memory";
                        }
                }
        } else if (code == QUILT_STATUS_OK && !c->method->server_streaming) {
                log_error("BUG: handler of %s answered OK without a %s.", c->method->name,
                          c->method->descriptor->output->name);
                code = QUILT_STATUS_INTERNAL;
                message = "internal error: the handler produced no valid reply";
        } else if (code != QUILT_STATUS_OK && !message)
                message = quilt_status_code_to_string(code);

        if (code != QUILT_STATUS_OK)
                log_debug("gRPC %s: %s: %s", c->method->name, strempty(quilt_status_code_to_string(code)),
                          strempty(message));

        /* Copies the message. The ApiCall stays (and counts as in flight) until the whole
         * answer is out; grpc_call_free() frees it. */
        grpc_call_finish(c, code, message);
        gcall_unref(c); /* the handler's reference */
}

static ApiPeer grpc_call_peer(GrpcCall *c) {
        ApiGrpc *g = c->server->grpc;
        ApiPeer peer = {
                .transport = API_TRANSPORT_GRPC,
                .tcp = c->server->require_token,
        };
        const char *e;
        char *p;

        /* For connections added with grpc_server_add_channel_from_fd() grpc names the peer
         * "fd:<n>", with our fd number. */
        p = grpc_call_get_peer(c->call);
        e = p ? startswith(p, "fd:") : NULL;
        if (e) {
                char *end;
                long fd;

                errno = 0;
                fd = strtol(e, &end, 10);
                if (errno == 0 && end != e && *end == 0 && fd >= 0 && (size_t) fd < g->n_connections) {
                        const GrpcConnection *conn = &g->connections[fd];

                        /* A mismatch means the number now belongs to another connection. */
                        if (conn->used && conn->require_token == c->server->require_token)
                                peer = conn->peer;
                }
        }
        gpr_free(p);
        return peer;
}

/* Returns NULL when the call carries "authorization: Bearer <token>", else why not. */
static const char *grpc_call_check_token(GrpcCall *c) {
        const char *token = c->server->grpc->manager->config->token;
        BearerTokenResult r = BEARER_TOKEN_MISSING;

        for (size_t i = 0; i < c->metadata.count; i++) {
                const grpc_metadata *md = &c->metadata.metadata[i];

                if (grpc_slice_str_cmp(md->key, "authorization") != 0)
                        continue;
                r = bearer_token_check(token, (const char *) GRPC_SLICE_START_PTR(md->value),
                                       GRPC_SLICE_LENGTH(md->value));
                break;
        }

        return r == BEARER_TOKEN_OK ? NULL : bearer_token_result_to_string(r);
}

/* Receives the next client message of a client-streaming call, one at a time. */
static void grpc_call_receive(GrpcCall *c) {
        grpc_op op = {
                .op = GRPC_OP_RECV_MESSAGE,
                .data.recv_message.recv_message = &c->recv_payload,
        };

        if (c->recv_busy || c->half_closed || c->dead)
                return;
        if (c->api_call && (c->api_call->answered || c->api_call->cancelled))
                return;

        c->recv_busy = true;
        if (!grpc_call_start_ops(c, &op, 1, &c->recv_tag, "receive"))
                c->recv_busy = false;
}

/* Hands the request to its handler. */
static void grpc_call_dispatch(GrpcCall *c, ProtobufCMessage *request) {
        ApiGrpc *g = c->server->grpc;
        ApiCall *api_call;
        ApiPeer peer;
        int r;

        peer = grpc_call_peer(c);
        r = api_call_new(g->manager, c->method, request, &peer, &api_call);
        if (r < 0) {
                protobuf_c_message_free_unpacked(request, NULL);
                log_error_errno(r, "Failed to set up %s call: %m", c->method->name);
                grpc_call_finish(c, QUILT_STATUS_RESOURCE_EXHAUSTED, "quiltd is out of memory");
                return;
        }

        api_call->complete = grpc_call_on_api_complete;
        api_call->send = grpc_call_on_api_send;
        api_call->userdata = c;
        c->api_call = api_call;
        gcall_ref(c); /* the handler's, until it answers */

        /* Ours, for what follows: the handler may answer before it returns. */
        gcall_ref(c);
        api_call_dispatch(api_call);

        if (!api_call->answered) {
                /* A stream has begun: the client gets its headers now, not with the first
                 * message, which may be long in coming. */
                if (c->method->server_streaming)
                        grpc_call_pump(c);
                if (c->method->client_streaming)
                        grpc_call_receive(c);
        }
        gcall_unref(c);
}

static void grpc_call_start(GrpcCall *c) {
        ApiGrpc *g = c->server->grpc;
        ProtobufCMessage *request;

        if (g->shutting_down) {
                grpc_call_finish_status(c, QUILT_STATUS_UNAVAILABLE, "quiltd is shutting down");
                return;
        }

        if (!c->method) {
                _cleanup_free_ char *path = strndup((const char *) GRPC_SLICE_START_PTR(c->details.method),
                                                    GRPC_SLICE_LENGTH(c->details.method));

                log_debug("gRPC call of unknown method %s", strempty(path));
                grpc_call_finish_status(c, QUILT_STATUS_UNIMPLEMENTED, "unknown method %s", strempty(path));
                return;
        }

        if (c->server->require_token) {
                const char *error = grpc_call_check_token(c);

                if (error) {
                        log_notice("Refused gRPC %s on a token-protected listener: %s", c->method->name,
                                   error);
                        grpc_call_finish_status(c, QUILT_STATUS_UNAUTHENTICATED, "%s", error);
                        return;
                }
        }

        /* The first message of a client stream is received like every later one. */
        if (c->method->client_streaming) {
                c->awaiting_first = true;
                grpc_call_receive(c);
                return;
        }

        request = grpc_message_unpack(c->method->descriptor->input, c->payload);
        if (c->payload) {
                grpc_byte_buffer_destroy(c->payload);
                c->payload = NULL;
        }
        if (!request) {
                grpc_call_finish_status(c, QUILT_STATUS_INVALID_ARGUMENT, "invalid %s: cannot decode protobuf",
                                        c->method->descriptor->input->name);
                return;
        }

        grpc_call_dispatch(c, request);
}

#define GRPC_CALL_OF(tag, member) ((GrpcCall *) ((uint8_t *) (tag) - offsetof(GrpcCall, member)))

static void grpc_call_on_request(GrpcTag *tag, bool ok) {
        GrpcCall *c = GRPC_CALL_OF(tag, request_tag);
        ApiGrpc *g = c->server->grpc;
        grpc_op op = {
                .op = GRPC_OP_RECV_CLOSE_ON_SERVER,
                .data.recv_close_on_server.cancelled = &c->cancelled,
        };

        /* Not ok: the server is shutting down and takes back what we posted. */
        if (ok) {
                /* Keep the number of waiting requests constant, before the handler runs. */
                if (!g->shutting_down)
                        (void) grpc_call_request(c->server, c->method);

                /* Its completion is the only word we get of a client that goes away. */
                if (!grpc_call_start_ops(c, &op, 1, &c->close_tag, "close"))
                        grpc_call_kill(c);

                grpc_call_start(c);
        }

        gcall_unref(c);
}

static void grpc_call_on_close(GrpcTag *tag, bool ok) {
        GrpcCall *c = GRPC_CALL_OF(tag, close_tag);

        if (!ok || c->cancelled) {
                log_debug("gRPC %s: the client went away.", c->method ? c->method->name : "(unknown method)");
                grpc_call_kill(c);
                if (c->api_call)
                        api_call_cancel(c->api_call); /* may answer, and drop the handler's reference */
        }

        gcall_unref(c);
}

static void grpc_call_on_send(GrpcTag *tag, bool ok) {
        GrpcCall *c = GRPC_CALL_OF(tag, send_tag);

        c->send_busy = false;
        if (c->sending) {
                grpc_byte_buffer_destroy(c->sending);
                c->sending = NULL;
                c->queued_bytes -= c->sending_size;
                c->sending_size = 0;
        }

        if (!ok) {
                /* The call is over for grpc; the close batch says why. */
                log_debug("gRPC %s: the client went away before the answer was delivered.",
                          c->method ? c->method->name : "(unknown method)");
                grpc_call_kill(c);
        } else {
                if (c->api_call && !c->api_call->answered)
                        api_call_queue_changed(c->api_call, c->queued_bytes); /* may send more */
                grpc_call_pump(c);
        }

        gcall_unref(c);
}

static int grpc_call_on_half_close(sd_event_source *s, void *userdata) {
        GrpcCall *c = userdata;

        c->half_close_source = sd_event_source_disable_unref(c->half_close_source);
        if (c->api_call && !c->api_call->answered && !c->api_call->cancelled && c->api_call->on_half_close)
                c->api_call->on_half_close(c->api_call);
        gcall_unref(c);
        return 0;
}

/* A cancelled client looks like one that half-closed to RECV_MESSAGE (no message, no
 * error); the close batch tells them apart, and usually completes right along with it.
 * Deciding after the completions at hand have been handled spares most handlers a
 * half-close before on_cancel; the rest get on_cancel after it. */
static void grpc_call_schedule_half_close(GrpcCall *c) {
        int r;

        r = sd_event_add_defer(c->server->grpc->manager->event, &c->half_close_source, grpc_call_on_half_close, c);
        if (r < 0) {
                log_warning_errno(r, "Failed to schedule the half-close of %s, delivering it now: %m",
                                  c->method->name);
                if (c->api_call && !c->api_call->answered && !c->api_call->cancelled &&
                    c->api_call->on_half_close)
                        c->api_call->on_half_close(c->api_call);
                return;
        }
        gcall_ref(c);
}

static void grpc_call_on_receive(GrpcTag *tag, bool ok) {
        GrpcCall *c = GRPC_CALL_OF(tag, recv_tag);
        grpc_byte_buffer *payload = TAKE_PTR(c->recv_payload);
        ProtobufCMessage *message = NULL;

        c->recv_busy = false;

        if (!ok || c->dead)
                goto finish;

        if (!payload) {
                /* The client half-closed. */
                c->half_closed = true;
                if (c->awaiting_first) {
                        c->awaiting_first = false;
                        grpc_call_finish_status(c, QUILT_STATUS_INVALID_ARGUMENT,
                                                "%s: the client sent no request message", c->method->name);
                } else
                        grpc_call_schedule_half_close(c);
                goto finish;
        }

        message = grpc_message_unpack(c->method->descriptor->input, payload);
        if (!message) {
                if (c->awaiting_first) {
                        c->awaiting_first = false;
                        grpc_call_finish_status(c, QUILT_STATUS_INVALID_ARGUMENT,
                                                "invalid %s: cannot decode protobuf",
                                                c->method->descriptor->input->name);
                } else
                        /* The handler owns the call: end it through cancellation, which it
                         * hears of from the close batch. */
                        grpc_call_cancel_with_status(c->call, GRPC_STATUS_INVALID_ARGUMENT,
                                                     "cannot decode a stream message", NULL);
                goto finish;
        }

        if (c->awaiting_first) {
                c->awaiting_first = false;
                grpc_call_dispatch(c, message); /* receives the next message itself */
                goto finish;
        }

        if (c->api_call && !c->api_call->answered && !c->api_call->cancelled && c->api_call->on_message)
                c->api_call->on_message(c->api_call, message);
        else
                protobuf_c_message_free_unpacked(message, NULL);
        grpc_call_receive(c);

finish:
        if (payload)
                grpc_byte_buffer_destroy(payload);
        gcall_unref(c);
}

/* Posts one request for a call of method (NULL: of any method we did not register). */
static int grpc_call_request(GrpcServer *s, const ApiMethod *method) {
        ApiGrpc *g = s->grpc;
        grpc_call_error e;
        GrpcCall *c;

        c = calloc(1, sizeof(GrpcCall));
        if (!c)
                return log_oom();

        c->request_tag.handler = grpc_call_on_request;
        c->close_tag.handler = grpc_call_on_close;
        c->send_tag.handler = grpc_call_on_send;
        c->recv_tag.handler = grpc_call_on_receive;
        c->server = s;
        c->method = method;
        c->n_refs = 1; /* the request's */
        grpc_metadata_array_init(&c->metadata);
        if (!method)
                grpc_call_details_init(&c->details);

        c->next = g->calls;
        if (g->calls)
                g->calls->prev = c;
        g->calls = c;

        if (method)
                e = grpc_server_request_registered_call(s->server, s->methods[method - g->service->methods],
                                                        &c->call, &c->deadline, &c->metadata,
                                                        method->client_streaming ? NULL : &c->payload, g->cq,
                                                        g->cq, &c->request_tag);
        else
                e = grpc_server_request_call(s->server, &c->call, &c->details, &c->metadata, g->cq, g->cq,
                                             &c->request_tag);
        if (e != GRPC_CALL_OK) {
                grpc_call_free(c);
                return log_error_errno(EIO, "Failed to request a gRPC call for %s: %s",
                                       method ? method->name : "unknown methods",
                                       grpc_call_error_to_string(e));
        }

        return 0;
}

/* ---- servers ------------------------------------------------------------------------- */

static void grpc_server_on_shutdown(GrpcTag *tag, bool ok) {
        GrpcServer *s = (GrpcServer *) ((uint8_t *) tag - offsetof(GrpcServer, shutdown_tag));

        s->shutdown_done = true;
}

static int grpc_server_get(ApiGrpc *g, bool require_token, GrpcServer **ret) {
        grpc_arg args[] = {
                {
                        .type = GRPC_ARG_INTEGER,
                        .key = (char *) GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                        .value.integer = GRPC_MAX_MESSAGE_SIZE,
                },
                {
                        .type = GRPC_ARG_INTEGER,
                        .key = (char *) GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
                        .value.integer = GRPC_MAX_MESSAGE_SIZE,
                },
        };
        grpc_channel_args channel_args = {
                .num_args = ELEMENTSOF(args),
                .args = args,
        };
        GrpcServer *s;
        int r;

        if (g->servers[require_token]) {
                *ret = g->servers[require_token];
                return 0;
        }

        s = calloc(1, sizeof(GrpcServer));
        if (!s)
                return log_oom();
        s->grpc = g;
        s->require_token = require_token;
        s->shutdown_tag.handler = grpc_server_on_shutdown;
        s->methods = calloc(g->service->n_methods, sizeof(void *));
        if (!s->methods) {
                free(s);
                return log_oom();
        }

        s->server = grpc_server_create(&channel_args, NULL);
        if (!s->server) {
                free(s->methods);
                free(s);
                return log_error_errno(ENOMEM, "Failed to create gRPC server.");
        }
        grpc_server_register_completion_queue(s->server, g->cq, NULL);

        for (size_t i = 0; i < g->service->n_methods; i++) {
                /* A client stream's messages, the first one too, are received one by one. */
                s->methods[i] = grpc_server_register_method(
                        s->server, g->method_paths[i], NULL,
                        g->service->methods[i].client_streaming ? GRPC_SRM_PAYLOAD_NONE
                                                                 : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
                        0);
                if (!s->methods[i]) {
                        grpc_server_destroy(s->server);
                        free(s->methods);
                        free(s);
                        return log_error_errno(EINVAL, "Failed to register gRPC method %s.",
                                               g->method_paths[i]);
                }
        }

        grpc_server_start(s->server);

        /* From here on api_grpc_free() shuts it down properly. */
        g->servers[require_token] = s;

        for (size_t i = 0; i < g->service->n_methods; i++)
                for (unsigned k = 0; k < GRPC_REQUESTS_PER_METHOD; k++) {
                        r = grpc_call_request(s, &g->service->methods[i]);
                        if (r < 0)
                                return r;
                }

        /* Without these, a call of a method we do not know would wait inside grpc until
         * its deadline instead of getting UNIMPLEMENTED. */
        for (unsigned k = 0; k < GRPC_REQUESTS_UNKNOWN_METHOD; k++) {
                r = grpc_call_request(s, NULL);
                if (r < 0)
                        return r;
        }

        *ret = s;
        return 0;
}

/* ---- listeners ----------------------------------------------------------------------- */

static int grpc_connection_register(ApiGrpc *g, int fd, const GrpcListener *l) {
        GrpcConnection *conn;

        if ((size_t) fd >= g->n_connections) {
                size_t n = MAX((size_t) fd + 1, g->n_connections * 2);
                GrpcConnection *a;

                a = realloc(g->connections, n * sizeof(GrpcConnection));
                if (!a)
                        return -ENOMEM;
                memset(a + g->n_connections, 0, (n - g->n_connections) * sizeof(GrpcConnection));
                g->connections = a;
                g->n_connections = n;
        }

        /* Overwrites whatever an earlier connection with this fd number left. */
        conn = &g->connections[fd];
        *conn = (GrpcConnection) {
                .used = true,
                .require_token = l->require_token,
                .peer = {
                        .transport = API_TRANSPORT_GRPC,
                        .tcp = l->tcp,
                },
        };

        if (!l->tcp) {
                struct ucred ucred;
                socklen_t len = sizeof ucred;

                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &ucred, &len) >= 0 && len == sizeof ucred) {
                        conn->peer.has_credentials = true;
                        conn->peer.pid = ucred.pid;
                        conn->peer.uid = ucred.uid;
                        conn->peer.gid = ucred.gid;
                }
        }

        return 0;
}

static int grpc_listener_on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        GrpcListener *l = userdata;

        l->retry_source = sd_event_source_unref(l->retry_source);
        (void) sd_event_source_set_enabled(l->source, SD_EVENT_ON);
        return 0;
}

static void grpc_listener_pause(GrpcListener *l) {
        int r;

        if (l->retry_source)
                return;

        r = sd_event_add_time_relative(l->grpc->manager->event, &l->retry_source, CLOCK_MONOTONIC,
                                       GRPC_ACCEPT_RETRY_USEC, 0, grpc_listener_on_retry, l);
        if (r < 0) {
                log_warning_errno(r, "Failed to set up accept retry timer, not pausing: %m");
                return;
        }
        (void) sd_event_source_set_enabled(l->source, SD_EVENT_OFF);
}

static int grpc_listener_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        GrpcListener *l = userdata;
        ApiGrpc *g = l->grpc;
        GrpcServer *server = g->servers[l->require_token];
        int r;

        for (;;) {
                _cleanup_close_ int cfd = -EBADF;

                /* grpc requires a non-blocking connection. */
                cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        switch (errno) {
                        case EAGAIN:
                                return 0;
                        case EINTR:
                        case ECONNABORTED:
                        case EPROTO:
                        case EPERM:
                        case ENETDOWN:
                        case ENOPROTOOPT:
                        case EHOSTDOWN:
                        case ENONET:
                        case EHOSTUNREACH:
                        case EOPNOTSUPP:
                        case ENETUNREACH:
                                /* That connection is gone; the next may be fine. */
                                continue;
                        case EMFILE:
                        case ENFILE:
                        case ENOBUFS:
                        case ENOMEM:
                                log_warning_errno(errno,
                                                  "Failed to accept gRPC connection, pausing listener: %m");
                                grpc_listener_pause(l);
                                return 0;
                        default:
                                log_error_errno(errno, "Failed to accept gRPC connection: %m");
                                grpc_listener_pause(l);
                                return 0;
                        }
                }

                r = grpc_connection_register(g, cfd, l);
                if (r < 0) {
                        log_oom();
                        continue;
                }

                if (l->tcp) {
                        int one = 1;

                        /* Small request/response messages: do not let Nagle delay them. */
                        (void) setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                }

                log_debug("Accepted gRPC connection on fd %d%s.", cfd,
                          l->require_token ? " (token required)" : "");

                /* grpc owns (and eventually closes) the fd from here on. */
                grpc_server_add_channel_from_fd(server->server, TAKE_FD(cfd), g->credentials);
        }
}

static GrpcListener *grpc_listener_free(GrpcListener *l) {
        if (!l)
                return NULL;

        sd_event_source_disable_unref(l->source);
        sd_event_source_disable_unref(l->retry_source);
        safe_close(l->fd);
        return mfree(l);
}

int api_grpc_add_listener(ApiGrpc *g, int fd, bool require_token) {
        _cleanup_close_ int fd_owned = fd;
        int listening = 0, domain = 0, flags, r;
        socklen_t len;
        GrpcServer *server;
        GrpcListener *l;

        len = sizeof listening;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
                return log_error_errno(errno, "Failed to query gRPC listening socket %d: %m", fd);
        if (!listening)
                return log_error_errno(EINVAL, "gRPC socket %d is not a listening socket.", fd);

        len = sizeof domain;
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
                return log_error_errno(errno, "Failed to query address family of gRPC socket %d: %m", fd);

        if (require_token && isempty(g->manager->config->token))
                return log_error_errno(EINVAL,
                                       "gRPC listener requires a token, but no API.Token= is configured.");

        /* We accept until EAGAIN; sockets passed by systemd are blocking by default. */
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return log_error_errno(errno, "Failed to make gRPC listening socket non-blocking: %m");

        r = grpc_server_get(g, require_token, &server);
        if (r < 0)
                return r;

        l = calloc(1, sizeof(GrpcListener));
        if (!l)
                return log_oom();
        l->grpc = g;
        l->fd = -EBADF;
        l->require_token = require_token;
        l->tcp = domain == AF_INET || domain == AF_INET6;

        r = sd_event_add_io(g->manager->event, &l->source, fd, EPOLLIN, grpc_listener_on_io, l);
        if (r < 0) {
                grpc_listener_free(l);
                return log_error_errno(r, "Failed to watch gRPC listening socket: %m");
        }
        (void) sd_event_source_set_description(l->source, "grpc-listen");

        l->fd = TAKE_FD(fd_owned);
        l->next = g->listeners;
        g->listeners = l;
        return 0;
}

/* ---- setup and teardown -------------------------------------------------------------- */

int api_grpc_new(Manager *m, const ApiService *service, ApiGrpc **ret) {
        ApiGrpc *g;
        sigset_t all, saved;
        int r;

        g = calloc(1, sizeof(ApiGrpc));
        if (!g)
                return log_oom();
        g->manager = m;
        g->event_fd = -EBADF;
        pthread_mutex_init(&g->mutex, NULL);

        g->service = service;
        g->method_paths = calloc(service->n_methods + 1, sizeof(char *));
        if (!g->method_paths) {
                r = log_oom();
                goto fail;
        }
        for (size_t i = 0; i < service->n_methods; i++)
                if (asprintf(&g->method_paths[i], "/%s/%s", service->descriptor->name,
                             service->methods[i].name) < 0) {
                        g->method_paths[i] = NULL;
                        r = log_oom();
                        goto fail;
                }

        grpc_init();
        g->grpc_initialized = true;

        g->cq = grpc_completion_queue_create_for_next(NULL);
        g->credentials = grpc_insecure_server_credentials_create();
        if (!g->cq || !g->credentials) {
                r = log_error_errno(ENOMEM, "Failed to set up gRPC.");
                goto fail;
        }

        g->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (g->event_fd < 0) {
                r = log_error_errno(errno, "Failed to create eventfd: %m");
                goto fail;
        }

        r = sd_event_add_io(m->event, &g->event_source, g->event_fd, EPOLLIN, grpc_on_event_fd, g);
        if (r < 0) {
                log_error_errno(r, "Failed to watch gRPC eventfd: %m");
                goto fail;
        }
        (void) sd_event_source_set_description(g->event_source, "grpc-completions");

        /* Signals are for the sd-event thread (signalfd), never for ours. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = -pthread_create(&g->thread, NULL, grpc_cq_thread, g);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0) {
                log_error_errno(r, "Failed to start gRPC completion queue thread: %m");
                goto fail;
        }
        g->thread_started = true;
        (void) pthread_setname_np(g->thread, "grpc-cq");

        *ret = g;
        return 0;

fail:
        api_grpc_free(g);
        return r;
}

static bool grpc_servers_shut_down(ApiGrpc *g) {
        for (size_t i = 0; i < ELEMENTSOF(g->servers); i++)
                if (g->servers[i] && !g->servers[i]->shutdown_done)
                        return false;
        return true;
}

ApiGrpc *api_grpc_free(ApiGrpc *g) {
        if (!g)
                return NULL;

        g->shutting_down = true;

        /* No new connections while we shut down. */
        while (g->listeners) {
                GrpcListener *l = g->listeners;

                g->listeners = l->next;
                grpc_listener_free(l);
        }

        for (size_t i = 0; i < ELEMENTSOF(g->servers); i++)
                if (g->servers[i]) {
                        grpc_server_shutdown_and_notify(g->servers[i]->server, g->cq,
                                                        &g->servers[i]->shutdown_tag);
                        grpc_server_cancel_all_calls(g->servers[i]->server);
                }

        /* Handlers let go of their calls: those with on_cancel answer now. Rescanning after
         * each, because answering may free other calls. */
        for (;;) {
                GrpcCall *c = g->calls;

                while (c && !(c->api_call && !c->api_call->answered && !c->api_call->cancelled))
                        c = c->next;
                if (!c)
                        break;
                gcall_ref(c);
                grpc_call_kill(c);
                api_call_cancel(c->api_call);
                gcall_unref(c);
        }

        /* A call that is still with its handler holds its connection, and so the shutdown,
         * until we let go of it: detach the ApiCall, which its handler frees by answering
         * it some day (runtime_free() answers the waiters it still has). */
        for (;;) {
                GrpcCall *c = g->calls;

                while (c && !(c->api_call && !c->api_call->answered))
                        c = c->next;
                if (!c)
                        break;
                c->api_call->userdata = NULL;
                c->api_call->send = NULL;
                c->api_call = NULL;
                gcall_unref(c); /* the handler's reference */
        }

        if (g->thread_started) {
                unsigned waited = 0;

                /* The event loop no longer runs for us: wait for the shutdown here. Posted
                 * requests come back not ok, answers in flight complete, and then the
                 * shutdown tags arrive. */
                while (!grpc_servers_shut_down(g)) {
                        struct pollfd p = { .fd = g->event_fd, .events = POLLIN };
                        int k;

                        k = poll(&p, 1, 1000);
                        if (k < 0 && errno != EINTR) {
                                log_error_errno(errno, "Failed to wait for gRPC shutdown: %m");
                                break;
                        }
                        if (k == 0 && ++waited % 5 == 0)
                                log_warning("Still waiting for the gRPC server to shut down (%us)...",
                                            waited);

                        grpc_event_fd_flush(g);
                        grpc_dispatch_events(g);
                }
        }

        for (size_t i = 0; i < ELEMENTSOF(g->servers); i++)
                if (g->servers[i]) {
                        if (g->servers[i]->shutdown_done)
                                grpc_server_destroy(g->servers[i]->server);
                        free(g->servers[i]->methods);
                        g->servers[i] = mfree(g->servers[i]);
                }

        if (g->thread_started) {
                grpc_completion_queue_shutdown(g->cq);
                g->cq_shut_down = true;
                pthread_join(g->thread, NULL);
                /* Whatever completed between the shutdown tags and the end of the queue. */
                grpc_dispatch_events(g);
        }

        /* Normally nothing is left; a call that is means grpc lost a completion. */
        while (g->calls) {
                log_warning("BUG: gRPC call left over at shutdown.");
                grpc_call_free(g->calls);
        }

        if (g->cq)
                grpc_completion_queue_destroy(g->cq);
        if (g->credentials)
                grpc_server_credentials_release(g->credentials);
        if (g->grpc_initialized)
                grpc_shutdown();

        sd_event_source_disable_unref(g->event_source);
        safe_close(g->event_fd);
        pthread_mutex_destroy(&g->mutex);
        free(g->queue);
        free(g->connections);
        strv_free(g->method_paths);
        return mfree(g);
}
