/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt-monitor <run_dir>: one per container. Reads <run_dir>/config.json, waits for quiltd's
 * "go" on fd 3, creates the container's init in new namespaces (with a network: reports
 * "init <pid>" and passes quiltd's "net-ready" on to init), reports "running <pid>" or
 * "failed <why>" on fd 4, then copies the container's output to its log, reaps, passes
 * signals on, and when init is gone writes <run_dir>/exit.json. See container-spec.h.
 * "quilt-monitor exec <run_dir>" is the exec helper instead (exec.c, exec-spec.h). */

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "container-spec.h"
#include "exec.h"
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "monitor-cgroup.h"
#include "monitor-log.h"
#include "signal-util.h"
#include "proc-util.h"
#include "time-util.h"

#define CONTROL_FD 3
#define REPORT_FD 4

/* Once init is gone, output still buffered in the pipes is copied until every writer has
 * exited; a process that escaped the cgroup could hold a pipe open forever. */
#define DRAIN_TIMEOUT_USEC (2 * USEC_PER_SEC)

typedef struct Monitor {
        ContainerSpec *spec;
        char *exit_path;
        int report_fd;

        CgroupSet cgroups;
        bool have_oom_start;
        uint64_t oom_start;

        LogSink log;
        LogStream streams[2]; /* stdout, stderr */

        pid_t init_pid;
        int init_pidfd;
        int sync_fd;
        int signal_fd;
        int control_fd;    /* kept open while waiting for "net-ready" */
        char control_buf[16];
        size_t control_len;

        int exec_fd;      /* listening on <run_dir>/exec.sock (exec.c) */
        char *exec_path;
        pid_t exec_spare; /* a fork waiting in accept() for the next exec, or 0 */
        bool exec_ended;  /* an exec's process exited: time to fork a spare */
        int exec_spare_fd, exec_spare_wfd; /* it writes a byte once it took a connection */

        bool reported;     /* the line on fd 4 is written */
        bool status_known; /* init said how the command ended */
        bool init_exited;
        int init_status;

        ContainerExit exit;
} Monitor;

/* Static: the two 16 KiB line buffers are only paged in when used. */
static Monitor monitor = {
        .report_fd = REPORT_FD,
        .init_pidfd = -EBADF,
        .sync_fd = -EBADF,
        .signal_fd = -EBADF,
        .control_fd = -EBADF,
        .exec_fd = -EBADF,
        .exec_spare_fd = -EBADF,
        .exec_spare_wfd = -EBADF,
        .log.file.fd = -EBADF,
        .streams = {
                [CONTAINER_LOG_STDOUT] = { .kind = CONTAINER_LOG_STDOUT, .fd = -EBADF },
                [CONTAINER_LOG_STDERR] = { .kind = CONTAINER_LOG_STDERR, .fd = -EBADF },
        },
};

static void monitor_report(Monitor *m, const char *kind, const char *text) {
        char buf[INIT_MSG_MAX + 64];
        int n;

        if (m->reported)
                return;
        m->reported = true;

        n = snprintf(buf, sizeof buf, "%s %s\n", kind, text);
        /* quiltd may be gone (restarted): EPIPE is fine, SIGPIPE is ignored. */
        if (n > 0)
                (void) loop_write(m->report_fd, buf, MIN((size_t) n, sizeof buf - 1));
        m->report_fd = safe_close(m->report_fd);
}

/* A setup failure: "<what>: <strerror>" goes to fd 4, exit.json and our own log. */
_printf_(3, 4) static int monitor_fail(Monitor *m, int error, const char *format, ...) {
        char what[INIT_MSG_MAX];
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(what, sizeof what, format, ap);
        va_end(ap);
        if (error != 0 ? asprintf(&msg, "%s: %s", what, strerror(abs(error))) < 0 : !(msg = strdup(what)))
                return log_oom();

        log_error("%s", msg);
        (void) log_sink_event(&m->log, CONTAINER_EVENT_FAILED, LOG_ERR, NULL, "Container failed to start: %s", msg);
        monitor_report(m, CONTAINER_REPORT_FAILED, msg);
        if (!m->exit.error)
                m->exit.error = TAKE_PTR(msg);
        return error != 0 ? -abs(error) : -EINVAL;
}

/* Blocks until quiltd writes "go\n". -ECANCELED when it gave up (EOF). quiltd writes
 * nothing after "go" before we report "init", so no read can take more than "go\n". */
static int wait_for_go(void) {
        char buf[8];
        size_t n = 0;

        while (n < sizeof buf) {
                ssize_t k = read(CONTROL_FD, buf + n, sizeof buf - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return log_error_errno(errno, "Failed to read the control pipe: %m");
                if (k == 0)
                        return log_info_errno(ECANCELED, "The control pipe was closed before \"go\", exiting.");
                n += (size_t) k;
                if (memchr(buf, '\n', n))
                        return n == 3 && memcmp(buf, "go\n", 3) == 0
                                       ? 0
                                       : log_error_errno(EPROTO, "Unexpected message on the control pipe.");
        }
        return log_error_errno(EPROTO, "Unexpected message on the control pipe.");
}

static void reap_children(Monitor *m) {
        for (;;) {
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG);

                if (pid <= 0)
                        return;
                if (pid == m->init_pid && !m->init_exited) {
                        m->init_exited = true;
                        m->init_status = status;
                        m->exit.exited_usec = now_usec(CLOCK_REALTIME);
                }
                if (pid == m->exec_spare)
                        m->exec_spare = 0; /* it died without serving: we accept again */
                else if (pid != m->init_pid)
                        m->exec_ended = true;
        }
}

static void reap_callback(void *userdata) {
        reap_children(userdata);
}

/* Like fork(), but the child starts in new namespaces; with CLONE_NEWPID it is PID 1 there.
 * glibc's clone() wants a separate stack, which a fork-like child does not need. */
static pid_t raw_clone(unsigned long flags) {
        return (pid_t) syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
}

static unsigned long clone_flags(unsigned namespaces) {
        unsigned long flags = SIGCHLD;

        /* The cgroup namespace is not here: init creates it once it is in payload/. */
        if (namespaces & CONTAINER_NS_PID)
                flags |= CLONE_NEWPID;
        if (namespaces & CONTAINER_NS_MOUNT)
                flags |= CLONE_NEWNS;
        if (namespaces & CONTAINER_NS_UTS)
                flags |= CLONE_NEWUTS;
        if (namespaces & CONTAINER_NS_IPC)
                flags |= CLONE_NEWIPC;
        if (namespaces & CONTAINER_NS_NET)
                flags |= CLONE_NEWNET;
        return flags;
}

static int set_nonblock(int fd) {
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        return 0;
}

static int spawn_init(Monitor *m) {
        int out[2], err[2], sync[2];
        pid_t pid;

        if (pipe2(out, O_CLOEXEC) < 0)
                return monitor_fail(m, errno, "create the stdout pipe");
        m->streams[CONTAINER_LOG_STDOUT].fd = out[0];
        if (pipe2(err, O_CLOEXEC) < 0) {
                (void) close(out[1]);
                return monitor_fail(m, errno, "create the stderr pipe");
        }
        m->streams[CONTAINER_LOG_STDERR].fd = err[0];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
                (void) close(out[1]);
                (void) close(err[1]);
                return monitor_fail(m, errno, "create the init socket");
        }
        m->sync_fd = sync[0];

        pid = raw_clone(clone_flags(m->spec->namespaces));
        if (pid == 0)
                init_main(m->spec, sync[1], out[1], err[1]);

        (void) close(out[1]);
        (void) close(err[1]);
        (void) close(sync[1]);
        if (pid < 0)
                return monitor_fail(m, errno, "clone the container's init");
        m->init_pid = pid;

        if (set_nonblock(out[0]) < 0 || set_nonblock(err[0]) < 0 || set_nonblock(m->sync_fd) < 0)
                return monitor_fail(m, errno, "set up the container's pipes");
        return 0;
}

/* quiltd runs commands in the container through us (exec_serve() in a fork): we know the
 * spec, the cgroups and init already, and a fork is much cheaper than quiltd spawning a
 * helper that finds them all again. Without the socket quiltd spawns "quilt-monitor exec". */
static void monitor_listen_exec(Monitor *m) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        m->init_pidfd = pidfd_open_pid(m->init_pid);
        if (m->init_pidfd < 0) {
                log_warning_errno(m->init_pidfd, "Failed to open a pidfd for init, no exec socket: %m");
                return;
        }
        if (asprintf(&m->exec_path, "%s/exec.sock", m->spec->run_dir) < 0) {
                log_oom();
                return;
        }
        if (strlen(m->exec_path) >= sizeof sa.sun_path) {
                log_info("%s is too long for a socket, quiltd will spawn exec helpers.", m->exec_path);
                m->exec_path = mfree(m->exec_path);
                return;
        }
        memcpy(sa.sun_path, m->exec_path, strlen(m->exec_path) + 1);

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                r = -errno;
                goto fail;
        }
        (void) unlink(m->exec_path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                goto fail;
        }
        m->exec_fd = TAKE_FD(fd);

        /* Every exec loads it; compiling it takes longer than the rest of an exec's setup. */
        if (m->spec->seccomp) {
                r = init_seccomp_precompile();
                if (r < 0) {
                        log_warning_errno(r, "Failed to compile the seccomp filter ahead, execs will: %m");
                        init_fail_clear();
                }
        }
        return;

fail:
        log_warning_errno(r, "Failed to listen on %s, quiltd will spawn exec helpers: %m", m->exec_path);
        (void) unlink(m->exec_path);
        m->exec_path = mfree(m->exec_path);
}

static void monitor_stop_exec(Monitor *m) {
        if (m->exec_spare > 0) {
                (void) kill(m->exec_spare, SIGKILL);
                m->exec_spare = 0;
        }
        m->exec_spare_fd = safe_close(m->exec_spare_fd);
        m->exec_spare_wfd = safe_close(m->exec_spare_wfd);
        m->exec_fd = safe_close(m->exec_fd);
        if (m->exec_path) {
                (void) unlink(m->exec_path);
                m->exec_path = mfree(m->exec_path);
        }
}

/* Accepts one exec connection from quiltd: 1 with it in *ret, 0 when none is waiting. */
static int exec_accept(int listen_fd, int *ret) {
        for (;;) {
                _cleanup_close_ int conn = -EBADF;
                struct ucred cred;
                socklen_t len = sizeof cred;

                conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (conn < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        if (errno != EAGAIN)
                                log_warning_errno(errno, "Failed to accept an exec connection: %m");
                        return 0;
                }
                /* The directory is root's alone; this is one more lock on the door. */
                if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
                        log_warning("Refusing an exec connection from uid %u.", (unsigned) cred.uid);
                        continue;
                }
                *ret = TAKE_FD(conn);
                return 1;
        }
}

/* A fork that waits in accept() for the next exec, so that the fork is not on the exec's
 * critical path (a fork and its exit cost ~0.2 ms here). It tells us through a pipe when it
 * took a connection; the next one is forked when an exec has ended, so that forking does
 * not compete with a running exec for the CPU. Only after a first exec: a container that
 * never sees one never pays for a spare. */
static void monitor_fork_spare(Monitor *m) {
        pid_t pid;

        if (m->exec_fd < 0 || m->exec_spare > 0)
                return;
        if (m->exec_spare_fd < 0) {
                int fds[2];

                if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
                        return;
                m->exec_spare_fd = fds[0];
                m->exec_spare_wfd = fds[1];
        }

        pid = fork();
        if (pid < 0) {
                log_warning_errno(errno, "Failed to fork a spare exec process: %m");
                return;
        }
        if (pid == 0) {
                struct pollfd p = { .fd = m->exec_fd, .events = POLLIN };
                int conn;

                /* Until a connection comes, only SIGKILL (monitor_stop_exec()) ends us. */
                for (;;) {
                        if (poll(&p, 1, -1) < 0 && errno != EINTR)
                                _exit(1);
                        if (exec_accept(m->exec_fd, &conn) > 0)
                                break;
                }
                (void) write(m->exec_spare_wfd, "x", 1);
                exec_serve(m->spec, &m->cgroups, m->init_pidfd, conn);
        }
        m->exec_spare = pid;
}

static void monitor_accept_exec(Monitor *m) {
        int conn;

        while (m->exec_spare == 0 && exec_accept(m->exec_fd, &conn) > 0) {
                pid_t pid = fork();

                if (pid < 0)
                        log_warning_errno(errno, "Failed to fork for an exec: %m");
                if (pid == 0)
                        exec_serve(m->spec, &m->cgroups, m->init_pidfd, conn);
                safe_close(conn);
        }
}

static void monitor_spare_taken(Monitor *m) {
        char buf[16];

        while (read(m->exec_spare_fd, buf, sizeof buf) > 0)
                ;
        m->exec_spare = 0;
}

static int monitor_setup(Monitor *m, const char *run_dir) {
        _cleanup_free_ char *config_path = NULL;
        sigset_t mask;
        int r;

        if (asprintf(&config_path, "%s/config.json", run_dir) < 0 ||
            asprintf(&m->exit_path, "%s/exit.json", run_dir) < 0)
                return log_oom();

        /* Nothing can run without a valid spec; say so right away rather than after "go". */
        r = container_spec_load(config_path, &m->spec);
        if (r < 0)
                return monitor_fail(m, r, "load %s", config_path);
        if (!(m->spec->namespaces & CONTAINER_NS_MOUNT))
                return monitor_fail(m, 0, "the mount namespace is required (the rootfs is mounted in it)");

        /* The container's memory limit covers us too: let the OOM killer pick the payload.
         * init resets its own value to 0. */
        r = write_string_file("/proc/self/oom_score_adj", "-1000");
        if (r < 0)
                log_warning_errno(r, "Failed to set oom_score_adj, ignoring: %m");

        /* Orphans of the container are reparented to us, not to the host's PID 1. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                return monitor_fail(m, errno, "become a child subreaper");

        (void) signal(SIGPIPE, SIG_IGN);

        /* Blocked from now on, so that none is lost before the signalfd exists; init
         * inherits the mask, which is also what lets it receive them as PID 1. */
        sigemptyset(&mask);
        (void) sigaddset(&mask, SIGCHLD);
        for (int sig = 1; sig < _NSIG; sig++)
                if (signal_is_forwarded(sig))
                        (void) sigaddset(&mask, sig);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return monitor_fail(m, errno, "block signals");
        m->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (m->signal_fd < 0)
                return monitor_fail(m, errno, "create a signalfd");

        r = wait_for_go();
        if (!m->spec->wait_network || r < 0)
                (void) close(CONTROL_FD);
        else
                m->control_fd = CONTROL_FD;
        if (r < 0)
                return r == -ECANCELED ? r : monitor_fail(m, r, "read \"go\" from quiltd");

        r = cgroup_set_discover(&m->cgroups, m->spec->cgroup_leaf);
        if (r < 0)
                return monitor_fail(m, r, "find the cgroup %s", m->spec->cgroup_leaf);
        r = cgroup_set_enter_supervisor(&m->cgroups);
        if (r < 0)
                return monitor_fail(m, r, "set up the cgroups below %s", m->spec->cgroup_leaf);
        m->have_oom_start = cgroup_set_oom_kills(&m->cgroups, &m->oom_start) >= 0;

        r = log_sink_open(&m->log, m->spec);
        if (r < 0)
                return m->spec->log_driver == CONTAINER_LOG_FILE ? monitor_fail(m, r, "open %s", m->spec->log_path)
                                                                 : monitor_fail(m, r, "open the journal");
        if (m->spec->log_created)
                (void) log_sink_event(&m->log, CONTAINER_EVENT_CREATED, LOG_NOTICE, NULL, "Container created");

        r = spawn_init(m);
        if (r < 0)
                return r;

        /* init waits for "go" until it is in payload/, so that everything it and the
         * command create is accounted there and its cgroup namespace is rooted there. */
        r = cgroup_set_attach_payload(&m->cgroups, m->init_pid);
        if (r < 0)
                return monitor_fail(m, r, "move init into the payload cgroup");
        if (send(m->sync_fd, INIT_MSG_GO, strlen(INIT_MSG_GO), MSG_NOSIGNAL) < 0)
                return monitor_fail(m, errno, "start init");

        /* quiltd sets up the network namespace while init sets up the rest. */
        if (m->control_fd >= 0) {
                char line[32];
                int n = snprintf(line, sizeof line, CONTAINER_REPORT_INIT " %i\n", (int) m->init_pid);

                r = loop_write(m->report_fd, line, (size_t) n);
                if (r < 0)
                        return monitor_fail(m, r, "report init to quiltd");
                if (set_nonblock(m->control_fd) < 0)
                        return monitor_fail(m, errno, "set up the control pipe");
        }

        /* Exec has no use for a container that could not start: quiltd only execs in
         * RUNNING ones, which it learns from our report. */
        monitor_listen_exec(m);
        return 0;
}

/* quiltd's answer to "init <pid>": "net-ready" lets init start the command, anything else
 * (EOF: quiltd could not set up the network, or went away) ends the container. */
static void process_control(Monitor *m) {
        const char *ready = CONTAINER_CONTROL_NET_READY;

        for (;;) {
                ssize_t n = read(m->control_fd, m->control_buf + m->control_len,
                                 sizeof m->control_buf - m->control_len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n > 0) {
                        m->control_len += (size_t) n;
                        if (m->control_len < strlen(ready) && memcmp(m->control_buf, ready, m->control_len) == 0)
                                continue;
                        if (m->control_len == strlen(ready) && memcmp(m->control_buf, ready, m->control_len) == 0) {
                                m->control_fd = safe_close(m->control_fd);
                                if (send(m->sync_fd, INIT_MSG_NET, strlen(INIT_MSG_NET), MSG_NOSIGNAL) < 0)
                                        (void) monitor_fail(m, errno, "tell init the network is ready");
                                return;
                        }
                }
                m->control_fd = safe_close(m->control_fd);
                (void) monitor_fail(m, 0, n == 0 ? "quiltd did not set up the container's network"
                                                 : "unexpected message from quiltd on the control pipe");
                if (m->init_pid > 0 && !m->init_exited)
                        (void) kill(m->init_pid, SIGKILL);
                return;
        }
}

static void handle_init_message(Monitor *m, const char *msg) {
        const char *v;
        int n;

        if (streq(msg, INIT_MSG_OK)) {
                char pid[16];

                m->exit.started = true;
                m->exit.started_usec = now_usec(CLOCK_REALTIME);
                (void) snprintf(pid, sizeof pid, "%i", (int) m->init_pid);
                monitor_report(m, CONTAINER_REPORT_RUNNING, pid);
                (void) log_sink_event(&m->log, CONTAINER_EVENT_STARTED, LOG_NOTICE, NULL,
                                      "Container started, init pid %s", pid);
                log_debug("Container %s is running, init is %i.", m->spec->name, (int) m->init_pid);
        } else if ((v = startswith(msg, INIT_MSG_FAIL)))
                (void) monitor_fail(m, 0, "%s", v);
        else if ((v = startswith(msg, INIT_MSG_EXIT)) && sscanf(v, "%i", &n) == 1) {
                m->exit.exit_code = n;
                m->status_known = true;
        } else if ((v = startswith(msg, INIT_MSG_SIGNAL)) && sscanf(v, "%i", &n) == 1) {
                m->exit.exit_signal = n;
                m->status_known = true;
        } else
                log_warning("Unexpected message from init: %s", msg);
}

/* Handles every message init has sent so far; closes the socket at EOF. */
static void process_sync(Monitor *m) {
        while (m->sync_fd >= 0) {
                char buf[INIT_MSG_MAX + 1];
                ssize_t n = recv(m->sync_fd, buf, sizeof buf - 1, 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        m->sync_fd = safe_close(m->sync_fd);
                        return;
                }
                buf[n] = '\0';
                handle_init_message(m, buf);
        }
}

static void process_signals(Monitor *m) {
        for (;;) {
                struct signalfd_siginfo si;
                ssize_t n = read(m->signal_fd, &si, sizeof si);

                if (n != sizeof si)
                        return;
                if (si.ssi_signo == SIGCHLD)
                        reap_children(m);
                else if (m->init_pid > 0 && !m->init_exited) {
                        log_debug("Forwarding signal %u to init.", si.ssi_signo);
                        (void) kill(m->init_pid, (int) si.ssi_signo);
                }
        }
}

/* Polls the signalfd, init's socket and the output pipes until init has exited, or with a
 * deadline (0: none) until the pipes are at EOF. */
static void monitor_poll(Monitor *m, uint64_t deadline) {
        for (;;) {
                /* Output waits in the pipes until init has said whether the command runs,
                 * so that the log says "started" before the command's first line. */
                bool output = m->reported || m->init_exited || deadline > 0;
                struct pollfd p[] = {
                        { .fd = m->signal_fd, .events = POLLIN },
                        { .fd = m->sync_fd, .events = POLLIN },
                        { .fd = output ? m->streams[CONTAINER_LOG_STDOUT].fd : -1, .events = POLLIN },
                        { .fd = output ? m->streams[CONTAINER_LOG_STDERR].fd : -1, .events = POLLIN },
                        { .fd = m->control_fd, .events = POLLIN },
                        /* While a spare waits, it accepts. */
                        { .fd = deadline == 0 && m->exec_spare == 0 ? m->exec_fd : -1, .events = POLLIN },
                        { .fd = deadline == 0 ? m->exec_spare_fd : -1, .events = POLLIN },
                };
                int timeout = -1;

                if (deadline == 0 && m->init_exited)
                        return;
                if (deadline > 0) {
                        uint64_t now = now_usec(CLOCK_MONOTONIC);

                        if (m->streams[CONTAINER_LOG_STDOUT].fd < 0 && m->streams[CONTAINER_LOG_STDERR].fd < 0)
                                return;
                        if (now >= deadline) {
                                log_warning("The container's output did not reach EOF, something still holds it.");
                                return;
                        }
                        timeout = (int) ((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
                }

                if (poll(p, ELEMENTSOF(p), timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error_errno(errno, "poll() failed: %m");
                        return;
                }

                /* init's messages first: its report precedes its death. */
                if (p[1].revents)
                        process_sync(m);
                if (p[4].revents && m->control_fd >= 0)
                        process_control(m);
                for (size_t i = 0; i < ELEMENTSOF(m->streams); i++)
                        if (p[2 + i].revents)
                                (void) log_stream_process(&m->streams[i], &m->log);
                if (p[0].revents)
                        process_signals(m);
                if (p[5].revents)
                        monitor_accept_exec(m);
                if (p[6].revents)
                        monitor_spare_taken(m);
                if (m->exec_ended) {
                        m->exec_ended = false;
                        monitor_fork_spare(m);
                }
        }
}

/* The last lifecycle messages of a run, after all of its output. */
static void monitor_log_exit(Monitor *m) {
        const ContainerExit *e = &m->exit;
        char code[32], *extra[] = { code, NULL };

        if (!e->started)
                return; /* "failed" said it all */

        if (e->oom_killed)
                (void) log_sink_event(&m->log, CONTAINER_EVENT_OOM, LOG_ERR, NULL,
                                      "Container ran out of memory: the OOM killer killed a process");

        if (e->exit_signal > 0) {
                const char *name = signal_name(e->exit_signal);

                (void) snprintf(code, sizeof code, CONTAINER_LOG_FIELD_SIGNAL "=%i", e->exit_signal);
                (void) log_sink_event(&m->log, CONTAINER_EVENT_EXITED, LOG_WARNING, extra,
                                      "Container killed by signal %i%s%s%s", e->exit_signal, name ? " (" : "",
                                      strempty(name), name ? ")" : "");
        } else {
                (void) snprintf(code, sizeof code, CONTAINER_LOG_FIELD_EXIT_CODE "=%i", e->exit_code);
                (void) log_sink_event(&m->log, CONTAINER_EVENT_EXITED, e->exit_code == 0 ? LOG_NOTICE : LOG_WARNING,
                                      extra, "Container exited with code %i", e->exit_code);
        }
}

static void monitor_finish(Monitor *m) {
        uint64_t oom_end;

        /* No new execs into a container whose init is gone. */
        monitor_stop_exec(m);

        /* Whatever init said before dying is still queued. */
        process_sync(m);

        /* With a pid namespace the kernel killed the rest when init died; without one,
         * or for anything that got out of it, the cgroup knows who is left. */
        (void) cgroup_set_kill_payload(&m->cgroups, reap_callback, m);
        reap_children(m);

        monitor_poll(m, now_usec(CLOCK_MONOTONIC) + DRAIN_TIMEOUT_USEC);
        for (size_t i = 0; i < ELEMENTSOF(m->streams); i++) {
                log_stream_flush(&m->streams[i], &m->log);
                m->streams[i].fd = safe_close(m->streams[i].fd);
        }

        if (!m->reported) {
                char why[64];

                if (WIFSIGNALED(m->init_status))
                        (void) snprintf(why, sizeof why, "killed by signal %i", WTERMSIG(m->init_status));
                else
                        (void) snprintf(why, sizeof why, "exit status %i", WEXITSTATUS(m->init_status));
                (void) monitor_fail(m, 0, "init exited before the container was set up (%s)", why);
        }

        if (!m->status_known) {
                /* init died without saying how the command ended: SIGKILLed from outside,
                 * say, or a setup failure (127 for a command that could not be executed). */
                if (WIFSIGNALED(m->init_status))
                        m->exit.exit_signal = WTERMSIG(m->init_status);
                else
                        m->exit.exit_code = WEXITSTATUS(m->init_status);
        }

        if (m->have_oom_start && cgroup_set_oom_kills(&m->cgroups, &oom_end) >= 0 && oom_end > m->oom_start)
                m->exit.oom_killed = true;

        monitor_log_exit(m);
}

static int monitor_write_exit(Monitor *m) {
        int r;

        if (m->exit.exited_usec == 0)
                m->exit.exited_usec = now_usec(CLOCK_REALTIME);
        r = container_exit_save(&m->exit, m->exit_path);
        if (r < 0)
                return r;
        log_debug("Wrote %s.", m->exit_path);
        return 0;
}

static void monitor_done(Monitor *m) {
        (void) cgroup_set_remove_payload(&m->cgroups);
        cgroup_set_done(&m->cgroups);
        log_sink_close(&m->log);
        monitor_stop_exec(m);
        m->init_pidfd = safe_close(m->init_pidfd);
        m->sync_fd = safe_close(m->sync_fd);
        m->signal_fd = safe_close(m->signal_fd);
        m->report_fd = safe_close(m->report_fd);
        m->control_fd = safe_close(m->control_fd);
        container_exit_done(&m->exit);
        m->spec = container_spec_free(m->spec);
        m->exit_path = mfree(m->exit_path);
}

int main(int argc, char *argv[]) {
        Monitor *m = &monitor;
        int r;

        log_parse_environment();

        if (argc >= 2 && streq(argv[1], "exec"))
                return exec_main(argc, argv);

        if (argc != 2 || argv[1][0] != '/') {
                log_error("Usage: %s RUN_DIR (an absolute path)", program_invocation_short_name);
                return 2;
        }

        r = monitor_setup(m, argv[1]);
        if (r == -ECANCELED) {
                monitor_done(m);
                return 1;
        }
        if (r < 0) {
                /* Nothing runs (any init we created was killed): only the record is left. */
                if (m->init_pid > 0 && !m->init_exited) {
                        (void) kill(m->init_pid, SIGKILL);
                        while (!m->init_exited && waitpid(m->init_pid, &m->init_status, 0) == m->init_pid)
                                m->init_exited = true;
                }
                m->exit.exit_code = INIT_EXIT_SETUP_FAILED;
        } else {
                monitor_poll(m, 0);
                monitor_finish(m);
        }

        r = m->exit_path ? monitor_write_exit(m) : -ENOMEM;
        monitor_done(m);
        return r < 0 ? 1 : 0;
}
