/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The CLI's argument parsers: what they accept, and that they refuse what they must. */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void test_more_numbers(void) {
        int64_t l;
        int32_t mb;

        ok(parse_int64("9000000000", 1, INT64_MAX, &l) == 0 && l == 9000000000LL, "int64 beyond 32 bits");
        ok(parse_int64("0", 1, INT64_MAX, &l) == -ERANGE, "int64 enforces minimum");
        ok(parse_int64("-3", 1, INT64_MAX, &l) == -ERANGE, "int64 refuses negative below minimum");
        ok(parse_int64("1x", 1, INT64_MAX, &l) == -EINVAL, "int64 rejects trailing garbage");

        ok(parse_memory_mb("512", &mb) == 0 && mb == 512, "memory 512 is MiB");
        ok(parse_memory_mb("512m", &mb) == 0 && mb == 512, "memory 512m");
        ok(parse_memory_mb("512M", &mb) == 0 && mb == 512, "memory 512M");
        ok(parse_memory_mb("2g", &mb) == 0 && mb == 2048, "memory 2g");
        ok(parse_memory_mb("0", &mb) == -ERANGE, "memory 0 is refused");
        ok(parse_memory_mb("-5", &mb) < 0, "negative memory is refused");
        ok(parse_memory_mb("512k", &mb) == -EINVAL, "memory in KiB is refused");
        ok(parse_memory_mb("m", &mb) == -EINVAL, "a unit alone is refused");
        ok(parse_memory_mb("", &mb) == -EINVAL, "empty memory is refused");
        ok(parse_memory_mb("4194304g", &mb) == -ERANGE, "memory beyond int32 MiB is refused");
}

static void test_signals(void) {
        int sig;

        ok(parse_signal("TERM", &sig) == 0 && sig == SIGTERM, "TERM");
        ok(parse_signal("SIGTERM", &sig) == 0 && sig == SIGTERM, "SIGTERM");
        ok(parse_signal("sigkill", &sig) == 0 && sig == SIGKILL, "names are case-insensitive");
        ok(parse_signal("9", &sig) == 0 && sig == 9, "number 9");
        ok(parse_signal("40", &sig) == 0 && sig == 40, "a real-time signal number");
        ok(parse_signal("0", &sig) == -EINVAL, "0 is refused");
        ok(parse_signal("65", &sig) == -EINVAL, "65 is refused");
        ok(parse_signal("-9", &sig) == -EINVAL, "negative numbers are refused");
        ok(parse_signal("FOO", &sig) == -EINVAL, "unknown names are refused");
        ok(parse_signal("SIG", &sig) == -EINVAL, "SIG alone is refused");
        ok(parse_signal("", &sig) == -EINVAL, "empty is refused");
        is_str(signal_to_string(SIGKILL), "KILL", "SIGKILL's name");
        is_str(signal_to_string(SIGABRT), "ABRT", "SIGABRT is ABRT, not IOT");
        ok(signal_to_string(40) == NULL, "real-time signals have no name");
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

/* ---- create and run options ---- */

static char captured[4096];

/* Runs cli_parse_create_options() on the NULL-terminated arguments after the verb, with
 * stderr captured in `captured`. */
static int parse_create(bool run, Arena *a, Quilt__CreateContainerRequest *req, ...) {
        char *argv[64] = { (char *) (run ? "run" : "create") };
        Cli cli = {};
        FILE *tmp;
        int argc = 1, saved, r;
        va_list ap;
        size_t n;

        va_start(ap, req);
        for (const char *s; (s = va_arg(ap, const char *)) && argc < 63;)
                argv[argc++] = (char *) s;
        va_end(ap);

        snprintf(cli.verb, sizeof cli.verb, "%s", argv[0]);
        quilt__create_container_request__init(req);
        optind = 0;
        opterr = 0;

        fflush(stderr);
        tmp = tmpfile();
        saved = dup(STDERR_FILENO);
        if (!tmp || saved < 0 || dup2(fileno(tmp), STDERR_FILENO) < 0)
                abort();
        r = cli_parse_create_options(&cli, argc, argv, run, "usage\n", a, req);
        fflush(stderr);
        if (dup2(saved, STDERR_FILENO) < 0)
                abort();
        close(saved);
        rewind(tmp);
        n = fread(captured, 1, sizeof captured - 1, tmp);
        captured[n] = '\0';
        fclose(tmp);
        return r;
}

static const char *label(const Quilt__CreateContainerRequest *req, const char *key) {
        return string_map_get((void *const *) req->labels, req->n_labels,
                              &quilt__create_container_request__labels_entry__descriptor, key);
}

static void test_create_options(void) {
        _cleanup_arena_ Arena a = {};
        Quilt__CreateContainerRequest req;
        _cleanup_free_ char *cwd = getcwd(NULL, 0);

        ok(parse_create(false, &a, &req, "--name", "web", "--image", "busybox", "-e", "A=1", "--env", "B=x=y", "-w",
                        "/srv", "--memory", "256", "--cpu", "12.5", "--pids", "100", "--rm", "--label", "app=x", "-l",
                        "tier=", "-u", "1000:1000", "--async-mode", "-v", "/a:/b", "--setup", "pip: requests", "--",
                        "sh", "-c", "echo hi", NULL) == 0,
           "create: every option parses");
        is_str(req.name, "web", "--name");
        is_str(req.image_path, "busybox", "--image with a bare word is an image name");
        is_int(req.n_environment, 2, "two --env");
        is_str(string_map_get((void *const *) req.environment, req.n_environment,
                              &quilt__create_container_request__environment_entry__descriptor, "B"),
               "x=y", "--env value keeps '='");
        is_str(req.working_directory, "/srv", "-w");
        is_int(req.memory_limit_mb, 256, "--memory");
        ok(req.cpu_limit_percent == 12.5f, "--cpu");
        is_int(req.pids_limit, 100, "--pids → pids_limit");
        ok(req.auto_remove, "--rm → auto_remove");
        is_int(req.n_labels, 2, "--label and -l → labels");
        is_str(label(&req, "app"), "x", "label app=x");
        is_str(label(&req, "tier"), "", "label with an empty value");
        is_str(req.user, "1000:1000", "--user → user");
        ok(req.async_mode, "--async-mode");
        is_int(req.n_mounts, 1, "-v");
        is_int(req.n_setup_commands, 1, "--setup");
        ok(req.n_command == 3 && streq(req.command[0], "sh") && streq(req.command[2], "echo hi"),
           "the command's argv is passed verbatim");
        is_int(req.n_host_namespaces, 0, "no namespace is shared by default");
        ok(req.enable_pid_namespace && req.enable_network_namespace, "the original's flags say isolated");
        is_str(req.network, "quilt", "the container network by default");

        ok(parse_create(false, &a, &req, "--memory-limit", "2g", "--cpu-limit", "150", "--image-path", "/no/such.tar",
                        "--working-directory", "/", "--user", "nobody", "--enable-pid-namespace",
                        "--enable-all-namespaces", "true", NULL) == 0,
           "create: the aliases parse");
        is_int(req.memory_limit_mb, 2048, "--memory-limit 2g is 2048 MiB");
        ok(req.cpu_limit_percent == 150.0f, "--cpu-limit");
        is_str(req.image_path, "/no/such.tar", "an absolute --image path is sent unchanged");
        is_str(req.user, "nobody", "--user takes a name");
        is_int(req.n_command, 1, "options end at the command");

        ok(parse_create(false, &a, &req, "--image", "./", NULL) == 0, "create: --image ./");
        is_str(req.image_path, cwd, "a relative --image path is made absolute");
        is_int(req.n_command, 0, "create without a command");

        ok(parse_create(false, &a, &req, "--pid", "host", "--uts", "host", "--ipc", "host", "--cgroupns", "host",
                        "--network", "host", NULL) == 0,
           "create: namespace opt-outs");
        ok(req.n_host_namespaces == 5 && streq(req.host_namespaces[0], "pid") && streq(req.host_namespaces[1], "uts") &&
                   streq(req.host_namespaces[2], "ipc") && streq(req.host_namespaces[3], "cgroup") &&
                   streq(req.host_namespaces[4], "network"),
           "host_namespaces lists pid, uts, ipc, cgroup, network");
        ok(!req.enable_pid_namespace && !req.enable_network_namespace, "the original's flags follow");
        is_str(req.network, "host", "--network host → network host");

        ok(parse_create(false, &a, &req, "--pid", "host", "--pid", "private", "--network", "none", NULL) == 0 &&
                   req.n_host_namespaces == 0 && !req.enable_network_namespace,
           "private undoes host; --network none shares nothing");
        ok(parse_create(false, &a, &req, "--no-network", "--network", "none", NULL) == 0 &&
                   req.n_host_namespaces == 0 && !req.enable_network_namespace,
           "--no-network agrees with --network none");
        is_str(req.network, "none", "--no-network → network none");
        ok(parse_create(false, &a, &req, "--network", "quilt", NULL) == 0 && req.enable_network_namespace,
           "--network quilt");
        is_str(req.network, "quilt", "--network quilt → network quilt");

        ok(parse_create(true, &a, &req, "--rm", "--name", "x", "--", "echo", "hi", NULL) == 0, "run: parses");
        ok(req.auto_remove && req.n_command == 2 && !req.async_mode, "run: --rm and the command");
}

/* Each case: a usage error (2) on one line that names the option. */
static void test_create_errors(void) {
        static const struct {
                bool run;
                const char *args[4];
                const char *needle;
        } cases[] = {
                { false, { "--pids", "0" }, "--pids '0'" },
                { false, { "--pids", "-1" }, "--pids '-1'" },
                { false, { "--pids", "many" }, "--pids 'many'" },
                { false, { "--memory", "0" }, "--memory '0'" },
                { false, { "--memory", "-5" }, "--memory '-5'" },
                { false, { "--memory-limit", "5k" }, "--memory '5k'" },
                { false, { "--cpu", "0" }, "--cpu '0'" },
                { false, { "--cpu", "-1" }, "--cpu '-1'" },
                { false, { "--cpu", "nan" }, "--cpu 'nan'" },
                { false, { "--label", "noequals" }, "--label 'noequals'" },
                { false, { "-l", "=v" }, "--label '=v'" },
                { false, { "-e", "NOEQUALS" }, "--env 'NOEQUALS'" },
                { false, { "--user", "1:2:3" }, "--user '1:2:3'" },
                { false, { "-u", "" }, "--user ''" },
                { false, { "--pid", "yes" }, "--pid 'yes'" },
                { false, { "--uts", "shared" }, "--uts 'shared'" },
                { false, { "--ipc", "" }, "--ipc ''" },
                { false, { "--cgroupns", "hostile" }, "--cgroupns 'hostile'" },
                { false, { "--network", "bridge" }, "--network 'bridge'" },
                { false, { "--no-network", "--network", "host" }, "--no-network conflicts with --network host" },
                { false, { "-w", "relative" }, "--workdir 'relative'" },
                { false, { "--image", "./no-such-image-here.tar" }, "--image './no-such-image-here.tar'" },
                { false, { "--image", "" }, "--image must not be empty" },
                { false, { "--name", "" }, "--name must not be empty" },
                { false, { "--pids" }, "'--pids' requires an argument" },
                { false, { "--bogus" }, "'--bogus'" },
                { true, { "--rm" }, "missing COMMAND" },
                { true, { "--async-mode", "true" }, "--async-mode cannot be used with run" },
                { true, { "--json", "true" }, "--json cannot be used with run" },
                { true, { "--pids", "0", "true" }, "--pids '0'" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_arena_ Arena a = {};
                Quilt__CreateContainerRequest req;
                char name[256];
                int r;

                r = parse_create(cases[i].run, &a, &req, cases[i].args[0], cases[i].args[1], cases[i].args[2],
                                 cases[i].args[3], NULL);
                snprintf(name, sizeof name, "%s %s %s: usage error naming \"%s\"", cases[i].run ? "run" : "create",
                         cases[i].args[0], strempty(cases[i].args[1]), cases[i].needle);
                ok(r == CLI_EXIT_USAGE && strstr(captured, cases[i].needle) &&
                           strchr(captured, '\n') == captured + strlen(captured) - 1,
                   name);
        }
}

/* ---- formatting ---- */

static void test_format(void) {
        char buf[256];
        char *argv1[] = { (char *) "sh", (char *) "-c", (char *) "echo 'a b'" };
        char *argv2[] = { (char *) "printf", (char *) "", (char *) "x=1", (char *) "$HOME" };
        char *s;

        is_str(format_container_state(buf, sizeof buf, QUILT__CONTAINER_STATUS__RUNNING, 0, 0, false, NULL), "running",
               "state running");
        is_str(format_container_state(buf, sizeof buf, QUILT__CONTAINER_STATUS__PENDING, 0, 0, false, NULL), "pending",
               "state pending");
        is_str(format_container_state(buf, sizeof buf, QUILT__CONTAINER_STATUS__EXITED, 3, 0, false, NULL),
               "exited (3)", "state exited (3)");
        is_str(format_container_state(buf, sizeof buf, QUILT__CONTAINER_STATUS__EXITED, 0, 9, true, NULL),
               "exited (signal 9, oom)", "state killed by the OOM killer");
        is_str(format_container_state(buf, sizeof buf, QUILT__CONTAINER_STATUS__EXITED, 0, 15, false, NULL),
               "exited (signal 15)", "state killed by a signal");
        is_str(format_container_state(buf, sizeof buf, QUILT__CONTAINER_STATUS__FAILED, 0, 0, false, "no such image"),
               "failed: no such image", "state failed with its reason");

        s = format_argv_quoted(argv1, 3);
        is_str(s, "sh -c 'echo '\\''a b'\\'''", "argv quoting: spaces and single quotes");
        free(s);
        s = format_argv_quoted(argv2, 4);
        is_str(s, "printf '' x=1 '$HOME'", "argv quoting: empty word and shell characters");
        free(s);

        is_int(container_exit_status(QUILT__CONTAINER_STATUS__EXITED, 3, 0), 3, "exit status 3");
        is_int(container_exit_status(QUILT__CONTAINER_STATUS__EXITED, 0, 9), 137, "signal 9 is 137");
        is_int(container_exit_status(QUILT__CONTAINER_STATUS__FAILED, 0, 0), 125, "a failed container is 125");
        is_int(container_exit_status(QUILT__CONTAINER_STATUS__EXITED, 300, 0), 255, "out of range is 255");
}

int main(void) {
        test_numbers();
        test_more_numbers();
        test_signals();
        test_create_options();
        test_create_errors();
        test_format();
        test_assignment();
        test_volume();
        test_mount();
        test_user();
        test_map();
        test_table();
        return tap_finish();
}
