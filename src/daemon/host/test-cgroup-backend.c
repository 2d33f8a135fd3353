/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The cgroup backend against the real kernel (and, with --backend systemd, a real systemd):
 * a forked sleeper is attached with limits, and the test checks what the kernel and systemd
 * say, not what the backend says: /proc/<pid>/cgroup, the limit files, systemctl show, the
 * signal the child died of, the directories left afterwards. Also the failure paths (a pid
 * that does not exist, an id in use, a bad id) and that they leave nothing behind.
 *
 *   test-cgroup-backend [--backend standalone|systemd] [--machine NAME] [--samples N]
 *
 * Needs root (skips with 77 otherwise); creates and removes cgroups below quilt.slice.
 * Prints the attach latency (median of --samples attaches) as a TAP comment. */

#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>

#include "cgroup-backend.h"
#include "cgroup-util.h"
#include "log.h"
#include "tests.h"
#include "time-util.h"

static QuiltBackend arg_backend = QUILT_BACKEND_STANDALONE;
static const char *arg_machine = NULL;
static unsigned arg_samples = 7;

typedef struct AttachResult {
        bool done;
        int error;
        char *message;
        uint64_t done_usec;
} AttachResult;

static void on_attached(int error, const char *message, void *userdata) {
        AttachResult *r = userdata;

        r->done_usec = now_usec(CLOCK_MONOTONIC);
        r->done = true;
        r->error = error;
        r->message = message ? strdup(message) : NULL;
}

/* Runs the loop until the callback came, at most 10 s. */
static int wait_attached(sd_event *e, AttachResult *r) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        while (!r->done) {
                int k;

                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        return -ETIMEDOUT;
                k = sd_event_run(e, 100 * USEC_PER_MSEC);
                if (k < 0)
                        return k;
        }
        return 0;
}

#define CHILD_TOUCH_BYTES (4u << 20)

/* A child that sleeps; if ret_go is given, it first waits for a byte on that pipe and then
 * touches CHILD_TOUCH_BYTES of memory, so that its cgroup is charged for something (memory
 * is charged where it is allocated: what it had before the move stays in the old cgroup). */
static pid_t spawn_sleeper(int *ret_go) {
        int fds[2] = { -EBADF, -EBADF };
        pid_t pid;

        if (ret_go && pipe2(fds, O_CLOEXEC) < 0)
                return -errno;

        pid = fork();
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (ret_go) {
                        volatile char *p; /* volatile: the stores must happen */
                        char c;

                        (void) close(fds[1]);
                        if (read(fds[0], &c, 1) == 1 && (p = malloc(CHILD_TOUCH_BYTES)))
                                for (size_t i = 0; i < CHILD_TOUCH_BYTES; i += 4096)
                                        p[i] = 'x';
                }
                for (;;)
                        pause();
        }
        if (ret_go) {
                (void) close(fds[0]);
                *ret_go = fds[1];
        }
        return pid;
}

/* A pid that existed and is gone: a child that exited and was reaped. */
static pid_t dead_pid(void) {
        pid_t pid = fork();

        if (pid == 0)
                _exit(0);
        if (pid > 0)
                (void) waitpid(pid, NULL, 0);
        return pid;
}

static void random_id(char ret[static 37]) {
        sd_id128_t id;

        (void) sd_id128_randomize(&id);
        snprintf(ret, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 id.bytes[0], id.bytes[1], id.bytes[2], id.bytes[3], id.bytes[4], id.bytes[5], id.bytes[6],
                 id.bytes[7], id.bytes[8], id.bytes[9], id.bytes[10], id.bytes[11], id.bytes[12],
                 id.bytes[13], id.bytes[14], id.bytes[15]);
}

/* First line of a command's output, or NULL. */
static char *command_output(const char *format, ...) _printf_(1, 2);
static char *command_output(const char *format, ...) {
        _cleanup_free_ char *cmd = NULL, *line = NULL;
        size_t n = 0;
        va_list ap;
        FILE *f;
        int k;

        va_start(ap, format);
        k = vasprintf(&cmd, format, ap);
        va_end(ap);
        if (k < 0)
                return NULL;
        f = popen(cmd, "re");
        if (!f)
                return NULL;
        if (getline(&line, &n, f) < 0)
                line = mfree(line);
        (void) pclose(f);
        if (line && *line && line[strlen(line) - 1] == '\n')
                line[strlen(line) - 1] = 0;
        return TAKE_PTR(line);
}

static bool strv_has(char **l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

static bool ends_with(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && streq(s + a - b, suffix);
}

static void check_attr(const char *dir, const char *attr, const char *expected) {
        _cleanup_free_ char *v = NULL;
        char name[512];

        snprintf(name, sizeof name, "%s/%s = %s", dir, attr, expected);
        (void) cg_read_attr(dir, attr, &v);
        is_str(v, expected, name);
}

/* The limit files, found from the child's own /proc/<pid>/cgroup. */
static void check_limits(pid_t pid, const char *leaf) {
        CgroupMembership membership = {};
        CgroupMounts mounts = {};
        CgroupDir *dirs = NULL;
        size_t n = 0;
        bool memory = false, cpu = false, pids = false;
        char suffix[256];

        snprintf(suffix, sizeof suffix, "/quilt.slice/%s", leaf);
        if (cg_mounts_read(&mounts) < 0 || cg_membership_read(pid, &membership) < 0 ||
            cg_membership_dirs(&mounts, &membership, &dirs, &n) < 0) {
                ok(false, "read the child's cgroups");
                goto finish;
        }

        for (size_t i = 0; i < n; i++) {
                const CgroupMount *m = dirs[i].mount;
                const char *d = dirs[i].path;

                if (!ends_with(d, suffix))
                        continue;
                if (m->version == 2 && cg_has_attr(d, "memory.max")) {
                        check_attr(d, "memory.max", "67108864");
                        check_attr(d, "cpu.max", "50000 100000");
                        check_attr(d, "pids.max", "32");
                        memory = cpu = pids = true;
                        continue;
                }
                if (m->version != 1)
                        continue;
                for (char **c = m->controllers; c && *c; c++) {
                        if (streq(*c, "memory")) {
                                check_attr(d, "memory.limit_in_bytes", "67108864");
                                memory = true;
                        } else if (streq(*c, "cpu")) {
                                check_attr(d, "cpu.cfs_quota_us", "50000");
                                check_attr(d, "cpu.cfs_period_us", "100000");
                                cpu = true;
                        } else if (streq(*c, "pids")) {
                                check_attr(d, "pids.max", "32");
                                pids = true;
                        }
                }
        }
        ok(memory, "the child is in a leaf with a memory limit");
        ok(cpu, "the child is in a leaf with a CPU quota");
        ok(pids, "the child is in a leaf with a pids limit");

finish:
        cg_dirs_free(dirs, n);
        cg_membership_done(&membership);
        cg_mounts_done(&mounts);
}

static void check_unit_gone(const char *unit, const char *what) {
        _cleanup_free_ char *state = NULL;

        /* destroy stops and unreferences; systemd unloads the unit right after */
        for (unsigned i = 0; i < 40; i++) {
                free(state);
                state = command_output("systemctl show -P LoadState %s 2>/dev/null", unit);
                if (state && streq(state, "not-found"))
                        break;
                usleep(50 * 1000);
        }
        is_str(state, "not-found", what);
}

static void check_nothing_left(CgroupBackend *b, const char *id, const char *leaf, const char *what) {
        char **dirs = NULL;
        char name[256];

        snprintf(name, sizeof name, "%s: no cgroup directory left", what);
        is_int(cgroup_backend_leaf_dirs(b, id, &dirs), 0, "list leaf dirs");
        ok(dirs && !dirs[0], name);
        for (char **d = dirs; d && *d; d++)
                printf("#   left: %s\n", *d);
        strv_free(dirs);

        if (arg_backend == QUILT_BACKEND_SYSTEMD) {
                snprintf(name, sizeof name, "%s: no unit %s left", what, leaf);
                check_unit_gone(leaf, name);
        }
}

static void test_attach(sd_event *e, CgroupBackend *b) {
        CgroupLimits limits = { .memory_max_bytes = 64 << 20, .cpu_quota_usec = 500000, .pids_max = 32 };
        _cleanup_(cgroup_attach_freep) CgroupAttach *a = NULL, *a2 = NULL;
        _cleanup_strv_free_ char **child_dirs = NULL, **leaf_dirs = NULL;
        _cleanup_free_ char *leaf = NULL, *display = NULL;
        AttachResult res = {}, res2 = {};
        char id[37];
        uint64_t mem = 0;
        _cleanup_close_ int go = -EBADF;
        int status = 0, r;
        pid_t pid, pid2;

        random_id(id);
        is_int(cgroup_backend_leaf_name(b, id, &leaf), 0, "leaf name");
        printf("# container %s, leaf %s\n", id, leaf);

        pid = spawn_sleeper(&go);
        ok(pid > 0, "fork a sleeping child");
        if (pid <= 0)
                return;

        r = cgroup_backend_attach(b, id, "quilt test container", pid, &limits, on_attached, &res, &a);
        is_int(r, 0, "attach returns 0");
        is_int(wait_attached(e, &res), 0, "the callback came");
        is_int(res.error, 0, "attach succeeded");
        if (res.message)
                printf("#   message: %s\n", res.message);

        /* The kernel's view: the child is in the leaf, in every hierarchy the backend uses. */
        is_int(cg_pid_dirs(pid, &child_dirs), 0, "read the child's /proc/<pid>/cgroup");
        is_int(cgroup_backend_leaf_dirs(b, id, &leaf_dirs), 0, "the backend's leaf dirs");
        ok(leaf_dirs && leaf_dirs[0], "at least one leaf dir exists");
        for (char **d = leaf_dirs; d && *d; d++) {
                char name[512];

                snprintf(name, sizeof name, "/proc/<pid>/cgroup shows %s", *d);
                ok(strv_has(child_dirs, *d), name);
        }
        check_limits(pid, leaf);

        if (arg_backend == QUILT_BACKEND_SYSTEMD) {
                _cleanup_free_ char *v = NULL, *t = NULL, *q = NULL, *s = NULL;

                v = command_output("systemctl show -P MemoryMax %s", leaf);
                is_str(v, "67108864", "systemctl show: MemoryMax");
                t = command_output("systemctl show -P TasksMax %s", leaf);
                is_str(t, "32", "systemctl show: TasksMax");
                q = command_output("systemctl show -P CPUQuotaPerSecUSec %s", leaf);
                is_str(q, "500ms", "systemctl show: CPUQuotaPerSecUSec");
                s = command_output("systemctl show -P Slice %s", leaf);
                is_str(s, "quilt.slice", "systemctl show: Slice");
        }

        is_int(cgroup_backend_populated(b, id), 1, "populated");
        is_int(cgroup_backend_memory_usage(b, id, &mem), 0, "memory usage readable");
        ok(write(go, "g", 1) == 1, "tell the child to allocate");
        for (unsigned i = 0; i < 100 && mem < CHILD_TOUCH_BYTES; i++) {
                usleep(10 * 1000);
                (void) cgroup_backend_memory_usage(b, id, &mem);
        }
        ok(mem >= CHILD_TOUCH_BYTES, "memory usage counts what the child allocated");
        is_int(cgroup_backend_display_path(b, id, &display), 0, "display path");
        printf("#   display path %s, memory %" PRIu64 " bytes\n", strempty(display), mem);
        ok(display && strstr(display, leaf), "display path names the leaf");

        /* An id that is in use: refused, and the running container is left alone. */
        pid2 = spawn_sleeper(NULL);
        r = cgroup_backend_attach(b, id, "a second one", pid2, &limits, on_attached, &res2, &a2);
        if (r >= 0) {
                is_int(wait_attached(e, &res2), 0, "in use: the callback came");
                r = res2.error;
                printf("#   message: %s\n", strempty(res2.message));
        }
        is_int(r, -EEXIST, "attaching to an id in use fails with EEXIST");
        {
                _cleanup_strv_free_ char **d2 = NULL;

                (void) cg_pid_dirs(pid2, &d2);
                ok(d2 && leaf_dirs && leaf_dirs[0] && !strv_has(d2, leaf_dirs[0]),
                   "in use: the second pid was not moved");
        }
        is_int(cgroup_backend_populated(b, id), 1, "in use: the first container is untouched");
        (void) kill(pid2, SIGKILL);
        (void) waitpid(pid2, NULL, 0);

        if (arg_machine) {
                _cleanup_free_ char *unit = NULL;

                is_int(cgroup_backend_register_machine(b, id, arg_machine, pid, "/"), 0, "register machine");
                for (unsigned i = 0; i < 100; i++) {
                        (void) sd_event_run(e, 50 * USEC_PER_MSEC);
                        free(unit);
                        unit = command_output("machinectl show --property=Unit --value %s 2>/dev/null",
                                              arg_machine);
                        if (unit)
                                break;
                }
                is_str(unit, leaf, "machinectl show: the machine's unit is the scope");
                _cleanup_free_ char *listed = command_output(
                        "machinectl list --no-legend --no-pager | awk '$1 == \"%s\" {print $2}'",
                        arg_machine);
                is_str(listed, "container", "machinectl list shows it, class container");
        }

        r = cgroup_backend_kill(b, id, SIGKILL);
        ok(r > 0, "kill SIGKILL signalled something");
        is_int(waitpid(pid, &status, 0), pid, "reaped the child");
        ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child died of SIGKILL");
        is_int(cgroup_backend_populated(b, id), 0, "not populated any more");
        is_int(cgroup_backend_kill(b, id, SIGKILL), 0, "kill on an empty container signals nothing");

        is_int(cgroup_backend_destroy(b, id), 0, "destroy");
        check_nothing_left(b, id, leaf, "destroy");
        is_int(cgroup_backend_destroy(b, id), 0, "destroy twice is fine");
        if (arg_machine) {
                _cleanup_free_ char *gone = NULL;

                for (unsigned i = 0; i < 40; i++) {
                        free(gone);
                        gone = command_output("machinectl show --property=Unit --value %s 2>/dev/null",
                                              arg_machine);
                        if (!gone)
                                break;
                        usleep(50 * 1000);
                }
                ok(!gone, "the machine is gone with the scope");
        }

        free(res.message);
        free(res2.message);
}

static void test_bad_input(sd_event *e, CgroupBackend *b) {
        CgroupLimits limits = { .memory_max_bytes = 64 << 20, .cpu_quota_usec = 500000, .pids_max = 32 };
        _cleanup_(cgroup_attach_freep) CgroupAttach *a = NULL;
        _cleanup_free_ char *leaf = NULL;
        AttachResult res = {};
        char id[37];
        pid_t pid = dead_pid();
        int r;

        random_id(id);
        (void) cgroup_backend_leaf_name(b, id, &leaf);
        r = cgroup_backend_attach(b, id, NULL, pid, &limits, on_attached, &res, &a);
        if (r >= 0) {
                (void) wait_attached(e, &res);
                r = res.error;
        }
        ok(r < 0, "a pid that does not exist fails");
        is_int(r, -ESRCH, "  ... with ESRCH");
        ok(!res.done, "  ... synchronously, without the callback");
        check_nothing_left(b, id, leaf, "nonexistent pid");

        pid = spawn_sleeper(NULL);
        ok(cgroup_backend_attach(b, "../../etc", NULL, pid, &limits, on_attached, &res, &a) == -EINVAL,
           "an id with a path in it is refused");
        ok(cgroup_backend_attach(b, "", NULL, pid, &limits, on_attached, &res, &a) == -EINVAL,
           "an empty id is refused");
        ok(cgroup_backend_attach(b, id, NULL, 0, &limits, on_attached, &res, &a) == -EINVAL,
           "pid 0 is refused");
        ok(access("/sys/fs/cgroup/etc", F_OK) < 0, "nothing was created outside quilt.slice");
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
}

/* Freeing the handle before the answer cancels the callback; destroy cleans up whatever the
 * backend had created meanwhile. */
static void test_cancel(sd_event *e, CgroupBackend *b) {
        CgroupAttach *a = NULL;
        _cleanup_free_ char *leaf = NULL;
        AttachResult res = {};
        char id[37];
        pid_t pid;
        int r;

        random_id(id);
        (void) cgroup_backend_leaf_name(b, id, &leaf);
        pid = spawn_sleeper(NULL);
        r = cgroup_backend_attach(b, id, NULL, pid, NULL, on_attached, &res, &a);
        is_int(r, 0, "cancel: attach returns 0");
        bool sync_answer = res.done; /* cgroupfs answers before returning */
        a = cgroup_attach_free(a);
        for (unsigned i = 0; i < 10; i++)
                (void) sd_event_run(e, 20 * USEC_PER_MSEC);
        ok(res.done == sync_answer, "cancel: no callback after the handle was freed");
        (void) cgroup_backend_kill(b, id, SIGKILL);
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        is_int(cgroup_backend_destroy(b, id), 0, "cancel: destroy");
        check_nothing_left(b, id, leaf, "cancel");
        free(res.message);
}

/* systemd: a failed unit of the same name (a leftover of an earlier run) is reset and the
 * attach succeeds on the second try. */
static void test_failed_leftover(sd_event *e, CgroupBackend *b) {
        _cleanup_(cgroup_attach_freep) CgroupAttach *a = NULL;
        _cleanup_free_ char *leaf = NULL, *state = NULL, *state2 = NULL;
        AttachResult res = {};
        char id[37];
        pid_t pid;
        int r;

        random_id(id);
        (void) cgroup_backend_leaf_name(b, id, &leaf);
        /* RuntimeMaxSec= ends the scope with result "timeout", i.e. failed; with the default
         * CollectMode= it stays loaded. */
        free(command_output("systemd-run --quiet --scope --unit=%s -p RuntimeMaxSec=200ms sleep 5 2>&1",
                            leaf));
        state = command_output("systemctl is-failed %s", leaf);
        is_str(state, "failed", "leftover: a failed unit of the same name exists");

        pid = spawn_sleeper(NULL);
        r = cgroup_backend_attach(b, id, NULL, pid, NULL, on_attached, &res, &a);
        is_int(r, 0, "leftover: attach returns 0");
        is_int(wait_attached(e, &res), 0, "leftover: the callback came");
        is_int(res.error, 0, "leftover: attach succeeded after ResetFailedUnit");
        if (res.message)
                printf("#   message: %s\n", res.message);
        state2 = command_output("systemctl is-active %s", leaf);
        is_str(state2, "active", "leftover: the new scope is active");
        is_int(cgroup_backend_populated(b, id), 1, "leftover: the pid is in it");

        (void) cgroup_backend_kill(b, id, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        is_int(cgroup_backend_destroy(b, id), 0, "leftover: destroy");
        check_nothing_left(b, id, leaf, "leftover");
        free(res.message);
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* Latency of attach (call to callback) and destroy, a few samples; reported, not asserted. */
static void measure(sd_event *e, CgroupBackend *b) {
        CgroupLimits limits = { .memory_max_bytes = 512 << 20, .cpu_quota_usec = 500000, .pids_max = 1024 };
        uint64_t attach[64], destroy[64];
        unsigned n = MIN(arg_samples, (unsigned) ELEMENTSOF(attach)), good = 0;

        for (unsigned i = 0; i < n; i++) {
                _cleanup_(cgroup_attach_freep) CgroupAttach *a = NULL;
                AttachResult res = {};
                uint64_t t0, t1;
                char id[37];
                pid_t pid;

                random_id(id);
                pid = spawn_sleeper(NULL);
                if (pid < 0)
                        break;
                t0 = now_usec(CLOCK_MONOTONIC);
                if (cgroup_backend_attach(b, id, NULL, pid, &limits, on_attached, &res, &a) >= 0 &&
                    wait_attached(e, &res) >= 0 && res.error == 0)
                        attach[good] = res.done_usec - t0;
                else {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                        free(res.message);
                        continue;
                }
                (void) cgroup_backend_kill(b, id, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                t1 = now_usec(CLOCK_MONOTONIC);
                (void) cgroup_backend_destroy(b, id);
                destroy[good++] = now_usec(CLOCK_MONOTONIC) - t1;
                free(res.message);
        }

        is_int(good, n, "latency samples all attached");
        if (good == 0)
                return;
        qsort(attach, good, sizeof(uint64_t), cmp_u64);
        qsort(destroy, good, sizeof(uint64_t), cmp_u64);
        printf("# attach latency (%s): median %" PRIu64 " us, min %" PRIu64 " us, max %" PRIu64
               " us, %u samples\n",
               quilt_backend_to_string(arg_backend), attach[good / 2], attach[0], attach[good - 1], good);
        printf("# destroy latency (%s): median %" PRIu64 " us, min %" PRIu64 " us, max %" PRIu64 " us\n",
               quilt_backend_to_string(arg_backend), destroy[good / 2], destroy[0], destroy[good - 1]);
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "backend", required_argument, NULL, 'b' },
                { "machine", required_argument, NULL, 'm' },
                { "samples", required_argument, NULL, 's' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'b':
                        if (streq(optarg, "systemd"))
                                arg_backend = QUILT_BACKEND_SYSTEMD;
                        else if (streq(optarg, "standalone") || streq(optarg, "cgroupfs"))
                                arg_backend = QUILT_BACKEND_STANDALONE;
                        else
                                return -EINVAL;
                        break;
                case 'm':
                        arg_machine = optarg;
                        break;
                case 's':
                        arg_samples = (unsigned) atoi(optarg);
                        break;
                default:
                        return -EINVAL;
                }
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(cgroup_backend_freep) CgroupBackend *b = NULL;
        sd_event *e = NULL;
        HostInfo host;
        int r;

        log_parse_environment();
        if (parse_argv(argc, argv) < 0) {
                fprintf(stderr, "usage: %s [--backend standalone|systemd] [--machine NAME] [--samples N]\n",
                        argv[0]);
                return 2;
        }

        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root\n");
                return 77;
        }
        if (arg_backend == QUILT_BACKEND_SYSTEMD && sd_booted() <= 0) {
                printf("1..0 # SKIP systemd is not PID 1\n");
                return 77;
        }
        r = host_detect(arg_backend, &host);
        if (r < 0 || host.cgroup_layout == CGROUP_LAYOUT_UNKNOWN) {
                printf("1..0 # SKIP no cgroup file system\n");
                return 77;
        }
        printf("# backend %s, cgroup %s\n", quilt_backend_to_string(host.backend),
               cgroup_layout_to_string(host.cgroup_layout));

        r = sd_event_default(&e);
        ok(r >= 0, "event loop");
        r = cgroup_backend_new(e, &host, &b);
        is_int(r, 0, "backend created");
        if (r < 0)
                return tap_finish();

        test_attach(e, b);
        test_bad_input(e, b);
        test_cancel(e, b);
        if (arg_backend == QUILT_BACKEND_SYSTEMD)
                test_failed_leftover(e, b);
        measure(e, b);

        b = cgroup_backend_free(b);
        sd_event_unref(e);
        return tap_finish();
}
