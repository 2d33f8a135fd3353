/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Streaming calls through quiltd's transports, apart from any feature: a server thread runs
 * the real gRPC and HTTP transports (api-grpc.c, api-http.c, api-call.c) on an sd-event
 * loop, serving quilt.test.StreamTest (test-api-stream.proto) with the handlers below; the
 * main thread is the client, with quilt-client's streams for gRPC and a raw HTTP/1.1
 * client for NDJSON. What is checked: order, the end status, errors before and inside a
 * stream, bounded queues under a slow client with on_drained, a client that goes away
 * (the handler's on_cancel runs and the call is released, also for unary calls), client
 * and bidirectional streams, and streams open at shutdown. */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <systemd/sd-event.h>

#include "api-grpc.h"
#include "api-http.h"
#include "api.h"
#include "log.h"
#include "manager.h"
#include "quilt-client.h"
#include "quilt.pb-c.h"
#include "rpc-kind.h"
#include "test-api-stream.pb-c.h"
#include "tests.h"
#include "time-util.h"

/* ---- what the server side shows the test -------------------------------------------- */

static atomic_int in_flight, cancelled, drained;
static atomic_size_t max_queued;

/* api-call.c counts calls through the manager; here they are just counted. */
void manager_call_started(Manager *m) {
        atomic_fetch_add(&in_flight, 1);
}

void manager_call_finished(Manager *m) {
        atomic_fetch_sub(&in_flight, 1);
}

static void note_queued(ApiCall *call) {
        size_t q = api_call_queued_bytes(call), old = atomic_load(&max_queued);

        while (q > old && !atomic_compare_exchange_weak(&max_queued, &old, q))
                ;
}

/* ---- handlers ------------------------------------------------------------------------- */

typedef struct CountState {
        int next, n, size;
        bool follow;
        char *fail;
} CountState;

static void count_state_free(ApiCall *call) {
        CountState *st = call->handler_data;

        call->handler_data = NULL;
        if (st)
                free(st->fail);
        free(st);
}

/* Sends until done or the queue is full; on_drained calls it again. */
static void count_produce(ApiCall *call) {
        CountState *st = call->handler_data;

        while (st->next < st->n) {
                Quilt__Test__CountReply *m;

                if (api_call_queued_bytes(call) >= API_CALL_QUEUE_HIGH)
                        return;

                m = calloc(1, sizeof *m);
                quilt__test__count_reply__init(m);
                m->seq = st->next++;
                m->payload.len = (size_t) st->size;
                m->payload.data = malloc(st->size > 0 ? (size_t) st->size : 1);
                memset(m->payload.data, 'a' + m->seq % 26, (size_t) st->size);
                if (api_call_send(call, &m->base) < 0)
                        return; /* cancelled: on_cancel runs */
                note_queued(call);
        }

        if (st->follow)
                return;

        if (st->fail) {
                _cleanup_free_ char *fail = strdup(st->fail);

                count_state_free(call);
                api_call_fail(call, QUILT_STATUS_ABORTED, "%s", fail);
        } else {
                count_state_free(call);
                api_call_reply(call, NULL);
        }
}

static void count_on_drained(ApiCall *call) {
        atomic_fetch_add(&drained, 1);
        count_produce(call);
}

static void on_cancel_count(ApiCall *call) {
        atomic_fetch_add(&cancelled, 1);
        count_state_free(call);
        api_call_fail(call, QUILT_STATUS_CANCELLED, "the client went away");
}

static int handle_count(Manager *m, ApiCall *call) {
        const Quilt__Test__CountRequest *req = (const Quilt__Test__CountRequest *) call->request;
        CountState *st;

        if (req->n < 0)
                return api_call_fail(call, QUILT_STATUS_INVALID_ARGUMENT, "n must not be negative");

        st = calloc(1, sizeof *st);
        st->n = req->n;
        st->size = req->size;
        st->follow = req->follow;
        st->fail = isempty(req->fail) ? NULL : strdup(req->fail);
        call->handler_data = st;
        call->on_cancel = on_cancel_count;
        call->on_drained = count_on_drained;
        count_produce(call);
        return 0;
}

static void echo_send(ApiCall *call, const Quilt__Test__EchoMessage *in) {
        Quilt__Test__EchoMessage *m = calloc(1, sizeof *m);

        quilt__test__echo_message__init(m);
        m->seq = in->seq;
        m->text = strdup(strempty(in->text));
        (void) api_call_send(call, &m->base);
}

static void echo_on_message(ApiCall *call, ProtobufCMessage *message) {
        echo_send(call, (const Quilt__Test__EchoMessage *) message);
        protobuf_c_message_free_unpacked(message, NULL);
}

static void echo_on_half_close(ApiCall *call) {
        const Quilt__Test__EchoMessage *first = (const Quilt__Test__EchoMessage *) call->request;

        /* "linger": like a shell whose command still runs after its input ended. */
        if (!streq(first->text, "linger"))
                api_call_reply(call, NULL);
}

static void on_cancel_plain(ApiCall *call) {
        atomic_fetch_add(&cancelled, 1);
        api_call_fail(call, QUILT_STATUS_CANCELLED, "the client went away");
}

static int handle_echo(Manager *m, ApiCall *call) {
        call->on_message = echo_on_message;
        call->on_half_close = echo_on_half_close;
        call->on_cancel = on_cancel_plain;
        echo_send(call, (const Quilt__Test__EchoMessage *) call->request);
        return 0;
}

typedef struct UploadState {
        int count;
        int64_t sum;
} UploadState;

static void upload_on_message(ApiCall *call, ProtobufCMessage *message) {
        UploadState *st = call->handler_data;

        st->count++;
        st->sum += ((const Quilt__Test__EchoMessage *) message)->seq;
        protobuf_c_message_free_unpacked(message, NULL);
}

static void upload_on_half_close(ApiCall *call) {
        UploadState *st = call->handler_data;
        Quilt__Test__UploadReply *reply = calloc(1, sizeof *reply);

        quilt__test__upload_reply__init(reply);
        reply->count = st->count;
        reply->sum = st->sum;
        free(st);
        call->handler_data = NULL;
        api_call_reply(call, &reply->base);
}

static void upload_on_cancel(ApiCall *call) {
        free(call->handler_data);
        call->handler_data = NULL;
        on_cancel_plain(call);
}

static int handle_upload(Manager *m, ApiCall *call) {
        UploadState *st = calloc(1, sizeof *st);

        st->count = 1;
        st->sum = ((const Quilt__Test__EchoMessage *) call->request)->seq;
        call->handler_data = st;
        call->on_message = upload_on_message;
        call->on_half_close = upload_on_half_close;
        call->on_cancel = upload_on_cancel;
        return 0;
}

static int handle_hold(Manager *m, ApiCall *call) {
        const Quilt__Test__HoldRequest *req = (const Quilt__Test__HoldRequest *) call->request;
        Quilt__Test__HoldReply *reply;

        if (req->now) {
                reply = calloc(1, sizeof *reply);
                quilt__test__hold_reply__init(reply);
                api_call_reply(call, &reply->base);
                return 0;
        }
        call->on_cancel = on_cancel_plain;
        return 0;
}

static const ApiHandlerEntry handlers[] = {
        { "Count", handle_count },
        { "Echo", handle_echo },
        { "Upload", handle_upload },
        { "Hold", handle_hold },
};

/* ---- the server thread ---------------------------------------------------------------- */

static char grpc_path[108], http_path[108];
static int stop_fd = -1;
static pthread_t server_thread;

static int listen_unix(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 64) < 0)
                abort();
        return fd;
}

static int on_stop(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static atomic_int server_ready;

static void *server_main(void *arg) {
        QuiltConfig config = {};
        Manager m = {};
        ApiService *service;
        ApiGrpc *g = NULL;
        ApiHttp *h = NULL;

        if (sd_event_new(&m.event) < 0)
                abort();
        m.config = &config;
        if (api_service_new(&quilt__test__stream_test__descriptor, handlers, ELEMENTSOF(handlers), &service) < 0 ||
            api_grpc_new(&m, service, &g) < 0 || api_http_new(&m, service, &h) < 0 ||
            api_grpc_add_listener(g, listen_unix(grpc_path), false) < 0 ||
            api_http_add_listener(h, listen_unix(http_path), false) < 0 ||
            sd_event_add_io(m.event, NULL, stop_fd, EPOLLIN, on_stop, NULL) < 0)
                abort();

        atomic_store(&server_ready, 1);
        (void) sd_event_loop(m.event);

        /* As quiltd shuts down: handlers of calls still open get on_cancel. */
        api_grpc_free(g);
        api_http_free(h);
        api_service_free(service);
        sd_event_unref(m.event);
        return NULL;
}

static void server_start(void) {
        char dir[] = "/tmp/test-api-stream.XXXXXX";

        if (!mkdtemp(dir))
                abort();
        snprintf(grpc_path, sizeof grpc_path, "%s/grpc.sock", dir);
        snprintf(http_path, sizeof http_path, "%s/http.sock", dir);
        stop_fd = eventfd(0, EFD_CLOEXEC);
        if (pthread_create(&server_thread, NULL, server_main, NULL) != 0)
                abort();
        while (!atomic_load(&server_ready))
                usleep(1000);
}

static void server_stop(void) {
        uint64_t one = 1;
        char dir[108];

        (void) !write(stop_fd, &one, sizeof one);
        pthread_join(server_thread, NULL);
        unlink(grpc_path);
        unlink(http_path);
        snprintf(dir, sizeof dir, "%s", grpc_path);
        *strrchr(dir, '/') = 0;
        rmdir(dir);
}

/* Waits (up to 5 s) until *v == want. */
static bool wait_for(atomic_int *v, int want) {
        for (int i = 0; i < 500; i++) {
                if (atomic_load(v) == want)
                        return true;
                usleep(10000);
        }
        printf("# waited for %d, have %d\n", want, atomic_load(v));
        return false;
}

/* ---- a raw HTTP/1.1 client -------------------------------------------------------------- */

typedef struct Http {
        int fd;
        int status;
        bool chunked;
        long content_length;
        char buf[65536];
        size_t len;      /* raw bytes in buf */
        char *body;      /* de-chunked body not yet returned as lines */
        size_t body_len;
        bool eof;        /* the body is complete */
} Http;

static int http_connect(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", http_path);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                abort();
        return fd;
}

/* Reads more raw bytes; false at EOF. */
static bool http_fill(Http *h) {
        ssize_t n;

        if (h->len == sizeof h->buf)
                abort();
        n = read(h->fd, h->buf + h->len, sizeof h->buf - h->len);
        if (n <= 0)
                return false;
        h->len += (size_t) n;
        return true;
}

static void http_consume(Http *h, size_t n) {
        memmove(h->buf, h->buf + n, h->len - n);
        h->len -= n;
}

/* A raw line ending in CRLF, without it; NULL at EOF. */
static char *http_raw_line(Http *h) {
        for (;;) {
                char *crlf = memmem(h->buf, h->len, "\r\n", 2);

                if (crlf) {
                        char *line = strndup(h->buf, (size_t) (crlf - h->buf));

                        http_consume(h, (size_t) (crlf - h->buf) + 2);
                        return line;
                }
                if (!http_fill(h))
                        return NULL;
        }
}

static void http_body_append(Http *h, const char *p, size_t n) {
        h->body = realloc(h->body, h->body_len + n + 1);
        memcpy(h->body + h->body_len, p, n);
        h->body_len += n;
        h->body[h->body_len] = 0;
}

/* Sends a request. */
static void http_send(Http *h, const char *method, const char *path, const char *body) {
        char req[1024];

        *h = (Http) { .fd = http_connect(), .content_length = -1 };
        snprintf(req, sizeof req,
                 "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 method, path, strlen(body), body);
        if (write(h->fd, req, strlen(req)) != (ssize_t) strlen(req))
                abort();
}

/* Sends a request and reads the response head. */
static void http_open(Http *h, const char *method, const char *path, const char *body) {
        char *line;

        http_send(h, method, path, body);

        line = http_raw_line(h);
        if (!line || sscanf(line, "HTTP/1.1 %d", &h->status) != 1)
                h->status = -1;
        free(line);
        while ((line = http_raw_line(h)) && *line) {
                if (strcasecmp(line, "Transfer-Encoding: chunked") == 0)
                        h->chunked = true;
                if (strncasecmp(line, "Content-Length:", 15) == 0)
                        h->content_length = strtol(line + 15, NULL, 10);
                free(line);
        }
        free(line);
}

/* Reads body bytes: one chunk, or what there is of a plain body. false when the body is
 * complete and nothing more came. */
static bool http_read_body(Http *h) {
        if (h->eof)
                return false;
        if (h->chunked) {
                char *line = http_raw_line(h);
                unsigned long size;

                if (!line) {
                        h->eof = true;
                        return false;
                }
                size = strtoul(line, NULL, 16);
                free(line);
                if (size == 0) {
                        h->eof = true;
                        return false;
                }
                while (h->len < size + 2)
                        if (!http_fill(h)) {
                                h->eof = true;
                                return false;
                        }
                http_body_append(h, h->buf, size);
                http_consume(h, size + 2);
                return true;
        }
        while (h->content_length < 0 || (long) h->body_len + (long) h->len < h->content_length) {
                if (!http_fill(h))
                        break;
        }
        http_body_append(h, h->buf, h->len);
        h->len = 0;
        h->eof = true;
        return true;
}

/* The next NDJSON line of the body, or NULL at its end. */
static char *http_line(Http *h) {
        for (;;) {
                char *nl = h->body ? memchr(h->body, '\n', h->body_len) : NULL;

                if (nl) {
                        char *line = strndup(h->body, (size_t) (nl - h->body));
                        size_t n = (size_t) (nl - h->body) + 1;

                        memmove(h->body, h->body + n, h->body_len - n + 1);
                        h->body_len -= n;
                        return line;
                }
                if (!http_read_body(h))
                        return NULL;
        }
}

static void http_close(Http *h) {
        close(h->fd);
        free(h->body);
}

/* ---- the tests -------------------------------------------------------------------------- */

static void test_grpc_count(QuiltClient *c, int n, int size, uint64_t pause_usec, const char *what) {
        Quilt__Test__CountRequest req = QUILT__TEST__COUNT_REQUEST__INIT;
        QuiltStream *s = NULL;
        ProtobufCMessage *m;
        int got = 0, r;
        bool in_order = true, sizes = true;

        req.n = n;
        req.size = size;
        ok(quilt_client_stream_open(c, "Count", &req.base, &s) == 0, "gRPC: stream opens");
        if (pause_usec > 0)
                usleep(pause_usec); /* a slow client: the server fills its queue meanwhile */
        while ((r = quilt_client_stream_recv(s, NULL, 10 * USEC_PER_SEC, &m)) > 0) {
                const Quilt__Test__CountReply *reply = (const Quilt__Test__CountReply *) m;

                if (reply->seq != got)
                        in_order = false;
                if (reply->payload.len != (size_t) size ||
                    (size > 0 && reply->payload.data[size - 1] != 'a' + reply->seq % 26))
                        sizes = false;
                got++;
                protobuf_c_message_free_unpacked(m, NULL);
        }
        printf("# %s: %d messages\n", what, got);
        is_int(r, 0, "gRPC: the stream ends with OK");
        is_int(got, n, "gRPC: every message arrives");
        ok(in_order, "gRPC: messages arrive in order");
        ok(sizes, "gRPC: messages arrive intact");
        quilt_client_stream_free(s);
}

static void test_http_count(int n, int size, uint64_t pause_usec) {
        char body[128];
        Http h;
        char *line;
        int got = 0;
        bool in_order = true;
        json_t *last = NULL;

        snprintf(body, sizeof body, "{\"n\": %d, \"size\": %d}", n, size);
        http_open(&h, "POST", "/quilt.test.StreamTest/Count", body);
        is_int(h.status, 200, "HTTP: a stream answers 200");
        ok(h.chunked, "HTTP: a stream is chunked");
        if (pause_usec > 0)
                usleep(pause_usec);
        while ((line = http_line(&h))) {
                json_t *j = json_loads(line, 0, NULL);

                free(line);
                if (!j) {
                        in_order = false;
                        continue;
                }
                if (json_object_get(j, "status")) {
                        json_decref(last);
                        last = j;
                        continue;
                }
                if (last) /* something after the status line */
                        in_order = false;
                /* proto3 JSON leaves out seq 0 */
                if (json_integer_value(json_object_get(j, "seq")) != got)
                        in_order = false;
                got++;
                json_decref(j);
        }
        is_int(got, n, "HTTP: every message arrives as one line");
        ok(in_order, "HTTP: lines arrive in order, the status last");
        is_str(last ? json_string_value(json_object_get(last, "status")) : NULL, "OK",
               "HTTP: the last line is {\"status\":\"OK\"}");
        json_decref(last);
        http_close(&h);
}

static void test_errors(QuiltClient *c) {
        Quilt__Test__CountRequest req = QUILT__TEST__COUNT_REQUEST__INIT;
        QuiltStream *s = NULL;
        ProtobufCMessage *m;
        QuiltStatusCode code;
        const char *message;
        int got = 0, r;
        Http h;
        char *line, *last = NULL;

        /* Inside the stream: messages, then the error. */
        req.n = 3;
        req.fail = (char *) "stopped on purpose";
        ok(quilt_client_stream_open(c, "Count", &req.base, &s) == 0, "gRPC: failing stream opens");
        while ((r = quilt_client_stream_recv(s, NULL, 10 * USEC_PER_SEC, &m)) > 0) {
                got++;
                protobuf_c_message_free_unpacked(m, NULL);
        }
        is_int(got, 3, "gRPC: messages queued before an error are delivered");
        is_int(r, -EREMOTEIO, "gRPC: the stream ends with an error");
        quilt_client_stream_status(s, &code, &message);
        is_int(code, QUILT_STATUS_ABORTED, "gRPC: with the handler's status");
        is_str(message, "stopped on purpose", "gRPC: and its message");
        quilt_client_stream_free(s);

        http_open(&h, "POST", "/quilt.test.StreamTest/Count", "{\"n\": 3, \"fail\": \"stopped on purpose\"}");
        got = 0;
        while ((line = http_line(&h))) {
                got++;
                free(last);
                last = line;
        }
        is_int(got, 4, "HTTP: three lines and the status");
        is_str(last, "{\"status\":\"ABORTED\",\"error\":\"stopped on purpose\",\"grpc_code\":10}",
               "HTTP: an error ends the stream with its status line");
        free(last);
        http_close(&h);

        /* Before the stream: an ordinary error. */
        req = (Quilt__Test__CountRequest) QUILT__TEST__COUNT_REQUEST__INIT;
        req.n = -1;
        ok(quilt_client_stream_open(c, "Count", &req.base, &s) == 0, "gRPC: refused stream opens");
        r = quilt_client_stream_recv(s, NULL, 10 * USEC_PER_SEC, &m);
        quilt_client_stream_status(s, &code, NULL);
        ok(r == -EREMOTEIO && code == QUILT_STATUS_INVALID_ARGUMENT, "gRPC: a refused stream ends at once");
        quilt_client_stream_free(s);

        http_open(&h, "POST", "/quilt.test.StreamTest/Count", "{\"n\": -1}");
        is_int(h.status, 400, "HTTP: an error before the stream is an HTTP error status");
        ok(!h.chunked, "HTTP: and no stream");
        http_close(&h);

        http_open(&h, "POST", "/quilt.test.StreamTest/Echo", "{\"seq\": 1}");
        is_int(h.status, 501, "HTTP: bidirectional calls are gRPC only");
        http_close(&h);
}

static void test_backpressure(QuiltClient *c) {
        /* 16 MiB through a client that does not read for a while: the server's queue
         * stays near the high mark instead of holding everything. */
        atomic_store(&max_queued, 0);
        atomic_store(&drained, 0);
        test_grpc_count(c, 64, 256 * 1024, 500 * USEC_PER_MSEC, "gRPC 64 × 256 KiB, slow client");
        printf("# gRPC: max queued %zu bytes, drained %d times\n", atomic_load(&max_queued), atomic_load(&drained));
        ok(atomic_load(&max_queued) < API_CALL_QUEUE_HIGH + 256 * 1024, "gRPC: the send queue stays bounded");
        ok(atomic_load(&drained) > 0, "gRPC: the producer was paused and resumed (on_drained)");

        atomic_store(&max_queued, 0);
        atomic_store(&drained, 0);
        test_http_count(64, 256 * 1024, 500 * USEC_PER_MSEC);
        printf("# HTTP: max queued %zu bytes, drained %d times\n", atomic_load(&max_queued), atomic_load(&drained));
        /* Base64 makes each message 1/3 bigger on the wire. */
        ok(atomic_load(&max_queued) < API_CALL_QUEUE_HIGH + 400 * 1024, "HTTP: the send buffer stays bounded");
        ok(atomic_load(&drained) > 0, "HTTP: the producer was paused and resumed (on_drained)");
}

static void test_cancel(QuiltClient *c) {
        Quilt__Test__CountRequest req = QUILT__TEST__COUNT_REQUEST__INIT;
        Quilt__Test__HoldRequest hold = QUILT__TEST__HOLD_REQUEST__INIT;
        ProtobufCMessage *m = NULL;
        QuiltStatusCode code;
        QuiltStream *s = NULL;
        int before, got = 0;
        Http h;
        char *line;

        /* gRPC: a follower that stops reading and goes away. */
        before = atomic_load(&cancelled);
        req.n = 5;
        req.follow = true;
        ok(quilt_client_stream_open(c, "Count", &req.base, &s) == 0, "gRPC: follow stream opens");
        while (got < 5 && quilt_client_stream_recv(s, NULL, 10 * USEC_PER_SEC, &m) > 0) {
                got++;
                protobuf_c_message_free_unpacked(m, NULL);
        }
        is_int(got, 5, "gRPC: follow stream delivers");
        is_int(quilt_client_stream_recv(s, NULL, 200 * USEC_PER_MSEC, &m), -ETIMEDOUT,
               "gRPC: recv times out while the stream stays open");
        is_int(atomic_load(&in_flight), 1, "an open stream counts as in flight (no idle exit)");
        quilt_client_stream_free(s);
        ok(wait_for(&cancelled, before + 1), "gRPC: a client that goes away cancels the stream (on_cancel)");
        ok(wait_for(&in_flight, 0), "gRPC: and the call is released");

        /* HTTP: the same with a closed connection. */
        before = atomic_load(&cancelled);
        http_open(&h, "POST", "/quilt.test.StreamTest/Count", "{\"n\": 5, \"follow\": true}");
        got = 0;
        while (got < 5 && (line = http_line(&h))) {
                got++;
                free(line);
        }
        is_int(got, 5, "HTTP: follow stream delivers");
        usleep(100 * 1000);
        is_int(atomic_load(&in_flight), 1, "HTTP: an open stream counts as in flight");
        http_close(&h);
        ok(wait_for(&cancelled, before + 1), "HTTP: a client that hangs up cancels the stream (on_cancel)");
        ok(wait_for(&in_flight, 0), "HTTP: and the call is released");

        /* Unary calls are cancelled too: a deadline ends a waiting call at once. */
        before = atomic_load(&cancelled);
        ok(quilt_client_call(c, "Hold", &hold.base, 200 * USEC_PER_MSEC, &m, &code, NULL) == 0 &&
                   code == QUILT_STATUS_DEADLINE_EXCEEDED,
           "gRPC: a unary call past its deadline fails");
        ok(wait_for(&cancelled, before + 1), "gRPC: and its handler hears of it (on_cancel)");
        ok(wait_for(&in_flight, 0), "gRPC: and the call is released");

        before = atomic_load(&cancelled);
        http_send(&h, "POST", "/quilt.test.StreamTest/Hold", "{}");
        usleep(100 * 1000);
        is_int(atomic_load(&in_flight), 1, "HTTP: a held unary call is in flight");
        http_close(&h);
        ok(wait_for(&cancelled, before + 1), "HTTP: a unary client that hangs up cancels the call");
        ok(wait_for(&in_flight, 0), "HTTP: and the call is released");

        hold.now = true;
        ok(quilt_client_call(c, "Hold", &hold.base, 5 * USEC_PER_SEC, &m, &code, NULL) == 0 &&
                   code == QUILT_STATUS_OK,
           "gRPC: unary calls still work");
        if (m)
                protobuf_c_message_free_unpacked(m, NULL);
}

typedef struct Sender {
        QuiltStream *stream;
        int n;
        int result;
} Sender;

static void *sender_main(void *arg) {
        Sender *snd = arg;

        for (int i = 1; i <= snd->n; i++) {
                Quilt__Test__EchoMessage m = QUILT__TEST__ECHO_MESSAGE__INIT;
                char text[32];

                snprintf(text, sizeof text, "message %d", i);
                m.seq = i;
                m.text = text;
                snd->result = quilt_client_stream_send(snd->stream, &m.base);
                if (snd->result < 0)
                        return NULL;
        }
        snd->result = quilt_client_stream_close_send(snd->stream);
        return NULL;
}

static void test_bidi(QuiltClient *c) {
        Quilt__Test__EchoMessage first = QUILT__TEST__ECHO_MESSAGE__INIT;
        ProtobufCMessage *m;
        QuiltStream *s = NULL;
        Sender snd = { .n = 500 };
        pthread_t t;
        int got = 0, r;
        bool in_order = true;

        first.seq = 0;
        first.text = (char *) "message 0";
        ok(quilt_client_stream_open(c, "Echo", &first.base, &s) == 0, "bidi: stream opens");
        snd.stream = s;
        /* One thread sends while this one receives. */
        pthread_create(&t, NULL, sender_main, &snd);
        while ((r = quilt_client_stream_recv(s, NULL, 10 * USEC_PER_SEC, &m)) > 0) {
                const Quilt__Test__EchoMessage *e = (const Quilt__Test__EchoMessage *) m;
                char text[32];

                snprintf(text, sizeof text, "message %d", got);
                if (e->seq != got || !streq(e->text, text))
                        in_order = false;
                got++;
                protobuf_c_message_free_unpacked(m, NULL);
        }
        pthread_join(t, NULL);
        is_int(snd.result, 0, "bidi: every message is sent, then the half-close");
        is_int(got, 501, "bidi: every client message is echoed");
        ok(in_order, "bidi: echoes arrive in order");
        is_int(r, 0, "bidi: the half-close ends the stream with OK");
        quilt_client_stream_free(s);

        /* Client streaming: many in, one out. */
        first.seq = 1;
        ok(quilt_client_stream_open(c, "Upload", &first.base, &s) == 0, "client stream opens");
        for (int i = 2; i <= 100; i++) {
                Quilt__Test__EchoMessage e = QUILT__TEST__ECHO_MESSAGE__INIT;

                e.seq = i;
                (void) quilt_client_stream_send(s, &e.base);
        }
        is_int(quilt_client_stream_close_send(s), 0, "client stream: half-close");
        r = quilt_client_stream_recv(s, NULL, 10 * USEC_PER_SEC, &m);
        is_int(r, 1, "client stream: one reply");
        if (r > 0) {
                const Quilt__Test__UploadReply *u = (const Quilt__Test__UploadReply *) m;

                ok(u->count == 100 && u->sum == 5050, "client stream: the server saw every message");
                protobuf_c_message_free_unpacked(m, NULL);
        }
        is_int(quilt_client_stream_recv(s, NULL, 10 * USEC_PER_SEC, &m), 0, "client stream: then the end");
        quilt_client_stream_free(s);

        /* A bidi client that goes away. */
        {
                int before = atomic_load(&cancelled);

                first.text = (char *) "linger";
                ok(quilt_client_stream_open(c, "Echo", &first.base, &s) == 0, "bidi: second stream opens");
                ok(quilt_client_stream_recv(s, NULL, 10 * USEC_PER_SEC, &m) > 0, "bidi: first echo");
                protobuf_c_message_free_unpacked(m, NULL);
                quilt_client_stream_cancel(s);
                r = quilt_client_stream_recv(s, NULL, 10 * USEC_PER_SEC, &m);
                is_int(r, -EREMOTEIO, "bidi: a cancelled stream ends with an error");
                quilt_client_stream_free(s);
                ok(wait_for(&cancelled, before + 1), "bidi: the server hears of the cancellation");
                ok(wait_for(&in_flight, 0), "bidi: and releases the call");
        }
}

static void test_shutdown(QuiltClient *c) {
        Quilt__Test__CountRequest req = QUILT__TEST__COUNT_REQUEST__INIT;
        ProtobufCMessage *m;
        QuiltStream *s = NULL;
        int before = atomic_load(&cancelled), r;
        Http h;
        char *line;

        req.n = 1;
        req.follow = true;
        ok(quilt_client_stream_open(c, "Count", &req.base, &s) == 0, "shutdown: gRPC stream opens");
        ok(quilt_client_stream_recv(s, NULL, 10 * USEC_PER_SEC, &m) > 0, "shutdown: gRPC stream delivers");
        protobuf_c_message_free_unpacked(m, NULL);
        http_open(&h, "POST", "/quilt.test.StreamTest/Count", "{\"n\": 1, \"follow\": true}");
        line = http_line(&h);
        ok(line, "shutdown: HTTP stream delivers");
        free(line);

        server_stop();
        is_int(atomic_load(&cancelled), before + 2, "shutdown: both handlers hear of it (on_cancel)");
        is_int(atomic_load(&in_flight), 0, "shutdown: no call is left");
        r = quilt_client_stream_recv(s, NULL, 10 * USEC_PER_SEC, &m);
        is_int(r, -EREMOTEIO, "shutdown: the gRPC client sees the stream end with an error");
        quilt_client_stream_free(s);
        line = http_line(&h);
        ok(!line || !strstr(line, "\"OK\""), "shutdown: the HTTP stream does not end with OK");
        free(line);
        http_close(&h);
}

/* HTTP ends a stream with a line that has a "status" member; a streamed message must not
 * have one of its own, or a client could not tell them apart. */
static void test_status_line_unambiguous(void) {
        const ProtobufCServiceDescriptor *service = &quilt__quilt_service__descriptor;

        for (unsigned i = 0; i < service->n_methods; i++) {
                const ProtobufCMethodDescriptor *md = &service->methods[i];
                char name[256];

                if (!(rpc_kind(service, md->name) & RPC_SERVER_STREAMING))
                        continue;
                snprintf(name, sizeof name, "%s streams %s, which has no top-level \"status\" field", md->name,
                         md->output->name);
                ok(!protobuf_c_message_descriptor_get_field_by_name(md->output, "status"), name);
        }
}

int main(void) {
        _cleanup_free_ char *target = NULL;
        QuiltClient *c = NULL;

        log_parse_environment();
        server_start();
        if (asprintf(&target, "unix:%s", grpc_path) < 0 ||
            quilt_client_new_for_service(target, NULL, &quilt__test__stream_test__descriptor, &c) < 0)
                abort();

        test_status_line_unambiguous();
        test_grpc_count(c, 2000, 16, 0, "gRPC 2000 × 16 B");
        test_http_count(2000, 16, 0);
        test_errors(c);
        test_backpressure(c);
        test_cancel(c);
        test_bidi(c);
        test_shutdown(c);

        quilt_client_free(c);
        return tap_finish();
}
