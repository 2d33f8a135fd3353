/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* From what a client asked to mount to what a container records: every rule checked
 * before anything exists, so that a refused create leaves nothing behind.
 *
 *   target   absolute, no "..", simplified, not a protected path of the container
 *            (mount_target_is_protected()), not given twice
 *   bind     an absolute host path without "..", that exists; canonicalised (realpath),
 *            and then neither one of the sensitive host paths nor below one nor above
 *            one (mounting /etc would expose /etc/shadow): /etc/passwd, /etc/shadow,
 *            /etc/gshadow, /etc/sudoers(.d), /proc, /sys, /dev, /boot, /root/.ssh, and
 *            quiltd's own state and runtime directories and sockets
 *   volume   "name" or "name/path": a valid name; a path without "..", which must
 *            exist inside the volume (resolved inside it); the volume itself is created
 *            on first use, later, by runtime_create()
 *   tmpfs    no source; options size (1m to 10g, default 64m), mode (octal, default
 *            1777), exec (true/false, default false)
 *
 * Messages are the original's ("Path traversal detected", "Mount source path does not
 * exist: …", "Security: Mounting … is not allowed", "Cannot mount over protected path:
 * …"), prefixed with "Mount validation failed: ". */

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "container-spec.h"

typedef struct VolumeStore VolumeStore;

typedef struct MountRequest {
        ContainerMountType type;
        const char *source;
        const char *target;
        bool readonly;
        char *const *options; /* key, value, ... (may be NULL) */
} MountRequest;

/* The mounts in the order init applies them: by depth of the target, so that a mount
 * comes after the one it is below. -EINVAL (or -ENOMEM) with *ret_error. */
int mounts_resolve(VolumeStore *volumes, const QuiltConfig *config, const MountRequest *reqs, size_t n,
                   ContainerMount **ret, size_t *ret_n, char **ret_error);

/* The "-v"/"volumes" string form ("SRC:DST[:ro|rw]") as a request: an absolute SRC or
 * one that is not volume-shaped is a bind mount (so "../x" is refused as traversal),
 * "name[/path]" a volume. Strings in *ret are malloc()ed: free with mount_request_done(). */
int mount_request_from_volume_string(const char *spec, MountRequest *ret, char **ret_error);
void mount_request_done(MountRequest *r);
