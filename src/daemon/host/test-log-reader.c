/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The file log reader on hand-written container.log files: order across the rotated file,
 * tail from the end, since/until and stream filters, a record being written, bounded
 * reads, rotation while following, and the inotify watch. (The journal reader is tested
 * against a real journald in tests/test-logs-systemd.sh.) */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log-reader.h"
#include "macro.h"
#include "rm-rf.h"
#include "tests.h"

static char dir[] = "/tmp/test-log-reader.XXXXXX";

typedef struct Collected {
        char text[8192];
        size_t n;
        size_t stop_after; /* return 1 after this many (0: never) */
} Collected;

static int collect(const ContainerLogRecord *rec, void *userdata) {
        Collected *c = userdata;
        size_t left = sizeof c->text - strlen(c->text);

        (void) snprintf(c->text + strlen(c->text), left, "%s%s%.*s%s,",
                        rec->stream == CONTAINER_LOG_STDERR ? "E:" : rec->stream == CONTAINER_LOG_SYSTEM ? "S:" : "",
                        rec->partial ? "P:" : "", (int) rec->text_len, rec->text,
                        rec->event ? "!" : "");
        c->n++;
        return c->stop_after > 0 && c->n >= c->stop_after ? 1 : 0;
}

static void append(const char *name, uint64_t usec, ContainerLogStream stream, const char *tag_event,
                   const char *text) {
        char path[256], prefix[CONTAINER_LOG_PREFIX_MAX];
        FILE *f;
        int n;

        (void) snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "ae");
        if (!f)
                abort();
        n = container_log_format_prefix(prefix, sizeof prefix, usec, stream, tag_event && streq(tag_event, "P"),
                                        stream == CONTAINER_LOG_SYSTEM ? tag_event : NULL);
        if (n < 0)
                abort();
        fprintf(f, "%s%s\n", prefix, text);
        fclose(f);
}

static void append_raw(const char *name, const char *raw) {
        char path[256];
        FILE *f;

        (void) snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "ae");
        if (!f)
                abort();
        fputs(raw, f);
        fclose(f);
}

/* Reads everything there is now into c; returns the last state. */
static int read_all(LogReader *r, Collected *c, unsigned *ret_calls) {
        unsigned calls = 0;
        int k;

        do {
                k = log_reader_read(r, 3, collect, c);
                calls++;
        } while (k == LOG_READER_MORE && calls < 10000);
        if (ret_calls)
                *ret_calls = calls;
        return k;
}

static char *read_with(const LogFilter *f) {
        _cleanup_(log_reader_freep) LogReader *r = NULL;
        Collected c = {};

        if (log_reader_open_file(dir, f, &r) < 0)
                return strdup("(open failed)");
        if (read_all(r, &c, NULL) < 0)
                return strdup("(read failed)");
        return strdup(c.text);
}

#define check_read(filter, want, name)                          \
        do {                                                    \
                _cleanup_free_ char *_got_ = read_with(filter); \
                is_str(_got_, want, name);                      \
        } while (0)

static void fill(void) {
        /* The rotated file: 1-3; the current one: 4-8 with stderr, a partial and a system
         * line, then a record being written. */
        append(CONTAINER_LOG_FILE_NAME_ROTATED, 100, CONTAINER_LOG_SYSTEM, "started", "Container started");
        append(CONTAINER_LOG_FILE_NAME_ROTATED, 101, CONTAINER_LOG_STDOUT, "F", "one");
        append(CONTAINER_LOG_FILE_NAME_ROTATED, 102, CONTAINER_LOG_STDOUT, "F", "two");
        append(CONTAINER_LOG_FILE_NAME, 200, CONTAINER_LOG_STDERR, "F", "three");
        append(CONTAINER_LOG_FILE_NAME, 201, CONTAINER_LOG_STDOUT, "P", "fo");
        append(CONTAINER_LOG_FILE_NAME, 202, CONTAINER_LOG_STDOUT, "F", "ur");
        append_raw(CONTAINER_LOG_FILE_NAME, "garbage without a prefix\n");
        append(CONTAINER_LOG_FILE_NAME, 203, CONTAINER_LOG_STDOUT, "F", "");
        append(CONTAINER_LOG_FILE_NAME, 300, CONTAINER_LOG_SYSTEM, "exited", "Container exited with code 0");
        append_raw(CONTAINER_LOG_FILE_NAME, "301 stdout F torn");
}

static void test_filters(void) {
        LogFilter f = {};

        check_read(&f, "S:Container started!,one,two,E:three,P:fo,ur,,S:Container exited with code 0!,",
                   "everything, rotated file first, the torn record left out");

        f = (LogFilter) { .streams = 1U << CONTAINER_LOG_STDOUT };
        check_read(&f, "one,two,P:fo,ur,,", "stdout only");
        f = (LogFilter) { .streams = 1U << CONTAINER_LOG_STDERR | 1U << CONTAINER_LOG_SYSTEM };
        check_read(&f, "S:Container started!,E:three,S:Container exited with code 0!,", "stderr and system");

        f = (LogFilter) { .since_usec = 102 };
        check_read(&f, "two,E:three,P:fo,ur,,S:Container exited with code 0!,", "since is inclusive");
        f = (LogFilter) { .until_usec = 201 };
        check_read(&f, "S:Container started!,one,two,E:three,", "until is exclusive");
        f = (LogFilter) { .since_usec = 101, .until_usec = 102 };
        check_read(&f, "one,", "since and until");

        f = (LogFilter) { .tail_set = true, .tail = 2 };
        check_read(&f, ",S:Container exited with code 0!,", "tail 2");
        f = (LogFilter) { .tail_set = true, .tail = 6 };
        check_read(&f, "two,E:three,P:fo,ur,,S:Container exited with code 0!,", "tail 6 reaches into the rotated file");
        f = (LogFilter) { .tail_set = true, .tail = 100 };
        check_read(&f, "S:Container started!,one,two,E:three,P:fo,ur,,S:Container exited with code 0!,",
                   "tail beyond the start: everything");
        f = (LogFilter) { .tail_set = true, .tail = 0 };
        check_read(&f, "", "tail 0: nothing of what is there");
        f = (LogFilter) { .tail_set = true, .tail = 2, .streams = 1U << CONTAINER_LOG_STDOUT };
        check_read(&f, "ur,,", "tail counts only what passes the stream filter");
        f = (LogFilter) { .tail_set = true, .tail = 3, .until_usec = 202 };
        check_read(&f, "two,E:three,P:fo,", "tail before until");
        f = (LogFilter) { .tail_set = true, .tail = 10, .since_usec = 200 };
        check_read(&f, "E:three,P:fo,ur,,S:Container exited with code 0!,", "tail stops at since");
}

static void test_bounded(void) {
        _cleanup_(log_reader_freep) LogReader *r = NULL;
        LogFilter f = {};
        Collected c = { .stop_after = 2 };
        unsigned calls;

        is_int(log_reader_open_file(dir, &f, &r), 0, "open");
        is_int(log_reader_read(r, 100, collect, &c), LOG_READER_MORE, "the callback can stop a read");
        is_str(c.text, "S:Container started!,one,", "... after its entry");
        c.stop_after = 0;
        is_int(read_all(r, &c, &calls), LOG_READER_IDLE, "then idle at the end");
        ok(calls >= 2, "a budget of 3 entries takes several calls");
        is_str(c.text, "S:Container started!,one,two,E:three,P:fo,ur,,S:Container exited with code 0!,",
               "... and nothing is lost or repeated");
        is_int(log_reader_last_terminal_usec(r), 300, "the last 'exited' is noted");

        /* The torn record is completed, then the file is rotated under the reader. */
        append_raw(CONTAINER_LOG_FILE_NAME, "\n");
        c.text[0] = 0;
        is_int(read_all(r, &c, NULL), LOG_READER_IDLE, "idle again");
        is_str(c.text, "torn,", "the completed record is read");

        {
                char a[256], b[256];

                (void) snprintf(a, sizeof a, "%s/%s", dir, CONTAINER_LOG_FILE_NAME);
                (void) snprintf(b, sizeof b, "%s/%s", dir, CONTAINER_LOG_FILE_NAME_ROTATED);
                append(CONTAINER_LOG_FILE_NAME, 400, CONTAINER_LOG_STDOUT, "F", "before rotation");
                ok(rename(a, b) == 0, "rotate");
                append(CONTAINER_LOG_FILE_NAME, 401, CONTAINER_LOG_STDOUT, "F", "after rotation");
        }
        c.text[0] = 0;
        is_int(read_all(r, &c, NULL), LOG_READER_IDLE, "idle after the rotation");
        is_str(c.text, "before rotation,after rotation,", "the renamed file is read to its end, then the new one");
}

static int changes;

static void on_change(LogReader *r, void *userdata) {
        changes++;
}

static void test_watch(void) {
        _cleanup_(log_reader_freep) LogReader *r = NULL;
        sd_event *e = NULL;
        LogFilter f = { .tail_set = true, .tail = 0 };
        Collected c = {};

        is_int(sd_event_new(&e), 0, "sd_event_new");
        is_int(log_reader_open_file(dir, &f, &r), 0, "open with tail 0");
        is_int(log_reader_watch(r, e, on_change, NULL), 0, "watch");
        is_int(read_all(r, &c, NULL), LOG_READER_IDLE, "nothing old");
        is_str(c.text, "", "tail 0 skips what is there");

        append(CONTAINER_LOG_FILE_NAME, 500, CONTAINER_LOG_STDOUT, "F", "new");
        for (int i = 0; i < 10 && changes == 0; i++)
                (void) sd_event_run(e, 100 * USEC_PER_MSEC);
        ok(changes > 0, "a write is noticed");
        is_int(read_all(r, &c, NULL), LOG_READER_IDLE, "read it");
        is_str(c.text, "new,", "the new line");

        r = log_reader_free(r);
        sd_event_unref(e);
}

static void test_missing(void) {
        _cleanup_(log_reader_freep) LogReader *r = NULL;
        LogFilter f = {};
        Collected c = {};

        (void) unlink(CONTAINER_LOG_FILE_NAME);
        is_int(log_reader_open_file("/nonexistent-dir-for-test", &f, &r), 0, "a missing log is an empty one");
        is_int(read_all(r, &c, NULL), LOG_READER_IDLE, "nothing to read");
}

/* Many blocks: counting and positions must hold across block boundaries. */
static int count_cb(const ContainerLogRecord *rec, void *userdata) {
        uint64_t *v = userdata;

        if (v[0] == 0)
                v[1] = rec->usec; /* the first one */
        v[0]++;
        v[2] += rec->text_len;
        return 0;
}

static void test_big(void) {
        char big[12001];
        char sub[] = "/tmp/test-log-reader-big.XXXXXX";
        char path[256];
        FILE *f;

        if (!mkdtemp(sub))
                abort();
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = 0;
        (void) snprintf(path, sizeof path, "%s/%s", sub, CONTAINER_LOG_FILE_NAME);
        f = fopen(path, "we");
        if (!f)
                abort();
        /* 1..3000 short, every 100th a 12000-byte line: about 750 KiB. */
        for (unsigned i = 1; i <= 3000; i++)
                fprintf(f, "%u stdout F %s\n", i, i % 100 == 0 ? big : "line");
        fclose(f);

        for (unsigned t = 0; t < 4; t++) {
                static const uint64_t tails[] = { 1, 150, 2999, 3000 };
                _cleanup_(log_reader_freep) LogReader *r = NULL;
                LogFilter flt = { .tail_set = true, .tail = tails[t] };
                uint64_t v[3] = {};
                int k;

                is_int(log_reader_open_file(sub, &flt, &r), 0, "open the big log");
                do
                        k = log_reader_read(r, 1000, count_cb, v);
                while (k == LOG_READER_MORE);
                is_int(v[0], tails[t], "tail N gives N entries across blocks");
                is_int(v[1], 3000 - tails[t] + 1, "... starting at the right one");
        }
        {
                _cleanup_(log_reader_freep) LogReader *r = NULL;
                LogFilter flt = {};
                uint64_t v[3] = {};
                int k;

                is_int(log_reader_open_file(sub, &flt, &r), 0, "open the big log");
                do
                        k = log_reader_read(r, 1000, count_cb, v);
                while (k == LOG_READER_MORE);
                is_int(v[0], 3000, "all of it forward");
                is_int(v[2], 30 * 12000 + 2970 * 4, "every byte of every line");
        }
        (void) rm_rf(sub);
}

int main(void) {
        if (!mkdtemp(dir))
                return 1;
        fill();
        test_filters();
        test_bounded();
        test_watch();
        test_missing();
        test_big();
        (void) rm_rf(dir);
        return tap_finish();
}
