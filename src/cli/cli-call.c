/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Errors, RPC calls and JSON output: every way the CLI talks back to the user about the
 * daemon goes through here, so that every failure looks the same. */

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "proto-json.h"

static void vprint_error(Cli *cli, const char *format, va_list ap) {
        fputs("quilt: ", stderr);
        if (!isempty(cli->verb))
                fprintf(stderr, "%s: ", cli->verb);
        vfprintf(stderr, format, ap);
        fputc('\n', stderr);
}

int cli_fail(Cli *cli, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        vprint_error(cli, format, ap);
        va_end(ap);
        return CLI_EXIT_FAILURE;
}

int cli_usage(Cli *cli, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        vprint_error(cli, format, ap);
        va_end(ap);
        return CLI_EXIT_USAGE;
}

int cli_not_supported(Cli *cli, const char *what) {
        if (isempty(what))
                return cli_fail(cli, "not supported by this quiltd yet");
        return cli_fail(cli, "%s: not supported by this quiltd yet", what);
}

int cli_getopt_error(Cli *cli, int c, char *argv[]) {
        /* getopt_long() leaves the offending token at argv[optind - 1] for long options and
         * for missing arguments; an unknown short option is only known through optopt
         * (inside a cluster such as "-qx", optind has not moved past it). */
        const char *token = optind > 0 ? argv[optind - 1] : NULL;
        bool is_long = token && startswith(token, "--");
        size_t len = is_long ? strcspn(token, "=") : 0;

        if (c == ':') {
                if (is_long)
                        return cli_usage(cli, "option '%.*s' requires an argument", (int) len, token);
                return cli_usage(cli, "option '-%c' requires an argument", optopt);
        }

        if (optopt == 0 && is_long)
                return cli_usage(cli, "unrecognized or ambiguous option '%.*s'", (int) len, token);
        if (is_long && token[len] == '=')
                return cli_usage(cli, "option '%.*s' does not take an argument", (int) len, token);
        if (optopt > 0 && optopt < 0x80)
                return cli_usage(cli, "invalid option '-%c'", optopt);
        return cli_usage(cli, "invalid option '%s'", strempty(token));
}

/* Server messages may span lines; the CLI promises one line per error. */
static void print_one_line(FILE *f, const char *s) {
        for (; *s; s++)
                fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static const ProtobufCFieldDescriptor *find_scalar_field(const ProtobufCMessageDescriptor *d, const char *name,
                                                         ProtobufCType type) {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, name);

        if (!f || f->type != type || f->label == PROTOBUF_C_LABEL_REPEATED)
                return NULL;
        return f;
}

/* The original service reports many failures as OK with success=false and an
 * error_message; those are failures for the user all the same. */
static bool reply_unsuccessful(const ProtobufCMessage *reply, const char **ret_message) {
        const ProtobufCFieldDescriptor *fs, *fm;
        const char *msg = NULL;

        fs = find_scalar_field(reply->descriptor, "success", PROTOBUF_C_TYPE_BOOL);
        if (!fs || *(const protobuf_c_boolean *) ((const char *) reply + fs->offset))
                return false;

        fm = find_scalar_field(reply->descriptor, "error_message", PROTOBUF_C_TYPE_STRING);
        if (fm)
                msg = *(char *const *) ((const char *) reply + fm->offset);
        *ret_message = isempty(msg) ? "request failed" : msg;
        return true;
}

static int cli_connect(Cli *cli) {
        int r;

        if (cli->client)
                return 0;

        r = quilt_client_new(cli->host, cli->token, &cli->client);
        if (r == -EINVAL)
                return cli_usage(cli, "invalid daemon address '%s' (expected unix:PATH or tcp:HOST:PORT)", cli->host);
        if (r < 0)
                return cli_fail(cli, "cannot set up a client for %s: %s", cli->host, strerror(-r));
        return 0;
}

/* Prints a call's error status, the same way for unary calls and streams. */
int cli_report_status(Cli *cli, QuiltStatusCode code, const char *message) {
        const char *name = quilt_status_code_to_string(code);

        if (code == QUILT_STATUS_UNAVAILABLE) {
                fprintf(stderr, "quilt: cannot reach quiltd at %s: ", cli->host);
                print_one_line(stderr, isempty(message) ? "unavailable" : message);
                fputc('\n', stderr);
                return CLI_EXIT_FAILURE;
        }

        fprintf(stderr, "quilt: %s: ", cli->verb);
        print_one_line(stderr, isempty(message) ? "request failed" : message);
        if (name)
                fprintf(stderr, " (%s)\n", name);
        else
                fprintf(stderr, " (status %d)\n", (int) code);
        return CLI_EXIT_FAILURE;
}

int cli_stream_open(Cli *cli, const char *method, const ProtobufCMessage *request, QuiltStream **ret) {
        int r;

        r = cli_connect(cli);
        if (r != 0)
                return r;
        r = quilt_client_stream_open(cli->client, method, request, ret);
        if (r < 0)
                return cli_fail(cli, "calling %s: %s", method, strerror(-r));
        return 0;
}

int cli_stream_recv(Cli *cli, QuiltStream *s, uint64_t timeout_usec, ProtobufCMessage **ret) {
        QuiltStatusCode code;
        const char *message;
        int r;

        r = quilt_client_stream_recv(s, NULL, timeout_usec, ret);
        if (r >= 0 || r == -ETIMEDOUT)
                return r;
        if (r != -EREMOTEIO) {
                (void) cli_fail(cli, "reading the stream: %s", strerror(-r));
                return -CLI_EXIT_FAILURE;
        }
        quilt_client_stream_status(s, &code, &message);
        return -cli_report_status(cli, code, message);
}

int cli_call(Cli *cli, const char *method, const ProtobufCMessage *request, CliCallFlags flags,
             ProtobufCMessage **ret_reply) {
        _cleanup_free_ char *message = NULL;
        _cleanup_reply_ ProtobufCMessage *reply = NULL;
        QuiltStatusCode code = QUILT_STATUS_UNKNOWN;
        const char *unsuccessful;
        int r;

        r = cli_connect(cli);
        if (r != 0)
                return r;

        r = quilt_client_call(cli->client, method, request, cli->timeout_usec, &reply, &code, &message);
        if (r < 0)
                return cli_fail(cli, "calling %s: %s", method, strerror(-r));

        if (code == QUILT_STATUS_DEADLINE_EXCEEDED && (flags & CLI_CALL_DEADLINE_OK))
                return CLI_CALL_TIMED_OUT;
        if (code != QUILT_STATUS_OK && (flags & CLI_CALL_QUIET))
                return CLI_EXIT_FAILURE;
        if (code != QUILT_STATUS_OK)
                return cli_report_status(cli, code, message);
        if (!reply)
                return cli_fail(cli, "%s: empty reply from quiltd", method);

        if (!(flags & CLI_CALL_ALLOW_UNSUCCESSFUL) && reply_unsuccessful(reply, &unsuccessful)) {
                if (flags & CLI_CALL_QUIET)
                        return CLI_EXIT_FAILURE;
                fprintf(stderr, "quilt: %s: ", cli->verb);
                print_one_line(stderr, unsuccessful);
                fputc('\n', stderr);
                return CLI_EXIT_FAILURE;
        }

        *ret_reply = TAKE_PTR(reply);
        return 0;
}

int cli_print_json(Cli *cli, const ProtobufCMessage *m) {
        json_auto_t *j = NULL;

        j = proto_to_json(m);
        if (!j)
                return cli_fail(cli, "out of memory");
        if (json_dumpf(j, stdout, JSON_INDENT(2)) < 0)
                return cli_fail(cli, "cannot write JSON output");
        fputc('\n', stdout);
        return 0;
}

int cli_print_json_line(Cli *cli, const ProtobufCMessage *m) {
        json_auto_t *j = NULL;

        j = proto_to_json(m);
        if (!j)
                return cli_fail(cli, "out of memory");
        if (json_dumpf(j, stdout, JSON_COMPACT) < 0)
                return cli_fail(cli, "cannot write JSON output");
        fputc('\n', stdout);
        return 0;
}

void cli_done(Cli *cli) {
        cli->client = quilt_client_free(cli->client);
        cli->host = mfree(cli->host);
}
