/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* image_store_resolve() and the -EBUSY of image_store_remove(), which no RPC reaches yet
 * (CreateContainer will): against a real database and images directory in /tmp. */

#include <fcntl.h>
#include <sys/stat.h>

#include "image-store.h"
#include "rm-rf.h"
#include "store-internal.h"
#include "tests.h"

static int resolve(ImageStore *s, const char *ref, char **ret_reference, char **ret_rootfs, char **ret_error) {
        *ret_reference = mfree(*ret_reference);
        *ret_rootfs = mfree(*ret_rootfs);
        *ret_error = mfree(*ret_error);
        return image_store_resolve(s, ref, ret_reference, ret_rootfs, ret_error);
}

int main(void) {
        _cleanup_free_ char *db = NULL, *images = NULL, *dir = NULL, *tarball = NULL, *cmd = NULL;
        _cleanup_free_ char *reference = NULL, *rootfs = NULL, *error = NULL, *first = NULL;
        _cleanup_(image_store_freep) ImageStore *s = NULL;
        _cleanup_(store_freep) Store *store = NULL;
        char tmp[] = "/tmp/test-image-store.XXXXXX";
        struct stat st;
        int r;

        if (access("/bin/busybox", X_OK) < 0 || !mkdtemp(tmp)) {
                printf("1..0 # SKIP needs /bin/busybox and /tmp\n");
                return 77;
        }
        if (asprintf(&db, "%s/quilt.db", tmp) < 0 || asprintf(&images, "%s/images", tmp) < 0 ||
            asprintf(&dir, "%s/tree", tmp) < 0 || asprintf(&tarball, "%s/app.tar.gz", tmp) < 0 ||
            asprintf(&cmd, "mkdir -p %1$s/etc && echo x > %1$s/etc/x && tar -C %1$s -czf %2$s .", dir, tarball) < 0)
                return 1;

        ok(store_open(db, &store) >= 0, "database opens");
        ok(image_store_new(store, images, &s) >= 0, "image store opens");
        ok(stat(images, &st) >= 0 && (st.st_mode & 07777) == 0700, "images directory is created 0700");

        r = resolve(s, NULL, &reference, &rootfs, &error);
        is_int(r, 0, "NULL resolves");
        is_str(reference, "minimal", "... to minimal");
        ok(rootfs && strstr(rootfs, "/images/minimal/rootfs"), "... under images/minimal/rootfs");
        r = resolve(s, "", &reference, &rootfs, &error);
        is_str(r == 0 ? reference : NULL, "minimal", "\"\" resolves to minimal");

        r = resolve(s, "nosuch", &reference, &rootfs, &error);
        is_int(r, -ENOENT, "an unknown name is -ENOENT");
        ok(error && strstr(error, "image 'nosuch' not found (quilt image ls lists them)"), "... saying so");
        is_int(resolve(s, "rel/path", &reference, &rootfs, &error), -EINVAL, "a relative path is -EINVAL");
        is_int(resolve(s, "/nonexistent/x.tar", &reference, &rootfs, &error), -ENOENT,
               "a missing absolute path is -ENOENT");

        ok(system(cmd) == 0, "test tree and tarball are made");
        r = resolve(s, dir, &reference, &rootfs, &error);
        is_int(r, 0, "an absolute directory resolves");
        is_str(reference, dir, "... to itself as the reference");
        is_str(rootfs, dir, "... used in place");

        r = resolve(s, tarball, &reference, &rootfs, &error);
        is_int(r, 0, "an absolute tarball resolves");
        is_str(reference, "app", "... imported under the derived name");
        ok(rootfs && access(rootfs, F_OK) == 0, "... into a tree that exists");
        first = rootfs ? strdup(rootfs) : NULL;
        r = resolve(s, tarball, &reference, &rootfs, &error);
        is_int(r, 0, "the same tarball resolves again");
        is_str(rootfs, first, "... reusing the import");
        is_str(reference, "app", "... by name");

        /* Changed file, same name: the import is not silently replaced. */
        ok(system("sleep 0.01") == 0 && utimensat(AT_FDCWD, tarball, NULL, 0) == 0, "tarball touched");
        r = resolve(s, tarball, &reference, &rootfs, &error);
        is_int(r, -EEXIST, "a changed tarball whose name is taken is -EEXIST");

        ok(store_exec(store, "INSERT INTO containers (id, name, image, command, state, created_at) "
                             "VALUES ('c1', 'web', 'app', '[]', 'exited', 0)") >= 0,
           "a container using app is recorded");
        r = image_store_remove(s, "app", &error);
        is_int(r, -EBUSY, "removing an image in use is -EBUSY");
        ok(error && strstr(error, "used by container(s) web"), "... naming the container");
        ok(image_store_get(s, "app", NULL) == 0, "... and the image stays");

        ok(store_exec(store, "DELETE FROM containers") >= 0, "the container is gone");
        error = mfree(error);
        is_int(image_store_remove(s, "app", &error), 0, "now it can be removed");
        is_int(image_store_get(s, "app", NULL), -ENOENT, "... and is gone");

        s = image_store_free(s);
        store = store_free(store);
        (void) rm_rf(tmp);
        return tap_finish();
}
