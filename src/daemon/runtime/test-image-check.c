/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "image-check.h"
#include "image-store.h"
#include "macro.h"
#include "tests.h"

static const char *normalized(const char *path) {
        static char buf[256];
        const char *reason = NULL;
        char *out = NULL;
        int r;

        r = image_entry_path_normalize(path, &out, &reason);
        if (r < 0)
                return "(refused)";
        snprintf(buf, sizeof buf, "%s", out);
        free(out);
        return buf;
}

static int symlink_ok(const char *entry, const char *target) {
        const char *reason = NULL;
        return image_symlink_target_check(entry, target, &reason);
}

static const char *derived(const char *path) {
        static char buf[256];
        char *name = NULL;

        if (image_name_from_file(path, &name) < 0)
                return "(none)";
        snprintf(buf, sizeof buf, "%s", name);
        free(name);
        return buf;
}

int main(void) {
        const char *reason = NULL;
        char *out = NULL, *e;
        char long_name[130];

        /* names */
        ok(image_name_is_valid("minimal"), "minimal is a valid name");
        ok(image_name_is_valid("ubuntu-24.04_x"), "letters, digits, '-', '.', '_'");
        ok(image_name_is_valid("9"), "one digit");
        ok(!image_name_is_valid(""), "empty name");
        ok(!image_name_is_valid(NULL), "NULL name");
        ok(!image_name_is_valid(".tmp-abc"), "leading '.' (work directories) is invalid");
        ok(!image_name_is_valid("-x"), "leading '-' is invalid");
        ok(!image_name_is_valid("a/b"), "'/' is invalid");
        ok(!image_name_is_valid("a b"), "space is invalid");
        ok(!image_name_is_valid(".."), "'..' is invalid");
        memset(long_name, 'a', 128);
        long_name[128] = 0;
        ok(image_name_is_valid(long_name), "128 characters are fine");
        long_name[128] = 'a';
        long_name[129] = 0;
        ok(!image_name_is_valid(long_name), "129 characters are too many");

        /* names derived from file names */
        is_str(derived("/srv/ubuntu-24.04.tar.gz"), "ubuntu-24.04", ".tar.gz stripped");
        is_str(derived("/srv/alpine.tgz"), "alpine", ".tgz stripped");
        is_str(derived("/srv/a.tar.xz"), "a", ".tar.xz stripped");
        is_str(derived("/srv/a.txz"), "a", ".txz stripped");
        is_str(derived("/srv/a.tar.zst"), "a", ".tar.zst stripped");
        is_str(derived("/srv/a.tar"), "a", ".tar stripped");
        is_str(derived("/srv/a.TAR.GZ"), "a", "extensions are case-insensitive");
        is_str(derived("/srv/a.tar.gz.tar"), "a.tar.gz", "only one extension is stripped");
        is_str(derived("rootfs.img"), "rootfs.img", "unknown extensions stay");
        is_str(derived("/srv/.tar.gz"), "(none)", "nothing left");
        is_str(derived("/srv/my image.tar"), "(none)", "invalid characters");
        is_str(derived("/srv/dir/"), "(none)", "a directory path");

        /* entry paths */
        is_str(normalized("bin/sh"), "bin/sh", "plain path");
        is_str(normalized("./bin/sh"), "bin/sh", "leading ./ stripped");
        is_str(normalized("./"), "", "./ is the root");
        is_str(normalized("."), "", ". is the root");
        is_str(normalized("etc//passwd"), "etc/passwd", "double slash collapsed");
        is_str(normalized("etc/./passwd"), "etc/passwd", ". component dropped");
        is_str(normalized("etc/"), "etc", "trailing slash dropped");
        is_str(normalized("a..b/..c/d.."), "a..b/..c/d..", "dots inside names are fine");
        is_str(normalized("../evil"), "(refused)", "leading .. refused");
        is_str(normalized("a/../../evil"), "(refused)", ".. in the middle refused");
        is_str(normalized("a/.."), "(refused)", "trailing .. refused");
        is_str(normalized("./../x"), "(refused)", "./.. refused");
        is_str(normalized("/etc/evil"), "(refused)", "absolute path refused");
        is_int(image_entry_path_normalize("../x", &out, &reason), -EINVAL, "-EINVAL for ..");
        ok(reason && strstr(reason, ".."), "the reason names '..'");
        is_int(image_entry_path_normalize("/x", &out, &reason), -EINVAL, "-EINVAL for an absolute path");
        ok(reason && strstr(reason, "absolute"), "the reason says absolute");

        /* symlink targets */
        is_int(symlink_ok("bin/sh", "busybox"), 0, "sibling target");
        is_int(symlink_ok("usr/bin", "../bin"), 0, "one level up from usr/");
        is_int(symlink_ok("a/b/c", "../../x"), 0, "up to the root exactly");
        is_int(symlink_ok("x", "/etc"), 0, "absolute targets are fine");
        is_int(symlink_ok("x", "../../../../etc"), -EINVAL, "climbing above the root refused");
        is_int(symlink_ok("x", ".."), -EINVAL, "'..' at the root refused");
        is_int(symlink_ok("a/b", "../../x"), -EINVAL, "one level too many refused");
        is_int(symlink_ok("a/b", "c/../../../x"), -EINVAL, "down then above the root refused");
        is_int(symlink_ok("a/b", "./c/./../.."), 0, "down and back up to the root");
        is_int(symlink_ok("x", ""), -EINVAL, "empty target refused");

        /* escaping */
        e = image_escape_name("a\nb\\c\xc3\xa9");
        is_str(e, "a\\x0ab\\x5cc\\xc3\\xa9", "control, backslash and non-ASCII bytes escaped");
        free(e);

        return tap_finish();
}
