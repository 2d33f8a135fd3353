/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec-spec.h"
#include "fs-util.h"
#include "log.h"
#include "strv.h"

#define _cleanup_json_ _cleanup_(json_decrefp)

ExecSpec *exec_spec_free(ExecSpec *spec) {
        if (!spec)
                return NULL;
        strv_free(spec->argv);
        strv_free(spec->env);
        free(spec->working_directory);
        free(spec->user);
        return mfree(spec);
}

static json_t *json_strv(char *const *l) {
        _cleanup_json_ json_t *a = json_array();

        if (!a)
                return NULL;
        for (char *const *i = l; i && *i; i++)
                if (json_array_append_new(a, json_string(*i)) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

static json_t *json_string_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

int exec_spec_write(const ExecSpec *spec, int fd) {
        _cleanup_json_ json_t *root = NULL;
        _cleanup_free_ char *text = NULL;

        /* "o" steals references, also of NULLs from a failed json_string(): then json_pack()
         * fails as a whole. */
        root = json_pack("{s:o, s:o, s:o, s:o, s:b, s:i, s:i, s:b}",
                         "argv", json_strv(spec->argv),
                         "env", json_strv(spec->env),
                         "working_directory", json_string_or_null(spec->working_directory),
                         "user", json_string_or_null(spec->user),
                         "tty", spec->tty,
                         "rows", (int) spec->rows,
                         "cols", (int) spec->cols,
                         "detach", spec->detach);
        if (!root)
                return -EINVAL; /* invalid UTF-8 in a string, or out of memory */
        /* json_dumpfd() writes piecemeal, a syscall per token. */
        text = json_dumps(root, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        return loop_write(fd, text, strlen(text));
}

static int load_strv(const char *key, json_t *a, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t i;
        json_t *v;

        if (!json_is_array(a))
                return log_error_errno(EINVAL, "exec spec: \"%s\" must be an array of strings.", key);
        l = calloc(json_array_size(a) + 1, sizeof(char *));
        if (!l)
                return log_oom();
        json_array_foreach(a, i, v) {
                if (!json_is_string(v))
                        return log_error_errno(EINVAL, "exec spec: \"%s\"[%zu] is not a string.", key, i);
                l[i] = strdup(json_string_value(v));
                if (!l[i])
                        return log_oom();
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int load_string_or_null(const char *key, json_t *v, char **ret) {
        if (!v || json_is_null(v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v) || json_string_length(v) == 0)
                return log_error_errno(EINVAL, "exec spec: \"%s\" must be a non-empty string or null.", key);
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : log_oom();
}

/* The whole memfd, from offset 0 (json_loadfd() would read it a byte at a time). */
static int read_all(int fd, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size > 64 * 1024 * 1024)
                return -EFBIG;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        n = pread(fd, buf, (size_t) st.st_size, 0);
        if (n < 0)
                return -errno;
        if (n != st.st_size)
                return -EIO;
        *ret = TAKE_PTR(buf);
        *ret_size = (size_t) n;
        return 0;
}

int exec_spec_read(int fd, ExecSpec **ret) {
        _cleanup_(exec_spec_freep) ExecSpec *spec = NULL;
        _cleanup_json_ json_t *root = NULL;
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        json_t *argv, *env, *wd = NULL, *user = NULL;
        int tty = 0, detach = 0, rows = 0, cols = 0, r;
        json_error_t err;

        r = read_all(fd, &text, &size);
        if (r < 0)
                return log_error_errno(r, "exec spec: cannot read it: %m");
        /* No JSON_ALLOW_NUL: no string can be cut short by execve(). */
        root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &err);
        if (!root)
                return log_error_errno(EINVAL, "exec spec: %d: %s", err.line, err.text);
        if (json_unpack_ex(root, &err, JSON_STRICT, "{s:o, s:o, s?o, s?o, s?b, s?i, s?i, s?b}", "argv", &argv,
                           "env", &env, "working_directory", &wd, "user", &user, "tty", &tty, "rows", &rows,
                           "cols", &cols, "detach", &detach) < 0)
                return log_error_errno(EINVAL, "exec spec: %s", err.text);

        spec = new0(ExecSpec, 1);
        if (!spec)
                return log_oom();
        r = load_strv("argv", argv, &spec->argv);
        if (r < 0)
                return r;
        r = load_strv("env", env, &spec->env);
        if (r < 0)
                return r;
        r = load_string_or_null("working_directory", wd, &spec->working_directory);
        if (r < 0)
                return r;
        r = load_string_or_null("user", user, &spec->user);
        if (r < 0)
                return r;

        if (!spec->argv[0] || isempty(spec->argv[0]))
                return log_error_errno(EINVAL, "exec spec: \"argv\" is empty.");
        for (char **e = spec->env; *e; e++)
                if (!strchr(*e, '=') || **e == '=')
                        return log_error_errno(EINVAL, "exec spec: environment entry \"%s\" is not KEY=VALUE.", *e);
        if (spec->working_directory && spec->working_directory[0] != '/')
                return log_error_errno(EINVAL, "exec spec: \"working_directory\" must be absolute.");
        if (rows < 0 || rows > UINT16_MAX || cols < 0 || cols > UINT16_MAX)
                return log_error_errno(EINVAL, "exec spec: invalid window size.");

        spec->tty = tty;
        spec->detach = detach;
        spec->rows = (unsigned) rows;
        spec->cols = (unsigned) cols;
        *ret = TAKE_PTR(spec);
        return 0;
}
