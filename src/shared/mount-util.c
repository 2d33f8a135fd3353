/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>

#include "macro.h"
#include "mount-util.h"

static bool is_volume_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
               c == '-';
}

static bool volume_name_is_valid_n(const char *s, size_t n) {
        if (n == 0 || n > VOLUME_NAME_MAX || s[0] == '.' || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_volume_name_char(s[i]))
                        return false;
        return true;
}

bool volume_name_is_valid(const char *name) {
        return name && volume_name_is_valid_n(name, strlen(name));
}

bool mount_source_is_volume(const char *source, size_t *ret_name_len) {
        size_t n;

        if (isempty(source) || source[0] == '/')
                return false;
        n = strcspn(source, "/");
        if (!volume_name_is_valid_n(source, n))
                return false;
        if (ret_name_len)
                *ret_name_len = n;
        return true;
}

bool path_has_dotdot(const char *path) {
        for (const char *p = path; p && *p;) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return true;
                p += n;
                p += strspn(p, "/");
        }
        return false;
}

char *path_simplify(char *path) {
        char *out = path;
        const char *in = path;
        bool absolute = path[0] == '/';

        if (absolute)
                *out++ = *in++;
        while (*in) {
                size_t n;

                in += strspn(in, "/");
                n = strcspn(in, "/");
                if (n == 0)
                        break;
                if (n == 1 && in[0] == '.') {
                        in++;
                        continue;
                }
                if (out > path && out[-1] != '/')
                        *out++ = '/';
                memmove(out, in, n);
                out += n;
                in += n;
        }
        if (out == path)
                *out++ = absolute ? '/' : '.';
        *out = '\0';
        return path;
}

bool path_startswith_dir(const char *path, const char *base) {
        size_t n = strlen(base);

        if (streq(base, "/"))
                return path[0] == '/';
        return strncmp(path, base, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool mount_target_is_protected(const char *path) {
        /* The original's list: covering these breaks the container or hides its own view
         * of the kernel. */
        static const char *const exact[] = {
                "/", "/bin", "/sbin", "/lib", "/lib64", "/usr", "/etc", "/dev", "/proc", "/sys",
        };
        /* procfs and sysfs are masked and made read-only in places; a mount below them
         * could undo that. */
        static const char *const below[] = { "/proc", "/sys" };

        for (size_t i = 0; i < ELEMENTSOF(exact); i++)
                if (streq(path, exact[i]))
                        return true;
        for (size_t i = 0; i < ELEMENTSOF(below); i++)
                if (path_startswith_dir(path, below[i]))
                        return true;
        return false;
}

static int parse_options(const char *opts, bool *ret_readonly, const char **ret_error) {
        bool readonly = false;

        for (const char *p = opts; *p;) {
                size_t n = strcspn(p, ",");

                if (n == 2 && strncmp(p, "ro", 2) == 0)
                        readonly = true;
                else if (n == 2 && strncmp(p, "rw", 2) == 0)
                        readonly = false;
                else {
                        *ret_error = "unknown option, expected ro or rw (" MOUNT_MSG_VOLUME_FORMAT ")";
                        return -EINVAL;
                }
                p += n;
                if (*p == ',')
                        p++;
        }
        *ret_readonly = readonly;
        return 0;
}

int volume_spec_parse(const char *spec, char **ret_source, char **ret_target, bool *ret_readonly,
                      const char **ret_error) {
        _cleanup_free_ char *source = NULL, *target = NULL;
        const char *c1, *c2, *opts = "";
        bool readonly = false;
        int r;

        c1 = strchr(spec, ':');
        if (!c1) {
                *ret_error = MOUNT_MSG_VOLUME_FORMAT;
                return -EINVAL;
        }
        c2 = strchr(c1 + 1, ':');
        if (c2) {
                opts = c2 + 1;
                if (strchr(opts, ':')) {
                        *ret_error = MOUNT_MSG_VOLUME_FORMAT;
                        return -EINVAL;
                }
                if (*opts == '\0') {
                        *ret_error = "empty options (" MOUNT_MSG_VOLUME_FORMAT ")";
                        return -EINVAL;
                }
        }

        source = strndup(spec, (size_t) (c1 - spec));
        target = c2 ? strndup(c1 + 1, (size_t) (c2 - c1 - 1)) : strdup(c1 + 1);
        if (!source || !target)
                return -ENOMEM;
        if (isempty(source) || isempty(target)) {
                *ret_error = "Volume source and target cannot be empty (" MOUNT_MSG_VOLUME_FORMAT ")";
                return -EINVAL;
        }
        if (target[0] != '/') {
                *ret_error = MOUNT_MSG_TARGET_ABSOLUTE;
                return -EINVAL;
        }
        r = parse_options(opts, &readonly, ret_error);
        if (r < 0)
                return r;

        *ret_source = TAKE_PTR(source);
        *ret_target = TAKE_PTR(target);
        *ret_readonly = readonly;
        return 0;
}

int mount_parse_size(const char *s, uint64_t *ret) {
        uint64_t v = 0, mult = 1;
        size_t n;

        if (isempty(s))
                return -EINVAL;
        n = strspn(s, "0123456789");
        if (n == 0 || n > 19)
                return n > 19 ? -ERANGE : -EINVAL;
        for (size_t i = 0; i < n; i++)
                v = v * 10 + (uint64_t) (s[i] - '0');

        switch (s[n]) {
        case '\0':
                break;
        case 'k':
        case 'K':
                mult = UINT64_C(1) << 10;
                break;
        case 'm':
        case 'M':
                mult = UINT64_C(1) << 20;
                break;
        case 'g':
        case 'G':
                mult = UINT64_C(1) << 30;
                break;
        default:
                return -EINVAL;
        }
        if (s[n] != '\0' && s[n + 1] != '\0')
                return -EINVAL;
        if (v > UINT64_MAX / mult)
                return -ERANGE;
        *ret = v * mult;
        return 0;
}

int mount_parse_mode(const char *s, mode_t *ret) {
        mode_t m = 0;
        size_t n;

        if (isempty(s))
                return -EINVAL;
        n = strspn(s, "01234567");
        if (n == 0 || n > 4 || s[n] != '\0')
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                m = m * 8 + (mode_t) (s[i] - '0');
        *ret = m;
        return 0;
}
