/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The rules for container mounts that do not depend on quiltd's state: volume names, the
 * "-v SOURCE:TARGET[:OPTIONS]" syntax (the CLI's -v and the SDK's `volumes` strings),
 * targets that must not be mounted over, and tmpfs sizes. The CLI, quiltd and the
 * container's init all use them, so that the three never disagree. The messages are the
 * original Quilt's, which scripts and agents match on. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Volume names: 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-' (no hidden files and
 * nothing that reads as an option in the volumes directory). */
#define VOLUME_NAME_MAX 64
bool volume_name_is_valid(const char *name);

/* A named-volume source is a volume name, optionally followed by "/" and a path inside
 * the volume ("data", "data/sub/dir"). Anything else (an absolute path, "./x", "../x") is
 * a host path. *ret_name_len is the length of the name part. */
bool mount_source_is_volume(const char *source, size_t *ret_name_len);

/* Whether any component of path is "..". */
bool path_has_dotdot(const char *path);

/* Collapses "//", "/./" and a trailing "/" in place ("/a//b/./c/" → "/a/b/c"); leaves ".."
 * alone (refuse it with path_has_dotdot() first). Returns path. */
char *path_simplify(char *path);

/* Whether path (absolute, simplified) is or is below base ("/dev" covers "/dev/sda" but
 * not "/devel"). */
bool path_startswith_dir(const char *path, const char *base);

/* The container's own paths that a mount must not cover: "/", the system directories,
 * and /proc and /sys with everything below them (path simplified). */
bool mount_target_is_protected(const char *path);

/* The messages, for consistency between the CLI, quiltd and init. */
#define MOUNT_MSG_VOLUME_FORMAT "Volume format must be '[name:]source:dest[:options]'"
#define MOUNT_MSG_PATH_TRAVERSAL "Path traversal detected"
#define MOUNT_MSG_PROTECTED "Cannot mount over protected path"
#define MOUNT_MSG_NOT_ALLOWED_FMT "Security: Mounting %s is not allowed"
#define MOUNT_MSG_NO_SOURCE "Mount source path does not exist"
#define MOUNT_MSG_TARGET_ABSOLUTE "Container path must be absolute"

/* "SOURCE:TARGET" or "SOURCE:TARGET:OPTIONS", OPTIONS a comma-separated list of "ro" and
 * "rw". Returns 0 with malloc()ed source and target, -EINVAL with a static message
 * (containing "format" for syntax errors), or -ENOMEM. The source is not classified or
 * checked here (see mount_source_is_volume()); the target must be absolute. */
int volume_spec_parse(const char *spec, char **ret_source, char **ret_target, bool *ret_readonly,
                      const char **ret_error);

/* tmpfs: "size" in bytes, or with a k, m or g suffix (binary units); between these. */
#define MOUNT_TMPFS_SIZE_MIN (UINT64_C(1) << 20)
#define MOUNT_TMPFS_SIZE_MAX (UINT64_C(10) << 30)
#define MOUNT_TMPFS_SIZE_DEFAULT (UINT64_C(64) << 20)
#define MOUNT_TMPFS_MODE_DEFAULT 01777

/* "10m" → 10485760. -EINVAL when malformed, -ERANGE on overflow (bounds are the caller's). */
int mount_parse_size(const char *s, uint64_t *ret);
/* An octal mode of 1-4 digits ("1777", "755"). -EINVAL otherwise. */
int mount_parse_mode(const char *s, mode_t *ret);
