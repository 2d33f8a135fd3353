/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Images: read-only root filesystems, unpacked once under <StateDirectory>/images and
 * shared by every container as the overlayfs lower layer. Rows in the images table
 * (store-images.c) say what exists; a directory without a row is debris of an interrupted
 * import and is removed at start-up.
 *
 *   <images>/<name>/rootfs/      the tree (never written after the import)
 *
 * "minimal" is built in: generated on first use from Debian's busybox-static (/bin/busybox
 * plus one relative symlink per applet, /etc/passwd, /etc/group, /etc/hosts, /tmp 1777,
 * empty /proc /sys /dev /root /run), so containers work offline with no image argument.
 *
 * Imports are rootfs tarballs (.tar, .tar.gz, .tar.xz, .tar.zst; libarchive detects the
 * format and filter). Entries that would escape the root are refused, and the whole import
 * with them: "..", absolute paths, hard links out of the tree, symbolic links whose
 * relative target climbs above the root, device nodes and fifos. An import unpacks into a
 * temporary directory and renames it into place, so a failed import leaves nothing. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

typedef struct Store Store;
typedef struct ImageStore ImageStore;

#define IMAGE_DEFAULT "minimal"

typedef struct Image {
        char *name;
        char *source;        /* "builtin:busybox-static", or the imported file's absolute path */
        char *rootfs_path;   /* <images>/<name>/rootfs */
        uint64_t size_bytes;
        uint64_t created_usec;
        bool builtin;
} Image;

void image_done(Image *image);
void image_array_free(Image *images, size_t n);

/* images_dir is created (0700) if missing. */
int image_store_new(Store *store, const char *images_dir, ImageStore **ret);
ImageStore *image_store_free(ImageStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ImageStore *, image_store_free);

/* Image names: [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}. */
bool image_name_is_valid(const char *name);

/* What --image names, resolved to the lower layer of a new container:
 *   NULL or ""            the default image ("minimal", built on first use)
 *   a name                a stored image
 *   an absolute path      a directory (used in place, read-only) or a tarball (imported
 *                         under a name derived from the file name, reused when already
 *                         imported from the same file and unchanged since)
 * *ret_reference is what the container row records (the name, or the directory path).
 * Errors: -ENOENT (unknown image; *ret_error says which), -EINVAL (bad reference or
 * tarball), others. *ret_error is a malloc()ed message for the user when set. */
int image_store_resolve(ImageStore *s, const char *ref, char **ret_reference, char **ret_rootfs,
                        char **ret_error);

/* name NULL or "": derived from the file name ("ubuntu.tar.gz" → "ubuntu"). -EEXIST when
 * the name is taken. */
int image_store_import(ImageStore *s, const char *name, const char *path, Image *ret, char **ret_error);

/* -ENOENT unknown, -EBUSY when a container still uses it (the row references it). */
int image_store_remove(ImageStore *s, const char *name, char **ret_error);

int image_store_list(ImageStore *s, Image **ret, size_t *ret_n);
int image_store_get(ImageStore *s, const char *name, Image *ret); /* -ENOENT */
