/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* container-files.c against a directory standing in for a container's root, with symbolic
 * links planted the way a hostile container would: absolute ones naming host paths, ones
 * climbing with "..", one to a directory outside. None may reach the "host" files next to
 * the root. */

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container-files.h"
#include "fs-util.h"
#include "rm-rf.h"
#include "tests.h"

static char tmpdir[] = "/tmp/test-container-files-XXXXXX";
static int root = -EBADF;

static char *tmp_path(const char *sub) {
        char *p;

        if (asprintf(&p, "%s/%s", tmpdir, sub) < 0)
                abort();
        return p;
}

static void write_host_file(const char *sub, const char *content) {
        _cleanup_free_ char *p = tmp_path(sub);
        FILE *f = fopen(p, "we");

        if (!f || fputs(content, f) < 0 || fclose(f) != 0)
                abort();
}

static void symlink_in_root(const char *target, const char *name) {
        if (symlinkat(target, root, name) < 0)
                abort();
}

static char *read_all(const char *path, int *ret_r) {
        _cleanup_(container_file_info_done) ContainerFileInfo info = {};
        void *data = NULL;
        size_t size = 0;
        bool eof = false;
        char *s;

        *ret_r = container_file_read(root, path, 0, 0, &data, &size, &eof, &info);
        if (*ret_r < 0)
                return NULL;
        s = strndup(data, size);
        free(data);
        return s;
}

static int write_string(const char *path, const char *s, bool parents) {
        _cleanup_(container_file_info_done) ContainerFileInfo info = {};
        ContainerFileWrite w = { .path = path, .data = s, .size = strlen(s), .create_parents = parents };

        return container_file_write(root, &w, &info);
}

static void setup(void) {
        _cleanup_free_ char *r = NULL, *host_abs = NULL, *outside = NULL;

        if (!mkdtemp(tmpdir))
                abort();
        r = tmp_path("root");
        outside = tmp_path("outside");
        if (mkdir(r, 0755) < 0 || mkdir(outside, 0755) < 0)
                abort();
        write_host_file("outside/secret", "host secret\n");
        root = open(r, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                abort();

        if (mkdirat(root, "etc", 0755) < 0)
                abort();
        write_host_file("root/etc/passwd", "container passwd\n");

        host_abs = tmp_path("outside/secret");
        symlink_in_root(host_abs, "host-abs");               /* the host path, absolute */
        symlink_in_root("../../../../../../outside/secret", "climb");
        symlink_in_root("/etc/passwd", "passwd-link");       /* inside: fine */
        symlink_in_root(outside, "outside-dir");              /* a host directory */
        symlink_in_root("/nowhere", "dangling");
}

static void test_paths(void) {
        const char *error = NULL;

        is_int(container_file_check_path("/etc/passwd", &error), 0, "an absolute path is fine");
        is_int(container_file_check_path("etc/passwd", &error), -EINVAL, "a relative path is refused");
        is_int(container_file_check_path("/etc/../etc/passwd", &error), -EINVAL, ".. is refused");
        is_str(error, "Path traversal detected", "... as path traversal");
        is_int(container_file_check_path("", &error), -EINVAL, "an empty path is refused");
}

static void test_read_links(void) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        int r;

        a = read_all("/passwd-link", &r);
        is_str(a, "container passwd\n", "an absolute link resolves inside the root");
        b = read_all("/host-abs", &r);
        ok(!b && r == -ENOENT, "a link to a host path finds nothing (inside the root there is nothing there)");
        c = read_all("/climb", &r);
        ok(!c && r == -ENOENT, "a link climbing with .. stops at the root");
        d = read_all("/outside-dir/secret", &r);
        ok(!d && r == -ENOENT, "a link to a host directory does not lead there");

        if (mkdirat(root, "outside", 0755) < 0)
                abort();
        write_host_file("root/outside/secret", "inside\n"); /* now the climb has a target, inside */
        free(c);
        c = read_all("/climb", &r);
        is_str(c, "inside\n", "... the climbing link reads the file inside the root");
}

static void test_write_links(void) {
        _cleanup_free_ char *secret = tmp_path("outside/secret"), *stray = tmp_path("outside/new"), *s = NULL;
        _cleanup_free_ char *content = NULL;

        ok(write_string("/host-abs", "pwned\n", false) < 0, "writing through a link to a host file fails");
        ok(write_string("/outside-dir/new", "pwned\n", true) < 0, "creating through a link to a host directory fails");
        ok(read_full_file(secret, &content, NULL) >= 0 && streq(content, "host secret\n"), "the host file is untouched");
        ok(access(stray, F_OK) < 0, "nothing was created in the host directory");

        is_int(write_string("/passwd-link", "rewritten\n", false), 0, "writing through a link inside the root works");
        int r;
        s = read_all("/etc/passwd", &r);
        is_str(s, "rewritten\n", "... and lands inside");
        ok(write_string("/dangling", "x", false) < 0, "a dangling link is not written through");
}

static void test_kinds(void) {
        _cleanup_(container_file_info_done) ContainerFileInfo info = {};
        void *data = NULL;
        size_t size;
        bool eof;

        if (mkfifoat(root, "fifo", 0644) < 0)
                abort();
        is_int(container_file_read(root, "/fifo", 0, 0, &data, &size, &eof, &info), -EINVAL,
               "a fifo is refused (and does not block)");
        is_int(write_string("/fifo", "x", false), -EINVAL, "... also for writing");
        is_int(container_file_read(root, "/etc", 0, 0, &data, &size, &eof, &info), -EISDIR, "a directory is -EISDIR");
        if (geteuid() == 0) {
                if (mknodat(root, "null", S_IFCHR | 0666, makedev(1, 3)) < 0)
                        abort();
                is_int(write_string("/null", "x", false), -EINVAL, "a device node is refused");
        }
}

static void test_chunks_and_modes(void) {
        _cleanup_(container_file_info_done) ContainerFileInfo info = {}, info2 = {};
        const size_t total = 10 * 1024 * 1024;
        _cleanup_free_ char *buf = malloc(total), *back = malloc(total);
        size_t got = 0;
        bool ok_all = true;

        if (!buf || !back)
                abort();
        for (size_t i = 0; i < total; i++)
                buf[i] = (char) (i * 7 + i / 4096);

        for (size_t off = 0; off < total; off += CONTAINER_FILE_CHUNK_MAX) {
                _cleanup_(container_file_info_done) ContainerFileInfo wi = {};
                ContainerFileWrite w = {
                        .path = "/data/big.bin",
                        .data = buf + off,
                        .size = MIN((size_t) CONTAINER_FILE_CHUNK_MAX, total - off),
                        .offset = off,
                        .create_parents = true,
                        .has_mode = true,
                        .mode = 0640,
                        .has_uid = true,
                        .uid = 1234,
                        .has_gid = true,
                        .gid = 5678,
                };
                ok_all = ok_all && container_file_write(root, &w, &wi) == 0;
        }
        ok(ok_all, "a 10 MiB file written in chunks");

        for (bool eof = false; !eof;) {
                _cleanup_(container_file_info_done) ContainerFileInfo ri = {};
                void *data = NULL;
                size_t size = 0;

                if (container_file_read(root, "/data/big.bin", got, 0, &data, &size, &eof, &ri) < 0 ||
                    size > total - got) {
                        free(data);
                        break;
                }
                memcpy(back + got, data, size);
                got += size;
                free(data);
                if (size == 0)
                        break;
        }
        ok(got == total && memcmp(buf, back, total) == 0, "read back in chunks, identical");

        {
                void *data = NULL;
                size_t size = 0;
                bool eof = false;

                is_int(container_file_read(root, "/data/big.bin", 0, 0, &data, &size, &eof, &info), 0, "stat by read");
                free(data);
                ok(info.mode == 0640 && info.uid == 1234 && info.gid == 5678 && info.size == total,
                   "mode, owner and size as written");
                is_int(size, CONTAINER_FILE_CHUNK_MAX, "one read returns at most a chunk");
        }

        {
                ContainerFileWrite w = { .path = "/data/big.bin", .data = "x", .size = 1, .offset = total + 10 };
                is_int(container_file_write(root, &w, &info2), -ERANGE, "writing past the end is refused");
        }
        {
                ContainerFileWrite w = { .path = "/data/sub", .type = CONTAINER_FILE_DIRECTORY, .has_mode = true,
                                         .mode = 0750 };
                container_file_info_done(&info2);
                is_int(container_file_write(root, &w, &info2), 0, "a directory");
                ok(info2.type == CONTAINER_FILE_DIRECTORY && info2.mode == 0750, "... with its mode");
        }
        {
                ContainerFileWrite w = { .path = "/data/ln", .type = CONTAINER_FILE_SYMLINK, .link_target = "/etc/passwd" };
                container_file_info_done(&info2);
                is_int(container_file_write(root, &w, &info2), 0, "a symbolic link");
                ok(info2.type == CONTAINER_FILE_SYMLINK && streq_ptr(info2.link_target, "/etc/passwd"), "... as a link");
                container_file_info_done(&info2);
                is_int(container_file_write(root, &w, &info2), 0, "writing it again replaces it");
        }
}

static void test_list(void) {
        _cleanup_(container_file_info_done) ContainerFileInfo info = {};
        ContainerFileInfo *e = NULL;
        size_t n = 0;
        bool truncated = false;

        for (int i = 0; i < 5; i++) {
                char p[64];
                snprintf(p, sizeof p, "/list/d%d/f", i);
                if (write_string(p, "x", true) < 0)
                        abort();
        }
        is_int(container_file_list(root, "/list", true, false, 0, 0, &info, &e, &n, &truncated), 0, "list recursively");
        ok(n == 10 && !truncated && streq(e[0].path, "d0") && streq(e[1].path, "d0/f") && streq(e[9].path, "d4/f"),
           "sorted, depth first, paths relative");
        container_file_info_array_free(e, n);
        container_file_info_done(&info);

        is_int(container_file_list(root, "/list", true, false, 3, 4, &info, &e, &n, &truncated), 0, "a page");
        ok(n == 4 && truncated && streq(e[0].path, "d1/f") && streq(e[3].path, "d3"), "skip 3, 4 entries, truncated");
        container_file_info_array_free(e, n);
        container_file_info_done(&info);

        is_int(container_file_list(root, "/outside-dir", true, false, 0, 0, &info, &e, &n, &truncated), 0,
               "a symbolic link is listed as itself");
        ok(info.type == CONTAINER_FILE_SYMLINK && n == 0, "... without following it to the host");
        container_file_info_array_free(e, n);
        container_file_info_done(&info);

        is_int(container_file_list(root, "/outside-dir", true, true, 0, 0, &info, &e, &n, &truncated), -ENOENT,
               "following it resolves inside the root, where there is nothing");
        is_int(container_file_list(root, "/", false, false, 0, 0, &info, &e, &n, &truncated), 0, "list /");
        ok(info.type == CONTAINER_FILE_DIRECTORY && n > 5, "/ is a directory with entries");
        container_file_info_array_free(e, n);
}

int main(void) {
        setup();
        test_paths();
        test_read_links();
        test_write_links();
        test_kinds();
        test_chunks_and_modes();
        test_list();

        safe_close(root);
        (void) rm_rf(tmpdir);
        return tap_finish();
}
