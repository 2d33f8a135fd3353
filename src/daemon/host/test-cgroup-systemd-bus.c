/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The systemd backend's D-Bus conversation, against a fake org.freedesktop.systemd1 on a
 * private dbus-daemon (the backend finds it through $DBUS_SYSTEM_BUS_ADDRESS). What a real
 * systemd rarely or never does on demand: JobRemoved arriving before the method reply, a job
 * that fails, UnitExists followed by a successful retry, a second UnitExists. Also checks
 * the StartTransientUnit arguments: names, D-Bus types and values of the properties.
 * No root and no systemd needed; skips (77) without dbus-daemon. */

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>

#include "cgroup-backend.h"
#include "log.h"
#include "tests.h"

typedef enum FakeMode {
        FAKE_NORMAL,       /* reply, then JobRemoved "done" */
        FAKE_SIGNAL_FIRST, /* JobRemoved "done", then the reply */
        FAKE_JOB_FAILED,   /* reply, then JobRemoved "failed" */
        FAKE_EXISTS_ONCE,  /* UnitExists, then (after ResetFailedUnit) normal */
        FAKE_EXISTS,       /* always UnitExists */
} FakeMode;

static struct {
        FakeMode mode;
        unsigned job_id;
        unsigned n_start;
        char calls[1024]; /* "StartTransientUnit ResetFailedUnit ..." */
        /* from the last StartTransientUnit */
        char name[256];
        char mode_arg[32];
        char slice[64];
        char collect_mode[64];
        uint32_t pid;
        uint64_t memory_max, cpu_quota, tasks_max;
        int delegate, add_ref, default_deps;
        unsigned n_properties;
        unsigned n_aux;
} fake;

static void fake_record(const char *member) {
        size_t l = strlen(fake.calls);

        snprintf(fake.calls + l, sizeof fake.calls - l, "%s%s", l ? " " : "", member);
}

/* Reads the a(sv) of StartTransientUnit, keeping the values we check and their types. */
static int fake_read_properties(sd_bus_message *m) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "sv")) > 0) {
                const char *name, *contents;
                char type;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                fake.n_properties++;

                if (streq(name, "Slice") && streq(contents, "s")) {
                        const char *s;
                        r = sd_bus_message_read(m, "v", "s", &s);
                        snprintf(fake.slice, sizeof fake.slice, "%s", s);
                } else if (streq(name, "CollectMode") && streq(contents, "s")) {
                        const char *s;
                        r = sd_bus_message_read(m, "v", "s", &s);
                        snprintf(fake.collect_mode, sizeof fake.collect_mode, "%s", s);
                } else if (streq(name, "PIDs") && streq(contents, "au")) {
                        r = sd_bus_message_enter_container(m, 'v', "au");
                        if (r >= 0)
                                r = sd_bus_message_read(m, "au", 1, &fake.pid);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                } else if (streq(name, "MemoryMax") && streq(contents, "t"))
                        r = sd_bus_message_read(m, "v", "t", &fake.memory_max);
                else if (streq(name, "CPUQuotaPerSecUSec") && streq(contents, "t"))
                        r = sd_bus_message_read(m, "v", "t", &fake.cpu_quota);
                else if (streq(name, "TasksMax") && streq(contents, "t"))
                        r = sd_bus_message_read(m, "v", "t", &fake.tasks_max);
                else if (streq(name, "Delegate") && streq(contents, "b"))
                        r = sd_bus_message_read(m, "v", "b", &fake.delegate);
                else if (streq(name, "AddRef") && streq(contents, "b"))
                        r = sd_bus_message_read(m, "v", "b", &fake.add_ref);
                else if (streq(name, "DefaultDependencies") && streq(contents, "b"))
                        r = sd_bus_message_read(m, "v", "b", &fake.default_deps);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        r = sd_bus_message_enter_container(m, 'a', "(sa(sv))");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_skip(m, "(sa(sv))")) > 0)
                fake.n_aux++;
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int fake_emit_job_removed(sd_bus *bus, unsigned id, const char *job, const char *unit,
                                 const char *result) {
        return sd_bus_emit_signal(bus, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                  "JobRemoved", "uoss", id, job, unit, result);
}

static int fake_handler(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        sd_bus *bus = sd_bus_message_get_bus(m);
        const char *member = sd_bus_message_get_member(m);
        char job[128];
        int r;

        if (!sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", NULL))
                return 0;
        fake_record(member);

        if (streq(member, "StartTransientUnit")) {
                const char *name, *mode;

                r = sd_bus_message_read(m, "ss", &name, &mode);
                if (r < 0)
                        return r;
                snprintf(fake.name, sizeof fake.name, "%s", name);
                snprintf(fake.mode_arg, sizeof fake.mode_arg, "%s", mode);
                fake.n_properties = fake.n_aux = 0;
                r = fake_read_properties(m);
                if (r < 0)
                        return r;
                fake.n_start++;

                if (fake.mode == FAKE_EXISTS || (fake.mode == FAKE_EXISTS_ONCE && fake.n_start == 1))
                        return sd_bus_reply_method_errorf(
                                m, "org.freedesktop.systemd1.UnitExists",
                                "Unit %s was already loaded or has a fragment file.", name);

                snprintf(job, sizeof job, "/org/freedesktop/systemd1/job/%u", ++fake.job_id);
                if (fake.mode == FAKE_SIGNAL_FIRST) {
                        /* an unrelated job of the same unit first: must not be taken for ours */
                        (void) fake_emit_job_removed(bus, 999, "/org/freedesktop/systemd1/job/999", name,
                                                     "canceled");
                        (void) fake_emit_job_removed(bus, fake.job_id, job, name, "done");
                        return sd_bus_reply_method_return(m, "o", job);
                }
                r = sd_bus_reply_method_return(m, "o", job);
                if (r < 0)
                        return r;
                /* also a job of another unit, which must be ignored */
                (void) fake_emit_job_removed(bus, 998, "/org/freedesktop/systemd1/job/998", "other.scope",
                                             "failed");
                return fake_emit_job_removed(bus, fake.job_id, job, name,
                                             fake.mode == FAKE_JOB_FAILED ? "failed" : "done");
        }
        if (streq(member, "StopUnit")) {
                snprintf(job, sizeof job, "/org/freedesktop/systemd1/job/%u", ++fake.job_id);
                return sd_bus_reply_method_return(m, "o", job);
        }
        if (streq(member, "ResetFailedUnit") || streq(member, "UnrefUnit"))
                return sd_bus_reply_method_return(m, NULL);

        return sd_bus_reply_method_errorf(m, "org.freedesktop.DBus.Error.UnknownMethod", "no %s here",
                                          member);
}

typedef struct AttachResult {
        bool done;
        int error;
        char message[256];
} AttachResult;

static void on_attached(int error, const char *message, void *userdata) {
        AttachResult *r = userdata;

        r->done = true;
        r->error = error;
        snprintf(r->message, sizeof r->message, "%s", strempty(message));
}

static void run_for(sd_event *e, AttachResult *res, uint64_t usec) {
        for (uint64_t t = 0; t < usec && !(res && res->done); t += 10 * USEC_PER_MSEC)
                (void) sd_event_run(e, 10 * USEC_PER_MSEC);
}

/* Lets the fake see what the backend sent after the answer (fire-and-forget calls). */
static void settle(sd_event *e) {
        for (unsigned i = 0; i < 20; i++)
                (void) sd_event_run(e, 5 * USEC_PER_MSEC);
}

static AttachResult attach(sd_event *e, CgroupBackend *b, FakeMode mode, const char *id) {
        CgroupLimits limits = { .memory_max_bytes = 64 << 20, .cpu_quota_usec = 500000, .pids_max = 32 };
        _cleanup_(cgroup_attach_freep) CgroupAttach *a = NULL;
        AttachResult res = {};
        int r;

        fake.mode = mode;
        fake.n_start = 0;
        fake.calls[0] = 0;
        r = cgroup_backend_attach(b, id, "fake container", getpid(), &limits, on_attached, &res, &a);
        if (r < 0) {
                res.done = true;
                res.error = r;
                return res;
        }
        run_for(e, &res, 5 * USEC_PER_SEC);
        settle(e);
        return res;
}

/* A private bus daemon, our child (so that we reap it): its address and pid. */
static int start_bus(char **ret_address, pid_t *ret_pid) {
        char *line = NULL;
        size_t n = 0;
        int fds[2];
        pid_t pid;
        FILE *f;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (dup2(fds[1], 3) < 0)
                        _exit(127);
                execlp("dbus-daemon", "dbus-daemon", "--session", "--nofork", "--nopidfile",
                       "--print-address=3", (char *) NULL);
                _exit(127);
        }
        (void) close(fds[1]);
        f = fdopen(fds[0], "re");
        if (!f || getline(&line, &n, f) <= 0) {
                free(line);
                if (f)
                        fclose(f);
                (void) kill(pid, SIGTERM);
                (void) waitpid(pid, NULL, 0);
                return -EIO;
        }
        fclose(f);
        line[strcspn(line, "\n")] = 0;
        *ret_address = line;
        *ret_pid = pid;
        return 0;
}

int main(void) {
        _cleanup_(cgroup_backend_freep) CgroupBackend *b = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *fake_bus = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_free_ char *address = NULL;
        HostInfo host = { .systemd_booted = true, .backend = QUILT_BACKEND_SYSTEMD };
        sd_event *e = NULL;
        AttachResult res;
        pid_t bus_pid = 0;
        char expected[512];
        int r;

        log_parse_environment();
        if (access("/usr/bin/dbus-daemon", X_OK) < 0) {
                printf("1..0 # SKIP no dbus-daemon\n");
                return 77;
        }
        r = start_bus(&address, &bus_pid);
        is_int(r, 0, "private dbus-daemon started");
        if (r < 0)
                return tap_finish();
        printf("# bus %s\n", address);
        setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1);

        ok(sd_event_default(&e) >= 0, "event loop");

        /* the fake systemd, on the same loop */
        ok(sd_bus_new(&fake_bus) >= 0, "fake: bus object");
        (void) sd_bus_set_address(fake_bus, address);
        (void) sd_bus_set_bus_client(fake_bus, 1);
        ok(sd_bus_start(fake_bus) >= 0, "fake: connected");
        ok(sd_bus_request_name(fake_bus, "org.freedesktop.systemd1", 0) >= 0,
           "fake: owns org.freedesktop.systemd1");
        is_int(sd_bus_add_object(fake_bus, &slot, "/org/freedesktop/systemd1", fake_handler, NULL), 0,
               "fake: manager object");
        is_int(sd_bus_attach_event(fake_bus, e, 0), 0, "fake: on the loop");

        host.cgroup_layout = CGROUP_LAYOUT_UNIFIED;
        is_int(cgroup_backend_new(e, &host, &b), 0, "backend on the private bus");
        if (!b)
                goto finish;

        /* 1. the normal case, and the arguments */
        res = attach(e, b, FAKE_NORMAL, "c0ffee-1");
        ok(res.done && res.error == 0, "normal: attached");
        is_str(fake.name, "quilt-c0ffee-1.scope", "StartTransientUnit: unit name");
        is_str(fake.mode_arg, "fail", "StartTransientUnit: mode fail");
        is_str(fake.slice, "quilt.slice", "Slice (s)");
        is_str(fake.collect_mode, "inactive-or-failed", "CollectMode (s)");
        is_int(fake.pid, getpid(), "PIDs (au) holds the pid");
        is_int(fake.memory_max, 64 << 20, "MemoryMax (t)");
        is_int(fake.cpu_quota, 500000, "CPUQuotaPerSecUSec (t)");
        is_int(fake.tasks_max, 32, "TasksMax (t)");
        is_int(fake.delegate, 1, "Delegate (b) true");
        is_int(fake.add_ref, 1, "AddRef (b) true");
        is_int(fake.default_deps, 0, "DefaultDependencies (b) false");
        is_int(fake.n_properties, 13, "13 properties");
        is_int(fake.n_aux, 0, "no auxiliary units");
        is_str(fake.calls, "StartTransientUnit", "normal: nothing but StartTransientUnit");

        /* 2. JobRemoved before the reply (plus an unrelated job of the same unit) */
        res = attach(e, b, FAKE_SIGNAL_FIRST, "c0ffee-2");
        ok(res.done && res.error == 0, "signal first: attached, by job path");

        /* 3. the job fails: -EIO, and the unit is stopped, reset and unreferenced */
        res = attach(e, b, FAKE_JOB_FAILED, "c0ffee-3");
        ok(res.done, "job failed: answered");
        is_int(res.error, -EIO, "job failed: -EIO");
        is_str(res.message, "scope job failed", "job failed: message");
        is_str(fake.calls, "StartTransientUnit StopUnit ResetFailedUnit UnrefUnit",
               "job failed: the unit is discarded");

        /* 4. UnitExists once: ResetFailedUnit, then a successful second try */
        res = attach(e, b, FAKE_EXISTS_ONCE, "c0ffee-4");
        ok(res.done && res.error == 0, "exists once: attached on the second try");
        is_str(fake.calls, "StartTransientUnit ResetFailedUnit StartTransientUnit",
               "exists once: reset, then retried once");

        /* 5. UnitExists for good: -EEXIST, and the other's unit is left alone */
        res = attach(e, b, FAKE_EXISTS, "c0ffee-5");
        is_int(res.error, -EEXIST, "exists: -EEXIST");
        snprintf(expected, sizeof expected, "StartTransientUnit ResetFailedUnit StartTransientUnit");
        is_str(fake.calls, expected, "exists: one retry only, nothing stopped");
        ok(strstr(res.message, "quilt-c0ffee-5.scope"), "exists: the message names the unit");

finish:
        b = cgroup_backend_free(b);
        slot = sd_bus_slot_unref(slot);
        fake_bus = sd_bus_flush_close_unref(fake_bus);
        sd_event_unref(e);
        if (bus_pid > 0) {
                (void) kill(bus_pid, SIGTERM);
                (void) waitpid(bus_pid, NULL, 0);
        }
        return tap_finish();
}
