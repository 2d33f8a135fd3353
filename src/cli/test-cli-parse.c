/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The CLI's argument parsers: what they accept, and that they refuse what they must. */

#include <errno.h>
#include <stdint.h>

#include "cli.h"
#include "tests.h"

static void test_numbers(void) {
        int32_t i;
        double d;
        uint64_t u;

        ok(parse_int32("512", 1, INT32_MAX, &i) == 0 && i == 512, "int32 512");
        ok(parse_int32("abc", 1, INT32_MAX, &i) == -EINVAL, "int32 rejects abc");
        ok(parse_int32("12abc", 1, INT32_MAX, &i) == -EINVAL, "int32 rejects trailing garbage");
        ok(parse_int32(" 12", 1, INT32_MAX, &i) == -EINVAL, "int32 rejects leading blank");
        ok(parse_int32("+12", 1, INT32_MAX, &i) == -EINVAL, "int32 rejects plus sign");
        ok(parse_int32("", 1, INT32_MAX, &i) == -EINVAL, "int32 rejects empty");
        ok(parse_int32("0", 1, INT32_MAX, &i) == -ERANGE, "int32 enforces minimum");
        ok(parse_int32("2147483648", 1, INT32_MAX, &i) == -ERANGE, "int32 enforces maximum");
        ok(parse_double("50.5", 0, 100000, &d) == 0 && d == 50.5, "double 50.5");
        ok(parse_double("nan", 0, 100000, &d) == -EINVAL, "double rejects nan");
        ok(parse_double("inf", 0, 100000, &d) == -EINVAL, "double rejects inf");
        ok(parse_double("-1", 0, 100000, &d) == -ERANGE, "double enforces minimum");
        ok(parse_uint64("18446744073709551615", &u) == 0 && u == UINT64_MAX, "uint64 max");
        ok(parse_uint64("-1", &u) == -EINVAL, "uint64 rejects minus");
}

static void test_assignment(void) {
        const char *value;
        size_t n;

        ok(parse_assignment("KEY=VALUE", &n, &value) == 0 && n == 3 && streq(value, "VALUE"), "KEY=VALUE");
        ok(parse_assignment("KEY=", &n, &value) == 0 && n == 3 && streq(value, ""), "empty value is fine");
        ok(parse_assignment("K=a=b", &n, &value) == 0 && n == 1 && streq(value, "a=b"), "value keeps '='");
        ok(parse_assignment("NOEQUALS", &n, &value) == -EINVAL, "no '=' is refused");
        ok(parse_assignment("=VALUE", &n, &value) == -EINVAL, "empty key is refused");
}

static void test_volume(void) {
        _cleanup_arena_ Arena a = {};
        Quilt__Mount m = QUILT__MOUNT__INIT;
        const char *error = NULL;

        ok(parse_volume_spec(&a, "/srv/data:/data", &m, &error) == 0, "bind volume");
        is_str(m.source, "/srv/data", "bind source");
        is_str(m.target, "/data", "bind target");
        is_int(m.type, QUILT__MOUNT_TYPE__BIND, "bind type");
        ok(!m.readonly, "bind is read-write");

        ok(parse_volume_spec(&a, "cache:/cache:ro", &m, &error) == 0, "named volume, ro");
        is_int(m.type, QUILT__MOUNT_TYPE__VOLUME, "named volume type");
        ok(m.readonly, "ro is read-only");
        ok(parse_volume_spec(&a, "cache:/cache:rw", &m, &error) == 0 && !m.readonly, "rw is read-write");

        ok(parse_volume_spec(&a, "/a", &m, &error) == -EINVAL, "no target");
        ok(parse_volume_spec(&a, "/a:rel", &m, &error) == -EINVAL, "relative target");
        ok(parse_volume_spec(&a, "../x:/x", &m, &error) == -EINVAL, "relative source");
        ok(parse_volume_spec(&a, ":/x", &m, &error) == -EINVAL, "empty source");
        ok(parse_volume_spec(&a, "/a:/b:rox", &m, &error) == -EINVAL, "unknown option");
        ok(parse_volume_spec(&a, "/a:/b:ro:x", &m, &error) == -EINVAL, "too many parts");
}

static void test_mount(void) {
        _cleanup_arena_ Arena a = {};
        Quilt__Mount m = QUILT__MOUNT__INIT;
        const char *error = NULL;

        ok(parse_mount_spec(&a, "type=bind,source=/srv,target=/srv,readonly", &m, &error) == 0, "bind mount");
        is_str(m.source, "/srv", "bind mount source");
        ok(m.readonly && m.type == QUILT__MOUNT_TYPE__BIND, "bind mount ro");

        ok(parse_mount_spec(&a, "src=/srv,dst=/x", &m, &error) == 0 && m.type == QUILT__MOUNT_TYPE__BIND,
           "type defaults to bind; src/dst aliases");
        ok(parse_mount_spec(&a, "type=volume,source=v1,destination=/v,ro=false", &m, &error) == 0 && !m.readonly,
           "volume mount");
        ok(parse_mount_spec(&a, "type=tmpfs,target=/tmp,size=64m,mode=1777", &m, &error) == 0, "tmpfs mount");
        is_int(m.n_options, 2, "tmpfs options");
        is_str(m.source, "", "tmpfs has no source");

        ok(parse_mount_spec(&a, "type=tmpfs", &m, &error) == -EINVAL, "target is required");
        ok(parse_mount_spec(&a, "type=tmpfs,target=x", &m, &error) == -EINVAL, "target must be absolute");
        ok(parse_mount_spec(&a, "type=nfs,target=/x", &m, &error) == -EINVAL, "unknown type");
        ok(parse_mount_spec(&a, "type=bind,target=/x", &m, &error) == -EINVAL, "bind needs a source");
        ok(parse_mount_spec(&a, "type=tmpfs,source=/a,target=/x", &m, &error) == -EINVAL, "tmpfs takes no source");
        ok(parse_mount_spec(&a, "type=bind,source=/a,target=/x,size=1m", &m, &error) == -EINVAL,
           "size is for tmpfs");
        ok(parse_mount_spec(&a, "type=tmpfs,target=/x,size=lots", &m, &error) == -EINVAL, "bad size");
        ok(parse_mount_spec(&a, "type=tmpfs,target=/x,mode=999", &m, &error) == -EINVAL, "bad mode");
        ok(parse_mount_spec(&a, "type=tmpfs,,target=/x", &m, &error) == -EINVAL, "empty item");
        ok(parse_mount_spec(&a, "type=tmpfs,target=/x,foo=bar", &m, &error) == -EINVAL, "unknown key");
        ok(parse_mount_spec(&a, "", &m, &error) == -EINVAL, "empty spec");
}

static void test_user(void) {
        ok(parse_user_spec("1000") == 0, "uid");
        ok(parse_user_spec("1000:1000") == 0, "uid:gid");
        ok(parse_user_spec("nobody:nogroup") == 0, "names");
        ok(parse_user_spec("") < 0, "empty user");
        ok(parse_user_spec(":1") < 0, "empty uid");
        ok(parse_user_spec("1:") < 0, "empty gid");
        ok(parse_user_spec("1:2:3") < 0, "two colons");
}

static void test_map(void) {
        _cleanup_arena_ Arena a = {};
        Quilt__CreateContainerRequest__EnvironmentEntry *e[3] = {};
        size_t n = 0;

        ok(arena_map_put(&a, &quilt__create_container_request__environment_entry__descriptor, (void **) e, &n,
                         "A", "1") == 0, "map put");
        ok(arena_map_put(&a, &quilt__create_container_request__environment_entry__descriptor, (void **) e, &n,
                         "B", "2") == 0, "map put second key");
        ok(arena_map_put(&a, &quilt__create_container_request__environment_entry__descriptor, (void **) e, &n,
                         "A", "3") == 0, "map put same key");
        is_int(n, 2, "a repeated key replaces its value");
        is_str(e[0]->value, "3", "last value wins");
}

static void test_table(void) {
        _cleanup_table_ Table *t = table_new(2, "NAME", "STATUS");
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        ok(t && table_add_row(t, "a-long-name", "RUNNING") == 0 && table_add_row(t, "b", NULL) == 0, "table rows");
        f = open_memstream(&buf, &size);
        table_print(t, f);
        fclose(f);
        is_str(buf, "NAME         STATUS\na-long-name  RUNNING\nb            \n", "table alignment");
        free(buf);
}

int main(void) {
        test_numbers();
        test_assignment();
        test_volume();
        test_mount();
        test_user();
        test_map();
        test_table();
        return tap_finish();
}
