/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "image-check.h"
#include "image-store.h"
#include "macro.h"

#define IMAGE_NAME_MAX 128

bool image_name_is_valid(const char *name) {
        size_t n;

        if (isempty(name))
                return false;

        n = strlen(name);
        if (n > IMAGE_NAME_MAX)
                return false;

        /* The first character is never '.', '-' or '_': names can therefore never collide
         * with the ".tmp-*" work directories next to them, nor look like options. */
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

                if (!alnum && (i == 0 || !strchr("_.-", c)))
                        return false;
        }
        return true;
}

int image_name_from_file(const char *path, char **ret) {
        static const char *const suffixes[] = {
                ".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2", ".tgz", ".txz", ".tar",
        };
        const char *base;
        size_t n;
        char *name;

        assert(path);
        assert(ret);

        base = strrchr(path, '/');
        base = base ? base + 1 : path;
        n = strlen(base);

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t l = strlen(suffixes[i]);

                if (n > l && strcasecmp(base + n - l, suffixes[i]) == 0) {
                        n -= l;
                        break;
                }
        }

        name = strndup(base, n);
        if (!name)
                return -ENOMEM;
        if (!image_name_is_valid(name)) {
                free(name);
                return -EINVAL;
        }

        *ret = name;
        return 0;
}

int image_entry_path_normalize(const char *path, char **ret, const char **ret_reason) {
        _cleanup_free_ char *out = NULL;
        size_t n = 0;

        assert(path);
        assert(ret);
        assert(ret_reason);

        if (path[0] == '/') {
                *ret_reason = "has an absolute path";
                return -EINVAL;
        }

        out = malloc(strlen(path) + 1);
        if (!out)
                return -ENOMEM;

        for (const char *p = path; *p;) {
                size_t l = strcspn(p, "/");

                if (l == 2 && p[0] == '.' && p[1] == '.') {
                        *ret_reason = "climbs out of the image with '..'";
                        return -EINVAL;
                }
                if (l > 0 && !(l == 1 && p[0] == '.')) {
                        if (n > 0)
                                out[n++] = '/';
                        memcpy(out + n, p, l);
                        n += l;
                }
                p += l;
                p += strspn(p, "/");
        }
        out[n] = 0;

        *ret = TAKE_PTR(out);
        return 0;
}

int image_symlink_target_check(const char *entry, const char *target, const char **ret_reason) {
        long depth = 0;

        assert(entry);
        assert(target);
        assert(ret_reason);

        if (isempty(target)) {
                *ret_reason = "is a symbolic link with an empty target";
                return -EINVAL;
        }
        if (target[0] == '/')
                return 0;

        /* The link lives in entry's directory: as deep as entry has slashes. */
        for (const char *p = entry; *p; p++)
                if (*p == '/')
                        depth++;

        /* Lexically only. A chain of links can still reach above the root when the host
         * follows it ("s -> .", then "t -> s/.."): inside the container every link
         * resolves within its root, and host-side code that opens paths in an image must
         * resolve them in the root (openat2() with RESOLVE_IN_ROOT), never follow them. */
        for (const char *p = target; *p;) {
                size_t l = strcspn(p, "/");

                if (l == 2 && p[0] == '.' && p[1] == '.') {
                        if (--depth < 0) {
                                *ret_reason = "is a symbolic link that climbs above the image root";
                                return -EINVAL;
                        }
                } else if (l > 0 && !(l == 1 && p[0] == '.'))
                        depth++;
                p += l;
                p += strspn(p, "/");
        }
        return 0;
}

char *image_escape_name(const char *s) {
        static const char hex[] = "0123456789abcdef";
        char *out, *o;

        assert(s);

        out = malloc(strlen(s) * 4 + 1);
        if (!out)
                return NULL;

        o = out;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p >= 0x20 && *p < 0x7f && *p != '\\')
                        *o++ = (char) *p;
                else {
                        *o++ = '\\';
                        *o++ = 'x';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 0xf];
                }
        }
        *o = 0;
        return out;
}
