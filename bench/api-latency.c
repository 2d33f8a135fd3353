/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Round-trip latency of one small RPC (GetSystemInfo) through each transport, over one
 * persistent connection each: gRPC via the CLI's client library, HTTP/JSON via libcurl.
 * Prints p50/p95/p99 in milliseconds; asserts nothing.
 *
 *   api-latency GRPC-HOST HTTP-UNIX-SOCKET [N]   (e.g. unix:/run/quilt/quilt.sock /run/quilt/http.sock 2000) */

#include <curl/curl.h>
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
        printf("%-28s n=%zu  p50=%.3f ms  p95=%.3f ms  p99=%.3f ms\n", name, n, samples[n / 2] / 1e6,
               samples[n * 95 / 100] / 1e6, samples[n * 99 / 100] / 1e6);
}

static int bench_grpc(const char *host, uint64_t *samples, size_t n) {
        Quilt__GetSystemInfoRequest req = QUILT__GET_SYSTEM_INFO_REQUEST__INIT;
        QuiltClient *c = NULL;
        int r;

        r = quilt_client_new(host, NULL, &c);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n + n / 10; i++) { /* the first tenth warms up */
                ProtobufCMessage *reply = NULL;
                QuiltStatusCode code;
                char *message = NULL;
                uint64_t t0 = now_nsec();

                r = quilt_client_call(c, "GetSystemInfo", &req.base, 0, &reply, &code, &message);
                if (r < 0 || code != QUILT_STATUS_OK) {
                        fprintf(stderr, "gRPC call failed: %s\n", message ?: strerror(-r));
                        free(message);
                        quilt_client_free(c);
                        return -EIO;
                }
                if (i >= n / 10)
                        samples[i - n / 10] = now_nsec() - t0;
                protobuf_c_message_free_unpacked(reply, NULL);
        }
        quilt_client_free(c);
        return 0;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata) {
        return size * nmemb;
}

static int bench_http(const char *socket_path, uint64_t *samples, size_t n) {
        CURL *curl = curl_easy_init();

        if (!curl)
                return -ENOMEM;
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
        curl_easy_setopt(curl, CURLOPT_URL, "http://localhost/system/info");
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);

        for (size_t i = 0; i < n + n / 10; i++) {
                uint64_t t0 = now_nsec();
                long status = 0;

                if (curl_easy_perform(curl) != CURLE_OK ||
                    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
                        fprintf(stderr, "HTTP request failed (status %ld)\n", status);
                        curl_easy_cleanup(curl);
                        return -EIO;
                }
                if (i >= n / 10)
                        samples[i - n / 10] = now_nsec() - t0;
        }
        curl_easy_cleanup(curl);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_free_ uint64_t *samples = NULL;
        size_t n = 2000;

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

        samples = calloc(n, sizeof *samples);
        if (!samples)
                return 1;

        if (bench_grpc(argv[1], samples, n) < 0)
                return 1;
        report("gRPC GetSystemInfo", samples, n);

        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (bench_http(argv[2], samples, n) < 0)
                return 1;
        report("HTTP/JSON GET /system/info", samples, n);
        curl_global_cleanup();
        return 0;
}
