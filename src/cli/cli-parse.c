/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Parsing of option arguments. Everything here is strict (the whole string, range
 * checked) because a typo in a limit must be an error, not a silent default. */

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "mount-util.h"
#include "signal-util.h"

int parse_int32(const char *s, int32_t min, int32_t max, int32_t *ret) {
        char *end;
        long v;

        /* strtol() skips leading blanks and accepts "+"; neither belongs in a number here. */
        if (isempty(s) || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (*end != '\0')
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = (int32_t) v;
        return 0;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret) {
        char *end;
        long long v;

        if (isempty(s) || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (*end != '\0')
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = (int64_t) v;
        return 0;
}

int parse_uint64(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (isempty(s) || !(s[0] >= '0' && s[0] <= '9'))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (*end != '\0')
                return -EINVAL;
        if (errno == ERANGE)
                return -ERANGE;
        *ret = (uint64_t) v;
        return 0;
}

int parse_double(const char *s, double min, double max, double *ret) {
        char *end;
        double v;

        if (isempty(s) || !(s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9')))
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (*end != '\0' || !isfinite(v))
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_assignment(const char *s, size_t *ret_key_len, const char **ret_value) {
        const char *eq = strchr(s, '=');

        if (!eq || eq == s)
                return -EINVAL;
        *ret_key_len = (size_t) (eq - s);
        *ret_value = eq + 1;
        return 0;
}

/* The classification the daemon applies too (mount-util.h); the CLI refuses what can only
 * fail there, with the same messages. */
static int classify_source(const char *source, Quilt__MountType *ret, const char **ret_error) {
        if (path_has_dotdot(source)) {
                *ret_error = MOUNT_MSG_PATH_TRAVERSAL;
                return -EINVAL;
        }
        if (source[0] == '/')
                *ret = QUILT__MOUNT_TYPE__BIND;
        else if (mount_source_is_volume(source, NULL))
                *ret = QUILT__MOUNT_TYPE__VOLUME;
        else {
                *ret_error = "source must be an absolute host path or a volume name ([A-Za-z0-9_.-], at most 64, "
                             "not starting with . or -, optionally followed by /PATH inside the volume)";
                return -EINVAL;
        }
        return 0;
}

int parse_volume_spec(Arena *a, const char *spec, Quilt__Mount *m, const char **ret_error) {
        _cleanup_free_ char *source = NULL, *target = NULL;
        bool readonly;
        int r;

        r = volume_spec_parse(spec, &source, &target, &readonly, ret_error);
        if (r < 0)
                return r;
        r = classify_source(source, &m->type, ret_error);
        if (r < 0)
                return r;
        if (path_has_dotdot(target)) {
                *ret_error = MOUNT_MSG_PATH_TRAVERSAL;
                return -EINVAL;
        }

        m->readonly = readonly;
        m->source = arena_strdup(a, source);
        m->target = arena_strdup(a, target);
        if (!m->source || !m->target)
                return -ENOMEM;
        return 0;
}

static int parse_bool_word(const char *s, bool *ret) {
        if (streq(s, "true") || streq(s, "1") || streq(s, "yes"))
                *ret = true;
        else if (streq(s, "false") || streq(s, "0") || streq(s, "no"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

int parse_mount_spec(Arena *a, const char *spec, Quilt__Mount *m, const char **ret_error) {
        const char *type = "bind", *size = NULL, *mode = NULL, *exec = NULL;
        char *source = NULL, *target = NULL;
        bool readonly = false;
        char *copy, *item, *save = NULL;
        void **entries;
        int r;

        copy = arena_strdup(a, spec);
        if (!copy)
                return -ENOMEM;
        if (isempty(spec)) {
                *ret_error = "empty mount specification";
                return -EINVAL;
        }

        /* Empty items (",,") are typos; strtok_r() would skip them silently. */
        if (spec[0] == ',' || spec[strlen(spec) - 1] == ',' || strstr(spec, ",,")) {
                *ret_error = "empty item";
                return -EINVAL;
        }

        for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(item, '=');
                const char *value = NULL;

                if (eq) {
                        *eq = '\0';
                        value = eq + 1;
                }

                if (streq(item, "readonly") || streq(item, "ro")) {
                        if (!value)
                                readonly = true;
                        else if (parse_bool_word(value, &readonly) < 0) {
                                *ret_error = "readonly takes true or false";
                                return -EINVAL;
                        }
                        continue;
                }
                if (streq(item, "exec") || streq(item, "noexec")) {
                        bool b = true;

                        if (value && parse_bool_word(value, &b) < 0) {
                                *ret_error = "exec takes true or false";
                                return -EINVAL;
                        }
                        exec = b == streq(item, "exec") ? "true" : "false";
                        continue;
                }
                if (!value) {
                        *ret_error = "expected KEY=VALUE items (type, source, target, readonly, size, mode, exec)";
                        return -EINVAL;
                }
                if (streq(item, "type"))
                        type = value;
                else if (streq(item, "source") || streq(item, "src"))
                        source = (char *) value;
                else if (streq(item, "target") || streq(item, "dst") || streq(item, "destination"))
                        target = (char *) value;
                else if (streq(item, "size"))
                        size = value;
                else if (streq(item, "mode"))
                        mode = value;
                else {
                        *ret_error = "unknown key (expected type, source, target, readonly, size, mode or exec)";
                        return -EINVAL;
                }
        }

        if (streq(type, "bind"))
                m->type = QUILT__MOUNT_TYPE__BIND;
        else if (streq(type, "volume"))
                m->type = QUILT__MOUNT_TYPE__VOLUME;
        else if (streq(type, "tmpfs"))
                m->type = QUILT__MOUNT_TYPE__TMPFS;
        else {
                *ret_error = "type must be bind, volume or tmpfs";
                return -EINVAL;
        }

        if (isempty(target)) {
                *ret_error = "target is required";
                return -EINVAL;
        }
        if (target[0] != '/') {
                *ret_error = "target must be an absolute path";
                return -EINVAL;
        }

        if (path_has_dotdot(target) || (source && path_has_dotdot(source))) {
                *ret_error = MOUNT_MSG_PATH_TRAVERSAL;
                return -EINVAL;
        }

        switch (m->type) {
        case QUILT__MOUNT_TYPE__BIND:
                if (isempty(source) || source[0] != '/') {
                        *ret_error = "a bind mount needs an absolute source path";
                        return -EINVAL;
                }
                break;
        case QUILT__MOUNT_TYPE__VOLUME:
                if (isempty(source) || !mount_source_is_volume(source, NULL)) {
                        *ret_error = "a volume mount needs a volume name as source ([A-Za-z0-9_.-], at most 64, "
                                     "optionally followed by /PATH inside the volume)";
                        return -EINVAL;
                }
                break;
        case QUILT__MOUNT_TYPE__TMPFS:
                if (source) {
                        *ret_error = "a tmpfs mount takes no source";
                        return -EINVAL;
                }
                break;
        default:
                break;
        }

        if ((size || mode || exec) && m->type != QUILT__MOUNT_TYPE__TMPFS) {
                *ret_error = "size, mode and exec apply to tmpfs mounts only";
                return -EINVAL;
        }
        if (size) {
                uint64_t bytes;

                if (mount_parse_size(size, &bytes) < 0) {
                        *ret_error = "size must be a number with an optional k, m or g suffix";
                        return -EINVAL;
                }
                if (bytes < MOUNT_TMPFS_SIZE_MIN || bytes > MOUNT_TMPFS_SIZE_MAX) {
                        *ret_error = "the tmpfs size must be between 1m and 10g";
                        return -EINVAL;
                }
        }
        if (mode) {
                mode_t mm;

                if (mount_parse_mode(mode, &mm) < 0) {
                        *ret_error = "mode must be an octal number such as 1777";
                        return -EINVAL;
                }
        }

        m->source = source ?: (char *) "";
        m->target = target;
        m->readonly = readonly;

        entries = arena_alloc0(a, 3 * sizeof(void *));
        if (!entries)
                return -ENOMEM;
        m->options = (Quilt__Mount__OptionsEntry **) entries;
        m->n_options = 0;
        if (size) {
                r = arena_map_put(a, &quilt__mount__options_entry__descriptor, entries, &m->n_options, "size", size);
                if (r < 0)
                        return r;
        }
        if (mode) {
                r = arena_map_put(a, &quilt__mount__options_entry__descriptor, entries, &m->n_options, "mode", mode);
                if (r < 0)
                        return r;
        }
        if (exec) {
                r = arena_map_put(a, &quilt__mount__options_entry__descriptor, entries, &m->n_options, "exec", exec);
                if (r < 0)
                        return r;
        }
        return 0;
}

int parse_user_spec(const char *s) {
        const char *colon;

        if (isempty(s) || strpbrk(s, " \t\n"))
                return -EINVAL;
        colon = strchr(s, ':');
        if (!colon)
                return 0;
        if (colon == s || colon[1] == '\0' || strchr(colon + 1, ':'))
                return -EINVAL;
        return 0;
}

int parse_memory_mb(const char *s, int32_t *ret) {
        char number[32];
        size_t n;
        int32_t v, factor = 1;
        int r;

        /* "512", "512m" and "2g": the API counts MiB, so smaller units are refused rather
         * than rounded. */
        if (isempty(s))
                return -EINVAL;
        n = strlen(s);
        if (strchr("mM", s[n - 1]))
                n--;
        else if (strchr("gG", s[n - 1])) {
                factor = 1024;
                n--;
        }
        if (n == 0 || n >= sizeof number)
                return -EINVAL;
        memcpy(number, s, n);
        number[n] = '\0';

        r = parse_int32(number, 1, INT32_MAX, &v);
        if (r < 0)
                return r;
        if (v > INT32_MAX / factor)
                return -ERANGE;
        *ret = v * factor;
        return 0;
}

/* The table lives in src/basic/signal-util.c, shared with quiltd, which parses the name
 * the CLI sends; the name (not the number) goes on the wire, so a daemon on another
 * architecture still means the same signal. */
int parse_signal(const char *s, int *ret) {
        int sig = signal_from_string(s);

        if (sig < 0)
                return sig;
        *ret = sig;
        return 0;
}

const char *signal_to_string(int sig) {
        const char *name = signal_name(sig);

        return name ? name + 3 : NULL; /* without "SIG" */
}

/* Digits only, at most max of them: the number in *ret, how many in *ret_n. */
static const char *parse_digits(const char *s, unsigned max, uint64_t *ret, unsigned *ret_n) {
        uint64_t v = 0;
        unsigned n = 0;

        while (*s >= '0' && *s <= '9' && n < max) {
                v = v * 10 + (uint64_t) (*s++ - '0');
                n++;
        }
        *ret = v;
        *ret_n = n;
        return s;
}

/* ".123456" (any number of digits, nanoseconds and beyond cut) → µs. */
static const char *parse_fraction(const char *s, uint64_t *ret_usec) {
        uint64_t usec = 0, scale = 100000;

        *ret_usec = 0;
        if (*s != '.' && *s != ',')
                return s;
        s++;
        if (*s < '0' || *s > '9')
                return NULL;
        for (; *s >= '0' && *s <= '9'; s++) {
                usec += (uint64_t) (*s - '0') * scale;
                scale /= 10;
        }
        *ret_usec = usec;
        return s;
}

int parse_log_time(const char *s, uint64_t now, uint64_t *ret_usec) {
        static const char *const formats[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
                                               "%Y-%m-%d %H:%M", "%Y-%m-%d" };
        uint64_t v, frac;
        unsigned n;

        if (isempty(s))
                return -EINVAL;

        if (s[0] == '@') {
                const char *e = parse_digits(s + 1, 12, &v, &n);

                if (n == 0 || !(e = parse_fraction(e, &frac)) || *e)
                        return -EINVAL;
                *ret_usec = v * USEC_PER_SEC + frac;
                return 0;
        }

        if (parse_duration_usec(s, &v) >= 0) {
                *ret_usec = now > v ? now - v : 1;
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                struct tm tm = { .tm_isdst = -1 };
                const char *e = strptime(s, formats[i], &tm);
                int64_t offset = 0;
                bool utc = false;
                time_t t;

                if (!e)
                        continue;
                /* Seconds may have a fraction; then comes "Z", "+HH:MM" or nothing (local
                 * time). */
                e = parse_fraction(e, &frac);
                if (!e)
                        continue;
                if (*e == 'Z' || *e == 'z') {
                        utc = true;
                        e++;
                } else if (*e == '+' || *e == '-') {
                        uint64_t hh, mm = 0;
                        int sign = *e == '-' ? -1 : 1;

                        e = parse_digits(e + 1, 2, &hh, &n);
                        if (n != 2)
                                continue;
                        if (*e == ':')
                                e++;
                        e = parse_digits(e, 2, &mm, &n);
                        if (n != 2 || hh > 23 || mm > 59)
                                continue;
                        utc = true;
                        offset = sign * (int64_t) (hh * 3600 + mm * 60);
                }
                if (*e)
                        continue;

                t = utc ? timegm(&tm) : mktime(&tm);
                if (t == (time_t) -1)
                        return -EINVAL;
                t -= offset;
                if (t < 0)
                        return -ERANGE;
                *ret_usec = (uint64_t) t * USEC_PER_SEC + frac;
                return 0;
        }
        return -EINVAL;
}
