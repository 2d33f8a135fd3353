/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <malloc.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "fileio.h"
#include "init.h"

/* Inside the container: the fds init keeps. */
#define INIT_SYNC_FD 3

static char fail_message[INIT_MSG_MAX - sizeof INIT_MSG_FAIL];

int init_fail(int error, const char *format, ...) {
        va_list ap;
        int n;

        error = abs(error);
        if (fail_message[0] != '\0') /* the first failure is the cause, keep it */
                return -error;

        va_start(ap, format);
        n = vsnprintf(fail_message, sizeof fail_message, format, ap);
        va_end(ap);
        if (n >= 0 && (size_t) n < sizeof fail_message)
                (void) snprintf(fail_message + n, sizeof fail_message - (size_t) n, ": %s", strerror(error));
        return -error;
}

const char *init_fail_message(void) {
        return fail_message;
}

void init_fail_clear(void) {
        fail_message[0] = '\0';
}

static void send_message(const char *prefix, const char *text) {
        char buf[INIT_MSG_MAX];
        int n;

        n = snprintf(buf, sizeof buf, "%s%s", prefix, strempty(text));
        if (n < 0)
                return;
        /* If the monitor is gone there is no one to tell. */
        (void) send(INIT_SYNC_FD, buf, MIN((size_t) n, sizeof buf - 1), MSG_NOSIGNAL);
}

_noreturn_ static void fail_and_exit(int code) {
        send_message(INIT_MSG_FAIL, fail_message[0] ? fail_message : "container setup failed");
        _exit(code);
}

/* init keeps exactly stdin, the container's stdout and stderr (so that stray output lands
 * in the container's log, not in the host's monitor.log) and the sync socket; every other
 * fd it inherited from the monitor refers to the host. */
static int setup_fds(int sync_fd, int stdout_fd, int stderr_fd) {
        if (dup2(stdout_fd, STDOUT_FILENO) < 0 || dup2(stderr_fd, STDERR_FILENO) < 0)
                return -errno;
        /* fd 3 was quiltd's control pipe, which the monitor closed: the socket may be there
         * already (and is close-on-exec since socketpair()). */
        if (sync_fd != INIT_SYNC_FD && dup3(sync_fd, INIT_SYNC_FD, O_CLOEXEC) < 0)
                return -errno;
        if (close_range(INIT_SYNC_FD + 1, ~0U, 0) < 0)
                return -errno;
        return 0;
}

/* Waits for one message from the monitor: -EPIPE when the monitor is gone, -EPROTO when it
 * says something else. */
static int wait_for_message(const char *what) {
        char buf[16];
        ssize_t n;

        do
                n = recv(INIT_SYNC_FD, buf, sizeof buf - 1, 0);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return -EPIPE;
        buf[n] = '\0';
        return streq(buf, what) ? 0 : -EPROTO;
}

static int loopback_up(void) {
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = {};

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return init_fail(errno, "socket");
        memcpy(ifr.ifr_name, "lo", 3);
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return init_fail(errno, "get flags of lo");
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return init_fail(errno, "bring lo up");
        return 0;
}

static int setup_container(const ContainerSpec *spec) {
        _cleanup_(init_credentials_done) InitCredentials creds = {};
        int r;

        /* The monitor moved us into payload/ before "go": that becomes our cgroup root. */
        if ((spec->namespaces & CONTAINER_NS_CGROUP) && unshare(CLONE_NEWCGROUP) < 0)
                return init_fail(errno, "unshare the cgroup namespace");

        r = init_setup_mounts(spec);
        if (r < 0)
                return r;

        if ((spec->namespaces & CONTAINER_NS_UTS) && sethostname(spec->name, strlen(spec->name)) < 0)
                return init_fail(errno, "sethostname %s", spec->name);
        if (spec->namespaces & CONTAINER_NS_NET) {
                r = loopback_up();
                if (r < 0)
                        return r;
        }

        r = init_setup_rlimits(spec);
        if (r < 0)
                return r;

        /* The monitor protects itself from the OOM killer; the container must not inherit that. */
        r = write_string_file("/proc/self/oom_score_adj", "0");
        if (r < 0)
                return init_fail(r, "reset oom_score_adj");

        r = init_resolve_user(spec->user, &creds);
        if (r < 0)
                return r;
        r = init_drop_privileges(spec, &creds);
        if (r < 0)
                return r;

        if (chdir(spec->working_directory) < 0)
                return init_fail(errno, "chdir %s", spec->working_directory);
        return 0;
}

_noreturn_ static void exec_command(const ContainerSpec *spec, int error_fd) {
        char buf[INIT_MSG_MAX - sizeof INIT_MSG_FAIL];
        sigset_t none;
        int fd, n;

        /* init blocks and handles signals itself; the command starts with the defaults (an
         * ignored SIGPIPE, for one, would survive execve()). */
        for (int sig = 1; sig < _NSIG; sig++)
                (void) signal(sig, SIG_DFL);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        fd = open("/dev/null", O_RDONLY | O_NOCTTY);
        if (fd < 0 || (fd != STDIN_FILENO && dup2(fd, STDIN_FILENO) < 0)) {
                n = snprintf(buf, sizeof buf, "open /dev/null: %s", strerror(errno));
                goto fail;
        }
        if (fd != STDIN_FILENO)
                (void) close(fd);

        environ = spec->env;
        execvp(spec->argv[0], spec->argv);
        n = snprintf(buf, sizeof buf, "exec %s: %s", spec->argv[0], strerror(errno));

fail:
        (void) loop_write(error_fd, buf, (size_t) MAX(MIN(n, (int) sizeof buf - 1), 0));
        /* The shell's codes: 127 not found, 126 found but not executable. */
        _exit(errno == ENOENT ? 127 : 126);
}

/* Forks the command. Its exec error, if any, comes back through a close-on-exec pipe:
 * EOF without data means execve() succeeded. */
static int start_command(const ContainerSpec *spec, pid_t *ret_pid) {
        _cleanup_close_ int read_fd = -EBADF;
        int fds[2];
        char buf[INIT_MSG_MAX - sizeof INIT_MSG_FAIL];
        ssize_t n;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return init_fail(errno, "pipe");
        read_fd = fds[0];

        pid = fork();
        if (pid < 0) {
                (void) close(fds[1]);
                return init_fail(errno, "fork");
        }
        if (pid == 0) {
                (void) close(fds[0]);
                exec_command(spec, fds[1]);
        }
        (void) close(fds[1]);
        *ret_pid = pid;

        do
                n = read(read_fd, buf, sizeof buf - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return init_fail(errno, "read the exec status");
        if (n > 0) {
                buf[n] = '\0';
                if (fail_message[0] == '\0')
                        memcpy(fail_message, buf, (size_t) n + 1);
                return -ENOEXEC;
        }
        return 0;
}

_noreturn_ static void report_status_and_exit(int status) {
        char num[16];

        if (WIFSIGNALED(status)) {
                (void) snprintf(num, sizeof num, "%i", WTERMSIG(status));
                send_message(INIT_MSG_SIGNAL, num);
                _exit(128 + WTERMSIG(status));
        }
        (void) snprintf(num, sizeof num, "%i", WEXITSTATUS(status));
        send_message(INIT_MSG_EXIT, num);
        _exit(WEXITSTATUS(status));
}

/* PID 1's job: reap whatever dies (orphans are reparented to us), pass signals on to the
 * command, and leave with the command's status. With no command, wait to be stopped. */
_noreturn_ static void run_loop(int signal_fd, pid_t command) {
        for (;;) {
                struct signalfd_siginfo si;
                ssize_t n;

                n = read(signal_fd, &si, sizeof si);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n != sizeof si) {
                        (void) init_fail(n < 0 ? errno : EIO, "read signalfd");
                        fail_and_exit(1);
                }

                if (si.ssi_signo == SIGCHLD) {
                        for (;;) {
                                int status;
                                pid_t pid = waitpid(-1, &status, WNOHANG);

                                if (pid <= 0)
                                        break;
                                if (pid == command)
                                        report_status_and_exit(status);
                        }
                } else if (command > 0)
                        (void) kill(command, (int) si.ssi_signo);
                else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                        send_message(INIT_MSG_EXIT, "0");
                        _exit(0);
                }
        }
}

_noreturn_ void init_main(const ContainerSpec *spec, int sync_fd, int stdout_fd, int stderr_fd) {
        sigset_t mask;
        pid_t command = 0;
        int signal_fd, r;

        /* What ps shows inside the container for PID 1. */
        (void) prctl(PR_SET_NAME, "init", 0, 0, 0);

        r = setup_fds(sync_fd, stdout_fd, stderr_fd);
        if (r < 0) {
                /* The sync socket may not be at its place: tell the monitor where it is. */
                (void) send(sync_fd, INIT_MSG_FAIL "init fds", sizeof INIT_MSG_FAIL "init fds" - 1, MSG_NOSIGNAL);
                _exit(1);
        }

        /* The monitor blocked these before cloning us; a signal sent from outside the pid
         * namespace to its init is only delivered when init handles or blocks it. */
        sigemptyset(&mask);
        (void) sigaddset(&mask, SIGCHLD);
        for (int sig = 1; sig < _NSIG; sig++)
                if (signal_is_forwarded(sig))
                        (void) sigaddset(&mask, sig);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                _exit(1);
        signal_fd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (signal_fd < 0) {
                (void) init_fail(errno, "signalfd");
                fail_and_exit(INIT_EXIT_SETUP_FAILED);
        }

        if (wait_for_message(INIT_MSG_GO) < 0)
                _exit(1);

        r = setup_container(spec);
        if (r < 0)
                fail_and_exit(INIT_EXIT_SETUP_FAILED);

        /* quiltd wired up the network namespace while we set up the rest. */
        if (spec->wait_network) {
                r = wait_for_message(INIT_MSG_NET);
                if (r == -EPIPE)
                        _exit(INIT_EXIT_SETUP_FAILED); /* the monitor is gone: no one to tell */
                if (r < 0) {
                        (void) init_fail(EPROTO, "wait for the network");
                        fail_and_exit(INIT_EXIT_SETUP_FAILED);
                }
        }

        if (spec->argv[0]) {
                r = start_command(spec, &command);
                if (r < 0) {
                        int status = 0;

                        send_message(INIT_MSG_FAIL, fail_message);
                        if (command > 0 && waitpid(command, &status, 0) == command && WIFEXITED(status))
                                _exit(WEXITSTATUS(status));
                        _exit(INIT_EXIT_SETUP_FAILED);
                }
        }

        /* init lives as long as the container: hand back the heap that building the seccomp
         * filter and reading /etc/passwd used. */
        (void) malloc_trim(0);

        send_message(INIT_MSG_OK, NULL);
        run_loop(signal_fd, command);
}
