/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* How times, sizes, states and maps are shown to people. JSON output never goes through
 * here: it carries the raw values. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

const char *format_time_sec(char buf[static CLI_TIME_MAX], uint64_t sec) {
        time_t t = (time_t) sec;
        struct tm tm;

        if (sec == 0 || !localtime_r(&t, &tm) || strftime(buf, CLI_TIME_MAX, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                return "-";
        return buf;
}

const char *format_log_time(char buf[static CLI_LOG_TIME_MAX], uint64_t usec) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        char date[24], zone[8];
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
            strftime(zone, sizeof zone, "%z", &tm) != 5)
                return "-";
        /* %z is "+0200"; RFC 3339 wants "+02:00". */
        (void) snprintf(buf, CLI_LOG_TIME_MAX, "%s.%06u%.3s:%.2s", date, (unsigned) (usec % USEC_PER_SEC), zone,
                        zone + 3);
        return buf;
}

const char *format_time_ago(char buf[static CLI_TIME_MAX], uint64_t sec) {
        static const struct {
                uint64_t seconds;
                const char *unit;
        } units[] = {
                { 365 * 24 * 3600, "year" }, { 7 * 24 * 3600, "week" }, { 24 * 3600, "day" },
                { 3600, "hour" },            { 60, "minute" },          { 1, "second" },
        };
        uint64_t now = (uint64_t) time(NULL), d;

        if (sec == 0)
                return "-";
        if (sec > now)
                return "just now";
        d = now - sec;
        if (d < 1)
                return "just now";
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (d >= units[i].seconds) {
                        uint64_t k = d / units[i].seconds;
                        snprintf(buf, CLI_TIME_MAX, "%" PRIu64 " %s%s ago", k, units[i].unit, k == 1 ? "" : "s");
                        return buf;
                }
        return "just now";
}

const char *format_duration(char buf[static CLI_TIME_MAX], uint64_t sec) {
        uint64_t d = sec / 86400, h = sec / 3600 % 24, m = sec / 60 % 60, s = sec % 60;

        if (d > 0)
                snprintf(buf, CLI_TIME_MAX, "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "min", d, h, m);
        else if (h > 0)
                snprintf(buf, CLI_TIME_MAX, "%" PRIu64 "h %" PRIu64 "min %" PRIu64 "s", h, m, s);
        else if (m > 0)
                snprintf(buf, CLI_TIME_MAX, "%" PRIu64 "min %" PRIu64 "s", m, s);
        else
                snprintf(buf, CLI_TIME_MAX, "%" PRIu64 "s", s);
        return buf;
}

const char *format_bytes(char buf[static CLI_TIME_MAX], uint64_t bytes) {
        static const char *const suffixes[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
        double v = (double) bytes;
        size_t i = 0;

        if (bytes < 1024) {
                snprintf(buf, CLI_TIME_MAX, "%" PRIu64 " B", bytes);
                return buf;
        }
        v /= 1024;
        while (v >= 1024 && i + 1 < ELEMENTSOF(suffixes)) {
                v /= 1024;
                i++;
        }
        snprintf(buf, CLI_TIME_MAX, "%.1f %s", v, suffixes[i]);
        return buf;
}

const char *container_status_to_string(Quilt__ContainerStatus s) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&quilt__container_status__descriptor, s);
        return v ? v->name : "UNKNOWN";
}

typedef struct KeyValue {
        const char *key, *value;
} KeyValue;

static int key_value_compare(const void *a, const void *b) {
        return strcmp(((const KeyValue *) a)->key, ((const KeyValue *) b)->key);
}

static const char *entry_string(const void *entry, const ProtobufCMessageDescriptor *d, const char *name) {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, name);

        if (!f || f->type != PROTOBUF_C_TYPE_STRING)
                return "";
        return strempty(*(char *const *) ((const char *) entry + f->offset));
}

void print_string_map(FILE *f, const char *indent, void *const *entries, size_t n,
                      const ProtobufCMessageDescriptor *d) {
        _cleanup_free_ KeyValue *kv = NULL;
        size_t width = 0;

        if (n == 0)
                return;
        kv = calloc(n, sizeof(KeyValue));
        if (!kv) {
                /* Unsorted is better than nothing. */
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "%s%s: %s\n", indent, entry_string(entries[i], d, "key"),
                                entry_string(entries[i], d, "value"));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                kv[i].key = entry_string(entries[i], d, "key");
                kv[i].value = entry_string(entries[i], d, "value");
                width = MAX(width, strlen(kv[i].key));
        }
        qsort(kv, n, sizeof(KeyValue), key_value_compare);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s:%*s %s\n", indent, kv[i].key, (int) (width - strlen(kv[i].key)), "", kv[i].value);
}

const char *string_map_get(void *const *entries, size_t n, const ProtobufCMessageDescriptor *d,
                           const char *key) {
        for (size_t i = 0; i < n; i++)
                if (streq(entry_string(entries[i], d, "key"), key))
                        return entry_string(entries[i], d, "value");
        return NULL;
}

const char *format_container_state(char *buf, size_t size, Quilt__ContainerStatus status, int32_t exit_code,
                                   int32_t exit_signal, bool oom_killed, const char *error) {
        switch (status) {
        case QUILT__CONTAINER_STATUS__PENDING:
                snprintf(buf, size, "pending");
                break;
        case QUILT__CONTAINER_STATUS__RUNNING:
                snprintf(buf, size, "running");
                break;
        case QUILT__CONTAINER_STATUS__EXITED:
                if (exit_signal > 0)
                        snprintf(buf, size, "exited (signal %" PRIi32 "%s)", exit_signal, oom_killed ? ", oom" : "");
                else
                        snprintf(buf, size, "exited (%" PRIi32 "%s)", exit_code, oom_killed ? ", oom" : "");
                break;
        case QUILT__CONTAINER_STATUS__FAILED:
                if (isempty(error))
                        snprintf(buf, size, "failed");
                else
                        snprintf(buf, size, "failed: %s", error);
                break;
        default:
                snprintf(buf, size, "unknown (%d)", (int) status);
                break;
        }
        return buf;
}

/* Words made only of these need no quotes in any POSIX shell. */
#define SHELL_SAFE_CHARS                                                                                    \
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"                                    \
        "_-+=./:,@%^"

char *format_argv_quoted(char *const *argv, size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const char *w = strempty(argv[i]);

                if (i > 0)
                        fputc(' ', f);
                if (!isempty(w) && w[strspn(w, SHELL_SAFE_CHARS)] == '\0') {
                        fputs(w, f);
                        continue;
                }
                /* Single quotes keep everything literal; a single quote itself is '\''. */
                fputc('\'', f);
                for (const char *p = w; *p; p++)
                        if (*p == '\'')
                                fputs("'\\''", f);
                        else
                                fputc(*p, f);
                fputc('\'', f);
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

int container_exit_status(Quilt__ContainerStatus status, int32_t exit_code, int32_t exit_signal) {
        if (status == QUILT__CONTAINER_STATUS__FAILED)
                return 125;
        if (exit_signal > 0)
                return 128 + MIN(exit_signal, 127);
        if (exit_code < 0 || exit_code > 255)
                return 255;
        return exit_code;
}
