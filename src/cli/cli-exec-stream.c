/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* quilt exec and quilt shell over the streaming RPCs: output written as it arrives
 * (ExecContainerStream), and sessions that send stdin too (ExecInteractive): with -t a
 * terminal in raw mode, so that Ctrl-C and every other key reach the container's pty, and
 * SIGWINCH sent on as the new window size. The main thread receives; a second thread reads
 * stdin and signals (from a signalfd: SIGWINCH, SIGINT, SIGTERM, SIGHUP are blocked in
 * every thread) and sends. The terminal is restored however the session ends. */

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "fs-util.h"

typedef struct ExecStreamSession {
        Cli *cli;
        QuiltStream *stream;
        bool tty;           /* the command has a pty */
        bool raw;           /* our terminal is in raw mode, saved_termios to restore */
        struct termios saved_termios;

        int signal_fd;
        sigset_t saved_mask;  /* restored at the end, when blocked_signals */
        bool blocked_signals;
        int stop_pipe[2];   /* the main thread tells the input thread to end */
        pthread_t input_thread;
        bool input_running;
        int signal_received; /* SIGINT/SIGTERM/SIGHUP that ended the session, set by the input thread */
} ExecStreamSession;

static bool get_window_size(unsigned *ret_rows, unsigned *ret_cols) {
        struct winsize ws = {};

        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
                return false;
        if (ws.ws_row == 0 || ws.ws_col == 0)
                return false;
        *ret_rows = ws.ws_row;
        *ret_cols = ws.ws_col;
        return true;
}

static void session_restore_terminal(ExecStreamSession *s) {
        if (s->raw) {
                (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &s->saved_termios);
                s->raw = false;
        }
}

static int session_make_raw(ExecStreamSession *s) {
        struct termios t;

        if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &s->saved_termios) < 0)
                return 0; /* scripted input: passed on as it is */
        t = s->saved_termios;
        cfmakeraw(&t);
        if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
                return -errno;
        s->raw = true;
        return 0;
}

static int session_send(ExecStreamSession *s, const Quilt__ExecInput *in) {
        return quilt_client_stream_send(s->stream, &in->base);
}

/* The input thread: stdin → ExecInput.stdin, EOF → half-close, SIGWINCH → window size,
 * SIGINT/SIGTERM/SIGHUP (the terminal's keys do not raise them in raw mode) → cancel. */
static void *input_thread(void *userdata) {
        ExecStreamSession *s = userdata;
        bool stdin_open = true;
        static uint8_t buf[32 * 1024];

        for (;;) {
                struct pollfd p[] = {
                        { .fd = s->stop_pipe[0], .events = POLLIN },
                        { .fd = s->signal_fd, .events = POLLIN },
                        { .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
                };

                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[0].revents)
                        break;

                if (p[1].revents) {
                        struct signalfd_siginfo si;

                        if (read(s->signal_fd, &si, sizeof si) == sizeof si) {
                                Quilt__ExecInput in = QUILT__EXEC_INPUT__INIT;

                                if (si.ssi_signo == SIGWINCH) {
                                        if (s->tty && get_window_size(&in.tty_rows, &in.tty_columns))
                                                (void) session_send(s, &in);
                                } else {
                                        /* The server kills the command when the call ends. */
                                        __atomic_store_n(&s->signal_received, (int) si.ssi_signo, __ATOMIC_SEQ_CST);
                                        quilt_client_stream_cancel(s->stream);
                                        break;
                                }
                        }
                }

                if (p[2].revents) {
                        Quilt__ExecInput in = QUILT__EXEC_INPUT__INIT;
                        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);

                        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (n <= 0) {
                                /* The end of our input is the end of the command's. */
                                stdin_open = false;
                                (void) quilt_client_stream_close_send(s->stream);
                                continue;
                        }
                        in.stdin = (ProtobufCBinaryData) { .len = (size_t) n, .data = buf };
                        if (session_send(s, &in) < 0)
                                break; /* over: the main thread hears how */
                }
        }
        return NULL;
}

static int session_start_input(ExecStreamSession *s) {
        int r;

        if (pipe2(s->stop_pipe, O_CLOEXEC) < 0)
                return -errno;
        r = -pthread_create(&s->input_thread, NULL, input_thread, s);
        if (r < 0)
                return r;
        s->input_running = true;
        return 0;
}

static void session_done(ExecStreamSession *s) {
        if (s->input_running) {
                (void) write(s->stop_pipe[1], "x", 1);
                (void) pthread_join(s->input_thread, NULL);
                s->input_running = false;
        }
        s->stop_pipe[0] = safe_close(s->stop_pipe[0]);
        s->stop_pipe[1] = safe_close(s->stop_pipe[1]);
        s->signal_fd = safe_close(s->signal_fd);
        s->stream = quilt_client_stream_free(s->stream);
        session_restore_terminal(s);
        /* Before a fallback to the unary call, Ctrl-C must work again. */
        if (s->blocked_signals) {
                (void) pthread_sigmask(SIG_SETMASK, &s->saved_mask, NULL);
                s->blocked_signals = false;
        }
}

/* How quilt exec exits for a command that ended so: see cli-exec.c. */
static int exit_status_of_output(Cli *cli, const Quilt__ExecOutput *o) {
        /* Not started (125-127), timed out, killed: say why, as the unary path does. */
        if (!isempty(o->error_message) && (o->timed_out || o->exit_signal > 0 || o->pid == 0))
                cli_fail(cli, "%s", o->error_message);
        if (o->timed_out)
                return CLI_EXIT_EXEC_TIMEOUT;
        if (o->exit_signal > 0)
                return 128 + (o->exit_signal & 0x7f);
        if (o->exit_code >= 0 && o->exit_code <= 255)
                return o->exit_code;
        return CLI_EXIT_FAILURE;
}

int cli_exec_stream(Cli *cli, const Quilt__ExecContainerRequest *request, bool interactive) {
        _cleanup_(session_done) ExecStreamSession s = {
                .cli = cli,
                .tty = request->tty,
                .signal_fd = -EBADF,
                .stop_pipe = { -EBADF, -EBADF },
        };
        Quilt__ExecContainerRequest req = *request;
        Quilt__ExecInput first = QUILT__EXEC_INPUT__INIT;
        bool got_output = false, got_exit = false;
        int status = CLI_EXIT_FAILURE, r;
        sigset_t mask;

        if (req.tty && req.tty_rows == 0)
                (void) get_window_size(&req.tty_rows, &req.tty_columns);

        if (interactive) {
                /* Blocked before the client's threads exist, so that all of them leave these
                 * to the signalfd. */
                sigemptyset(&mask);
                (void) sigaddset(&mask, SIGWINCH);
                (void) sigaddset(&mask, SIGINT);
                (void) sigaddset(&mask, SIGTERM);
                (void) sigaddset(&mask, SIGHUP);
                if (pthread_sigmask(SIG_BLOCK, &mask, &s.saved_mask) != 0)
                        return cli_fail(cli, "cannot set up signal handling: %m");
                s.blocked_signals = true;
                s.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
                if (s.signal_fd < 0)
                        return cli_fail(cli, "cannot set up signal handling: %m");
        }

        first.start = &req;
        r = interactive ? cli_stream_open(cli, "ExecInteractive", &first.base, &s.stream)
                        : cli_stream_open(cli, "ExecContainerStream", &req.base, &s.stream);
        if (r != 0)
                return r;

        for (;;) {
                _cleanup_reply_ ProtobufCMessage *m = NULL;
                const Quilt__ExecOutput *o;

                r = quilt_client_stream_recv(s.stream, NULL, 0, &m);
                if (r <= 0)
                        break;
                o = (const Quilt__ExecOutput *) m;

                /* Input only once the command runs: a quiltd without the RPC answers before
                 * that, and the fallback needs stdin untouched. */
                if (interactive && o->kind == QUILT__EXEC_OUTPUT__KIND__STARTED && !s.input_running) {
                        if (req.tty) {
                                r = session_make_raw(&s);
                                if (r < 0) {
                                        quilt_client_stream_cancel(s.stream);
                                        return cli_fail(cli, "cannot put the terminal in raw mode: %s", strerror(-r));
                                }
                        }
                        r = session_start_input(&s);
                        if (r < 0) {
                                quilt_client_stream_cancel(s.stream);
                                return cli_fail(cli, "cannot start reading the input: %s", strerror(-r));
                        }
                }

                switch (o->kind) {
                case QUILT__EXEC_OUTPUT__KIND__STDOUT:
                case QUILT__EXEC_OUTPUT__KIND__STDERR:
                        got_output = true;
                        (void) loop_write(o->kind == QUILT__EXEC_OUTPUT__KIND__STDERR ? STDERR_FILENO : STDOUT_FILENO,
                                          o->data.data, o->data.len);
                        break;
                case QUILT__EXEC_OUTPUT__KIND__STARTED:
                        got_output = true;
                        break;
                case QUILT__EXEC_OUTPUT__KIND__EXIT:
                        got_exit = true;
                        /* Give the terminal back before saying anything. */
                        session_restore_terminal(&s);
                        status = exit_status_of_output(cli, o);
                        break;
                default:
                        break;
                }
        }

        session_restore_terminal(&s);
        if (r == -EREMOTEIO) {
                QuiltStatusCode code;
                const char *message;
                int sig = __atomic_load_n(&s.signal_received, __ATOMIC_SEQ_CST);

                quilt_client_stream_status(s.stream, &code, &message);
                if (sig > 0)
                        return 128 + sig; /* we cancelled it: the command was killed */
                /* A quiltd that predates the RPC: the caller falls back to the unary call. */
                if (code == QUILT_STATUS_UNIMPLEMENTED && !got_output)
                        return CLI_EXEC_FALLBACK;
                return cli_report_status(cli, code, message);
        }
        if (r < 0)
                return cli_fail(cli, "the call failed: %s", strerror(-r));
        if (!got_exit)
                return cli_fail(cli, "the stream ended without the command's exit status");
        return status;
}
