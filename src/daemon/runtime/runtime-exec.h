/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One command run in a running container (ExecContainer, ExecContainerStream,
 * ExecInteractive). quiltd spawns "quilt-monitor exec" (exec-spec.h), which enters the
 * container; quiltd keeps the command's stdio: pipes, or the master of a pty the helper
 * opened in the container's devpts. Everything runs on the sd-event thread and nothing
 * blocks: output arrives through io sources, stdin is written as the pipe takes it, a
 * timeout is a timer that asks the helper to kill the exec's cgroup.
 *
 * The owner (an API handler) gets the output as it arrives and one on_exit() at the end,
 * after the output that the command wrote before exiting. Freeing the session before that
 * ends the command: the helper sees its control socket close and kills the exec's cgroup.
 * The helper process itself is reaped by the Runtime whenever it exits. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

typedef struct Runtime Runtime;
typedef struct ExecSession ExecSession;

typedef enum ExecStream {
        EXEC_STREAM_STDOUT, /* with a tty: all of the terminal's output */
        EXEC_STREAM_STDERR,
        _EXEC_STREAM_MAX,
} ExecStream;

typedef struct ExecOptions {
        char **argv;
        char **env;                    /* "KEY=VALUE" added to the container's; may be NULL */
        const char *working_directory; /* NULL: the container's */
        const char *user;              /* NULL: the container's */
        bool tty;
        unsigned rows, cols;           /* tty: the initial window size; 0: the kernel's default */
        bool detach;                   /* output to the container's log; done once it started */
        bool discard_output;           /* stdout and stderr to /dev/null */
        bool stdin_open;               /* stdin is fed with exec_session_write_stdin(); else /dev/null */
        uint64_t timeout_usec;         /* 0: none */
} ExecOptions;

typedef struct ExecResult {
        bool started;       /* the command was exec()ed (pid is valid) */
        pid_t pid;          /* as the container sees it */
        int exit_code;      /* when exit_signal == 0; 125-127 when it did not start */
        int exit_signal;
        bool timed_out;     /* the timeout killed it */
        const char *error;  /* why it did not start (or the helper failed), else NULL */
        uint64_t duration_usec;
} ExecResult;

typedef struct ExecCallbacks {
        /* The command runs (not called when it could not start). */
        void (*on_started)(ExecSession *s, pid_t pid, void *userdata);
        /* Output as it arrives; data is only valid during the call. Neither this nor
         * on_started may free the session. */
        void (*on_output)(ExecSession *s, ExecStream stream, const void *data, size_t size, void *userdata);
        /* Once, at the end; the owner may free the session from here. */
        void (*on_exit)(ExecSession *s, const ExecResult *result, void *userdata);
} ExecCallbacks;

/* Starts options->argv in container id. -ESRCH when the container is not running. Every
 * later outcome (also "command not found") arrives through on_exit. */
int runtime_exec(Runtime *r, const char *id, const ExecOptions *options, const ExecCallbacks *callbacks,
                 void *userdata, ExecSession **ret);

/* Queues stdin (stdin_open or tty). -EPIPE after close or once the command is gone. */
int exec_session_write_stdin(ExecSession *s, const void *data, size_t size);
/* EOF after what is queued (a tty gets its EOF character instead). */
int exec_session_close_stdin(ExecSession *s);
/* The tty's window size; the command gets SIGWINCH. */
int exec_session_resize(ExecSession *s, unsigned rows, unsigned cols);
/* Stops (and restarts) reading output, for a consumer that cannot keep up. */
void exec_session_pause_output(ExecSession *s, bool paused);
/* Kills the command and everything it started; on_exit follows. */
int exec_session_kill(ExecSession *s);

/* Ends the session; a command still running is killed. No callback runs after this. */
ExecSession *exec_session_free(ExecSession *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExecSession *, exec_session_free);

/* For the Runtime: reaps helpers of sessions that were freed, and frees everything at exit. */
void runtime_exec_done(Runtime *r);
