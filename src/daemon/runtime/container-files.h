/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Files inside a container, for ReadFile, WriteFile and ListFiles. Everything is relative
 * to root, an fd of the container's "/" (runtime_open_root()), and resolved with
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: ".." stops at the container's root and every
 * symbolic link, absolute or relative, is followed as the container would follow it, so
 * that no path can name a host file. Beyond the lookup, everything is done on fds or on
 * one name inside a directory fd, never on a path that the kernel would resolve from
 * quiltd's own root.
 *
 * Only regular files are read or written (never a device, fifo or socket, which the
 * container may have created), through an O_PATH fd that is checked first and reopened
 * only then. Files on procfs and sysfs are refused: quiltd is the host's root, with
 * powers over /proc that the container does not have. Reads and writes are bounded by
 * CONTAINER_FILE_CHUNK_MAX per call, a listing by CONTAINER_FILE_LIST_MAX entries and
 * QUILT_FILE_LIST_BYTES_MAX bytes of names (file-api.h), so that every reply fits in
 * gRPC's default message size and no call holds the event loop for long. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "file-api.h"
#include "macro.h"

#define CONTAINER_FILE_CHUNK_MAX QUILT_FILE_CHUNK_MAX
#define CONTAINER_FILE_LIST_MAX QUILT_FILE_LIST_MAX

typedef enum ContainerFileType {
        CONTAINER_FILE_UNSPECIFIED, /* WriteFile: a regular file */
        CONTAINER_FILE_REGULAR,
        CONTAINER_FILE_DIRECTORY,
        CONTAINER_FILE_SYMLINK,
        CONTAINER_FILE_OTHER,
} ContainerFileType; /* the values of the proto's FileType */

typedef struct ContainerFileInfo {
        char *path;
        ContainerFileType type;
        uint64_t size;
        mode_t mode; /* 07777 */
        uid_t uid;
        gid_t gid;
        uint64_t mtime_sec;
        char *link_target;
} ContainerFileInfo;

void container_file_info_done(ContainerFileInfo *i);
void container_file_info_array_free(ContainerFileInfo *a, size_t n);

/* The path rules shared by the three: absolute, no ".." component, not empty. -EINVAL
 * with a static message. */
int container_file_check_path(const char *path, const char **ret_error);

/* Up to length bytes (at most CONTAINER_FILE_CHUNK_MAX; 0 means that) from offset. *ret_eof
 * when the data reaches the end of the file. -EISDIR, -EINVAL (not a regular file), -EPERM
 * (procfs, sysfs), -ENOENT, ... */
int container_file_read(int root, const char *path, uint64_t offset, size_t length, void **ret_data,
                        size_t *ret_size, bool *ret_eof, ContainerFileInfo *ret_info);

typedef struct ContainerFileWrite {
        const char *path;
        ContainerFileType type;
        const void *data;
        size_t size;
        uint64_t offset;      /* 0: create or truncate; else within an existing file */
        bool has_mode, has_uid, has_gid;
        mode_t mode;
        uid_t uid;
        gid_t gid;
        bool create_parents;
        const char *link_target;
} ContainerFileWrite;

int container_file_write(int root, const ContainerFileWrite *w, ContainerFileInfo *ret_info);

/* The path itself in *ret_info (lstat, or stat with follow), and when it is a directory its
 * entries, sorted by name, depth first with recursive (never following symbolic links, not
 * descending into procfs or sysfs), leaving out the first skip, at most max (0 or above
 * CONTAINER_FILE_LIST_MAX: that). Entry paths are relative to path. */
int container_file_list(int root, const char *path, bool recursive, bool follow, uint64_t skip, size_t max,
                        ContainerFileInfo *ret_info, ContainerFileInfo **ret_entries, size_t *ret_n,
                        bool *ret_truncated);
