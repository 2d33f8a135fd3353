/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>

#include "container-spec.h"

/* The container's init: the monitor's clone, PID 1 of the new pid namespace. It talks to
 * the monitor over a SOCK_SEQPACKET socket, one message per packet:
 *
 *   monitor → init   "go"            init is in payload/: set up and start the command
 *                    "net"           (wait_network) quiltd has set up the network: the
 *                                    command may start; init waits for it after its own
 *                                    setup, just before starting the command
 *   init → monitor   "ok"            the command has been exec()ed (or, with an empty
 *                                    argv, the container is set up and waiting)
 *                    "fail <reason>" setup failed, init exits
 *                    "exit <code>"   the command exited; init exits with code
 *                    "signal <n>"    the command was killed; init exits with 128 + n
 */

#define INIT_MSG_GO "go"
#define INIT_MSG_NET "net"
#define INIT_MSG_OK "ok"
#define INIT_MSG_FAIL "fail "
#define INIT_MSG_EXIT "exit "
#define INIT_MSG_SIGNAL "signal "
#define INIT_MSG_MAX 1024

/* Docker's code for "the runtime failed"; a command that cannot be executed gives the
 * shell's 126 or 127. */
#define INIT_EXIT_SETUP_FAILED 125

/* The signals the monitor passes on to init, and init to the command. */
static inline bool signal_is_forwarded(int sig) {
        switch (sig) {
        case SIGTERM:
        case SIGINT:
        case SIGHUP:
        case SIGQUIT:
        case SIGUSR1:
        case SIGUSR2:
                return true;
        default:
                return false;
        }
}

/* Never returns. stdout_fd and stderr_fd are the write ends of the monitor's pipes. */
_noreturn_ void init_main(const ContainerSpec *spec, int sync_fd, int stdout_fd, int stderr_fd);

/* Records the first setup failure as "<what>: <strerror(error)>" for the "fail" report,
 * and returns -abs(error), in the manner of log_error_errno(). */
int init_fail(int error, const char *format, ...) _printf_(2, 3);
/* The first failure recorded by init_fail(), or "". */
const char *init_fail_message(void);
void init_fail_clear(void);

/* init-mounts.c: the root file system, /proc, /sys, /dev, masked and read-only paths,
 * pivot_root, the /etc files (init_write_etc_files()), and last the container's own binds,
 * volumes and tmpfs mounts. Needs the new mount namespace. */
int init_setup_mounts(const ContainerSpec *spec);

/* init-mounts.c: spec.etc_files into /etc, after pivot_root (so that nothing in the image,
 * a symlink say, can point the writes outside the container). Each file is written next to
 * its place and renamed over it. */
int init_write_etc_files(const ContainerSpec *spec);

/* init-user-mounts.c: the container's binds, volumes and tmpfs mounts. fds has one slot
 * per spec->mounts (initialised to -EBADF): _open() fills them before pivot_root,
 * _attach() mounts them inside the new root afterwards (and closes them). */
int init_user_mounts_open(const ContainerSpec *spec, int *fds);
int init_user_mounts_attach(const ContainerSpec *spec, int *fds);
void init_user_mounts_close(int *fds, size_t n);

/* init-security.c */
int init_setup_rlimits(const ContainerSpec *spec);

typedef struct InitCredentials {
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
} InitCredentials;

void init_credentials_done(InitCredentials *c);

/* Resolves spec.user against the container's /etc/passwd and /etc/group (after pivot_root). */
int init_resolve_user(const char *user, InitCredentials *ret);

/* Compiles the seccomp filter once, so that later init_drop_privileges() calls in this
 * process and its forks (execs) only load it. */
int init_seccomp_precompile(void);

/* Bounding set, groups and ids, capabilities, ambient set, no_new_privs and the seccomp
 * filter, in the order that keeps each step possible. */
int init_drop_privileges(const ContainerSpec *spec, const InitCredentials *creds);
