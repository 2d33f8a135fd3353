/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The container lifecycle on quiltd's side. A container runs as
 *
 *   quiltd ──spawns──▶ quilt-monitor ──clones──▶ init (PID 1 of the container) ──▶ command
 *
 * and quiltd only watches: a pidfd tells it when the monitor exits (also for monitors a
 * previous quiltd spawned), and the monitor's exit.json says how the container ended. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container-spec.h"
#include "events.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "proc-util.h"
#include "quilt-build.h"
#include "signal-util.h"
#include "runtime-exec.h"
#include "runtime-internal.h"
#include "store.h"
#include "time-util.h"
#include "store-volumes.h"
#include "strv.h"
#include "volume-store.h"

/* Report lines come before exit notifications of the same iteration: a container that
 * ran and exited at once must still be seen as having run. */
#define PRIORITY_REPORT (-10)

static void container_on_attached(int error, const char *message, void *userdata);
static void container_finish(Container *c);

static Waiter *waiter_push(Waiter **list, RuntimeCallback callback, void *userdata) {
        Waiter *w = new0(Waiter, 1);

        if (!w)
                return NULL;
        w->callback = callback;
        w->userdata = userdata;
        w->next = *list;
        *list = w;
        return w;
}

/* Calls and frees every waiter of a list, oldest first. The list is detached first: a
 * callback may start new operations. */
static void waiters_notify(Waiter **list, int error, const char *message) {
        Waiter *w = TAKE_PTR(*list), *reversed = NULL;

        while (w) {
                Waiter *next = w->next;
                w->next = reversed;
                reversed = w;
                w = next;
        }
        while (reversed) {
                Waiter *next = reversed->next;
                if (reversed->callback)
                        reversed->callback(error, message, reversed->userdata);
                free(reversed);
                reversed = next;
        }
}

Container *runtime_find(Runtime *r, const char *id) {
        for (Container *c = r->containers; c; c = c->next)
                if (streq(c->id, id))
                        return c;
        return NULL;
}

bool runtime_is_live(Runtime *r, const char *id) {
        return runtime_find(r, id);
}

static Container *container_free(Container *c) {
        if (!c)
                return NULL;

        if (c->runtime) {
                if (c->prev)
                        c->prev->next = c->next;
                else if (c->runtime->containers == c)
                        c->runtime->containers = c->next;
                if (c->next)
                        c->next->prev = c->prev;
        }

        /* Waiters are answered by whoever frees a container with work still pending. */
        waiters_notify(&c->start_waiters, -ECANCELED, "quiltd is shutting down");
        waiters_notify(&c->exit_waiters, -ECANCELED, "quiltd is shutting down");

        cgroup_attach_free(c->attach);
        sd_event_source_disable_unref(c->monitor_source);
        sd_event_source_disable_unref(c->report_source);
        sd_event_source_disable_unref(c->kill_timer);
        safe_close(c->monitor_pidfd);
        safe_close(c->init_pidfd);
        safe_close(c->control_fd);
        safe_close(c->report_fd);
        free(c->failure);
        free(c->id);
        free(c->name);
        return mfree(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Container *, container_free);

static int container_new(Runtime *r, const ContainerRecord *record, Container **ret) {
        _cleanup_(container_freep) Container *c = NULL;

        c = new0(Container, 1);
        if (!c)
                return -ENOMEM;
        c->monitor_pidfd = c->init_pidfd = c->control_fd = c->report_fd = -EBADF;
        c->state = record->state;
        c->id = strdup(record->id);
        c->name = strdup(record->name);
        if (!c->id || !c->name)
                return -ENOMEM;

        c->runtime = r;
        c->next = r->containers;
        if (r->containers)
                r->containers->prev = c;
        r->containers = c;

        *ret = TAKE_PTR(c);
        return 0;
}

static void container_set_failure(Container *c, const char *format, ...) _printf_(2, 3);
static void container_set_failure(Container *c, const char *format, ...) {
        va_list ap;

        if (c->failure) /* the first reason is the real one */
                return;
        va_start(ap, format);
        if (vasprintf(&c->failure, format, ap) < 0)
                c->failure = NULL;
        va_end(ap);
}

static void container_kill_monitor(Container *c) {
        if (c->monitor_pidfd >= 0)
                (void) pidfd_signal(c->monitor_pidfd, SIGKILL);
}

/* ---- the monitor's report ---------------------------------------------------------- */

static void container_on_running(Container *c, pid_t init_pid) {
        Runtime *r = c->runtime;
        _cleanup_free_ char *state_dir = NULL;
        int k;

        c->state = CONTAINER_RUNNING;
        if (c->init_pidfd < 0 || c->init_pid != init_pid) {
                safe_close(c->init_pidfd);
                c->init_pid = init_pid;
                c->init_pidfd = pidfd_open_pid(init_pid);
                if (c->init_pidfd < 0)
                        log_debug_errno(c->init_pidfd, "Container %s: init %d is gone already: %m", c->name,
                                        (int) init_pid);
        }

        k = store_container_set_running(r->manager->store, c->id, init_pid, now_usec(CLOCK_REALTIME));
        if (k < 0)
                log_error_errno(k, "Container %s runs, but recording that failed: %s", c->name,
                                store_errmsg(r->manager->store));

        if (runtime_state_dir(r, c->id, &state_dir) >= 0)
                (void) cgroup_backend_register_machine(r->manager->cgroups, c->id, c->name, init_pid, state_dir);

        log_info("Container %s (%s) is running, init is pid %d.", c->name, c->id, (int) init_pid);
        {
                char pid[32];
                char *attributes[] = { "pid", pid, NULL };

                snprintf(pid, sizeof pid, "%d", (int) init_pid);
                (void) manager_event_emit(r->manager, EVENT_STARTED, c->id, c->name, attributes);
        }
        waiters_notify(&c->start_waiters, 0, NULL);
}

/* quiltd set up the container's network namespace (or could not): let the command start, or
 * end the container. */
static void container_on_network(int error, const char *message, const char *id, void *userdata) {
        Runtime *r = userdata;
        Container *c = runtime_find(r, id);
        ssize_t n;

        if (!c || c->state != CONTAINER_PENDING || c->control_fd < 0)
                return; /* it ended meanwhile; its teardown removes what was set up */

        if (error < 0) {
                container_set_failure(c, "could not set up the container's network: %s", message ?: strerror(-error));
                container_kill_monitor(c);
                c->control_fd = safe_close(c->control_fd);
                return;
        }
        n = write(c->control_fd, CONTAINER_CONTROL_NET_READY, strlen(CONTAINER_CONTROL_NET_READY));
        if (n != (ssize_t) strlen(CONTAINER_CONTROL_NET_READY)) {
                container_set_failure(c, "could not start the container: %s", strerror(n < 0 ? errno : EIO));
                container_kill_monitor(c);
        }
        c->control_fd = safe_close(c->control_fd);
}

/* "init <pid>": the container's namespaces exist; wire up its network. */
static void container_on_init(Container *c, pid_t pid) {
        Runtime *r = c->runtime;
        int k;

        if (!c->wait_network || c->state != CONTAINER_PENDING || c->init_pid > 0) {
                container_set_failure(c, "the monitor reported init unexpectedly");
                container_kill_monitor(c);
                return;
        }
        c->init_pid = pid;
        c->init_pidfd = pidfd_open_pid(pid);
        if (c->init_pidfd < 0) {
                container_set_failure(c, "the container's init exited during set-up");
                container_kill_monitor(c);
                return;
        }
        k = network_setup_container(r->manager->network, c->id, c->name, pid, c->init_pidfd, container_on_network, r);
        if (k < 0) {
                container_set_failure(c, "could not set up the container's network: %s", strerror(-k));
                container_kill_monitor(c);
        }
}

static void container_handle_report(Container *c) {
        const char *line = c->report, *rest;
        char *end;
        long pid;

        if ((rest = startswith(line, CONTAINER_REPORT_RUNNING " "))) {
                errno = 0;
                pid = strtol(rest, &end, 10);
                if (errno == 0 && *end == 0 && pid > 0) {
                        container_on_running(c, (pid_t) pid);
                        return;
                }
        } else if ((rest = startswith(line, CONTAINER_REPORT_FAILED " "))) {
                container_set_failure(c, "%s", rest);
                return;
        }

        container_set_failure(c, "the monitor reported something unexpected: \"%s\"", line);
        container_kill_monitor(c);
}

/* Reads what is there and handles "init <pid>" lines as they come. Returns true once the
 * final line is in c->report (NUL-terminated) or the pipe closed; the caller handles it
 * after closing the pipe, since handling it may answer waiters. */
static bool container_read_report(Container *c) {
        for (;;) {
                const char *rest;
                ssize_t n;
                char *nl;

                while ((nl = memchr(c->report, '\n', c->report_len))) {
                        size_t len = (size_t) (nl - c->report) + 1;
                        char *end;
                        long pid;

                        *nl = 0;
                        rest = startswith(c->report, CONTAINER_REPORT_INIT " ");
                        if (!rest)
                                return true;
                        errno = 0;
                        pid = strtol(rest, &end, 10);
                        if (errno != 0 || *end != 0 || pid <= 0)
                                return true; /* not what it claims to be: handled as the final line */
                        memmove(c->report, c->report + len, c->report_len - len);
                        c->report_len -= len;
                        c->report[c->report_len] = 0;
                        container_on_init(c, (pid_t) pid);
                }

                if (c->report_len >= sizeof c->report - 1) {
                        c->report[sizeof c->report - 1] = 0;
                        return true;
                }
                n = read(c->report_fd, c->report + c->report_len, sizeof c->report - 1 - c->report_len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return false;
                        return true;
                }
                if (n == 0)
                        return true;
                c->report_len += (size_t) n;
                c->report[c->report_len] = 0;
        }
}

static void container_close_report(Container *c) {
        c->report_source = sd_event_source_disable_unref(c->report_source);
        c->report_fd = safe_close(c->report_fd);
}

static int on_report(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Container *c = userdata;

        if (!container_read_report(c))
                return 0;
        container_close_report(c);
        if (c->report[0])
                container_handle_report(c);
        /* An empty report: the monitor died before saying anything; its exit tells more. */
        return 0;
}

/* ---- exit -------------------------------------------------------------------------- */

static int on_monitor_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Container *c = userdata;
        siginfo_t si = {};

        /* Our child unless a previous quiltd spawned it; then its parent reaps it. */
        if (waitid((idtype_t) P_PIDFD, (id_t) c->monitor_pidfd, &si, WEXITED | WNOHANG) < 0 && errno != ECHILD)
                log_debug_errno(errno, "waitid() on the monitor of %s failed: %m", c->name);

        if (si.si_pid > 0 && !(si.si_code == CLD_EXITED && si.si_status == 0))
                log_warning("The monitor of container %s %s %d.", c->name,
                            si.si_code == CLD_EXITED ? "exited with status" : "was killed by signal", si.si_status);

        /* Whatever the monitor said last is still in the pipe. */
        if (c->report_fd >= 0) {
                (void) container_read_report(c);
                container_close_report(c);
                if (c->report[0])
                        container_handle_report(c);
        }

        container_finish(c);
        return 0;
}

static int container_watch_monitor(Container *c) {
        int k;

        k = sd_event_add_io(c->runtime->event, &c->monitor_source, c->monitor_pidfd, EPOLLIN, on_monitor_exit, c);
        if (k < 0)
                return k;
        (void) sd_event_source_set_description(c->monitor_source, "container-monitor");
        return 0;
}

/* The container's end, from exit.json and what quiltd saw. Fills the final state. */
static void container_read_exit(Runtime *r, const char *id, ContainerState state_before, const char *failure,
                                ContainerState *ret_state, ContainerExit *ret_exit, char **ret_error) {
        _cleanup_free_ char *run_dir = NULL, *path = NULL;
        ContainerExit e = {};
        int k = -ENOMEM;

        if (runtime_run_dir(r, id, &run_dir) >= 0 && asprintf(&path, "%s/exit.json", run_dir) >= 0)
                k = container_exit_load(path, &e);

        *ret_error = NULL;
        if (k >= 0 && e.started && state_before == CONTAINER_RUNNING) {
                *ret_state = CONTAINER_EXITED;
                *ret_error = TAKE_PTR(e.error);
        } else if (k >= 0 && e.started) {
                /* It ran, but quiltd never heard "running" (it restarted meanwhile). */
                *ret_state = CONTAINER_EXITED;
        } else {
                *ret_state = CONTAINER_FAILED;
                if (failure)
                        *ret_error = strdup(failure);
                else if (k >= 0 && e.error)
                        *ret_error = TAKE_PTR(e.error);
                else if (state_before == CONTAINER_RUNNING)
                        (void) asprintf(ret_error, "the monitor ended without recording the exit status (%s)",
                                        k == -ENOENT ? "no exit record" : "unreadable exit record");
                else
                        *ret_error = strdup("the container's monitor ended before the container started; see "
                                            "monitor.log in its runtime directory");
        }
        if (!e.exited_usec)
                e.exited_usec = now_usec(CLOCK_REALTIME);
        *ret_exit = e;
        e.error = NULL;
}

/* Everything a stopped container no longer needs: the cgroup (after killing whatever
 * escaped the monitor's cleanup) and, when asked, the container itself. */
static int container_cleanup_cgroup(Runtime *r, const char *id) {
        int k;

        k = cgroup_backend_populated(r->manager->cgroups, id);
        if (k > 0)
                (void) cgroup_backend_kill(r->manager->cgroups, id, SIGKILL);
        k = cgroup_backend_destroy(r->manager->cgroups, id);
        if (k < 0)
                log_warning_errno(k, "Failed to remove the cgroup of container %s: %m", id);
        return k;
}

static int runtime_remove_now(Runtime *r, const char *id) {
        _cleanup_(container_record_done) ContainerRecord record = {};
        int k;

        /* For the event: the row is gone afterwards. */
        (void) store_container_get(r->manager->store, id, &record);

        (void) container_cleanup_cgroup(r, id);
        k = runtime_remove_directories(r, id);
        if (k < 0)
                return k;
        k = store_container_delete(r->manager->store, id);
        if (k < 0 && k != -ENOENT)
                return log_error_errno(k, "Failed to delete container %s from the database: %s", id,
                                       store_errmsg(r->manager->store));
        log_info("Container %s removed.", id);
        if (k >= 0)
                (void) manager_event_emit(r->manager, EVENT_REMOVED, id, record.name, NULL);
        return 0;
}

/* Records the end of a container whose monitor is gone; the shared path of a live exit
 * and of reconciling at start-up. Its "died" event is stored in one transaction with the
 * new state, so that it is recorded exactly once, also when quiltd dies meanwhile: a
 * reconcile after a crash finds the container either still running (no event yet) or
 * ended (event stored). stopped: a StopContainer ended it ("stopped" follows "died").
 * Returns whether it was removed. */
static bool runtime_record_exit(Runtime *r, const char *id, const char *name, ContainerState state_before,
                                const char *failure, bool remove, bool stopped) {
        Store *store = r->manager->store;
        _cleanup_(store_rollbackp) Store *tx = NULL;
        _cleanup_free_ char *error = NULL;
        char code[32], sig[32];
        const char *sig_name;
        char *attributes[16];
        StoredEvent died;
        ContainerState state;
        ContainerExit e;
        size_t n = 0;
        int k;

        container_read_exit(r, id, state_before, failure, &state, &e, &error);
        (void) container_cleanup_cgroup(r, id);

        if (state == CONTAINER_EXITED)
                log_info("Container %s exited: %s %d%s.", name, e.exit_signal ? "signal" : "status",
                         e.exit_signal ?: e.exit_code, e.oom_killed ? " (out of memory)" : "");
        else
                log_info("Container %s failed: %s", name, strempty(error));

        snprintf(code, sizeof code, "%d", e.exit_code);
        snprintf(sig, sizeof sig, "%d", e.exit_signal);
        attributes[n++] = "state";
        attributes[n++] = (char *) container_state_to_string(state);
        attributes[n++] = "exit_code";
        attributes[n++] = code;
        attributes[n++] = "signal";
        attributes[n++] = sig;
        sig_name = e.exit_signal > 0 ? signal_name(e.exit_signal) : NULL;
        if (sig_name) {
                attributes[n++] = "signal_name";
                attributes[n++] = (char *) sig_name;
        }
        attributes[n++] = "oom_killed";
        attributes[n++] = e.oom_killed ? "true" : "false";
        if (!isempty(error)) {
                attributes[n++] = "error";
                attributes[n++] = error;
        }
        attributes[n] = NULL;

        if (!remove) {
                k = store_begin(store);
                if (k < 0)
                        log_warning_errno(k, "Failed to begin recording the exit of %s, going on without a "
                                          "transaction: %s", name, store_errmsg(store));
                else
                        tx = store;

                k = store_container_set_exited(store, id, state, e.exit_code, e.exit_signal, e.oom_killed, error,
                                               e.exited_usec);
                if (k < 0)
                        log_error_errno(k, "Failed to record the exit of container %s: %s", name,
                                        store_errmsg(store));
                (void) manager_event_append(r->manager, EVENT_DIED, id, name, attributes, &died);
                if (tx) {
                        k = store_commit(TAKE_PTR(tx));
                        if (k < 0) {
                                log_error_errno(k, "Failed to commit the exit of container %s: %s", name,
                                                store_errmsg(store));
                                died.cursor = 0;
                        }
                }
        } else
                (void) manager_event_append(r->manager, EVENT_DIED, id, name, attributes, &died);
        manager_event_deliver(r->manager, &died);
        container_exit_done(&e);

        if (stopped)
                (void) manager_event_emit(r->manager, EVENT_STOPPED, id, name, NULL);

        if (remove && runtime_remove_now(r, id) >= 0)
                return true;
        return false;
}

/* Who waits for a container that has ended, until its network is gone too. */
typedef struct Finished {
        Waiter *start_waiters;
        Waiter *exit_waiters;
        char *failure;
        bool never_ran;
} Finished;

static void finished_notify(Finished *f) {
        /* Start waiters learn why it never ran; exit waiters that it is over. */
        waiters_notify(&f->start_waiters, f->never_ran ? -EIO : 0, f->failure);
        waiters_notify(&f->exit_waiters, 0, NULL);
        free(f->failure);
        free(f);
}

static void container_on_network_torn_down(int error, const char *message, const char *id, void *userdata) {
        if (error < 0 && error != -ECANCELED)
                log_warning("Container %s: its network was not cleaned up completely: %s", id,
                            message ?: strerror(-error));
        finished_notify(userdata);
}

static void container_finish(Container *c) {
        Runtime *r = c->runtime;
        bool never_ran = c->state != CONTAINER_RUNNING;
        bool remove = c->remove_on_exit || (never_ran && c->remove_on_failure);
        bool deferred;
        Finished *f;

        if (never_ran && !c->failure)
                container_set_failure(c, "the container's monitor ended before the container started");

        f = new0(Finished, 1);
        if (!f) {
                log_oom();
                (void) network_teardown_container(r->manager->network, c->id, NULL, NULL);
                (void) runtime_record_exit(r, c->id, c->name, c->state, never_ran ? c->failure : NULL, remove,
                                           c->stop_requested);
                container_free(c); /* answers the waiters itself */
                return;
        }
        f->never_ran = never_ran;

        /* Its veth and rules go first (before the row may go), and the waiters hear of the
         * end only once the network worker has removed them: a removed container leaves
         * nothing behind by the time rm answers. */
        deferred = network_teardown_container(r->manager->network, c->id, container_on_network_torn_down, f) > 0;

        (void) runtime_record_exit(r, c->id, c->name, c->state, never_ran ? c->failure : NULL, remove,
                                   c->stop_requested);

        /* The container is gone before anyone hears of it, so that a callback that acts on
         * the same id finds it stopped, not live. */
        f->failure = TAKE_PTR(c->failure);
        f->start_waiters = TAKE_PTR(c->start_waiters);
        f->exit_waiters = TAKE_PTR(c->exit_waiters);
        container_free(c);

        if (!deferred)
                finished_notify(f);
}

/* ---- starting ---------------------------------------------------------------------- */

static void container_on_attached(int error, const char *message, void *userdata) {
        Container *c = userdata;
        ssize_t n;

        if (error < 0) {
                container_set_failure(c, "could not set up the container's cgroup: %s",
                                      message ?: strerror(-error));
                container_kill_monitor(c);
                return;
        }

        n = write(c->control_fd, CONTAINER_CONTROL_GO, strlen(CONTAINER_CONTROL_GO));
        if (n != (ssize_t) strlen(CONTAINER_CONTROL_GO)) {
                container_set_failure(c, "could not start the monitor: %s", strerror(n < 0 ? errno : EIO));
                container_kill_monitor(c);
        }
        /* With a network, "net-ready" follows on the same pipe. */
        if (!c->wait_network || n != (ssize_t) strlen(CONTAINER_CONTROL_GO))
                c->control_fd = safe_close(c->control_fd);
}

static int container_launch(Runtime *r, const ContainerRecord *record, bool first_run, bool remove_on_failure,
                            RuntimeCallback callback, void *userdata) {
        _cleanup_(container_freep) Container *c = NULL;
        _cleanup_free_ char *description = NULL;
        CgroupAttach *attach = NULL;
        uint64_t start_time = 0;
        CgroupLimits limits;
        int k;

        k = container_new(r, record, &c);
        if (k < 0)
                return k;
        c->state = CONTAINER_PENDING;
        c->remove_on_failure = remove_on_failure;
        c->remove_on_exit = record->ephemeral;
        c->wait_network = record->network == CONTAINER_NETWORK_QUILT;

        k = runtime_spawn_monitor(r, record, first_run, &c->monitor_pid, &c->control_fd, &c->report_fd);
        if (k < 0)
                return k;
        c->monitor_pidfd = pidfd_open_pid(c->monitor_pid);
        if (c->monitor_pidfd < 0) {
                k = log_error_errno(c->monitor_pidfd, "Failed to open a pidfd for the monitor: %m");
                (void) kill(c->monitor_pid, SIGKILL);
                (void) waitpid(c->monitor_pid, NULL, 0);
                return k;
        }
        /* From here on the container's end goes through on_monitor_exit(). */
        k = container_watch_monitor(c);
        if (k < 0)
                goto kill_monitor;

        k = sd_event_add_io(r->event, &c->report_source, c->report_fd, EPOLLIN, on_report, c);
        if (k < 0)
                goto kill_monitor;
        (void) sd_event_source_set_priority(c->report_source, PRIORITY_REPORT);
        (void) sd_event_source_set_description(c->report_source, "container-report");

        (void) pid_get_start_time(c->monitor_pid, &start_time);
        k = store_container_set_monitor(r->manager->store, c->id, c->monitor_pid, start_time);
        if (k < 0)
                goto kill_monitor;

        if (callback && !waiter_push(&c->start_waiters, callback, userdata)) {
                k = -ENOMEM;
                goto kill_monitor;
        }

        limits = (CgroupLimits) {
                .memory_max_bytes = record->memory_limit_bytes,
                .cpu_quota_usec = (uint64_t) (record->cpu_quota_percent * (double) USEC_PER_SEC / 100.0),
                .pids_max = record->pids_limit > 0 ? (uint64_t) record->pids_limit : 0,
        };
        if (asprintf(&description, "Quilt container %s", record->name) < 0)
                description = NULL;

        k = cgroup_backend_attach(r->manager->cgroups, c->id, description ?: "Quilt container", c->monitor_pid,
                                  &limits, container_on_attached, c, &attach);
        if (k < 0) {
                container_set_failure(c, "could not set up the container's cgroup: %s", strerror(-k));
                container_kill_monitor(c);
        } else
                c->attach = attach;

        /* The outcome, good or bad, arrives through the report and the monitor's exit. */
        TAKE_PTR(c);
        return 0;

kill_monitor:
        /* The monitor exits by itself when the control pipe closes without "go"; killing it
         * just makes that immediate. Its exit finishes the container. */
        container_set_failure(c, "could not start the container: %s", strerror(-k));
        container_kill_monitor(c);
        c->control_fd = safe_close(c->control_fd);
        TAKE_PTR(c);
        return k;
}

/* The row, its "created" event, the mounts and the volumes created on first use: all or
 * nothing. */
static int runtime_insert(Runtime *r, const ContainerRecord *record, const ContainerMount *mounts,
                          size_t n_mounts, char **attributes, StoredEvent *ret_created) {
        Store *store = r->manager->store;
        _cleanup_(store_rollbackp) Store *tx = NULL;
        _cleanup_strv_free_ char **created = NULL;
        size_t n_created = 0;
        int k;

        created = new0(char *, n_mounts + 1);
        if (!created)
                return -ENOMEM;

        /* The row, its address, its mounts and its "created" event together, or none. */
        k = store_begin(store);
        if (k < 0)
                return k;
        tx = store;

        k = store_container_insert(store, record);
        if (k < 0)
                return k;
        k = network_allocate_container(r->manager->network, record);
        if (k < 0)
                goto undo;

        for (size_t i = 0; i < n_mounts; i++) {
                bool was_created;

                if (mounts[i].type != CONTAINER_MOUNT_VOLUME)
                        continue;
                k = volume_store_ensure(r->manager->volumes, mounts[i].source, &was_created);
                if (k < 0) {
                        log_error_errno(k, "Failed to create volume %s: %m", mounts[i].source);
                        goto undo;
                }
                if (was_created && !(created[n_created++] = strdup(mounts[i].source))) {
                        k = -ENOMEM;
                        goto undo;
                }
        }

        k = store_container_mounts_insert(store, record->id, mounts, n_mounts);
        if (k < 0)
                goto undo;
        (void) manager_event_append(r->manager, EVENT_CREATED, record->id, record->name, attributes, ret_created);
        k = store_commit(TAKE_PTR(tx));
        if (k < 0)
                goto undo;
        return 0;

undo:
        if (tx)
                store_rollback(TAKE_PTR(tx));
        for (size_t i = 0; i < n_created; i++)
                volume_store_forget_created(r->manager->volumes, created[i]);
        return k;
}

int runtime_create(Runtime *r, const ContainerRecord *record, const ContainerMount *mounts, size_t n_mounts,
                   bool remove_on_failure, RuntimeCallback callback, void *userdata) {
        /* The event borrows these until it is delivered. */
        char *attributes[] = { "image", record->image, NULL };
        ContainerRecord c = *record; /* shallow: only the log driver differs */
        StoredEvent created;
        int k;

        /* The container keeps the log driver it was created with, so that its output is
         * read back from where it went even if the configuration changes. */
        c.log_driver = r->manager->host.log_driver;

        k = runtime_insert(r, &c, mounts, n_mounts, attributes, &created);
        if (k < 0)
                return k;
        manager_event_deliver(r->manager, &created);

        k = container_launch(r, &c, /* first_run= */ true, remove_on_failure, callback, userdata);
        if (k < 0 && !runtime_is_live(r, record->id))
                (void) runtime_remove_now(r, record->id);
        return k;
}

int runtime_start(Runtime *r, const char *id, RuntimeCallback callback, void *userdata) {
        _cleanup_(container_record_done) ContainerRecord record = {};
        int k;

        if (runtime_is_live(r, id))
                return -EBUSY;

        k = store_container_get(r->manager->store, id, &record);
        if (k < 0)
                return k;

        k = store_container_set_pending(r->manager->store, id);
        if (k < 0)
                return k;
        record.state = CONTAINER_PENDING;

        k = container_launch(r, &record, /* first_run= */ false, false, callback, userdata);
        if (k < 0 && !runtime_is_live(r, id)) {
                /* No monitor was spawned (say, no address left in the pool): the row must
                 * not stay pending with nothing behind it. */
                int q = store_container_set_exited(r->manager->store, id, CONTAINER_FAILED, 125,
                                                   0, false, strerror(-k), now_usec(CLOCK_REALTIME));
                if (q < 0)
                        log_warning_errno(q, "Failed to record that container %s did not start: %m", record.name);
        }
        return k;
}

/* ---- stopping ---------------------------------------------------------------------- */

static int container_signal(Container *c, int sig) {
        if (c->state == CONTAINER_PENDING || c->init_pidfd < 0) {
                /* Not started yet (or init already gone): the monitor is what to stop. Its
                 * exit cleans up the cgroup. */
                if (sig == SIGKILL || sig == SIGTERM)
                        container_kill_monitor(c);
                return 0;
        }
        /* SIGKILL to init is enough for everything: with a pid namespace the kernel kills
         * the rest, and without one the monitor kills what is left in payload/. */
        return pidfd_signal(c->init_pidfd, sig);
}

static int on_kill_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;

        log_info("Container %s did not exit within its grace period, killing it.", c->name);
        (void) container_signal(c, SIGKILL);
        return 0;
}

int runtime_stop(Runtime *r, const char *id, uint64_t grace_usec, RuntimeCallback callback, void *userdata) {
        Container *c = runtime_find(r, id);
        int k;

        if (!c) {
                callback(0, NULL, userdata);
                return 0;
        }
        if (!waiter_push(&c->exit_waiters, callback, userdata))
                return -ENOMEM;
        c->stop_requested = true;

        if (grace_usec == 0 || c->state == CONTAINER_PENDING)
                return container_signal(c, SIGKILL);

        (void) container_signal(c, SIGTERM);
        if (c->kill_timer)
                return 0; /* an earlier stop's deadline stands */
        k = sd_event_add_time_relative(r->event, &c->kill_timer, CLOCK_MONOTONIC, grace_usec, USEC_PER_MSEC,
                                       on_kill_timer, c);
        if (k < 0) {
                log_warning_errno(k, "Failed to arm the stop timer, killing container %s now: %m", c->name);
                return container_signal(c, SIGKILL);
        }
        return 0;
}

int runtime_kill(Runtime *r, const char *id, int sig) {
        Container *c = runtime_find(r, id);
        char number[32];
        char *attributes[] = { "signal", number, "signal_name", (char *) signal_name(sig), NULL };
        int k;

        if (!c)
                return -ESRCH;
        k = container_signal(c, sig);
        if (k < 0)
                return k;

        snprintf(number, sizeof number, "%d", sig);
        if (!attributes[3])
                attributes[2] = NULL;
        (void) manager_event_emit(r->manager, EVENT_KILLED, c->id, c->name, attributes);
        return 0;
}

int runtime_wait(Runtime *r, const char *id, RuntimeCallback callback, void *userdata) {
        Container *c = runtime_find(r, id);

        if (!c) {
                callback(0, NULL, userdata);
                return 0;
        }
        return waiter_push(&c->exit_waiters, callback, userdata) ? 0 : -ENOMEM;
}

int runtime_unwait(Runtime *r, const char *id, RuntimeCallback callback, void *userdata) {
        Container *c = runtime_find(r, id);

        if (!c)
                return -ENOENT;
        for (Waiter **w = &c->exit_waiters; *w; w = &(*w)->next)
                if ((*w)->callback == callback && (*w)->userdata == userdata) {
                        Waiter *found = *w;

                        *w = found->next;
                        free(found);
                        return 0;
                }
        return -ENOENT;
}

unsigned runtime_count_waiters(Runtime *r) {
        unsigned n = 0;

        for (Container *c = r->containers; c; c = c->next)
                for (Waiter *w = c->exit_waiters; w; w = w->next)
                        n++;
        return n;
}

int runtime_remove(Runtime *r, const char *id, bool force, RuntimeCallback callback, void *userdata) {
        Container *c = runtime_find(r, id);
        int k;

        if (c) {
                if (!force)
                        return -EBUSY;
                if (!waiter_push(&c->exit_waiters, callback, userdata))
                        return -ENOMEM;
                c->remove_on_exit = true;
                return container_signal(c, SIGKILL);
        }

        k = runtime_remove_now(r, id);
        callback(k, k < 0 ? "could not remove every trace of the container" : NULL, userdata);
        return 0;
}

/* ---- start-up ---------------------------------------------------------------------- */

static int runtime_adopt(Runtime *r, const ContainerRecord *record) {
        _cleanup_(container_freep) Container *c = NULL;
        uint64_t start_time;
        int k;

        if (record->monitor_pid <= 0 || pid_get_start_time(record->monitor_pid, &start_time) < 0 ||
            start_time != record->monitor_start_time)
                return -ESRCH;

        k = container_new(r, record, &c);
        if (k < 0)
                return k;
        c->monitor_pid = record->monitor_pid;
        c->remove_on_exit = record->ephemeral;
        c->monitor_pidfd = pidfd_open_pid(c->monitor_pid);
        if (c->monitor_pidfd < 0)
                return c->monitor_pidfd;
        if (c->state == CONTAINER_RUNNING && record->pid > 0) {
                c->init_pid = record->pid;
                c->init_pidfd = pidfd_open_pid(record->pid);
                /* The monitor is verified by its start time; init is its child. A pid that
                 * belongs to someone else by now (init died while quiltd was away, and the
                 * number was reused) must never be signalled or entered by exec. */
                if (c->init_pidfd >= 0 && pid_get_ppid(record->pid) != c->monitor_pid)
                        c->init_pidfd = safe_close(c->init_pidfd);
                if (record->network == CONTAINER_NETWORK_QUILT)
                        network_adopt_container(r->manager->network, c->id, c->name);
        }
        if (c->state == CONTAINER_PENDING)
                /* Its quiltd died half-way through creating it: the monitor saw the control
                 * pipe close and is on its way out, or will be killed now. */
                container_set_failure(c, "quiltd restarted while the container was being created");

        k = container_watch_monitor(c);
        if (k < 0)
                return k;
        if (c->state == CONTAINER_PENDING)
                container_kill_monitor(c);

        log_info("Container %s (%s) is still %s; monitor pid %d.", c->name, c->id,
                 container_state_to_string(c->state), (int) c->monitor_pid);
        TAKE_PTR(c);
        return 0;
}

int runtime_reconcile(Runtime *r) {
        ContainerRecord *records = NULL;
        size_t n = 0;
        int k;

        k = store_container_list(r->manager->store, _CONTAINER_STATE_INVALID, &records, &n);
        if (k < 0)
                return log_error_errno(k, "Failed to list containers: %s", store_errmsg(r->manager->store));

        network_begin_reconcile(r->manager->network);

        for (size_t i = 0; i < n; i++) {
                ContainerRecord *c = records + i;

                if (c->state != CONTAINER_PENDING && c->state != CONTAINER_RUNNING)
                        continue;

                k = runtime_adopt(r, c);
                if (k >= 0)
                        continue;
                if (k != -ESRCH)
                        log_warning_errno(k, "Failed to adopt container %s, recording it as ended: %m", c->name);

                (void) network_teardown_container(r->manager->network, c->id, NULL, NULL);
                (void) runtime_record_exit(r, c->id, c->name, c->state,
                                           c->state == CONTAINER_PENDING
                                                   ? "quiltd restarted while the container was being created"
                                                   : NULL,
                                           c->ephemeral, /* stopped= */ false);
        }

        container_record_array_free(records, n);
        network_end_reconcile(r->manager->network);
        return 0;
}

/* ---- inside a running container ---------------------------------------------------- */

int runtime_open_root(Runtime *r, const char *id, int *ret_fd) {
        Container *c = runtime_find(r, id);
        char path[64];
        int fd;

        if (!c)
                return -ESRCH;
        if (c->state != CONTAINER_RUNNING)
                return -EBUSY;
        if (c->init_pidfd < 0)
                return -ESRCH;

        /* The container's mounts exist only in its mount namespace; its init's root is the
         * way in. Opened by pid, then checked through the pidfd, which names the process we
         * started: a pid reused by someone else since would fail the check. */
        (void) snprintf(path, sizeof path, "/proc/%d/root", (int) c->init_pid);
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        if (pidfd_signal(c->init_pidfd, 0) < 0) {
                safe_close(fd);
                return -ESRCH;
        }
        *ret_fd = fd;
        return 0;
}

/* ---- the object -------------------------------------------------------------------- */

int runtime_new(Manager *m, Runtime **ret) {
        _cleanup_(runtime_freep) Runtime *r = NULL;
        const char *monitor;

        r = new0(Runtime, 1);
        if (!r)
                return -ENOMEM;
        r->manager = m;
        r->event = sd_event_ref(m->event);

        /* Tests and development run the monitor from the build tree. */
        monitor = getenv("QUILT_MONITOR");
        r->monitor_path = strdup(!isempty(monitor) ? monitor : QUILT_LIBEXECDIR "/quilt-monitor");
        if (!r->monitor_path)
                return -ENOMEM;
        if (access(r->monitor_path, X_OK) < 0)
                return log_error_errno(errno, "Cannot run the container monitor %s: %m", r->monitor_path);

        *ret = TAKE_PTR(r);
        return 0;
}

Runtime *runtime_free(Runtime *r) {
        if (!r)
                return NULL;
        runtime_exec_done(r);
        while (r->containers)
                container_free(r->containers);
        sd_event_unref(r->event);
        free(r->monitor_path);
        return mfree(r);
}
