/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the quilt CLI's command files share: the context of one invocation, the verb
 * table entry, the RPC call wrapper that turns every failure into one line on stderr, and
 * small helpers for arguments, tables, times and JSON output.
 *
 * Exit statuses: a verb returns the process's exit status, never a negative errno:
 * CLI_EXIT_SUCCESS, CLI_EXIT_FAILURE (the request failed; the reason is already printed),
 * CLI_EXIT_USAGE (bad arguments; already printed), or for exec the command's status.
 * Helpers that print their own error follow the same rule (0 or an exit status), so that
 * "r = cli_call(...); if (r != 0) return r;" reads naturally. Pure parsing helpers return
 * 0 or a negative errno and leave the message to the caller, which knows the option. */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "macro.h"
#include "quilt-client.h"
#include "quilt.pb-c.h"

enum {
        CLI_EXIT_SUCCESS = 0,
        CLI_EXIT_FAILURE = 1,
        CLI_EXIT_USAGE = 2,
};

/* Default RPC deadline (the original CLI's request timeout). Commands that wait for the
 * daemon by design (exec, stop with a long grace period) adjust it unless --timeout was
 * given. */
#define CLI_DEFAULT_TIMEOUT_USEC (60 * USEC_PER_SEC)

typedef struct Cli {
        char *host;            /* resolved address, e.g. "unix:/run/quilt/quilt.sock" */
        const char *token;     /* NULL: $QUILT_TOKEN, if set, is used by the client */
        bool json;             /* global --json */
        uint64_t timeout_usec; /* RPC deadline; 0 = none */
        bool timeout_set;      /* --timeout was given explicitly */
        QuiltClient *client;   /* connected on first call */
        char verb[64];         /* "volume create", for messages */
} Cli;

typedef int (*CliVerbRun)(Cli *cli, int argc, char *argv[]);

typedef struct CliVerb {
        const char *name;
        const char *alias;   /* or NULL */
        CliVerbRun run;
        const char *summary; /* one line for --help; NULL hides the verb */
} CliVerb;

/* Looks up argv[0] in verbs and runs it with argv (argv[0] is the verb). group is the
 * group's name ("volume") for messages, help prints the group's --help text. */
int cli_dispatch(Cli *cli, const char *group, const CliVerb *verbs, size_t n_verbs, int argc, char *argv[],
                 void (*help)(FILE *f));
void cli_print_verb_list(FILE *f, const CliVerb *verbs, size_t n_verbs);

/* ---- errors (cli-call.c) ---- */

/* "quilt: <verb>: <message>" on stderr; returns CLI_EXIT_FAILURE. */
int cli_fail(Cli *cli, const char *format, ...) _printf_(2, 3);
/* "quilt: <verb>: <message>" on stderr; returns CLI_EXIT_USAGE. */
int cli_usage(Cli *cli, const char *format, ...) _printf_(2, 3);
/* For a command or option that has no RPC or field in this quiltd: says so, returns
 * CLI_EXIT_FAILURE. what is "" for the whole command, or e.g. "--follow". */
int cli_not_supported(Cli *cli, const char *what);
/* Returned by option parsers after --help was printed; the verb then exits successfully. */
#define CLI_HELP_SHOWN (-1)

/* Option parsing for verbs that take only -h/--help and --json (when json_ok) and at most
 * max_args positional arguments (at least min_args), which are left at argv[optind...].
 * Returns 0, CLI_HELP_SHOWN, or CLI_EXIT_USAGE after printing why. */
int cli_parse_simple(Cli *cli, int argc, char *argv[], const char *usage, bool json_ok, int min_args,
                     int max_args);

/* Option parsing for verbs that address one container: -n/--by-name (for compatibility),
 * --json, -h/--help, and CONTAINER (optional unless required). *ret_container is NULL when
 * an optional CONTAINER was not given; ret_by_name may be NULL. Returns 0, CLI_HELP_SHOWN,
 * or CLI_EXIT_USAGE after printing why. */
int cli_parse_container_args(Cli *cli, int argc, char *argv[], const char *usage, bool required,
                             const char **ret_container, bool *ret_by_name);

/* Turns getopt_long()'s '?' and ':' (optstring starting with ':' or "+:", opterr = 0)
 * into a one-line usage error naming the option; returns CLI_EXIT_USAGE. */
int cli_getopt_error(Cli *cli, int c, char *argv[]);

/* ---- RPC calls (cli-call.c) ---- */

typedef enum CliCallFlags {
        /* Do not treat a reply whose "success" field is false as a failure (exec, where
         * success=false just means a non-zero exit status). */
        CLI_CALL_ALLOW_UNSUCCESSFUL = 1 << 0,
        /* Print nothing on failure (best-effort calls such as forwarding a signal). */
        CLI_CALL_QUIET = 1 << 1,
        /* A call that ran into its deadline returns CLI_CALL_TIMED_OUT without a message,
         * for callers that wait in slices (quilt run). */
        CLI_CALL_DEADLINE_OK = 1 << 2,
} CliCallFlags;

#define CLI_CALL_TIMED_OUT (-ETIMEDOUT)

/* Calls a unary RPC. Returns 0 with the reply in *ret_reply, or prints
 * "quilt: <verb>: <message> (<CODE>)" (or "quilt: cannot reach quiltd at <host>: …") and
 * returns CLI_EXIT_FAILURE. A reply with a "success" field that is false counts as a
 * failure with its "error_message", unless CLI_CALL_ALLOW_UNSUCCESSFUL. The deadline is
 * cli->timeout_usec. */
int cli_call(Cli *cli, const char *method, const ProtobufCMessage *request, CliCallFlags flags,
             ProtobufCMessage **ret_reply);

/* A streaming call (src/shared/quilt-client.h). cli_stream_open() returns 0 with the
 * stream, or an exit status after printing why. cli_stream_recv() returns 1 with a
 * message, 0 at the end of the stream (OK), -ETIMEDOUT when timeout_usec (0: none) passed,
 * or minus an exit status after printing the error like cli_call() does. The stream is
 * freed with quilt_client_stream_free() before cli_done(). */
int cli_stream_open(Cli *cli, const char *method, const ProtobufCMessage *request, QuiltStream **ret);
int cli_stream_recv(Cli *cli, QuiltStream *s, uint64_t timeout_usec, ProtobufCMessage **ret);
/* Prints a call's error status as cli_call() does ("quilt: <verb>: <message> (<CODE>)", or
 * that quiltd cannot be reached); returns CLI_EXIT_FAILURE. */
int cli_report_status(Cli *cli, QuiltStatusCode code, const char *message);

/* Prints m as indented JSON on stdout. Returns 0 or CLI_EXIT_FAILURE. */
int cli_print_json(Cli *cli, const ProtobufCMessage *m);
/* Prints m as one line of compact JSON (NDJSON, for streams). */
int cli_print_json_line(Cli *cli, const ProtobufCMessage *m);

/* Prints a failed call's status as cli_call() does ("quilt: <verb>: <message> (<CODE>)",
 * or "cannot reach quiltd") and returns CLI_EXIT_FAILURE. */
int cli_report_status(Cli *cli, QuiltStatusCode code, const char *message);

static inline void cli_proto_freep(ProtobufCMessage **m) {
        if (*m)
                protobuf_c_message_free_unpacked(*m, NULL);
}
#define _cleanup_reply_ _cleanup_(cli_proto_freep)

void cli_done(Cli *cli);

/* ---- memory for hand-built requests (cli-arena.c) ---- */

/* Requests are built from argv strings plus a few allocations; they are never freed with
 * protobuf_c_message_free_unpacked() (it would free argv), so the allocations are kept
 * here and released together. */
typedef struct Arena {
        void **ptrs;
        size_t n, allocated;
} Arena;

void *arena_alloc0(Arena *a, size_t size);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
void arena_done(Arena *a);
#define _cleanup_arena_ _cleanup_(arena_done)

/* Appends key=value to a map<string,string> field whose entry type is d (e.g.
 * &quilt__create_container_request__environment_entry__descriptor), replacing the value
 * of an existing key. key and value are not copied: they must live as long as the
 * request (argv, or strings from a). *entries must have room for one more entry. */
int arena_map_put(Arena *a, const ProtobufCMessageDescriptor *d, void **entries, size_t *n, const char *key,
                  const char *value);

/* ---- argument parsing (cli-parse.c) ---- */

/* Strict integer parsing: the whole string, no sign for unsigned, range-checked.
 * -EINVAL or -ERANGE. */
int parse_int32(const char *s, int32_t min, int32_t max, int32_t *ret);
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
int parse_uint64(const char *s, uint64_t *ret);
/* A finite decimal number in [min, max]. */
int parse_double(const char *s, double min, double max, double *ret);
/* Durations ("30", "30s", "500ms", "2min") are parsed with parse_duration_usec() from
 * config.h, the same syntax as quiltd.conf. */

/* "KEY=VALUE": the key must be non-empty; the value may be empty. Points into s. */
int parse_assignment(const char *s, size_t *ret_key_len, const char **ret_value);

/* "-v SRC:DST[:OPTS]" and "--mount type=…,source=…,target=…" into m, which must be
 * initialised. Strings are allocated from a. On -EINVAL *ret_error says why (static). */
int parse_volume_spec(Arena *a, const char *spec, Quilt__Mount *m, const char **ret_error);
int parse_mount_spec(Arena *a, const char *spec, Quilt__Mount *m, const char **ret_error);

/* "uid[:gid]" or "user[:group]": non-empty parts, at most one colon. */
int parse_user_spec(const char *s);

/* A memory size in MiB: "512", "512m", "2g" (MiB and GiB only), at least 1. */
int parse_memory_mb(const char *s, int32_t *ret);

/* A point in time for quilt logs --since/--until, in µs since the epoch: a duration ago
 * ("10m", "1h 30min", "90" seconds), "@UNIX-SECONDS[.FRACTION]", RFC 3339
 * ("2025-06-01T12:00:00.5Z", "...+02:00"), or "YYYY-MM-DD[( |T)HH:MM[:SS[.FRACTION]]]" in
 * local time. now is the current time in µs. -EINVAL or -ERANGE. */
int parse_log_time(const char *s, uint64_t now, uint64_t *ret_usec);

/* "TERM", "SIGTERM", "sigterm" or "15" (1 to _NSIG-1) into the signal's number. */
int parse_signal(const char *s, int *ret);
/* "TERM" for SIGTERM; NULL for signals without a name (real-time ones). */
const char *signal_to_string(int sig);

/* ---- quilt create's and quilt run's options (cli-create-options.c) ---- */

/* Parses argv into req (initialised by the caller; strings point into argv or a). The
 * command is what follows the options. run refuses --async-mode and --json and requires a
 * command. Returns 0, CLI_HELP_SHOWN after printing usage, or an exit status after
 * printing why (CLI_EXIT_USAGE naming the option). */
int cli_parse_create_options(Cli *cli, int argc, char *argv[], bool run, const char *usage, Arena *a,
                             Quilt__CreateContainerRequest *req);

/* ---- output formatting (cli-format.c) ---- */

#define CLI_TIME_MAX 64

/* "2025-06-01 12:00:00" in local time, or "-" for 0. */
const char *format_time_sec(char buf[static CLI_TIME_MAX], uint64_t sec);
#define CLI_LOG_TIME_MAX 40
/* "2025-06-01T14:00:00.123456+02:00": RFC 3339 in local time, µs. */
const char *format_log_time(char buf[static CLI_LOG_TIME_MAX], uint64_t usec);
/* "5 seconds ago", "3 minutes ago", …, or "-" for 0. */
const char *format_time_ago(char buf[static CLI_TIME_MAX], uint64_t sec);
/* "1h 2min 3s". */
const char *format_duration(char buf[static CLI_TIME_MAX], uint64_t sec);
/* "512.0 MiB". */
const char *format_bytes(char buf[static CLI_TIME_MAX], uint64_t bytes);
/* "RUNNING", … */
const char *container_status_to_string(Quilt__ContainerStatus s);

/* How a container ended or what it does now, for tables and status: "running",
 * "exited (3)", "exited (signal 9, oom)", "failed: REASON". */
const char *format_container_state(char *buf, size_t size, Quilt__ContainerStatus status, int32_t exit_code,
                                   int32_t exit_signal, bool oom_killed, const char *error);
/* An argv for display, each word quoted for a POSIX shell only where it needs it:
 * "sh -c 'echo a b'". Never used to run anything. NULL on OOM; free() it. */
char *format_argv_quoted(char *const *argv, size_t n);
/* The status a shell would report for a container's command: the exit code, 128+N for
 * signal N, 125 (as podman) when the command never ran. */
int container_exit_status(Quilt__ContainerStatus status, int32_t exit_code, int32_t exit_signal);

/* Prints "  key: value" lines of a map<string,string> field, sorted by key. */
void print_string_map(FILE *f, const char *indent, void *const *entries, size_t n,
                      const ProtobufCMessageDescriptor *d);
/* The value of key in a map<string,string> field, or NULL. */
const char *string_map_get(void *const *entries, size_t n, const ProtobufCMessageDescriptor *d,
                           const char *key);

/* ---- log entries (cli-logs.c) ---- */

/* Prints LogEntry messages: stdout entries on stdout, stderr entries on stderr, system
 * (lifecycle) entries on stderr as "-- message --"; the exact bytes (raw) when there are
 * any; no newline after a partial entry. */
typedef struct LogPrinter {
        bool timestamps;    /* an RFC 3339 time before each line */
        bool flush;         /* after every entry (following) */
        FILE *last;         /* flushed before writing to the other one */
        bool mid_line[3];   /* stdout, stderr, system: a partial line is open */
} LogPrinter;

void log_printer_print(LogPrinter *p, const Quilt__LogEntry *e);
void log_printer_done(LogPrinter *p);

/* Prints a container's log as req asks (StreamContainerLogs, or GetContainerLogs from a
 * quiltd without it). Returns an exit status, after printing why on failure. */
int cli_print_logs(Cli *cli, const Quilt__GetContainerLogsRequest *req, LogPrinter *printer);

/* ---- tables (cli-table.c) ---- */

typedef struct Table Table;

/* A table with n columns; the varargs are the n header strings. */
Table *table_new(size_t n, ...);
/* Adds a row of n strings (copied; NULL prints as ""). -ENOMEM. */
int table_add_row(Table *t, ...);
/* Prints the table with left-aligned columns two spaces apart, the last one unpadded. */
void table_print(Table *t, FILE *f);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);
#define _cleanup_table_ _cleanup_(table_freep)

/* ---- the verbs ---- */

/* cli-system.c */
int verb_health(Cli *cli, int argc, char *argv[]);
int verb_info(Cli *cli, int argc, char *argv[]);

/* cli-events.c */
int verb_events(Cli *cli, int argc, char *argv[]);
int verb_metrics(Cli *cli, int argc, char *argv[]);
int verb_system(Cli *cli, int argc, char *argv[]);

/* cli-create.c */
int verb_create(Cli *cli, int argc, char *argv[]);

/* cli-run.c */
int verb_run(Cli *cli, int argc, char *argv[]);
int verb_wait(Cli *cli, int argc, char *argv[]);

/* cli-ps.c */
int verb_ps(Cli *cli, int argc, char *argv[]);

/* cli-container.c */
int verb_start(Cli *cli, int argc, char *argv[]);
int verb_stop(Cli *cli, int argc, char *argv[]);
int verb_kill(Cli *cli, int argc, char *argv[]);
int verb_rm(Cli *cli, int argc, char *argv[]);
int verb_status(Cli *cli, int argc, char *argv[]);
int verb_inspect(Cli *cli, int argc, char *argv[]);
int verb_logs(Cli *cli, int argc, char *argv[]);
/* cli-exec.c: -e/--env, -w/--workdir or -u/--user (c) of exec and shell, checked and put into
 * req; req->environment must have room for one entry per argument. Returns CLI_EXIT_SUCCESS,
 * or the exit status after reporting a bad value. */
int cli_exec_process_option(Cli *cli, Arena *arena, Quilt__ExecContainerRequest *req, int c, const char *arg);
int verb_shell(Cli *cli, int argc, char *argv[]);
int verb_cp(Cli *cli, int argc, char *argv[]);

/* cli-exec.c */
int verb_exec(Cli *cli, int argc, char *argv[]);
/* Shared with "icc exec": runs the already-parsed exec request and prints its result. */
int cli_exec_run(Cli *cli, const Quilt__ExecContainerRequest *req, bool json);

/* How quilt exec exits when --timeout ended the command: as coreutils' timeout(1). */
#define CLI_EXIT_EXEC_TIMEOUT 124

/* cli-exec-stream.c: runs req over ExecContainerStream, or with interactive over
 * ExecInteractive (stdin, and with req->tty a raw terminal session), writing the output as
 * it arrives. Returns the exit status, or CLI_EXEC_FALLBACK (nothing printed) when quiltd
 * does not have the RPC. */
#define CLI_EXEC_FALLBACK (-ENOSYS)
int cli_exec_stream(Cli *cli, const Quilt__ExecContainerRequest *req, bool interactive);

/* cli-volume.c, cli-network.c, cli-image.c, cli-monitor.c, cli-cleanup.c */
int verb_volume(Cli *cli, int argc, char *argv[]);
int verb_network(Cli *cli, int argc, char *argv[]);
int verb_icc(Cli *cli, int argc, char *argv[]);
int verb_image(Cli *cli, int argc, char *argv[]);
int verb_monitor(Cli *cli, int argc, char *argv[]);
int verb_cleanup(Cli *cli, int argc, char *argv[]);
