/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "log.h"
#include "manager-listen.h"
#include "manager.h"
#include "quilt-build.h"

static const char *arg_config = NULL;

static void help(void) {
        printf("Usage: quiltd [OPTIONS]\n"
               "\n"
               "The Quilt daemon: runs isolated containers for agents and people, serving the\n"
               "quilt CLI over gRPC and the SDK over HTTP/JSON. Normally started by systemd\n"
               "through quilt.socket and quilt-http.socket.\n"
               "\n"
               "  -c --config=FILE       Configuration file (default: %s)\n"
               "     --log-level=LEVEL   debug, info, notice, warning or err (default: info)\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "\n"
               "See quiltd(8).\n",
               QUILT_CONFIG_FILE);
}

static int parse_log_level(const char *s) {
        static const char *const names[] = {
                [LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i] && streq(names[i], s))
                        return (int) i;
        return -EINVAL;
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_LOG_LEVEL };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        int c, level;

        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_LOG_LEVEL:
                        level = parse_log_level(optarg);
                        if (level < 0)
                                return log_error_errno(level, "Invalid log level: %s", optarg);
                        log_set_max_level(level);
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("quiltd %s\n", QUILT_VERSION);
                        return 0;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }

        if (optind < argc)
                return log_error_errno(EINVAL, "quiltd takes no positional arguments.");
        return 1;
}

static int load_config(QuiltConfig **ret) {
        _cleanup_(config_freep) QuiltConfig *c = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        r = config_new(&c);
        if (r < 0)
                return log_oom();

        r = config_load(c, arg_config ?: QUILT_CONFIG_FILE, &error);
        if (r < 0)
                return log_error_errno(r, "Bad configuration: %s", error ?: strerror(-r));

        r = config_verify(c, &error);
        if (r < 0)
                return log_error_errno(r, "Bad configuration: %s", error ?: strerror(-r));

        *ret = TAKE_PTR(c);
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        QuiltConfig *config = NULL;
        sigset_t mask;
        int r;

        log_parse_environment();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        umask(0022);

        /* Before any thread exists: the threads grpc starts inherit this mask, so these
         * signals reach only the event loop's signalfd. A client that hangs up mid-reply
         * must not kill the daemon. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        (void) signal(SIGPIPE, SIG_IGN);

        r = load_config(&config);
        if (r < 0)
                return r;

        r = manager_new(config, &m);
        if (r < 0)
                return r;

        /* Also before any thread: this edits the environment. */
        r = manager_collect_activation_fds(m);
        if (r < 0)
                return r;

        r = manager_startup(m);
        if (r < 0)
                return r;

        return manager_run(m);
}

int main(int argc, char *argv[]) {
        int r;

        r = run(argc, argv);
        if (r < 0)
                (void) sd_notifyf(false, "STATUS=Failed to start: %s\nERRNO=%d", strerror(-r), -r);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
