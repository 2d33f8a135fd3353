/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "container-log.h"
#include "macro.h"

static const char *const stream_table[_CONTAINER_LOG_STREAM_MAX] = {
        [CONTAINER_LOG_STDOUT] = "stdout",
        [CONTAINER_LOG_STDERR] = "stderr",
        [CONTAINER_LOG_SYSTEM] = "system",
};

const char *container_log_stream_to_string(ContainerLogStream s) {
        if (s < 0 || s >= _CONTAINER_LOG_STREAM_MAX)
                return NULL;
        return stream_table[s];
}

static ContainerLogStream stream_from_n(const char *s, size_t n) {
        for (size_t i = 0; i < ELEMENTSOF(stream_table); i++)
                if (strlen(stream_table[i]) == n && memcmp(stream_table[i], s, n) == 0)
                        return (ContainerLogStream) i;
        return _CONTAINER_LOG_STREAM_INVALID;
}

ContainerLogStream container_log_stream_from_string(const char *s) {
        if (!s)
                return _CONTAINER_LOG_STREAM_INVALID;
        return stream_from_n(s, strlen(s));
}

bool container_event_is_terminal(const char *event) {
        return event && (streq(event, CONTAINER_EVENT_EXITED) || streq(event, CONTAINER_EVENT_FAILED));
}

bool container_event_is_valid(const char *event, size_t n) {
        if (!event || n == 0 || n > 32)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((event[i] >= 'a' && event[i] <= 'z') || event[i] == '_'))
                        return false;
        return true;
}

int container_log_format_prefix(char *buf, size_t size, uint64_t usec, ContainerLogStream stream, bool partial,
                                const char *event) {
        const char *tag;
        int n;

        if (stream == CONTAINER_LOG_SYSTEM) {
                if (!event || !container_event_is_valid(event, strlen(event)))
                        return -EINVAL;
                tag = event;
        } else if (stream == CONTAINER_LOG_STDOUT || stream == CONTAINER_LOG_STDERR)
                tag = partial ? "P" : "F";
        else
                return -EINVAL;

        n = snprintf(buf, size, "%" PRIu64 " %s %s ", usec, stream_table[stream], tag);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return n;
}

/* The next space-separated word of line[*pos..n); advances *pos past the space after it.
 * Returns false when there is no word followed by a space (or the end, when end_ok). */
static bool next_word(const char *line, size_t n, size_t *pos, bool end_ok, const char **ret, size_t *ret_len) {
        const char *start = line + *pos, *space;

        space = memchr(start, ' ', n - *pos);
        if (!space && !end_ok)
                return false;
        *ret = start;
        *ret_len = space ? (size_t) (space - start) : n - *pos;
        if (*ret_len == 0)
                return false;
        *pos += *ret_len + (space ? 1 : 0);
        return true;
}

int container_log_record_parse(const char *line, size_t n, ContainerLogRecord *ret) {
        ContainerLogRecord rec = {};
        const char *w;
        size_t pos = 0, len;
        uint64_t usec = 0;

        if (!next_word(line, n, &pos, false, &w, &len) || len > 20)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                if (w[i] < '0' || w[i] > '9' || usec > (UINT64_MAX - (uint64_t) (w[i] - '0')) / 10)
                        return -EBADMSG;
                usec = usec * 10 + (uint64_t) (w[i] - '0');
        }
        rec.usec = usec;

        if (!next_word(line, n, &pos, false, &w, &len))
                return -EBADMSG;
        rec.stream = stream_from_n(w, len);
        if (rec.stream < 0)
                return -EBADMSG;

        /* A record with empty text may lack the space after its tag. */
        if (!next_word(line, n, &pos, true, &w, &len))
                return -EBADMSG;
        if (rec.stream == CONTAINER_LOG_SYSTEM) {
                if (!container_event_is_valid(w, len))
                        return -EBADMSG;
                rec.event = w;
                rec.event_len = len;
        } else if (len == 1 && (w[0] == 'F' || w[0] == 'P'))
                rec.partial = w[0] == 'P';
        else
                return -EBADMSG;

        rec.text = line + pos;
        rec.text_len = n - pos;
        *ret = rec;
        return 0;
}
