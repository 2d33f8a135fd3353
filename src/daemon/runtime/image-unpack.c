/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <archive.h>
#include <archive_entry.h>
#include <assert.h>
#include <limits.h>
#include <stdarg.h>

#include "image-check.h"
#include "image-unpack.h"
#include "log.h"

static inline void archive_read_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

static inline void archive_write_freep(struct archive **a) {
        if (*a)
                archive_write_free(*a);
}

_printf_(3, 4) static int unpack_fail(char **ret_error, int error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -abs(error);
}

/* libarchive's write errors: the host's problems keep their errno, everything else is the
 * archive's fault (a path it refused, a link to a missing file, ...). */
static int disk_error(struct archive *disk) {
        int e = archive_errno(disk);

        switch (e) {
        case ENOSPC:
        case EDQUOT:
        case ENOMEM:
        case EIO:
        case EROFS:
        case EMFILE:
        case ENFILE:
                return -e;
        default:
                return -EINVAL;
        }
}

static const char *filetype_refusal(mode_t type) {
        switch (type) {
        case AE_IFCHR:
                return "is a character device node; images may not contain device nodes";
        case AE_IFBLK:
                return "is a block device node; images may not contain device nodes";
        case AE_IFIFO:
                return "is a fifo; images may not contain fifos";
        case AE_IFSOCK:
                return "is a socket; images may not contain sockets";
        default:
                return "has an unknown file type";
        }
}

static int join_root(const char *root, const char *relative, char **ret) {
        int n;

        n = isempty(relative) ? asprintf(ret, "%s", root) : asprintf(ret, "%s/%s", root, relative);
        if (n < 0)
                return -ENOMEM;
        /* Longer paths make libarchive chdir() into the tree to shorten them, which would
         * move the working directory of every thread of quiltd. */
        if (n >= PATH_MAX) {
                *ret = mfree(*ret);
                return -ENAMETOOLONG;
        }
        return 0;
}

/* Checks one entry and points it into root. Nothing has been written for it yet. */
static int entry_prepare(struct archive_entry *entry, const char *root, char **ret_error) {
        _cleanup_free_ char *name = NULL, *path = NULL, *full = NULL, *link_path = NULL, *link_full = NULL;
        const char *raw, *hardlink, *reason = NULL;
        mode_t type;
        int r;

        raw = archive_entry_pathname(entry);
        if (!raw)
                return unpack_fail(ret_error, EINVAL, "an entry has a name that cannot be read");
        name = image_escape_name(raw);
        if (!name)
                return -ENOMEM;

        r = image_entry_path_normalize(raw, &path, &reason);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return unpack_fail(ret_error, r, "entry '%s' %s", name, reason);

        type = archive_entry_filetype(entry);
        hardlink = archive_entry_hardlink(entry);
        if (hardlink) {
                _cleanup_free_ char *target = image_escape_name(hardlink);

                if (!target)
                        return -ENOMEM;
                r = image_entry_path_normalize(hardlink, &link_path, &reason);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return unpack_fail(ret_error, r, "entry '%s' is a hard link to '%s', which %s", name,
                                           target, reason);
                if (isempty(link_path))
                        return unpack_fail(ret_error, EINVAL, "entry '%s' is a hard link to the image root",
                                           name);
        } else if (type == AE_IFLNK) {
                const char *symlink = archive_entry_symlink(entry);
                _cleanup_free_ char *target = NULL;

                if (!symlink)
                        return unpack_fail(ret_error, EINVAL,
                                           "entry '%s' is a symbolic link whose target cannot be read", name);
                target = image_escape_name(symlink);
                if (!target)
                        return -ENOMEM;
                r = image_symlink_target_check(path, symlink, &reason);
                if (r < 0)
                        return unpack_fail(ret_error, r, "entry '%s' %s (-> '%s')", name, reason, target);
        } else if (type != AE_IFREG && type != AE_IFDIR)
                return unpack_fail(ret_error, EINVAL, "entry '%s' %s", name, filetype_refusal(type));

        if (isempty(path) && (hardlink || type != AE_IFDIR))
                return unpack_fail(ret_error, EINVAL, "entry '%s' would replace the image root with a non-directory",
                                   name);

        r = join_root(root, path, &full);
        if (r == -ENAMETOOLONG)
                return unpack_fail(ret_error, r, "entry '%s' has a path that is too long", name);
        if (r < 0)
                return r;
        archive_entry_copy_pathname(entry, full);

        if (link_path) {
                r = join_root(root, link_path, &link_full);
                if (r == -ENAMETOOLONG)
                        return unpack_fail(ret_error, r, "entry '%s' links to a path that is too long", name);
                if (r < 0)
                        return r;
                archive_entry_copy_hardlink(entry, link_full);
        }
        return 0;
}

static int copy_data(struct archive *in, struct archive *disk, const char *name, char **ret_error) {
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t offset;
                int r;

                r = archive_read_data_block(in, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r < ARCHIVE_WARN)
                        return unpack_fail(ret_error, EINVAL, "cannot read entry '%s': %s", name,
                                           archive_error_string(in));

                if (archive_write_data_block(disk, buf, size, offset) < ARCHIVE_WARN)
                        return unpack_fail(ret_error, disk_error(disk), "cannot write entry '%s': %s", name,
                                           archive_error_string(disk));
        }
}

int image_unpack(int fd, const char *root, uint64_t *ret_size, char **ret_error) {
        _cleanup_(archive_read_freep) struct archive *in = NULL;
        _cleanup_(archive_write_freep) struct archive *disk = NULL;
        uint64_t size = 0, n_entries = 0;
        int r;

        assert(fd >= 0);
        assert(root && root[0] == '/');
        assert(ret_error);

        *ret_error = NULL;

        in = archive_read_new();
        disk = archive_write_disk_new();
        if (!in || !disk)
                return -ENOMEM;

        /* Only tar (ustar, pax, GNU), and only the decompressors libarchive links in: the
         * generic ones fall back to running external programs, which a multi-threaded
         * daemon should not do behind its own back. */
        if (archive_read_support_format_tar(in) != ARCHIVE_OK ||
            archive_read_support_filter_gzip(in) != ARCHIVE_OK ||
            archive_read_support_filter_xz(in) != ARCHIVE_OK ||
            archive_read_support_filter_lzma(in) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(in) != ARCHIVE_OK ||
            archive_read_support_filter_bzip2(in) != ARCHIVE_OK)
                return log_error_errno(EOPNOTSUPP, "libarchive lacks tar or a decompressor: %s",
                                       archive_error_string(in));

        /* No ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS: entries are rewritten to absolute paths
         * below root (libarchive writes relative paths relative to the working directory,
         * which is shared by all threads), after entry_prepare() refused absolute ones. No
         * archive_write_disk_set_standard_lookup() either: owners are the image's numeric
         * ids, never the host's ids for the same user names. */
        r = archive_write_disk_set_options(disk, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                         ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                         ARCHIVE_EXTRACT_SECURE_SYMLINKS);
        if (r != ARCHIVE_OK)
                return log_error_errno(EOPNOTSUPP, "Failed to set libarchive's extraction options: %s",
                                       archive_error_string(disk));

        if (archive_read_open_fd(in, fd, 64 * 1024) != ARCHIVE_OK)
                return unpack_fail(ret_error, EINVAL, "cannot read the archive: %s", archive_error_string(in));

        for (;;) {
                _cleanup_free_ char *name = NULL;
                struct archive_entry *entry;

                r = archive_read_next_header(in, &entry);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return unpack_fail(ret_error, EINVAL, "cannot read the archive%s: %s",
                                           n_entries > 0 ? " (corrupt or truncated)" : "",
                                           archive_error_string(in));
                if (r == ARCHIVE_WARN)
                        log_debug("libarchive: %s", archive_error_string(in));

                /* For messages: the entry's name as the archive has it. */
                name = image_escape_name(strempty(archive_entry_pathname(entry)));
                if (!name)
                        return -ENOMEM;

                r = entry_prepare(entry, root, ret_error);
                if (r < 0)
                        return r;

                r = archive_write_header(disk, entry);
                if (r < ARCHIVE_WARN)
                        return unpack_fail(ret_error, disk_error(disk), "cannot unpack entry '%s': %s", name,
                                           archive_error_string(disk));
                if (r == ARCHIVE_WARN)
                        log_debug("libarchive: entry '%s': %s", name, archive_error_string(disk));

                if (archive_entry_size(entry) > 0) {
                        r = copy_data(in, disk, name, ret_error);
                        if (r < 0)
                                return r;
                }

                if (archive_write_finish_entry(disk) < ARCHIVE_WARN)
                        return unpack_fail(ret_error, disk_error(disk), "cannot finish entry '%s': %s", name,
                                           archive_error_string(disk));

                if (archive_entry_filetype(entry) == AE_IFREG && !archive_entry_hardlink(entry))
                        size += (uint64_t) MAX(archive_entry_size(entry), 0);
                n_entries++;
        }

        if (n_entries == 0)
                return unpack_fail(ret_error, EINVAL, "the archive has no entries");

        /* Applies the deferred modes and times of directories. */
        if (archive_write_close(disk) < ARCHIVE_WARN)
                return unpack_fail(ret_error, disk_error(disk), "cannot finish unpacking: %s",
                                   archive_error_string(disk));

        if (ret_size)
                *ret_size = size;
        return 0;
}
