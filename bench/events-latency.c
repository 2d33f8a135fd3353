/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The event stream: how soon a live subscriber has an event, and how fast stored events
 * replay. Prints numbers; asserts nothing. Needs a quiltd that can run containers.
 *
 *   events-latency GRPC-HOST HTTP-UNIX-SOCKET [N]
 *
 * 1. One container (sleep 600); a live StreamEvents for its "killed" events; N times: a
 *    KillContainer with SIGCONT (harmless) and then the event on the stream, timed from
 *    before the call: the unary round trip plus delivery. Also the time from the reply to
 *    the event, which is the stream's own delay.
 * 2. Replays of every stored event (since=0, until_now) over gRPC and over HTTP NDJSON:
 *    events per second. */

#include <curl/curl.h>
#include <inttypes.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "quilt-client.h"
#include "quilt.pb-c.h"

static uint64_t now_nsec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *samples, size_t n) {
        qsort(samples, n, sizeof *samples, cmp_u64);
        printf("%-40s n=%zu  p50=%.3f ms  p95=%.3f ms  p99=%.3f ms\n", name, n, samples[n / 2] / 1e6,
               samples[n * 95 / 100] / 1e6, samples[n * 99 / 100] / 1e6);
}

static int call(QuiltClient *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **ret) {
        QuiltStatusCode code;
        char *message = NULL;
        int r;

        r = quilt_client_call(c, method, req, 30ULL * 1000000, ret, &code, &message);
        if (r < 0 || code != QUILT_STATUS_OK) {
                fprintf(stderr, "%s failed: %s\n", method, message ?: strerror(-r));
                free(message);
                return -EIO;
        }
        return 0;
}

static int bench_live(QuiltClient *c, const char *id, uint64_t *rtt, uint64_t *delay, size_t n) {
        Quilt__StreamEventsRequest req = QUILT__STREAM_EVENTS_REQUEST__INIT;
        char *types[] = { (char *) "killed" }, *ids[] = { (char *) id };
        QuiltStream *s = NULL;
        int r;

        req.event_types = types;
        req.n_event_types = 1;
        req.container_ids = ids;
        req.n_container_ids = 1;
        r = quilt_client_stream_open(c, "StreamEvents", &req.base, &s);
        if (r < 0)
                return r;
        usleep(100 * 1000); /* subscribed by then */

        for (size_t i = 0; i < n + n / 10; i++) {
                Quilt__KillContainerRequest kill = QUILT__KILL_CONTAINER_REQUEST__INIT;
                ProtobufCMessage *reply = NULL, *event = NULL;
                uint64_t t0, t1, t2;

                kill.container_id = (char *) id;
                kill.signal = (char *) "SIGCONT";
                t0 = now_nsec();
                if (call(c, "KillContainer", &kill.base, &reply) < 0)
                        goto fail;
                t1 = now_nsec();
                protobuf_c_message_free_unpacked(reply, NULL);
                r = quilt_client_stream_recv(s, NULL, 5ULL * 1000000, &event);
                t2 = now_nsec();
                if (r <= 0) {
                        fprintf(stderr, "no event: %s\n", r == 0 ? "the stream ended" : strerror(-r));
                        goto fail;
                }
                protobuf_c_message_free_unpacked(event, NULL);
                if (i >= n / 10) {
                        rtt[i - n / 10] = t2 - t0;
                        delay[i - n / 10] = t2 - t1;
                }
        }
        quilt_client_stream_free(s);
        return 0;

fail:
        quilt_client_stream_free(s);
        return -EIO;
}

static int bench_replay_grpc(QuiltClient *c, unsigned rounds) {
        uint64_t total = 0, t0 = now_nsec();

        for (unsigned k = 0; k < rounds; k++) {
                Quilt__StreamEventsRequest req = QUILT__STREAM_EVENTS_REQUEST__INIT;
                QuiltStream *s = NULL;
                ProtobufCMessage *m;
                int r;

                req.since_present_case = QUILT__STREAM_EVENTS_REQUEST__SINCE_PRESENT_SINCE;
                req.since = 0;
                req.until_now = true;
                if (quilt_client_stream_open(c, "StreamEvents", &req.base, &s) < 0)
                        return -EIO;
                while ((r = quilt_client_stream_recv(s, NULL, 30ULL * 1000000, &m)) > 0) {
                        total++;
                        protobuf_c_message_free_unpacked(m, NULL);
                }
                quilt_client_stream_free(s);
                if (r < 0)
                        return -EIO;
        }
        printf("%-40s %" PRIu64 " events in %.1f ms: %.0f events/s\n", "gRPC replay (since=0, until_now)", total,
               (now_nsec() - t0) / 1e6, total / ((now_nsec() - t0) / 1e9));
        return 0;
}

static size_t count_lines(char *ptr, size_t size, size_t nmemb, void *userdata) {
        uint64_t *lines = userdata;

        for (size_t i = 0; i < size * nmemb; i++)
                if (ptr[i] == '\n')
                        (*lines)++;
        return size * nmemb;
}

static int bench_replay_http(const char *socket_path, unsigned rounds) {
        CURL *curl = curl_easy_init();
        uint64_t lines = 0, t0 = now_nsec();

        if (!curl)
                return -ENOMEM;
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
        curl_easy_setopt(curl, CURLOPT_URL, "http://localhost/events?since=0&until_now=true");
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, count_lines);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &lines);
        for (unsigned k = 0; k < rounds; k++)
                if (curl_easy_perform(curl) != CURLE_OK) {
                        curl_easy_cleanup(curl);
                        return -EIO;
                }
        curl_easy_cleanup(curl);
        lines -= rounds; /* the status lines */
        printf("%-40s %" PRIu64 " events in %.1f ms: %.0f events/s\n", "HTTP NDJSON replay (GET /events)", lines,
               (now_nsec() - t0) / 1e6, lines / ((now_nsec() - t0) / 1e9));
        return 0;
}

int main(int argc, char *argv[]) {
        Quilt__CreateContainerRequest create = QUILT__CREATE_CONTAINER_REQUEST__INIT;
        Quilt__RemoveContainerRequest rm = QUILT__REMOVE_CONTAINER_REQUEST__INIT;
        _cleanup_free_ uint64_t *rtt = NULL, *delay = NULL;
        char *command[] = { (char *) "sleep", (char *) "600" };
        ProtobufCMessage *reply = NULL;
        QuiltClient *c = NULL;
        char *id = NULL;
        size_t n = 1000;
        int ret = 1;

        if (argc < 3) {
                fprintf(stderr, "usage: %s GRPC-HOST HTTP-UNIX-SOCKET [N]\n", argv[0]);
                return 2;
        }
        if (argc > 3)
                n = strtoul(argv[3], NULL, 10);
        if (n < 10) {
                fprintf(stderr, "N must be at least 10\n");
                return 2;
        }
        rtt = calloc(n, sizeof *rtt);
        delay = calloc(n, sizeof *delay);
        if (!rtt || !delay || quilt_client_new(argv[1], NULL, &c) < 0)
                return 1;

        create.command = command;
        create.n_command = ELEMENTSOF(command);
        if (call(c, "CreateContainer", &create.base, &reply) < 0)
                goto finish;
        id = strdup(((Quilt__CreateContainerResponse *) reply)->container_id);
        protobuf_c_message_free_unpacked(reply, NULL);
        if (!id)
                goto finish;

        if (bench_live(c, id, rtt, delay, n) < 0)
                goto finish;
        report("KillContainer + its event (live stream)", rtt, n);
        report("event after the KillContainer reply", delay, n);

        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (bench_replay_grpc(c, 10) < 0 || bench_replay_http(argv[2], 10) < 0)
                goto finish;
        curl_global_cleanup();
        ret = 0;

finish:
        if (id) {
                rm.container_id = id;
                rm.force = true;
                if (call(c, "RemoveContainer", &rm.base, &reply) >= 0)
                        protobuf_c_message_free_unpacked(reply, NULL);
        }
        free(id);
        quilt_client_free(c);
        return ret;
}
