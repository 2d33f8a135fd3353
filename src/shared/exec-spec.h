/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The contract between quiltd and the process that runs one command in a running
 * container (quilt exec, quilt shell). quiltd is multi-threaded and cannot fork and
 * setns() itself. Two ways, with the same messages afterwards:
 *
 * 1. The container's monitor listens on <run_dir>/exec.sock (SOCK_SEQPACKET) while init
 *    lives. quiltd connects and sends "exec" with SCM_RIGHTS: the ExecSpec as JSON in a
 *    memfd and, unless the spec asks for a tty or detach, the command's stdin, stdout and
 *    stderr. The monitor forks; the fork serves the exec on that connection. This is the
 *    fast way: nothing to spawn, load or discover.
 *
 * 2. Without the socket (a monitor older than it), quiltd posix_spawn()s the helper with a
 *    clean environment and:
 *
 *   argv   quilt-monitor exec <run_dir>      (<run_dir>/config.json: the container's spec,
 *                                            for its namespaces, cgroup leaf, capabilities,
 *                                            seccomp, rlimits, environment, user, workdir)
 *   fd 0,1 /dev/null
 *   fd 2   quiltd's stderr (the helper's own diagnostics)
 *   fd 3   EXEC_CONTROL_FD: a SOCK_SEQPACKET socket to quiltd, one message per packet
 *   fd 4   EXEC_PIDFD_FD: a pidfd of the container's init; the helper joins its namespaces
 *          through it, so a recycled pid number can never be entered
 *   fd 5   EXEC_SPEC_FD: the ExecSpec as JSON (a memfd, read from offset 0)
 *   fd 6-8 the command's stdin, stdout, stderr (pipes, or /dev/null); absent with a tty,
 *          where the command gets a pty from the container's own devpts, and when detached,
 *          where its output goes to the container's log (init's stdout and stderr)
 *
 *    (The monitor's fork arranges the same fds before it goes on like the helper.)
 *
 * The helper creates the cgroup payload/exec-<helper pid> (in one hierarchy, which is
 * enough to find and kill all of the command's processes; detached commands join payload/
 * itself), forks a child into the container's pid namespace that moves itself there,
 * joins the other namespaces, applies the container's rlimits, user, capabilities,
 * no_new_privs and seccomp filter, and execs. The helper stays outside the container as
 * the command's parent:
 *
 *   helper → quiltd  "pty"                    with the pty master as SCM_RIGHTS (tty only;
 *                                             always before "started")
 *                    "started <pid>"          the command was exec()ed; <pid> as the
 *                                             container sees it
 *                    "failed <code> <text>"   nothing runs; code 125 (setup failed), 126
 *                                             (not executable) or 127 (not found)
 *                    "exit <code>"            the command exited (not sent when detached)
 *                    "signal <n>"             the command was killed by signal n
 *   quiltd → helper  "kill"                   SIGKILL every process of the exec's cgroup
 *                                             (a timeout, a cancelled call)
 *                    EOF                      quiltd went away: the same as "kill"
 *   quiltd learns that the helper is done from the socket's EOF (and, for a spawned one,
 *   from its pidfd).
 *
 * After "exit"/"signal", processes the command left running in the background move to
 * payload/ (they belong to the container now, as with docker exec), the exec cgroup is
 * removed, and the helper exits 0. A detached helper exits right after "started". */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

#define EXEC_CONTROL_FD 3
#define EXEC_PIDFD_FD 4
#define EXEC_SPEC_FD 5
#define EXEC_STDIN_FD 6
#define EXEC_STDOUT_FD 7
#define EXEC_STDERR_FD 8
#define EXEC_N_FDS 9

#define EXEC_MSG_EXEC "exec"
#define EXEC_MSG_PTY "pty"
#define EXEC_MSG_STARTED "started "
#define EXEC_MSG_FAILED "failed "
#define EXEC_MSG_EXIT "exit "
#define EXEC_MSG_SIGNAL "signal "
#define EXEC_MSG_KILL "kill"
#define EXEC_MSG_MAX 1024

/* The exit codes of "failed", as in Docker and the shell. */
#define EXEC_EXIT_SETUP_FAILED 125
#define EXEC_EXIT_NOT_EXECUTABLE 126
#define EXEC_EXIT_NOT_FOUND 127

typedef struct ExecSpec {
        char **argv;             /* exactly as given; argv[0] is looked up in the container's PATH */
        char **env;              /* "KEY=VALUE" added to (and overriding) the container's */
        char *working_directory; /* NULL: the container's */
        char *user;              /* NULL: the container's */
        bool tty;
        unsigned rows, cols;     /* the pty's initial size; 0: leave the kernel's default */
        bool detach;
} ExecSpec;

ExecSpec *exec_spec_free(ExecSpec *spec);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExecSpec *, exec_spec_free);

/* Writes spec as JSON to fd (from its current offset). */
int exec_spec_write(const ExecSpec *spec, int fd);
/* Reads and validates a spec from fd (from offset 0); -EINVAL (logged) if malformed. */
int exec_spec_read(int fd, ExecSpec **ret);
