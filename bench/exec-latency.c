/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Exec latency through one persistent gRPC connection (the CLI's client library), so that
 * the numbers are quiltd's and the helper's, not a CLI process start:
 *
 *   exec          ExecContainer ["true"] in one running container, N times: p50/p95/p99
 *   first-output  CreateContainer ["sleep", ...] (answered once it runs) + ExecContainer
 *                 ["echo", "hi"] until the output is back, M times (each container removed, untimed)
 *
 * Prints milliseconds; asserts nothing.
 *
 *   exec-latency GRPC-HOST [N] [M]    (e.g. unix:/run/quilt/quilt.sock 1000 50) */

#include <inttypes.h>
#include <time.h>

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
        printf("%-34s n=%-5zu p50=%7.3f ms  p95=%7.3f ms  p99=%7.3f ms\n", name, n, samples[n / 2] / 1e6,
               samples[n * 95 / 100] / 1e6, samples[n * 99 / 100] / 1e6);
}

static int call(QuiltClient *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **ret) {
        QuiltStatusCode code;
        char *message = NULL;
        int r;

        r = quilt_client_call(c, method, req, 0, ret, &code, &message);
        if (r < 0 || code != QUILT_STATUS_OK) {
                fprintf(stderr, "%s failed: %s\n", method, message ?: strerror(-r));
                free(message);
                return -EIO;
        }
        return 0;
}

static int exec_in(QuiltClient *c, const char *id, char **argv, size_t argc, const char *expect) {
        Quilt__ExecContainerRequest req = QUILT__EXEC_CONTAINER_REQUEST__INIT;
        ProtobufCMessage *m = NULL;
        const Quilt__ExecContainerResponse *reply;
        int r;

        req.container_id = (char *) id;
        req.command = argv;
        req.n_command = argc;
        req.capture_output = true;
        r = call(c, "ExecContainer", &req.base, &m);
        if (r < 0)
                return r;
        reply = (const Quilt__ExecContainerResponse *) m;
        if (!reply->success || (expect && !streq(strempty(reply->stdout), expect))) {
                fprintf(stderr, "exec failed: exit %d, %s\n", reply->exit_code, strempty(reply->error_message));
                r = -EIO;
        }
        protobuf_c_message_free_unpacked(m, NULL);
        return r;
}

static int create(QuiltClient *c, const char *name, char **ret_id) {
        Quilt__CreateContainerRequest req = QUILT__CREATE_CONTAINER_REQUEST__INIT;
        char *sleep_argv[] = { (char *) "sleep", (char *) "100000" };
        ProtobufCMessage *m = NULL;
        int r;

        /* Synchronous: answered once the command runs. */
        req.name = (char *) name;
        req.cpu_limit_percent = 100.0f * (float) sysconf(_SC_NPROCESSORS_ONLN);
        req.command = sleep_argv;
        req.n_command = 2;
        r = call(c, "CreateContainer", &req.base, &m);
        if (r < 0)
                return r;
        *ret_id = strdup(((const Quilt__CreateContainerResponse *) m)->container_id);
        protobuf_c_message_free_unpacked(m, NULL);
        return *ret_id ? 0 : -ENOMEM;
}

static int remove_container(QuiltClient *c, const char *id) {
        Quilt__RemoveContainerRequest req = QUILT__REMOVE_CONTAINER_REQUEST__INIT;
        ProtobufCMessage *m = NULL;
        int r;

        req.container_id = (char *) id;
        req.force = true;
        r = call(c, "RemoveContainer", &req.base, &m);
        if (m)
                protobuf_c_message_free_unpacked(m, NULL);
        return r;
}

int main(int argc, char *argv[]) {
        _cleanup_free_ uint64_t *samples = NULL;
        _cleanup_free_ char *id = NULL;
        char *true_argv[] = { (char *) "true" }, *echo_argv[] = { (char *) "echo", (char *) "hi" };
        size_t n = 1000, m = 50;
        QuiltClient *c = NULL;
        int r;

        if (argc < 2) {
                fprintf(stderr, "usage: %s GRPC-HOST [N] [M]\n", argv[0]);
                return 2;
        }
        if (argc > 2)
                n = strtoul(argv[2], NULL, 10);
        if (argc > 3)
                m = strtoul(argv[3], NULL, 10);
        if (n < 10 || m < 1) {
                fprintf(stderr, "N must be at least 10, M at least 1\n");
                return 2;
        }
        samples = calloc(MAX(n, m), sizeof *samples);
        if (!samples)
                return 1;

        r = quilt_client_new(argv[1], NULL, &c);
        if (r < 0) {
                fprintf(stderr, "cannot connect: %s\n", strerror(-r));
                return 1;
        }

        /* A container whose init waits, for exec ($QUILT_BENCH_CONTAINER: an existing one,
         * kept, for looking at what its monitor logged). */
        if (getenv("QUILT_BENCH_CONTAINER"))
                id = strdup(getenv("QUILT_BENCH_CONTAINER"));
        else {
                Quilt__CreateContainerRequest req = QUILT__CREATE_CONTAINER_REQUEST__INIT;
                ProtobufCMessage *reply = NULL;

                /* Exec's work is charged to the container: under the default 50 % CPU limit,
                 * back-to-back execs are throttled (tens of ms every 100 ms period), which is
                 * the limit working, not exec's latency. crun's container has no limit. */
                req.async_mode = true;
                req.cpu_limit_percent = 100.0f * (float) sysconf(_SC_NPROCESSORS_ONLN);
                if (call(c, "CreateContainer", &req.base, &reply) < 0)
                        return 1;
                id = strdup(((const Quilt__CreateContainerResponse *) reply)->container_id);
                protobuf_c_message_free_unpacked(reply, NULL);
        }
        /* async: wait until it runs, by exec'ing until it works */
        for (int i = 0; i < 200; i++) {
                if (exec_in(c, id, true_argv, 1, NULL) >= 0)
                        break;
                struct timespec ts = { 0, 20 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }

        for (size_t i = 0; i < n + n / 10; i++) { /* the first tenth warms up */
                uint64_t t0 = now_nsec();

                if (exec_in(c, id, true_argv, 1, NULL) < 0)
                        return 1;
                if (i >= n / 10)
                        samples[i - n / 10] = now_nsec() - t0;
        }
        report("quilt exec true (gRPC, 1 conn)", samples, n);
        if (!getenv("QUILT_BENCH_CONTAINER"))
                (void) remove_container(c, id);

        for (size_t i = 0; i < m; i++) {
                _cleanup_free_ char *cid = NULL;
                char name[64];
                uint64_t t0;

                (void) snprintf(name, sizeof name, "bench-first-%d-%zu", (int) getpid(), i);
                t0 = now_nsec();
                if (create(c, name, &cid) < 0 || exec_in(c, cid, echo_argv, 2, "hi\n") < 0)
                        return 1;
                samples[i] = now_nsec() - t0;
                (void) remove_container(c, cid);
        }
        report("quilt create + first exec output", samples, m);

        quilt_client_free(c);
        return 0;
}
