/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "macro.h"
#include "mount-util.h"
#include "tests.h"

static void test_volume_names(void) {
        ok(volume_name_is_valid("data"), "a plain name");
        ok(volume_name_is_valid("my_vol.v2-x"), "letters, digits, _ . -");
        ok(volume_name_is_valid("_cache"), "may start with _");
        ok(!volume_name_is_valid(".hidden"), "not starting with .");
        ok(!volume_name_is_valid("-opt"), "not starting with -");
        ok(!volume_name_is_valid(""), "not empty");
        ok(!volume_name_is_valid("a/b"), "no /");
        ok(!volume_name_is_valid("a b"), "no space");
        ok(!volume_name_is_valid(".."), "not ..");
        ok(volume_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "64 characters");
        ok(!volume_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "not 65");
}

static void test_sources(void) {
        size_t n = 0;

        ok(mount_source_is_volume("data", &n) && n == 4, "a volume name");
        ok(mount_source_is_volume("data/sub/dir", &n) && n == 4, "a volume with a path inside");
        ok(!mount_source_is_volume("/data", NULL), "an absolute path is a host path");
        ok(!mount_source_is_volume("./data", NULL), "./ is a host path");
        ok(!mount_source_is_volume("../data", NULL), "../ is a host path");
        ok(!mount_source_is_volume("", NULL), "empty is nothing");
}

static void test_paths(void) {
        char a[] = "/a//b/./c/", b[] = "/", c[] = "//", d[] = "/./", e[] = "a/./b";

        is_str(path_simplify(a), "/a/b/c", "simplify // /./ and trailing /");
        is_str(path_simplify(b), "/", "/ stays");
        is_str(path_simplify(c), "/", "// is /");
        is_str(path_simplify(d), "/", "/./ is /");
        is_str(path_simplify(e), "a/b", "relative paths too");

        ok(path_has_dotdot("/a/../b"), ".. in the middle");
        ok(path_has_dotdot(".."), ".. alone");
        ok(path_has_dotdot("a/.."), ".. at the end");
        ok(!path_has_dotdot("/a..b/c.."), "names containing .. are fine");

        ok(path_startswith_dir("/dev/sda", "/dev"), "/dev/sda is below /dev");
        ok(path_startswith_dir("/dev", "/dev"), "/dev is /dev");
        ok(!path_startswith_dir("/devel", "/dev"), "/devel is not below /dev");
        ok(path_startswith_dir("/x", "/"), "everything is below /");
}

static void test_protected(void) {
        const char *protected[] = { "/", "/etc", "/usr", "/proc", "/proc/sys", "/sys/kernel", "/dev", "/bin" };
        const char *fine[] = { "/data", "/etc2", "/usr/local/x", "/dev/shm", "/tmp", "/procs" };

        for (size_t i = 0; i < ELEMENTSOF(protected); i++)
                ok(mount_target_is_protected(protected[i]), protected[i]);
        for (size_t i = 0; i < ELEMENTSOF(fine); i++)
                ok(!mount_target_is_protected(fine[i]), fine[i]);
}

static void test_volume_spec(void) {
        _cleanup_free_ char *s = NULL, *t = NULL;
        const char *error = NULL;
        bool ro = true;

        is_int(volume_spec_parse("/host:/ctr", &s, &t, &ro, &error), 0, "SOURCE:TARGET");
        is_str(s, "/host", "source");
        is_str(t, "/ctr", "target");
        ok(!ro, "read-write by default");
        s = mfree(s);
        t = mfree(t);

        is_int(volume_spec_parse("data/sub:/ctr:ro", &s, &t, &ro, &error), 0, "SOURCE:TARGET:ro");
        is_str(s, "data/sub", "volume source with a path");
        ok(ro, ":ro is read-only");
        s = mfree(s);
        t = mfree(t);

        is_int(volume_spec_parse("v:/ctr:rw", &s, &t, &ro, &error), 0, ":rw");
        ok(!ro, ":rw is read-write");
        s = mfree(s);
        t = mfree(t);

        error = NULL;
        is_int(volume_spec_parse("/only", &s, &t, &ro, &error), -EINVAL, "one part is refused");
        ok(error && strstr(error, "format"), "... with a format message");
        error = NULL;
        is_int(volume_spec_parse("a:/b:ro:x", &s, &t, &ro, &error), -EINVAL, "four parts are refused");
        ok(error && strstr(error, "format"), "... with a format message");
        error = NULL;
        is_int(volume_spec_parse(":/b", &s, &t, &ro, &error), -EINVAL, "an empty source is refused");
        ok(error && strstr(error, "format"), "... with a format message");
        error = NULL;
        is_int(volume_spec_parse("a:/b:xyz", &s, &t, &ro, &error), -EINVAL, "unknown options are refused");
        ok(error && strstr(error, "format"), "... with a format message");
        error = NULL;
        is_int(volume_spec_parse("a:b", &s, &t, &ro, &error), -EINVAL, "a relative target is refused");
        is_str(error, MOUNT_MSG_TARGET_ABSOLUTE, "... saying it must be absolute");
}

static void test_sizes(void) {
        uint64_t v = 0;
        mode_t m = 0;

        ok(mount_parse_size("10m", &v) == 0 && v == 10 << 20, "10m");
        ok(mount_parse_size("2G", &v) == 0 && v == UINT64_C(2) << 30, "2G");
        ok(mount_parse_size("4096", &v) == 0 && v == 4096, "bytes");
        ok(mount_parse_size("512k", &v) == 0 && v == 512 << 10, "512k");
        is_int(mount_parse_size("10mb", &v), -EINVAL, "10mb is malformed");
        is_int(mount_parse_size("m", &v), -EINVAL, "no digits");
        is_int(mount_parse_size("-1m", &v), -EINVAL, "negative");
        is_int(mount_parse_size("99999999999999999g", &v), -ERANGE, "overflow");

        ok(mount_parse_mode("1777", &m) == 0 && m == 01777, "mode 1777");
        ok(mount_parse_mode("755", &m) == 0 && m == 0755, "mode 755");
        is_int(mount_parse_mode("888", &m), -EINVAL, "not octal");
        is_int(mount_parse_mode("17777", &m), -EINVAL, "too long");
}

int main(void) {
        test_volume_names();
        test_sources();
        test_paths();
        test_protected();
        test_volume_spec();
        test_sizes();
        return tap_finish();
}
