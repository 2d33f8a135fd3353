/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt-monitor exec <run_dir>: runs one command in a running container for quiltd (see
 * exec-spec.h for the fds and messages). The helper itself stays in the host's namespaces
 * as the command's parent, so that it can report the exit status, kill the exec's cgroup on
 * request and remove it afterwards; only its child enters the container. */

#include <fcntl.h>
#include <linux/sched.h> /* struct clone_args */
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "container-spec.h"
#include "exec-spec.h"
#include "exec.h"
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "monitor-cgroup.h"
#include "proc-util.h"
#include "strv.h"

typedef struct Exec {
        const ContainerSpec *container;
        ExecSpec *spec;
        char **env;

        CgroupSet *cgroups; /* the container's hierarchies */
        char sub[32]; /* "exec-<our pid>"; empty when detached (payload/ itself) */
        bool sub_created;

        pid_t child;
        int child_pidfd;
        bool control_open;
} Exec;

static void send_message(const char *prefix, const char *text) {
        char buf[EXEC_MSG_MAX];
        int n;

        n = snprintf(buf, sizeof buf, "%s%s", prefix, strempty(text));
        if (n < 0)
                return;
        /* quiltd may be gone; then no one listens. */
        (void) send(EXEC_CONTROL_FD, buf, MIN((size_t) n, sizeof buf - 1), MSG_NOSIGNAL);
}

_printf_(2, 3) static int exec_fail(int code, const char *format, ...) {
        char text[EXEC_MSG_MAX - 32], msg[EXEC_MSG_MAX];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(text, sizeof text, format, ap);
        va_end(ap);
        (void) snprintf(msg, sizeof msg, "%i %s", code, text);
        log_debug("exec failed: %s", text);
        send_message(EXEC_MSG_FAILED, msg);
        return -EIO;
}

static unsigned long ns_flags(unsigned namespaces) {
        unsigned long flags = 0;

        /* pid is joined separately, by the helper, for its child. */
        if (namespaces & CONTAINER_NS_MOUNT)
                flags |= CLONE_NEWNS;
        if (namespaces & CONTAINER_NS_UTS)
                flags |= CLONE_NEWUTS;
        if (namespaces & CONTAINER_NS_IPC)
                flags |= CLONE_NEWIPC;
        if (namespaces & CONTAINER_NS_NET)
                flags |= CLONE_NEWNET;
        if (namespaces & CONTAINER_NS_CGROUP)
                flags |= CLONE_NEWCGROUP;
        return flags;
}

static bool env_has_key(char **env, const char *entry) {
        size_t k = strcspn(entry, "=");

        for (char **i = env; i && *i; i++)
                if (strncmp(*i, entry, k) == 0 && (*i)[k] == '=')
                        return true;
        return false;
}

/* The container's environment, then the exec's variables, which win; TERM for a tty. */
static int build_env(Exec *e) {
        char **c = e->container->env, **x = e->spec->env;
        size_t n = 0;

        e->env = new0(char *, strv_length(c) + strv_length(x) + 2);
        if (!e->env)
                return -ENOMEM;
        for (char **i = c; i && *i; i++)
                if (!env_has_key(x, *i) && !(e->env[n++] = strdup(*i)))
                        return -ENOMEM;
        for (char **i = x; i && *i; i++)
                if (!(e->env[n++] = strdup(*i)))
                        return -ENOMEM;
        if (e->spec->tty && !env_has_key(e->env, "TERM=") && !(e->env[n++] = strdup("TERM=xterm")))
                return -ENOMEM;
        return 0;
}

/* ---- the child: enters the container and becomes the command --------------------------- */

/* Reports through the status pipe: "<code> <text>", read by the helper at EOF. */
_noreturn_ static void child_fail(int status_fd, int code, const char *text) {
        char buf[EXEC_MSG_MAX - 32];
        int n;

        n = snprintf(buf, sizeof buf, "%i %s", code, text);
        if (n > 0)
                (void) loop_write(status_fd, buf, MIN((size_t) n, sizeof buf - 1));
        _exit(code);
}

_noreturn_ static void child_fail_errno(int status_fd, int error, const char *what) {
        char buf[EXEC_MSG_MAX - 64];

        (void) snprintf(buf, sizeof buf, "%s: %s", what, strerror(abs(error)));
        child_fail(status_fd, EXEC_EXIT_SETUP_FAILED, buf);
}

static void child_report_pid(int status_fd) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "pid %i\n", (int) getpid());

        (void) loop_write(status_fd, buf, (size_t) n);
}

/* A pty of the container's own devpts instance (its /dev/ptmx), so that tty(1) names
 * /dev/pts/N there. The master goes to quiltd; the peer becomes our controlling terminal
 * and stdio. */
static int child_setup_pty(const ExecSpec *spec) {
        _cleanup_close_ int master = -EBADF, peer = -EBADF;
        struct winsize ws = { .ws_row = (unsigned short) spec->rows, .ws_col = (unsigned short) spec->cols };
        char cmsg_buf[CMSG_SPACE(sizeof(int))] = {};
        struct iovec iov = { .iov_base = (char *) EXEC_MSG_PTY, .iov_len = strlen(EXEC_MSG_PTY) };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = cmsg_buf,
                .msg_controllen = sizeof cmsg_buf,
        };
        struct cmsghdr *cmsg;
        int unlock = 0;

        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return init_fail(errno, "open the container's /dev/ptmx");
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                return init_fail(errno, "unlock the pty");
        /* No lookup by name: nothing in the container can swap the path under us. */
        peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (peer < 0)
                return init_fail(errno, "open the pty's peer");
        if (ws.ws_row > 0 && ws.ws_col > 0 && ioctl(peer, TIOCSWINSZ, &ws) < 0)
                return init_fail(errno, "set the window size");

        cmsg = CMSG_FIRSTHDR(&mh);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
        if (sendmsg(EXEC_CONTROL_FD, &mh, MSG_NOSIGNAL) < 0)
                return init_fail(errno, "pass the pty to quiltd");

        if (setsid() < 0)
                return init_fail(errno, "setsid");
        if (ioctl(peer, TIOCSCTTY, 0) < 0)
                return init_fail(errno, "make the pty the controlling terminal");
        for (int fd = 0; fd < 3; fd++)
                if (dup2(peer, fd) < 0)
                        return init_fail(errno, "dup2");
        return 0;
}

_noreturn_ static void child_main(Exec *e, CgroupJoin *join, bool in_unified, int status_fd) {
        _cleanup_(init_credentials_done) InitCredentials creds = {};
        const char *wd, *user;
        sigset_t none;
        int r;

        /* Until execve(), we hold host fds and all of root's capabilities inside the
         * container: not dumpable means no container process can open our /proc files. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        /* The monitor protects itself from the OOM killer; the command must not inherit that. */
        (void) write_string_file("/proc/self/oom_score_adj", "0");
        for (int sig = 1; sig < _NSIG; sig++)
                (void) signal(sig, SIG_DFL);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        /* Into payload/exec-<n> (or payload/), while the host's cgroup files are reachable. */
        for (int *fd = join->task_fds; *fd >= 0; fd++)
                if (write(*fd, "0", 1) != 1)
                        child_fail_errno(status_fd, errno, "join the exec's cgroup");
        if (!in_unified && join->unified_procs_fd >= 0 && write(join->unified_procs_fd, "0", 1) != 1)
                child_fail_errno(status_fd, errno, "join the exec's cgroup");
        cgroup_join_done(join);

        /* Root and working directory become the container's. */
        if (ns_flags(e->container->namespaces) != 0 &&
            setns(EXEC_PIDFD_FD, (int) ns_flags(e->container->namespaces)) < 0)
                child_fail_errno(status_fd, errno, "join the container's namespaces");

        if (e->spec->detach) {
                /* The command's parent is the container's init from now on, which reaps it. */
                pid_t pid = fork();

                if (pid < 0)
                        child_fail_errno(status_fd, errno, "fork");
                if (pid > 0)
                        _exit(0);
                /* Only the command knows its pid in the container; the helper reads a
                 * non-detached one's from /proc instead, which spares it a wake-up here. */
                child_report_pid(status_fd);
        }

        if (e->spec->tty) {
                r = child_setup_pty(e->spec);
                if (r < 0)
                        child_fail(status_fd, EXEC_EXIT_SETUP_FAILED, init_fail_message());
        } else {
                if (setsid() < 0)
                        child_fail_errno(status_fd, errno, "setsid");
                for (int fd = 0; fd < 3; fd++)
                        if (dup2(EXEC_STDIN_FD + fd, fd) < 0)
                                child_fail_errno(status_fd, errno, "dup2");
        }
        /* Nothing of the helper's reaches the command (the status pipe closes at exec). */
        if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                child_fail_errno(status_fd, errno, "close_range");

        r = init_setup_rlimits(e->container);
        if (r < 0)
                child_fail(status_fd, EXEC_EXIT_SETUP_FAILED, init_fail_message());

        user = e->spec->user ?: e->container->user;
        r = init_resolve_user(user, &creds);
        if (r < 0)
                child_fail(status_fd, EXEC_EXIT_SETUP_FAILED, init_fail_message());
        /* The terminal belongs to whoever uses it, as after login. */
        if (e->spec->tty && fchown(STDIN_FILENO, creds.uid, (gid_t) -1) < 0)
                child_fail_errno(status_fd, errno, "chown the pty");
        r = init_drop_privileges(e->container, &creds);
        if (r < 0)
                child_fail(status_fd, EXEC_EXIT_SETUP_FAILED, init_fail_message());

        wd = e->spec->working_directory ?: e->container->working_directory;
        if (chdir(wd) < 0) {
                char buf[EXEC_MSG_MAX - 64];

                (void) snprintf(buf, sizeof buf, "working directory %s: %s", wd, strerror(errno));
                child_fail(status_fd, EXEC_EXIT_SETUP_FAILED, buf);
        }

        environ = e->env;
        execvp(e->spec->argv[0], e->spec->argv);

        r = errno;
        {
                char buf[EXEC_MSG_MAX - 64];

                (void) snprintf(buf, sizeof buf, "%s: %s", e->spec->argv[0],
                                r == ENOENT ? "command not found" : strerror(r));
                child_fail(status_fd, r == ENOENT ? EXEC_EXIT_NOT_FOUND : EXEC_EXIT_NOT_EXECUTABLE, buf);
        }
}

/* ---- the helper --------------------------------------------------------------------- */

/* The request on EXEC_SPEC_FD, for e->container. */
static int exec_load_request(Exec *e) {
        int r;

        r = exec_spec_read(EXEC_SPEC_FD, &e->spec);
        (void) close(EXEC_SPEC_FD);
        if (r < 0)
                return exec_fail(EXEC_EXIT_SETUP_FAILED, "invalid exec request: %s", strerror(-r));
        if (build_env(e) < 0)
                return exec_fail(EXEC_EXIT_SETUP_FAILED, "out of memory");
        if (pidfd_signal(EXEC_PIDFD_FD, 0) < 0)
                return exec_fail(EXEC_EXIT_SETUP_FAILED, "the container is not running (its init is gone)");

        if (!e->spec->detach)
                (void) snprintf(e->sub, sizeof e->sub, "exec-%i", (int) getpid());
        return 0;
}

/* Detached commands write to the container's log, as its main command does: init's
 * stdout and stderr are the monitor's pipes. */
static int exec_setup_detached_stdio(void) {
        int fd;

        fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || dup2(fd, EXEC_STDIN_FD) < 0)
                return -errno;
        (void) close(fd);
        for (int i = 1; i <= 2; i++) {
                fd = pidfd_get_fd(EXEC_PIDFD_FD, i);
                if (fd < 0)
                        return fd;
                if (dup2(fd, EXEC_STDIN_FD + i) < 0)
                        return -errno;
                (void) close(fd);
        }
        return 0;
}

/* Reads the status pipe to EOF: "pid <n>\n" from a detached command about to exec, then, if
 * exec failed, "<code> <text>". Returns true when exec succeeded (*ret_pid: the pid given,
 * or 0), false with *ret_code and text when it did not. */
static bool read_status(int fd, pid_t *ret_pid, int *ret_code, char *text, size_t text_size) {
        char buf[EXEC_MSG_MAX + 64];
        size_t n = 0;
        const char *p = buf;
        int pid = 0, k;

        for (;;) {
                ssize_t l = read(fd, buf + n, sizeof buf - 1 - n);

                if (l < 0 && errno == EINTR)
                        continue;
                if (l <= 0)
                        break;
                n += (size_t) l;
                if (n == sizeof buf - 1)
                        break;
        }
        buf[n] = 0;

        if (startswith(p, "pid ") && sscanf(p + 4, "%i%n", &pid, &k) == 1) {
                p += 4 + k;
                if (*p == '\n')
                        p++;
        }
        *ret_pid = pid;
        if (*p == 0)
                return true;

        if (*p && sscanf(p, "%i %n", ret_code, &k) == 1)
                p += k;
        else
                *ret_code = EXEC_EXIT_SETUP_FAILED;
        if (!*p)
                p = "the command could not be started";
        n = MIN(strlen(p), text_size - 1);
        memcpy(text, p, n);
        text[n] = 0;
        return false;
}

static void exec_kill(Exec *e) {
        if (e->sub_created)
                (void) cgroup_set_kill_sub(e->cgroups, e->sub);
        if (e->child_pidfd >= 0)
                (void) pidfd_signal(e->child_pidfd, SIGKILL);
}

/* Handles quiltd's messages; false once the socket is closed. */
static bool exec_process_control(Exec *e) {
        for (;;) {
                char buf[EXEC_MSG_MAX];
                ssize_t n = recv(EXEC_CONTROL_FD, buf, sizeof buf - 1, MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return true;
                if (n <= 0) {
                        /* quiltd went away (or gave up on the call): nobody will read the
                         * output or the status, so the command ends too. */
                        exec_kill(e);
                        return false;
                }
                buf[n] = 0;
                if (streq(buf, EXEC_MSG_KILL))
                        exec_kill(e);
                else
                        log_warning("Unexpected message from quiltd: %s", buf);
        }
}

static int exec_wait(Exec *e) {
        siginfo_t si = {};
        char num[16];

        for (;;) {
                struct pollfd p[] = {
                        { .fd = e->child_pidfd, .events = POLLIN },
                        { .fd = e->control_open ? EXEC_CONTROL_FD : -1, .events = POLLIN },
                };

                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "poll() failed: %m");
                }
                if (p[1].revents)
                        e->control_open = exec_process_control(e);
                if (p[0].revents)
                        break;
        }

        if (waitid(P_PIDFD, (id_t) e->child_pidfd, &si, WEXITED) < 0)
                return log_error_errno(errno, "waitid() failed: %m");

        if (si.si_code == CLD_EXITED) {
                (void) snprintf(num, sizeof num, "%i", si.si_status);
                send_message(EXEC_MSG_EXIT, num);
        } else {
                (void) snprintf(num, sizeof num, "%i", si.si_status);
                send_message(EXEC_MSG_SIGNAL, num);
        }
        return 0;
}

/* fork(), but on cgroup2 straight into the exec's cgroup. */
static pid_t fork_into(const CgroupJoin *join, bool *ret_in_unified) {
        struct clone_args args = {
                .flags = CLONE_INTO_CGROUP,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t) join->unified_dir_fd,
        };
        pid_t pid;

        *ret_in_unified = false;
        if (join->unified_dir_fd >= 0) {
                pid = (pid_t) syscall(SYS_clone3, &args, sizeof args);
                if (pid >= 0) {
                        *ret_in_unified = true;
                        return pid;
                }
                if (errno != ENOSYS && errno != EINVAL && errno != E2BIG && errno != EOPNOTSUPP)
                        return -1;
        }
        return fork();
}

static int exec_run(Exec *e) {
        _cleanup_close_ int status_read = -EBADF, status_write = -EBADF;
        _cleanup_(cgroup_join_done) CgroupJoin join = { .unified_dir_fd = -EBADF, .unified_procs_fd = -EBADF };
        bool in_unified;
        char text[EXEC_MSG_MAX - 64];
        int fds[2], code = 0, r;
        pid_t pid;
        bool ok;

        if (e->spec->detach) {
                r = exec_setup_detached_stdio();
                if (r < 0)
                        return exec_fail(EXEC_EXIT_SETUP_FAILED, "cannot reach the container's log: %s",
                                         strerror(-r));
        }

        r = cgroup_set_prepare_join(e->cgroups, e->sub[0] ? e->sub : NULL, &join);
        if (r < 0)
                return exec_fail(EXEC_EXIT_SETUP_FAILED, "cannot create the exec's cgroup: %s", strerror(-r));
        e->sub_created = e->sub[0] != 0;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return exec_fail(EXEC_EXIT_SETUP_FAILED, "pipe: %s", strerror(errno));
        status_read = fds[0];
        status_write = fds[1];

        /* Children from now on are born in the container's pid namespace. */
        if ((e->container->namespaces & CONTAINER_NS_PID) && setns(EXEC_PIDFD_FD, CLONE_NEWPID) < 0)
                return exec_fail(EXEC_EXIT_SETUP_FAILED, "cannot join the container's pid namespace: %s",
                                 strerror(errno));

        pid = fork_into(&join, &in_unified);
        if (pid < 0)
                /* ENOMEM: the pid namespace's init has exited. */
                return exec_fail(EXEC_EXIT_SETUP_FAILED, "%s",
                                 errno == ENOMEM ? "the container is not running (its init is gone)"
                                                 : "cannot fork into the container");
        if (pid == 0)
                child_main(e, &join, in_unified, status_write);

        e->child = pid;
        e->child_pidfd = pidfd_open_pid(pid);
        cgroup_join_done(&join);
        status_write = safe_close(status_write);
        /* The command's ends of its stdio are its own: EOF reaches quiltd when it exits. */
        for (int fd = EXEC_STDIN_FD; fd <= EXEC_STDERR_FD; fd++)
                (void) close(fd);
        (void) close(EXEC_PIDFD_FD);

        ok = read_status(status_read, &pid, &code, text, sizeof text);
        if (!ok || e->spec->detach) {
                int status = 0;

                /* The child (or, detached, the intermediate one) exits right away. */
                (void) waitpid(e->child, &status, 0);
                e->child_pidfd = safe_close(e->child_pidfd);
                if (!ok)
                        return exec_fail(code, "%s", text);
        } else if (pid_get_ns_pid(e->child, &pid) < 0)
                pid = e->child; /* gone already: the host's number is all there is */

        (void) snprintf(text, sizeof text, "%i", (int) pid);
        send_message(EXEC_MSG_STARTED, text);
        if (e->spec->detach)
                return 0;

        if (e->child_pidfd < 0) {
                exec_kill(e);
                return log_error_errno(e->child_pidfd, "Failed to open a pidfd for the command: %m");
        }
        return exec_wait(e);
}

static void exec_done(Exec *e) {
        /* After the report: quiltd answers while we tidy up. */
        if (e->sub_created)
                (void) cgroup_set_remove_sub(e->cgroups, e->sub);
        safe_close(e->child_pidfd);
        strv_free(e->env);
        exec_spec_free(e->spec);
}

int exec_main(int argc, char *argv[]) {
        _cleanup_(container_spec_freep) ContainerSpec *container = NULL;
        _cleanup_(cgroup_set_done) CgroupSet cgroups = {};
        _cleanup_free_ char *config_path = NULL;
        Exec e = { .cgroups = &cgroups, .child_pidfd = -EBADF, .control_open = true };
        pid_t init_pid;
        int r;

        if (argc != 3 || argv[2][0] != '/') {
                log_error("Usage: %s exec RUN_DIR (an absolute path)", program_invocation_short_name);
                return 2;
        }
        (void) signal(SIGPIPE, SIG_IGN);

        if (asprintf(&config_path, "%s/config.json", argv[2]) < 0)
                return exec_fail(EXEC_EXIT_SETUP_FAILED, "out of memory"), 1;
        r = container_spec_load(config_path, &container);
        if (r < 0)
                return exec_fail(EXEC_EXIT_SETUP_FAILED, "cannot load the container's configuration: %s",
                                 strerror(-r)), 1;
        e.container = container;

        r = pidfd_get_pid(EXEC_PIDFD_FD, &init_pid);
        if (r < 0)
                return exec_fail(EXEC_EXIT_SETUP_FAILED, "the container is not running (its init is gone)"), 1;
        r = cgroup_set_discover_payload(&cgroups, init_pid, container->cgroup_leaf);
        /* What /proc/<pid> said is about our init only if the pidfd's process still lives
         * (exec_load_request() checks). */
        if (r < 0)
                return exec_fail(EXEC_EXIT_SETUP_FAILED, "cannot find the container's cgroups: %s", strerror(-r)), 1;

        r = exec_load_request(&e);
        if (r >= 0)
                r = exec_run(&e);
        exec_done(&e);
        return r < 0 ? 1 : 0;
}

/* Receives quiltd's request on conn: "exec" with the spec's memfd and, unless the spec says
 * tty or detach, the command's stdin, stdout and stderr. Leaves them at their fds. */
static int serve_receive(int conn, int init_pidfd) {
        char buf[16], cmsg_buf[CMSG_SPACE(4 * sizeof(int))];
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf - 1 };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = cmsg_buf,
                .msg_controllen = sizeof cmsg_buf,
        };
        int fds[EXEC_N_FDS], n_passed = 0;
        struct cmsghdr *cmsg;
        ssize_t n;

        for (int i = 0; i < EXEC_N_FDS; i++)
                fds[i] = -EBADF;
        do
                n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (cmsg = CMSG_FIRSTHDR(&mh); cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg))
                if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
                        n_passed = (int) ((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                        memcpy(fds + EXEC_SPEC_FD, CMSG_DATA(cmsg), (size_t) MIN(n_passed, 4) * sizeof(int));
                }
        if (n != (ssize_t) strlen(EXEC_MSG_EXEC) || memcmp(buf, EXEC_MSG_EXEC, n) != 0 || (n_passed != 1 && n_passed != 4) ||
            (mh.msg_flags & MSG_CTRUNC))
                return -EBADMSG;
        fds[EXEC_CONTROL_FD] = conn;
        fds[EXEC_PIDFD_FD] = init_pidfd;

        /* To their numbers, which may be taken by the monitor's own fds now: copies above
         * the table first (the originals may sit inside it), then into place, then
         * everything else of the monitor's closed. */
        for (int i = EXEC_CONTROL_FD; i < EXEC_N_FDS; i++)
                if (fds[i] >= 0 && (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, EXEC_N_FDS)) < 0)
                        return -errno;
        if (close_range(3, EXEC_N_FDS - 1, 0) < 0)
                return -errno;
        for (int i = EXEC_CONTROL_FD; i < EXEC_N_FDS; i++)
                if (fds[i] >= 0 && dup2(fds[i], i) < 0)
                        return -errno;
        return close_range(EXEC_N_FDS, ~0U, 0) < 0 ? -errno : 0;
}

_noreturn_ void exec_serve(const ContainerSpec *container, CgroupSet *cgroups, int init_pidfd, int conn) {
        Exec e = { .container = container, .cgroups = cgroups, .child_pidfd = -EBADF, .control_open = true };
        sigset_t none;
        int r;

        /* A fork of the monitor: its signal handling is not ours. */
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) signal(SIGPIPE, SIG_IGN);

        r = serve_receive(conn, init_pidfd);
        if (r < 0) {
                log_error_errno(r, "Failed to receive an exec request: %m");
                _exit(1);
        }

        r = exec_load_request(&e);
        if (r >= 0)
                r = exec_run(&e);
        exec_done(&e);
        _exit(r < 0 ? 1 : 0);
}
