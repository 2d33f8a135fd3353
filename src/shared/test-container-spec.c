/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "container-spec.h"
#include "tests.h"

static char tmpdir[] = "/tmp/test-container-spec-XXXXXX";

static char *tmp_path(const char *name) {
        char *p;

        if (asprintf(&p, "%s/%s", tmpdir, name) < 0)
                abort();
        return p;
}

static void write_file(const char *path, const char *content) {
        FILE *f = fopen(path, "we");

        if (!f || fputs(content, f) < 0 || fclose(f) != 0) {
                perror(path);
                abort();
        }
}

static bool strv_equal(char **a, char **b) {
        for (; *a && *b; a++, b++)
                if (!streq(*a, *b))
                        return false;
        return !*a && !*b;
}

static ContainerSpec *sample_spec(void) {
        static const ContainerRlimit rlimits[] = {
                { RLIMIT_NOFILE, 1024, 4096 },
                { RLIMIT_CORE, 0, RLIM_INFINITY },
        };
        ContainerSpec *s = calloc(1, sizeof(ContainerSpec));
        char **argv = calloc(4, sizeof(char *)), **env = calloc(2, sizeof(char *));
        char **caps = calloc(16, sizeof(char *));

        if (!s || !argv || !env || !caps)
                abort();
        argv[0] = strdup("sh");
        argv[1] = strdup("-c");
        argv[2] = strdup("echo 'a  b' \"c\"; exit 3"); /* stays one argument, never split */
        env[0] = strdup("PATH=/usr/bin:/bin");
        for (size_t i = 0; container_default_capabilities[i]; i++)
                caps[i] = strdup(container_default_capabilities[i]);

        *s = (ContainerSpec) {
                .id = strdup("0b4c2c7e-2f4e-4d0e-9a57-5c1d5c0d6a11"),
                .name = strdup("box"),
                .run_dir = strdup("/run/quilt/containers/x"),
                .state_dir = strdup("/var/lib/quilt/containers/x"),
                .cgroup_leaf = strdup("quilt-x.scope"),
                .rootfs_lower = strdup("/var/lib/quilt/images/busybox/rootfs"),
                .rootfs_upper = strdup("/var/lib/quilt/containers/x/upper"),
                .rootfs_work = strdup("/var/lib/quilt/containers/x/work"),
                .rootfs_target = strdup("/var/lib/quilt/containers/x/rootfs"),
                .argv = argv,
                .env = env,
                .working_directory = strdup("/"),
                .user = strdup("nobody:nogroup"),
                .namespaces = CONTAINER_NS_ALL & ~CONTAINER_NS_IPC,
                .capabilities = caps,
                .no_new_privileges = true,
                .seccomp = true,
                .rlimits = malloc(sizeof rlimits),
                .n_rlimits = ELEMENTSOF(rlimits),
                .log_driver = CONTAINER_LOG_FILE,
                .log_path = strdup("/var/lib/quilt/containers/x/container.log"),
                .log_max_bytes = 10 * 1024 * 1024,
        };
        if (!s->rlimits)
                abort();
        memcpy(s->rlimits, rlimits, sizeof rlimits);

        s->mounts = calloc(3, sizeof(ContainerMount));
        if (!s->mounts)
                abort();
        s->mounts[0] = (ContainerMount) { .type = CONTAINER_MOUNT_BIND, .source = strdup("/srv/data"),
                                          .target = strdup("/data"), .readonly = true };
        s->mounts[1] = (ContainerMount) { .type = CONTAINER_MOUNT_VOLUME,
                                          .source = strdup("/var/lib/quilt/volumes/v/_data"),
                                          .subpath = strdup("sub/dir"), .target = strdup("/v") };
        s->mounts[2] = (ContainerMount) { .type = CONTAINER_MOUNT_TMPFS, .target = strdup("/scratch"),
                                          .size = 10 << 20, .mode = 01777, .exec = true };
        s->n_mounts = 3;
        return s;
}

static void test_namespaces(void) {
        is_str(container_namespace_to_string(CONTAINER_NS_NET), "network", "network namespace name");
        is_str(container_namespace_to_string(CONTAINER_NS_MOUNT), "mount", "mount namespace name");
        is_int(container_namespace_from_string("net"), CONTAINER_NS_NET, "\"net\" is accepted");
        is_int(container_namespace_from_string("network"), CONTAINER_NS_NET, "\"network\" is accepted");
        is_int(container_namespace_from_string("cgroup"), CONTAINER_NS_CGROUP, "cgroup namespace");
        is_int(container_namespace_from_string("user"), 0, "unknown namespace is 0");
        is_int(container_namespace_from_string(NULL), 0, "NULL namespace is 0");
}

static void test_default_capabilities(void) {
        size_t n = 0;

        while (container_default_capabilities[n])
                n++;
        is_int(n, 14, "Docker's default set has 14 capabilities");
        is_str(container_default_capabilities[0], "CAP_CHOWN", "first default capability");
}

static void test_spec_round_trip(void) {
        _cleanup_(container_spec_freep) ContainerSpec *s = sample_spec(), *l = NULL;
        _cleanup_free_ char *path = tmp_path("config.json");
        struct stat st;

        is_int(container_spec_save(s, path), 0, "save spec");
        ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "spec file has mode 0600");
        is_int(container_spec_load(path, &l), 0, "load spec");
        if (!l)
                return;
        is_str(l->id, s->id, "id");
        is_str(l->name, s->name, "name");
        is_str(l->cgroup_leaf, s->cgroup_leaf, "cgroup_leaf");
        is_str(l->rootfs_lower, s->rootfs_lower, "rootfs_lower");
        is_str(l->rootfs_target, s->rootfs_target, "rootfs_target");
        ok(strv_equal(l->argv, s->argv), "argv round-trips element by element");
        ok(strv_equal(l->env, s->env), "env");
        ok(strv_equal(l->capabilities, s->capabilities), "capabilities");
        is_str(l->user, "nobody:nogroup", "user");
        is_int(l->namespaces, s->namespaces, "namespaces");
        ok(l->no_new_privileges && l->seccomp, "no_new_privileges and seccomp");
        is_int(l->n_rlimits, 2, "two rlimits");
        ok(l->n_rlimits == 2 && l->rlimits[0].resource == RLIMIT_NOFILE && l->rlimits[0].soft == 1024 &&
                   l->rlimits[0].hard == 4096,
           "RLIMIT_NOFILE values");
        ok(l->n_rlimits == 2 && l->rlimits[1].hard == (uint64_t) RLIM_INFINITY, "infinity survives");
        is_int(l->n_mounts, 3, "three mounts");
        if (l->n_mounts == 3) {
                ok(l->mounts[0].type == CONTAINER_MOUNT_BIND && streq(l->mounts[0].source, "/srv/data") &&
                           streq(l->mounts[0].target, "/data") && l->mounts[0].readonly && !l->mounts[0].subpath,
                   "bind mount round-trips");
                ok(l->mounts[1].type == CONTAINER_MOUNT_VOLUME && streq(l->mounts[1].subpath, "sub/dir") &&
                           !l->mounts[1].readonly,
                   "volume mount with subpath round-trips");
                ok(l->mounts[2].type == CONTAINER_MOUNT_TMPFS && !l->mounts[2].source &&
                           l->mounts[2].size == 10 << 20 && l->mounts[2].mode == 01777 && l->mounts[2].exec,
                   "tmpfs size, mode and exec round-trip");
        }
        is_int(l->log_driver, CONTAINER_LOG_FILE, "log driver");
        is_str(l->log_path, s->log_path, "log path");
        is_int(l->log_max_bytes, s->log_max_bytes, "log max bytes");

        ok(!l->wait_network && l->etc_files && !l->etc_files[0], "no network by default");

        /* The network's fields */
        s->wait_network = true;
        s->etc_files = calloc(5, sizeof(char *));
        if (!s->etc_files)
                abort();
        s->etc_files[0] = strdup("hosts");
        s->etc_files[1] = strdup("127.0.0.1\tlocalhost\n10.42.0.2\tbox\n");
        s->etc_files[2] = strdup("resolv.conf");
        s->etc_files[3] = strdup("nameserver 10.42.0.1\n");
        l = container_spec_free(l);
        is_int(container_spec_save(s, path), 0, "save spec with a network");
        is_int(container_spec_load(path, &l), 0, "load spec with a network");
        ok(l && l->wait_network, "wait_network");
        ok(l && l->etc_files && strv_equal(l->etc_files, s->etc_files), "etc_files round-trip");
        s->etc_files[2][0] = 'X';
        is_int(container_spec_save(s, path), -EINVAL, "an /etc file that is not allowed is refused");
        s->etc_files[2][0] = 'r';

        /* Saving over an existing file replaces it. */
        free(s->user);
        s->user = NULL;
        s->argv[0] = mfree(s->argv[0]);
        s->argv[0] = NULL; /* empty argv: an async container */
        l = container_spec_free(l);
        is_int(container_spec_save(s, path), 0, "save spec again");
        is_int(container_spec_load(path, &l), 0, "load spec again");
        ok(l && !l->user, "null user");
        ok(l && l->argv && !l->argv[0], "empty argv");
        (void) unlink(path);
}

static const char *valid_json(void) {
        return "{\"id\":\"i\",\"name\":\"n\",\"run_dir\":\"/r\",\"state_dir\":\"/s\",\"cgroup_leaf\":\"quilt-i\","
               "\"rootfs_lower\":\"/l\",\"rootfs_upper\":\"/u\",\"rootfs_work\":\"/w\",\"rootfs_target\":\"/t\","
               "\"argv\":[\"true\"],\"env\":[\"PATH=/bin\"],\"working_directory\":\"/\",\"namespaces\":[\"pid\"],"
               "\"capabilities\":[],\"no_new_privileges\":false,\"seccomp\":false,"
               "\"log\":{\"driver\":\"journal\"}}";
}

/* Loads content with one substitution (from → to) applied to the valid document. */
static int load_variant(const char *from, const char *to) {
        _cleanup_(container_spec_freep) ContainerSpec *l = NULL;
        _cleanup_free_ char *path = tmp_path("variant.json"), *doc = NULL;
        const char *base = valid_json(), *p = from ? strstr(base, from) : NULL;
        int r;

        if (from && !p)
                abort();
        if (p) {
                if (asprintf(&doc, "%.*s%s%s", (int) (p - base), base, to, p + strlen(from)) < 0)
                        abort();
        } else
                doc = strdup(base);
        write_file(path, doc);
        r = container_spec_load(path, &l);
        ok(r < 0 || l, "a successful load returns a spec");
        (void) unlink(path);
        return r;
}

static void test_spec_malformed(void) {
        _cleanup_(container_spec_freep) ContainerSpec *l = NULL;
        _cleanup_free_ char *missing = tmp_path("does-not-exist.json"), *garbage = tmp_path("garbage.json");

        is_int(load_variant(NULL, NULL), 0, "the minimal document loads");
        is_int(container_spec_load(missing, &l), -ENOENT, "missing file is -ENOENT");
        write_file(garbage, "{\"id\": ");
        is_int(container_spec_load(garbage, &l), -EINVAL, "truncated JSON");
        write_file(garbage, "[]");
        is_int(container_spec_load(garbage, &l), -EINVAL, "not an object");
        (void) unlink(garbage);

        is_int(load_variant("\"name\":\"n\",", ""), -EINVAL, "missing name");
        is_int(load_variant("\"name\":\"n\"", "\"name\":7"), -EINVAL, "name of the wrong type");
        is_int(load_variant("\"name\":\"n\"", "\"name\":\"\""), -EINVAL, "empty name");
        is_int(load_variant("\"cgroup_leaf\":\"quilt-i\"", "\"cgroup_leaf\":\"a/b\""), -EINVAL, "leaf with a slash");
        is_int(load_variant("\"rootfs_lower\":\"/l\"", "\"rootfs_lower\":\"l\""), -EINVAL, "relative path");
        is_int(load_variant("[\"true\"]", "\"true\""), -EINVAL, "argv as a string is rejected");
        is_int(load_variant("[\"true\"]", "[\"true\",1]"), -EINVAL, "argv with a number");
        is_int(load_variant("[\"true\"]", "[\"a\\u0000b\"]"), -EINVAL, "argv with a NUL byte");
        is_int(load_variant("[\"PATH=/bin\"]", "[\"PATH\"]"), -EINVAL, "env entry without =");
        is_int(load_variant("[\"pid\"]", "[\"pid\",\"user\"]"), -EINVAL, "unknown namespace");
        is_int(load_variant("[\"pid\"]", "[\"net\"]"), 0, "\"net\" namespace alias");
        is_int(load_variant("\"capabilities\":[]", "\"capabilities\":[\"CHOWN\"]"), -EINVAL, "capability without CAP_");
        is_int(load_variant("\"driver\":\"journal\"", "\"driver\":\"syslog\""), -EINVAL, "unknown log driver");
        is_int(load_variant("\"driver\":\"journal\"", "\"driver\":\"file\""), -EINVAL, "file driver without path");
        is_int(load_variant("\"driver\":\"journal\"", "\"driver\":\"file\",\"path\":\"/x.log\",\"max_bytes\":-1"),
               -EINVAL, "negative max_bytes");
        is_int(load_variant("\"seccomp\":false", "\"seccomp\":false,\"surprise\":1"), -EINVAL, "unknown key");
        is_int(load_variant("\"seccomp\":false", "\"seccomp\":false,\"etc_files\":{\"passwd\":\"x\"}"), -EINVAL,
               "an /etc file that is not allowed");
        is_int(load_variant("\"seccomp\":false", "\"seccomp\":false,\"etc_files\":{\"../hosts\":\"x\"}"), -EINVAL,
               "an /etc file name with a path");
        is_int(load_variant("\"seccomp\":false", "\"seccomp\":false,\"etc_files\":{\"hosts\":1}"), -EINVAL,
               "an /etc file that is not a string");
        is_int(load_variant("\"seccomp\":false", "\"seccomp\":false,\"wait_network\":true"), -EINVAL,
               "wait_network without the network namespace");
        is_int(load_variant("[\"pid\"]", "[\"pid\",\"network\"],\"wait_network\":true,\"etc_files\":{}"), 0,
               "wait_network with the network namespace");
        is_int(load_variant("\"seccomp\":false", "\"seccomp\":false,\"seccomp\":true"), -EINVAL, "duplicate key");
        is_int(load_variant("\"seccomp\":false", "\"seccomp\":false,\"user\":5"), -EINVAL, "user of the wrong type");
        is_int(load_variant("\"seccomp\":false",
                            "\"seccomp\":false,\"rlimits\":[{\"type\":\"RLIMIT_NOPE\",\"soft\":1,\"hard\":1}]"),
               -EINVAL, "unknown rlimit");
        is_int(load_variant("\"seccomp\":false",
                            "\"seccomp\":false,\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":9,\"hard\":1}]"),
               -EINVAL, "soft above hard");
        is_int(load_variant("\"seccomp\":false",
                            "\"seccomp\":false,\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":\"unlimited\"}]"),
               0, "\"unlimited\" rlimit");

        is_int(load_variant("\"seccomp\":false", "\"seccomp\":false,\"mounts\":[{\"type\":\"tmpfs\",\"target\":\"/t\","
                                                 "\"size\":1048576}]"),
               0, "a tmpfs mount");
        is_int(load_variant("\"seccomp\":false", "\"seccomp\":false,\"mounts\":[{\"type\":\"nfs\",\"target\":\"/t\"}]"),
               -EINVAL, "unknown mount type");
        is_int(load_variant("\"seccomp\":false",
                            "\"seccomp\":false,\"mounts\":[{\"type\":\"bind\",\"source\":\"/a\",\"target\":\"t\"}]"),
               -EINVAL, "relative mount target");
        is_int(load_variant("\"seccomp\":false",
                            "\"seccomp\":false,\"mounts\":[{\"type\":\"bind\",\"source\":\"/a\",\"target\":\"/t/../x\"}]"),
               -EINVAL, "mount target with ..");
        is_int(load_variant("\"seccomp\":false",
                            "\"seccomp\":false,\"mounts\":[{\"type\":\"bind\",\"target\":\"/t\"}]"),
               -EINVAL, "bind mount without a source");
        is_int(load_variant("\"seccomp\":false",
                            "\"seccomp\":false,\"mounts\":[{\"type\":\"volume\",\"source\":\"/v\",\"subpath\":\"../x\","
                            "\"target\":\"/t\"}]"),
               -EINVAL, "volume subpath with ..");
        is_int(load_variant("\"seccomp\":false",
                            "\"seccomp\":false,\"mounts\":[{\"type\":\"tmpfs\",\"source\":\"/x\",\"target\":\"/t\","
                            "\"size\":1}]"),
               -EINVAL, "tmpfs with a source");
}

static void test_exit_round_trip(void) {
        _cleanup_free_ char *path = tmp_path("exit.json"), *garbage = tmp_path("exit-garbage.json");
        ContainerExit e = {
                .started = true,
                .exit_signal = 9,
                .oom_killed = true,
                .started_usec = 1700000000000000ULL,
                .exited_usec = 1700000001000000ULL,
        }, l = {};
        struct stat st;

        is_int(container_exit_load(path, &l), -ENOENT, "absent exit.json is -ENOENT");
        is_int(container_exit_save(&e, path), 0, "save exit");
        ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "exit file has mode 0600");
        is_int(container_exit_load(path, &l), 0, "load exit");
        ok(l.started && l.oom_killed, "started and oom_killed");
        is_int(l.exit_signal, 9, "exit_signal");
        is_int(l.exit_code, 0, "exit_code");
        is_int(l.started_usec, e.started_usec, "started_usec");
        is_int(l.exited_usec, e.exited_usec, "exited_usec");
        ok(!l.error, "no error");
        container_exit_done(&l);

        e = (ContainerExit) { .error = (char *) "exec nope: No such file or directory" };
        is_int(container_exit_save(&e, path), 0, "save failed exit");
        is_int(container_exit_load(path, &l), 0, "load failed exit");
        is_str(l.error, e.error, "error message");
        ok(!l.started, "not started");
        container_exit_done(&l);
        ok(!l.error, "container_exit_done() frees the error");

        write_file(garbage, "{\"started\":true}");
        is_int(container_exit_load(garbage, &l), -EINVAL, "incomplete exit.json");
        write_file(garbage, "{\"started\":true,\"exit_code\":300,\"exit_signal\":0,\"oom_killed\":false,"
                            "\"started_usec\":1,\"exited_usec\":2}");
        is_int(container_exit_load(garbage, &l), -EINVAL, "exit_code out of range");
        (void) unlink(garbage);
        (void) unlink(path);
}

int main(void) {
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 1;
        }

        test_namespaces();
        test_default_capabilities();
        test_spec_round_trip();
        test_spec_malformed();
        test_exit_round_trip();

        (void) rmdir(tmpdir);
        return tap_finish();
}
