/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* ExecSession: quiltd's side of one exec (runtime-exec.h, exec-spec.h). */

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>

#include "events.h"
#include "exec-spec.h"
#include "log.h"
#include "manager.h"
#include "proc-util.h"
#include "runtime-exec.h"
#include "runtime-internal.h"
#include "signal-util.h"
#include "time-util.h"

/* Bigger pipes mean fewer wake-ups for large outputs. */
#define EXEC_PIPE_SIZE (256U * 1024U)
#define EXEC_READ_SIZE (128U * 1024U)
/* With a tty the kernel passes output on asynchronously, and nothing says when the last
 * of it arrived if something in the background still holds the terminal: after the exit,
 * read until the terminal hangs up or this much time passes. */
#define EXEC_TTY_DRAIN_USEC (200 * USEC_PER_MSEC)
/* The control messages come before output of the same iteration: "pty" must be there
 * before anything is read from it, and "exit" must see the output still unread. */
#define PRIORITY_CONTROL (-5)

struct ExecSession {
        Runtime *runtime;
        /* The owner's reference, the spawned helper's until it is reaped, and one for the
         * length of each event handler, so that an owner may free the session from a
         * callback and a handler still finds it afterwards. */
        unsigned n_ref;
        char *container_id;
        char *container_name;
        char *command; /* argv[0], for events and logs */
        ExecCallbacks callbacks;
        void *userdata;
        bool owned; /* false: freed by its owner */

        /* A spawned helper (the monitor's exec socket was not there); else -EBADF: the
         * monitor's fork is its own business and the control socket's EOF says it ended. */
        pid_t helper_pid;
        int helper_pidfd;
        sd_event_source *helper_source;

        int control_fd;
        sd_event_source *control_source;

        int output_fd[_EXEC_STREAM_MAX]; /* read ends; with a tty [STDOUT] is the pty master */
        sd_event_source *output_source[_EXEC_STREAM_MAX];
        bool draining[_EXEC_STREAM_MAX]; /* after the exit: reading what is left */
        size_t drain_left[_EXEC_STREAM_MAX];
        bool paused;
        /* Output is read only once the helper has said whether the command started: a fast
         * command's first bytes can arrive before "started", and clients rely on seeing the
         * start before any output. */
        bool announced;

        int stdin_fd; /* pipe, or a second fd of the pty master once it arrived */
        sd_event_source *stdin_source;
        char *stdin_buf;
        size_t stdin_size, stdin_allocated;
        bool stdin_open;  /* takes input (until closed or broken) */
        bool stdin_close; /* EOF once the buffer is written */

        bool tty;
        bool detach;
        sd_event_source *timeout_source;
        sd_event_source *drain_timer;

        uint64_t start_usec;
        bool exited;   /* the helper said how it ended */
        bool finished; /* on_exit() ran */
        ExecResult result;
        char *error;

        ExecSession *next, *prev;
};

static void session_finish(ExecSession *s);

static void session_unlink(ExecSession *s) {
        Runtime *r = s->runtime;

        if (s->prev)
                s->prev->next = s->next;
        else if (r->execs == s)
                r->execs = s->next;
        if (s->next)
                s->next->prev = s->prev;
        s->next = s->prev = NULL;
}

static void session_close_stdin(ExecSession *s) {
        s->stdin_open = false;
        s->stdin_source = sd_event_source_disable_unref(s->stdin_source);
        s->stdin_fd = safe_close(s->stdin_fd);
        s->stdin_buf = mfree(s->stdin_buf);
        s->stdin_size = s->stdin_allocated = 0;
}

static void session_close_output(ExecSession *s, ExecStream i) {
        s->output_source[i] = sd_event_source_disable_unref(s->output_source[i]);
        s->output_fd[i] = safe_close(s->output_fd[i]);
        s->draining[i] = false;
}

/* Everything but the helper's pidfd, which tells when to reap it. */
static void session_close_io(ExecSession *s) {
        session_close_stdin(s);
        for (ExecStream i = 0; i < _EXEC_STREAM_MAX; i++)
                session_close_output(s, i);
        s->control_source = sd_event_source_disable_unref(s->control_source);
        s->control_fd = safe_close(s->control_fd);
        s->timeout_source = sd_event_source_disable_unref(s->timeout_source);
        s->drain_timer = sd_event_source_disable_unref(s->drain_timer);
}

static void session_destroy(ExecSession *s) {
        session_close_io(s);
        s->helper_source = sd_event_source_disable_unref(s->helper_source);
        s->helper_pidfd = safe_close(s->helper_pidfd);
        session_unlink(s);
        free(s->container_id);
        free(s->container_name);
        free(s->command);
        free(s->error);
        free(s);
}

static ExecSession *session_ref(ExecSession *s) {
        s->n_ref++;
        return s;
}

static void session_unref(ExecSession *s) {
        if (s && --s->n_ref == 0)
                session_destroy(s);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ExecSession *, session_unref);
#define _session_ref_(s) _cleanup_(session_unrefp) _unused_ ExecSession *_ref_ = session_ref(s)

ExecSession *exec_session_free(ExecSession *s) {
        if (!s || !s->owned)
                return NULL;

        s->owned = false;
        s->callbacks = (ExecCallbacks) {};
        /* A closed control socket makes the helper kill the command if it still runs. */
        session_close_io(s);
        session_unref(s);
        return NULL;
}

void runtime_exec_done(Runtime *r) {
        /* At exit, after the API let go of its calls: the helpers see their sockets close
         * and end their commands; spawned ones are left for init to reap. */
        while (r->execs)
                session_destroy(r->execs);
}

static void session_send(ExecSession *s, const char *msg) {
        if (s->control_fd >= 0 && send(s->control_fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                log_debug_errno(errno, "Failed to send \"%s\" to the exec helper: %m", msg);
}

/* ---- output ------------------------------------------------------------------------ */

static bool session_output_done(ExecSession *s) {
        for (ExecStream i = 0; i < _EXEC_STREAM_MAX; i++)
                if (s->output_fd[i] >= 0)
                        return false;
        return true;
}

/* One read; false when the stream has ended (EOF, a hung-up pty, the drain complete). */
static bool session_read(ExecSession *s, ExecStream i) {
        static uint8_t buf[EXEC_READ_SIZE];
        size_t want = sizeof buf;
        ssize_t n;

        if (s->draining[i] && !s->tty) {
                if (s->drain_left[i] == 0)
                        return false;
                want = MIN(want, s->drain_left[i]);
        }

        n = read(s->output_fd[i], buf, want);
        if (n < 0) {
                if (errno == EINTR || errno == EAGAIN)
                        /* A pipe whose bytes were counted is never empty before they are read. */
                        return true;
                /* EIO: the pty's last user closed it. */
                if (errno != EIO)
                        log_debug_errno(errno, "Reading the output of an exec failed: %m");
                return false;
        }
        if (n == 0)
                return false;
        if (s->draining[i] && !s->tty)
                s->drain_left[i] -= (size_t) n;
        if (s->callbacks.on_output)
                s->callbacks.on_output(s, i, buf, (size_t) n, s->userdata);
        return true;
}

static void session_check_finished(ExecSession *s) {
        if (s->exited && !s->finished && session_output_done(s))
                session_finish(s);
}

static void session_update_output_sources(ExecSession *s) {
        for (ExecStream i = 0; i < _EXEC_STREAM_MAX; i++)
                if (s->output_source[i])
                        (void) sd_event_source_set_enabled(s->output_source[i],
                                                           !s->paused && s->announced ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void session_announced(ExecSession *s) {
        if (s->announced)
                return;
        s->announced = true;
        session_update_output_sources(s);
}

static int on_output(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        ExecSession *s = userdata;
        _session_ref_(s);
        ExecStream i = fd == s->output_fd[EXEC_STREAM_STDOUT] ? EXEC_STREAM_STDOUT : EXEC_STREAM_STDERR;

        if (!s->announced) {
                (void) sd_event_source_set_enabled(source, SD_EVENT_OFF);
                return 0;
        }

        if (!session_read(s, i) || (s->draining[i] && !s->tty && s->drain_left[i] == 0)) {
                session_close_output(s, i);
                session_check_finished(s);
        }
        return 0;
}

static int session_watch_output(ExecSession *s, ExecStream i) {
        int r;

        r = sd_event_add_io(s->runtime->event, &s->output_source[i], s->output_fd[i], EPOLLIN, on_output, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->output_source[i], i == EXEC_STREAM_STDOUT ? "exec-stdout"
                                                                                             : "exec-stderr");
        if (s->paused || !s->announced)
                (void) sd_event_source_set_enabled(s->output_source[i], SD_EVENT_OFF);
        return 0;
}

void exec_session_pause_output(ExecSession *s, bool paused) {
        if (!s || s->paused == paused)
                return;
        s->paused = paused;
        session_update_output_sources(s);
}

static int on_drain_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        ExecSession *s = userdata;
        _session_ref_(s);

        /* Something in the background still holds the terminal. */
        for (ExecStream i = 0; i < _EXEC_STREAM_MAX; i++)
                session_close_output(s, i);
        session_check_finished(s);
        return 0;
}

/* The command has exited: what it wrote is in the pipes now. Read exactly that much, so
 * that a background process that keeps the pipe open (and writing) cannot hold the exec
 * open forever. */
static void session_start_drain(ExecSession *s) {
        for (ExecStream i = 0; i < _EXEC_STREAM_MAX; i++) {
                int n = 0;

                if (s->output_fd[i] < 0)
                        continue;
                s->draining[i] = true;
                if (s->tty)
                        continue;
                if (ioctl(s->output_fd[i], FIONREAD, &n) < 0)
                        n = 0;
                s->drain_left[i] = (size_t) MAX(n, 0);
                /* Unless the consumer is behind, there is no reason to wait for the loop. */
                while (!s->paused && s->output_fd[i] >= 0 && s->drain_left[i] > 0)
                        if (!session_read(s, i))
                                break;
                if (!s->paused && (s->output_fd[i] < 0 || s->drain_left[i] == 0))
                        session_close_output(s, i);
        }

        if (s->tty && !session_output_done(s) &&
            sd_event_add_time_relative(s->runtime->event, &s->drain_timer, CLOCK_MONOTONIC, EXEC_TTY_DRAIN_USEC,
                                       USEC_PER_MSEC, on_drain_timeout, s) < 0)
                for (ExecStream i = 0; i < _EXEC_STREAM_MAX; i++)
                        session_close_output(s, i);

        session_check_finished(s);
}

/* ---- stdin ------------------------------------------------------------------------- */

static void session_flush_stdin(ExecSession *s);

static int on_stdin_writable(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        ExecSession *s = userdata;
        _session_ref_(s);

        session_flush_stdin(s);
        return 0;
}

static void session_flush_stdin(ExecSession *s) {
        if (s->stdin_fd < 0)
                return; /* the pty is not there yet */

        while (s->stdin_size > 0) {
                ssize_t n = write(s->stdin_fd, s->stdin_buf, s->stdin_size);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0) {
                        /* EPIPE: the command does not read any more; EIO: the pty is gone. */
                        session_close_stdin(s);
                        return;
                }
                memmove(s->stdin_buf, s->stdin_buf + n, s->stdin_size - (size_t) n);
                s->stdin_size -= (size_t) n;
        }

        if (s->stdin_size == 0 && s->stdin_close && !s->tty) {
                session_close_stdin(s);
                return;
        }

        if (s->stdin_size > 0 && !s->stdin_source) {
                if (sd_event_add_io(s->runtime->event, &s->stdin_source, s->stdin_fd, EPOLLOUT, on_stdin_writable,
                                    s) < 0) {
                        session_close_stdin(s);
                        return;
                }
                (void) sd_event_source_set_description(s->stdin_source, "exec-stdin");
        }
        if (s->stdin_source)
                (void) sd_event_source_set_enabled(s->stdin_source, s->stdin_size > 0 ? SD_EVENT_ON : SD_EVENT_OFF);
}

int exec_session_write_stdin(ExecSession *s, const void *data, size_t size) {
        if (!s->stdin_open || (s->stdin_close && !s->tty))
                return -EPIPE;
        if (size == 0)
                return 0;
        if (s->stdin_size + size > s->stdin_allocated) {
                size_t n = MAX(s->stdin_allocated * 2, s->stdin_size + size);
                char *b = realloc(s->stdin_buf, n);

                if (!b)
                        return -ENOMEM;
                s->stdin_buf = b;
                s->stdin_allocated = n;
        }
        memcpy(s->stdin_buf + s->stdin_size, data, size);
        s->stdin_size += size;
        session_flush_stdin(s);
        return 0;
}

int exec_session_close_stdin(ExecSession *s) {
        struct termios t;

        if (!s->stdin_open)
                return 0;
        if (s->tty) {
                /* A terminal has no EOF of its own: the line discipline turns VEOF into one. */
                char eof = s->stdin_fd >= 0 && tcgetattr(s->stdin_fd, &t) >= 0 ? (char) t.c_cc[VEOF] : 4;

                return exec_session_write_stdin(s, &eof, 1);
        }
        s->stdin_close = true;
        session_flush_stdin(s);
        return 0;
}

int exec_session_resize(ExecSession *s, unsigned rows, unsigned cols) {
        struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };

        if (!s->tty || s->output_fd[EXEC_STREAM_STDOUT] < 0)
                return -ENOTTY;
        if (rows == 0 || cols == 0 || rows > UINT16_MAX || cols > UINT16_MAX)
                return -EINVAL;
        return ioctl(s->output_fd[EXEC_STREAM_STDOUT], TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int exec_session_kill(ExecSession *s) {
        if (s->exited)
                return 0;
        session_send(s, EXEC_MSG_KILL);
        return 0;
}

/* ---- the end ----------------------------------------------------------------------- */

static void session_emit_died(ExecSession *s) {
        char pid[16], code[16], sig[16];
        const char *name = s->result.exit_signal ? signal_name(s->result.exit_signal) : NULL;

        (void) snprintf(pid, sizeof pid, "%i", (int) s->result.pid);
        (void) snprintf(code, sizeof code, "%i", s->result.exit_code);
        (void) snprintf(sig, sizeof sig, "%i", s->result.exit_signal);
        (void) manager_event_emit(s->runtime->manager, EVENT_EXEC_DIED, s->container_id, s->container_name,
                                  (char *[]) { (char *) "pid", pid, (char *) "command", s->command,
                                               (char *) "exit_code", code, (char *) "signal", sig,
                                               (char *) "timed_out", (char *) (s->result.timed_out ? "true" : "false"),
                                               name ? (char *) "signal_name" : NULL, (char *) name, NULL });
}

static void session_finish(ExecSession *s) {
        ExecCallbacks cb = s->callbacks;
        _session_ref_(s);

        s->finished = true;
        s->result.duration_usec = now_usec(CLOCK_MONOTONIC) - s->start_usec;
        s->result.error = s->error;
        session_close_io(s);

        if (s->result.started)
                log_debug("Exec %s in container %s ended: %s %i%s.", s->command, s->container_name,
                          s->result.exit_signal ? "signal" : "status", s->result.exit_signal ?: s->result.exit_code,
                          s->result.timed_out ? " (timed out)" : "");
        if (cb.on_exit)
                cb.on_exit(s, &s->result, s->userdata);
        /* After the answer: recording it is not what the client waits for. A detached
         * command's end is not known. */
        if (s->result.started && !s->detach)
                session_emit_died(s);
}

static void session_set_error(ExecSession *s, int code, const char *text) {
        s->exited = true;
        s->result.exit_code = code;
        s->result.exit_signal = 0;
        if (!s->error)
                s->error = strdup(text);
}

static void session_handle_message(ExecSession *s, const char *msg, int fd) {
        const char *v;
        int n, k;

        if (streq(msg, EXEC_MSG_PTY) && fd >= 0 && s->tty && s->output_fd[EXEC_STREAM_STDOUT] < 0) {
                s->output_fd[EXEC_STREAM_STDOUT] = fd;
                s->stdin_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0 || s->stdin_fd < 0 ||
                    session_watch_output(s, EXEC_STREAM_STDOUT) < 0) {
                        session_set_error(s, EXEC_EXIT_SETUP_FAILED, "cannot watch the terminal");
                        exec_session_kill(s);
                        return;
                }
                /* What was written before the pty arrived. */
                session_flush_stdin(s);
                return;
        }
        safe_close(fd);

        if ((v = startswith(msg, EXEC_MSG_STARTED)) && sscanf(v, "%i", &n) == 1) {
                char pid[16];

                s->result.started = true;
                s->result.pid = (pid_t) n;
                session_announced(s);
                (void) snprintf(pid, sizeof pid, "%i", n);
                (void) manager_event_emit(s->runtime->manager, EVENT_EXEC_STARTED, s->container_id,
                                          s->container_name,
                                          (char *[]) { (char *) "pid", pid, (char *) "command", s->command,
                                                       (char *) "detached", (char *) (s->detach ? "true" : "false"),
                                                       NULL });
                if (s->callbacks.on_started)
                        s->callbacks.on_started(s, s->result.pid, s->userdata);
                if (s->detach && !s->finished) {
                        s->exited = true;
                        session_finish(s);
                }
        } else if ((v = startswith(msg, EXEC_MSG_FAILED)) && sscanf(v, "%i %n", &n, &k) == 1) {
                session_set_error(s, n, v + k);
                session_announced(s);
                session_start_drain(s);
        } else if ((v = startswith(msg, EXEC_MSG_EXIT)) && sscanf(v, "%i", &n) == 1) {
                s->exited = true;
                s->result.exit_code = n;
                session_announced(s);
                session_start_drain(s);
        } else if ((v = startswith(msg, EXEC_MSG_SIGNAL)) && sscanf(v, "%i", &n) == 1) {
                s->exited = true;
                s->result.exit_signal = n;
                s->result.exit_code = 128 + n;
                session_announced(s);
                session_start_drain(s);
        } else
                log_warning("Unexpected message from the exec helper: %s", msg);
}

static void session_helper_gone(ExecSession *s) {
        if (s->exited)
                return;
        session_set_error(s, EXEC_EXIT_SETUP_FAILED, "the exec helper ended unexpectedly");
        session_announced(s);
        session_start_drain(s);
}

static int on_control(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        ExecSession *s = userdata;
        _session_ref_(s);

        /* Messages are handled until the socket has no more (or the owner let go). */
        while (s->control_fd >= 0) {
                char buf[EXEC_MSG_MAX + 1], cmsg_buf[CMSG_SPACE(sizeof(int))];
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf - 1 };
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = cmsg_buf,
                        .msg_controllen = sizeof cmsg_buf,
                };
                struct cmsghdr *cmsg;
                int passed = -EBADF;
                ssize_t n;

                n = recvmsg(s->control_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                for (cmsg = CMSG_FIRSTHDR(&mh); n >= 0 && cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg))
                        if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS &&
                            cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
                                memcpy(&passed, CMSG_DATA(cmsg), sizeof(int));
                if (n <= 0) {
                        s->control_source = sd_event_source_disable_unref(s->control_source);
                        s->control_fd = safe_close(s->control_fd);
                        session_helper_gone(s);
                        return 0;
                }
                buf[n] = 0;
                session_handle_message(s, buf, passed);
                if (s->finished || !s->owned)
                        return 0;
        }
        return 0;
}

static int on_helper_exit(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        ExecSession *s = userdata;
        _session_ref_(s);
        siginfo_t si = {};

        if (waitid((idtype_t) P_PIDFD, (id_t) s->helper_pidfd, &si, WEXITED | WNOHANG) < 0)
                log_debug_errno(errno, "waitid() on the exec helper failed: %m");
        s->helper_source = sd_event_source_disable_unref(s->helper_source);
        s->helper_pidfd = safe_close(s->helper_pidfd);
        session_unref(s); /* the helper's */

        /* Whatever it said last is still in the socket. */
        if (s->owned && s->control_fd >= 0)
                (void) on_control(NULL, s->control_fd, EPOLLIN, s);
        if (s->owned && !s->finished)
                session_helper_gone(s);
        return 0;
}

static int on_timeout(sd_event_source *source, uint64_t usec, void *userdata) {
        ExecSession *s = userdata;
        _session_ref_(s);

        if (s->exited)
                return 0;
        log_debug("Exec in container %s timed out, killing it.", s->container_name);
        s->result.timed_out = true;
        return exec_session_kill(s);
}

/* ---- starting ---------------------------------------------------------------------- */

static int make_pipe(int *ret_ours, int *ret_theirs, bool ours_reads) {
        int fds[2];

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        *ret_ours = fds[ours_reads ? 0 : 1];
        *ret_theirs = fds[ours_reads ? 1 : 0];
        if (fcntl(*ret_ours, F_SETFL, O_NONBLOCK) < 0)
                return -errno;
        (void) fcntl(*ret_ours, F_SETPIPE_SZ, EXEC_PIPE_SIZE);
        return 0;
}

static int write_spec(const ExecOptions *o, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        ExecSpec spec = {
                .argv = o->argv,
                .env = o->env,
                .working_directory = (char *) o->working_directory,
                .user = (char *) o->user,
                .tty = o->tty,
                .rows = o->rows,
                .cols = o->cols,
                .detach = o->detach,
        };
        int r;

        fd = memfd_create("quilt-exec-spec", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = exec_spec_write(&spec, fd);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Hands the exec to the container's monitor (exec.sock in its run dir): "exec" with the
 * spec and the stdio fds (NULL: none, with a tty or detached). -ENOENT when the monitor has
 * no socket (it predates it, or cannot serve), so that the caller spawns a helper. */
static int exec_via_monitor(ExecSession *s, const char *run_dir, int spec_fd, const int *stdio) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char cmsg_buf[CMSG_SPACE(4 * sizeof(int))] = {};
        struct iovec iov = { .iov_base = (char *) EXEC_MSG_EXEC, .iov_len = strlen(EXEC_MSG_EXEC) };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = cmsg_buf,
                .msg_controllen = CMSG_SPACE((stdio ? 4 : 1) * sizeof(int)),
        };
        struct cmsghdr *cmsg;
        int fds[4] = { spec_fd, -EBADF, -EBADF, -EBADF };

        if ((size_t) snprintf(sa.sun_path, sizeof sa.sun_path, "%s/exec.sock", run_dir) >= sizeof sa.sun_path)
                return -ENOENT;

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A listening unix socket completes connect() at once, or refuses with EAGAIN when
         * its backlog is full; both other errors mean there is no monitor listening. */
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return errno == ENOENT || errno == ECONNREFUSED || errno == EAGAIN ? -ENOENT : -errno;

        if (stdio)
                memcpy(fds + 1, stdio, 3 * sizeof(int));
        cmsg = CMSG_FIRSTHDR(&mh);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN((stdio ? 4 : 1) * sizeof(int));
        memcpy(CMSG_DATA(cmsg), fds, (stdio ? 4 : 1) * sizeof(int));
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
                return errno == EPIPE || errno == ECONNRESET ? -ENOENT : -errno;

        s->control_fd = TAKE_FD(fd);
        return 0;
}

int runtime_exec(Runtime *r, const char *id, const ExecOptions *o, const ExecCallbacks *callbacks,
                 void *userdata, ExecSession **ret) {
        _cleanup_close_ int control = -EBADF, spec_fd = -EBADF, in = -EBADF, out = -EBADF, err = -EBADF,
                            dev_null = -EBADF;
        _cleanup_free_ char *run_dir = NULL;
        ExecSession *s;
        Container *c;
        int k;

        c = runtime_find(r, id);
        if (!c || c->state != CONTAINER_RUNNING || c->init_pidfd < 0 || pidfd_signal(c->init_pidfd, 0) < 0)
                return -ESRCH;
        if (!o->argv || !o->argv[0])
                return -EINVAL;

        k = runtime_run_dir(r, id, &run_dir);
        if (k < 0)
                return k;

        s = new0(ExecSession, 1);
        if (!s)
                return -ENOMEM;
        *s = (ExecSession) {
                .runtime = r,
                .n_ref = 1,
                .owned = true,
                .helper_pidfd = -EBADF,
                .control_fd = -EBADF,
                .output_fd = { -EBADF, -EBADF },
                .stdin_fd = -EBADF,
                .tty = o->tty,
                .detach = o->detach,
                .stdin_open = !o->detach && (o->tty || o->stdin_open),
                .start_usec = now_usec(CLOCK_MONOTONIC),
                .callbacks = *callbacks,
                .userdata = userdata,
                .next = r->execs,
        };
        if (r->execs)
                r->execs->prev = s;
        r->execs = s;
        s->container_id = strdup(c->id);
        s->container_name = strdup(c->name);
        s->command = strdup(o->argv[0]);
        if (!s->container_id || !s->container_name || !s->command) {
                k = -ENOMEM;
                goto fail;
        }

        k = write_spec(o, &spec_fd);
        if (k < 0)
                goto fail;

        if (!o->tty && !o->detach) {
                if (o->stdin_open) {
                        k = make_pipe(&s->stdin_fd, &in, false);
                        if (k < 0)
                                goto fail;
                }
                if (!o->discard_output) {
                        k = make_pipe(&s->output_fd[EXEC_STREAM_STDOUT], &out, true);
                        if (k < 0)
                                goto fail;
                        k = make_pipe(&s->output_fd[EXEC_STREAM_STDERR], &err, true);
                        if (k < 0)
                                goto fail;
                }
                if (in < 0 || out < 0) {
                        dev_null = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
                        if (dev_null < 0) {
                                k = -errno;
                                goto fail;
                        }
                }
        }

        k = exec_via_monitor(s, run_dir, spec_fd,
                             o->tty || o->detach ? NULL
                                                 : (const int[]) { in >= 0 ? in : dev_null, out >= 0 ? out : dev_null,
                                                                   err >= 0 ? err : dev_null });
        if (k >= 0)
                goto started;
        if (k != -ENOENT)
                goto fail;

        {
                int pair[2];

                /* Blocking on the helper's side, non-blocking on ours. */
                if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
                        k = -errno;
                        goto fail;
                }
                s->control_fd = pair[0];
                control = pair[1];
                if (fcntl(s->control_fd, F_SETFL, O_NONBLOCK) < 0) {
                        k = -errno;
                        goto fail;
                }
        }
        {
                const int fds[EXEC_N_FDS] = {
                        -EBADF,
                        -EBADF,
                        STDERR_FILENO,
                        control,
                        c->init_pidfd,
                        spec_fd,
                        in >= 0 ? in : dev_null,
                        out >= 0 ? out : dev_null,
                        err >= 0 ? err : dev_null,
                };

                k = runtime_spawn(r->monitor_path,
                                  (char *const[]) { (char *) "quilt-monitor", (char *) "exec", run_dir, NULL }, fds,
                                  EXEC_N_FDS, &s->helper_pid);
                if (k < 0) {
                        log_error_errno(k, "Failed to spawn the exec helper %s: %m", r->monitor_path);
                        goto fail;
                }
        }

        s->helper_pidfd = pidfd_open_pid(s->helper_pid);
        if (s->helper_pidfd < 0) {
                k = s->helper_pidfd;
                (void) kill(s->helper_pid, SIGKILL);
                (void) waitpid(s->helper_pid, NULL, 0);
                goto fail;
        }
        /* From here on the helper's exit ends the session, whatever else fails. */
        k = sd_event_add_io(r->event, &s->helper_source, s->helper_pidfd, EPOLLIN, on_helper_exit, s);
        if (k < 0)
                goto kill;
        session_ref(s); /* released when it is reaped */
        (void) sd_event_source_set_description(s->helper_source, "exec-helper");

started:
        k = sd_event_add_io(r->event, &s->control_source, s->control_fd, EPOLLIN, on_control, s);
        if (k < 0)
                goto kill;
        (void) sd_event_source_set_priority(s->control_source, PRIORITY_CONTROL);
        (void) sd_event_source_set_description(s->control_source, "exec-control");

        for (ExecStream i = 0; i < _EXEC_STREAM_MAX; i++)
                if (s->output_fd[i] >= 0) {
                        k = session_watch_output(s, i);
                        if (k < 0)
                                goto kill;
                }

        if (o->timeout_usec > 0) {
                k = sd_event_add_time_relative(r->event, &s->timeout_source, CLOCK_MONOTONIC, o->timeout_usec, 1,
                                               on_timeout, s);
                if (k < 0)
                        goto kill;
        }

        *ret = s;
        return 0;

kill:
        if (s->helper_pidfd >= 0)
                (void) pidfd_signal(s->helper_pidfd, SIGKILL);
        if (s->helper_pidfd >= 0 && !s->helper_source) {
                /* Nothing would reap it later. */
                (void) waitid((idtype_t) P_PIDFD, (id_t) s->helper_pidfd, &(siginfo_t) {}, WEXITED);
                s->helper_pidfd = safe_close(s->helper_pidfd);
        }
fail:
        /* A spawned helper is reaped when it exits; the monitor's fork sees the socket close. */
        exec_session_free(s);
        return k;
}
