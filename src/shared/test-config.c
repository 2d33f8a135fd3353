/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "config.h"
#include "tests.h"

/* Writes content (length n, so that NUL bytes can be tested) into a new temporary file
 * with the given mode. Returns the path, which the caller unlinks and frees. */
static char *write_temp_n(const char *content, size_t n, mode_t mode) {
        char *path = strdup("/tmp/test-config-XXXXXX");
        int fd;

        if (!path)
                abort();
        fd = mkstemp(path);
        if (fd < 0 || fchmod(fd, mode) < 0 || write(fd, content, n) != (ssize_t) n) {
                perror("temporary file");
                abort();
        }
        close(fd);
        return path;
}

static char *write_temp(const char *content, mode_t mode) {
        return write_temp_n(content, strlen(content), mode);
}

static void remove_temp(char **path) {
        if (*path) {
                (void) unlink(*path);
                *path = mfree(*path);
        }
}

/* Loads content (written to a 0600 file) over the defaults. *ret_path gets the file name
 * so that error messages can be compared; it is already unlinked. */
static int load(const char *content, QuiltConfig **ret, char **ret_error, char **ret_path) {
        _cleanup_(config_freep) QuiltConfig *c = NULL;
        char *path;
        int r;

        if (config_new(&c) < 0)
                abort();
        path = write_temp(content, 0600);
        r = config_load(c, path, ret_error);
        (void) unlink(path);
        if (ret_path)
                *ret_path = path;
        else
                free(path);
        if (ret)
                *ret = TAKE_PTR(c);
        return r;
}

/* Checks that loading content fails with -EINVAL and a message that contains
 * "<path>:<line>: " followed by want. */
static void check_error(const char *content, unsigned line, const char *want, const char *name) {
        _cleanup_free_ char *error = NULL, *path = NULL, *prefix = NULL;
        int r;

        r = load(content, NULL, &error, &path);
        is_int(r, -EINVAL, name);
        if (asprintf(&prefix, "%s:%u: %s", path, line, want) < 0)
                abort();
        ok(error && strstr(error, prefix) == error, name);
        if (!error || strstr(error, prefix) != error)
                printf("#   got \"%s\", expected a message starting with \"%s\"\n", strempty(error), prefix);
}

static void test_defaults(void) {
        _cleanup_(config_freep) QuiltConfig *c = NULL;
        _cleanup_free_ char *error = NULL;

        is_int(config_new(&c), 0, "config_new");
        is_int(c->backend, QUILT_BACKEND_AUTO, "default Backend=auto");
        is_int(c->idle_exit_usec, 0, "default IdleExitSec=0");
        is_str(c->grpc_socket, "/run/quilt/quilt.sock", "default GRPCSocket=");
        is_str(c->http_socket, "/run/quilt/http.sock", "default HTTPSocket=");
        is_str(c->socket_group, "quilt", "default SocketGroup=");
        ok(!c->grpc_listen, "default GRPCListen= off");
        ok(!c->http_listen, "default HTTPListen= off");
        ok(!c->token, "default no token");
        is_str(c->state_dir, "/var/lib/quilt", "default StateDirectory=");
        is_str(c->runtime_dir, "/run/quilt", "default RuntimeDirectory=");
        is_str(c->bridge, "quilt0", "default Bridge=");
        is_int(c->subnet.network, 0x0a2a0000, "default Subnet= network 10.42.0.0");
        is_int(c->subnet.prefixlen, 16, "default Subnet= /16");
        ok(!c->container_api_access, "default ContainerAPIAccess=no");
        is_int(c->dns_port, 53, "default DNSPort=53");
        ok(!c->dns_upstreams, "default DNSUpstream= none (the host's resolv.conf)");
        is_int(config_verify(c, &error), 0, "defaults verify");
        ok(!error, "no error message for good defaults");
}

static void test_backend_strings(void) {
        is_str(quilt_backend_to_string(QUILT_BACKEND_AUTO), "auto", "backend auto to string");
        is_str(quilt_backend_to_string(QUILT_BACKEND_SYSTEMD), "systemd", "backend systemd to string");
        is_str(quilt_backend_to_string(QUILT_BACKEND_STANDALONE), "standalone",
               "backend standalone to string");
        ok(!quilt_backend_to_string(_QUILT_BACKEND_MAX), "backend out of range to string");
        ok(!quilt_backend_to_string((QuiltBackend) -1), "backend negative to string");
        is_int(quilt_backend_from_string("auto"), QUILT_BACKEND_AUTO, "backend from auto");
        is_int(quilt_backend_from_string("systemd"), QUILT_BACKEND_SYSTEMD, "backend from systemd");
        is_int(quilt_backend_from_string("standalone"), QUILT_BACKEND_STANDALONE, "backend from standalone");
        is_int(quilt_backend_from_string("Systemd"), _QUILT_BACKEND_INVALID, "backend names are case-sensitive");
        is_int(quilt_backend_from_string(""), _QUILT_BACKEND_INVALID, "backend from empty");
        is_int(quilt_backend_from_string(NULL), _QUILT_BACKEND_INVALID, "backend from NULL");
}

static void test_durations(void) {
        static const struct {
                const char *s;
                int r;
                uint64_t usec;
        } cases[] = {
                { "0", 0, 0 },
                { "30", 0, 30 * USEC_PER_SEC },
                { "30s", 0, 30 * USEC_PER_SEC },
                { "30sec", 0, 30 * USEC_PER_SEC },
                { "30 s", 0, 30 * USEC_PER_SEC },
                { "500ms", 0, 500 * USEC_PER_MSEC },
                { "500msec", 0, 500 * USEC_PER_MSEC },
                { "7us", 0, 7 },
                { "7usec", 0, 7 },
                { "2min", 0, 120 * USEC_PER_SEC },
                { "1h", 0, 3600 * USEC_PER_SEC },
                { "1h 30min", 0, 5400 * USEC_PER_SEC },
                { "1h30min5", 0, 5405 * USEC_PER_SEC },
                { "0ms", 0, 0 },
                { "18446744073709551615us", 0, UINT64_MAX },
                { "18446744073709551616us", -ERANGE, 0 },
                { "18446744073709551615s", -ERANGE, 0 },
                { "18446744073709551615us 1us", -ERANGE, 0 },
                { "99999999999999999999999", -ERANGE, 0 },
                { "", -EINVAL, 0 },
                { "   ", -EINVAL, 0 },
                { "abc", -EINVAL, 0 },
                { "s", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "+5", -EINVAL, 0 },
                { "1.5s", -EINVAL, 0 },
                { "10x", -EINVAL, 0 },
                { "10 m", 0, 600 * USEC_PER_SEC },
                { "1h30m", 0, 5400 * USEC_PER_SEC },
                { "2d", 0, 2 * 86400 * USEC_PER_SEC },
                { "10mo", -EINVAL, 0 },
                { "10seconds", -EINVAL, 0 },
                { "5s,", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *name = NULL;
                uint64_t u = 12345;
                int r;

                if (asprintf(&name, "parse_duration_usec(\"%s\")", cases[i].s) < 0)
                        abort();
                r = parse_duration_usec(cases[i].s, &u);
                is_int(r, cases[i].r, name);
                if (cases[i].r == 0)
                        ok(u == cases[i].usec, name);
                else
                        ok(u == 12345, "result untouched on error");
        }
        ok(parse_duration_usec(NULL, &(uint64_t){ 0 }) == -EINVAL, "parse_duration_usec(NULL)");
}

static void test_full_file(void) {
        _cleanup_(config_freep) QuiltConfig *c = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        r = load("# a comment\n"
                 "; another comment\n"
                 "\n"
                 "[Daemon]\n"
                 "Backend=standalone\n"
                 "IdleExitSec = 5min\n"
                 "\n"
                 "[API]\n"
                 "  GRPCSocket=/run/q/grpc.sock\n"
                 "\tHTTPSocket=/run/q/http.sock\n"
                 "SocketGroup=agents\n"
                 "GRPCListen=127.0.0.1:50051\n"
                 "HTTPListen=[::1]:8080\n"
                 "Token=s3cr3t-T0ken_value.~\n"
                 "[Storage]\r\n"
                 "StateDirectory=/srv/quilt/state\r\n"
                 "RuntimeDirectory=/run/q\n",
                 &c, &error, NULL);
        is_int(r, 0, "full file loads");
        ok(!error, "no error for a good file");
        if (r < 0) {
                printf("#   %s\n", strempty(error));
                return;
        }
        is_int(c->backend, QUILT_BACKEND_STANDALONE, "Backend=standalone");
        ok(c->idle_exit_usec == 300 * USEC_PER_SEC, "IdleExitSec=5min");
        is_str(c->grpc_socket, "/run/q/grpc.sock", "GRPCSocket= (indented)");
        is_str(c->http_socket, "/run/q/http.sock", "HTTPSocket= (tab-indented)");
        is_str(c->socket_group, "agents", "SocketGroup=");
        is_str(c->grpc_listen, "127.0.0.1:50051", "GRPCListen=");
        is_str(c->http_listen, "[::1]:8080", "HTTPListen=");
        is_str(c->token, "s3cr3t-T0ken_value.~", "Token=");
        is_str(c->state_dir, "/srv/quilt/state", "StateDirectory= (CRLF line)");
        is_str(c->runtime_dir, "/run/q", "RuntimeDirectory=");
        is_int(config_verify(c, NULL), 0, "full file verifies");
}

static void test_values(void) {
        static const struct {
                const char *content;
                const char *listen;
        } listens[] = {
                { "[API]\nGRPCListen=localhost:1\nToken=x\n", "localhost:1" },
                { "[API]\nGRPCListen=0.0.0.0:65535\nToken=x\n", "0.0.0.0:65535" },
                { "[API]\nGRPCListen=[::]:50051\nToken=x\n", "[::]:50051" },
                { "[API]\nGRPCListen=[fe80::1:2]:443\nToken=x\n", "[fe80::1:2]:443" },
        };
        _cleanup_(config_freep) QuiltConfig *c = NULL;

        for (size_t i = 0; i < ELEMENTSOF(listens); i++) {
                _cleanup_(config_freep) QuiltConfig *l = NULL;

                is_int(load(listens[i].content, &l, NULL, NULL), 0, "listen address accepted");
                if (l)
                        is_str(l->grpc_listen, listens[i].listen, "listen address stored as written");
        }

        is_int(load("[Daemon]\nBackend=systemd\nBackend=auto\nIdleExitSec=1\nIdleExitSec=2\n", &c, NULL,
                    NULL),
               0, "repeated keys load");
        if (c) {
                is_int(c->backend, QUILT_BACKEND_AUTO, "the last Backend= wins");
                ok(c->idle_exit_usec == 2 * USEC_PER_SEC,
                   "the last IdleExitSec= wins (bare number = seconds)");
        }
        c = config_free(c);

        is_int(load("[API]\nSocketGroup=1000\n", &c, NULL, NULL), 0, "numeric SocketGroup=");
        if (c)
                is_str(c->socket_group, "1000", "numeric SocketGroup= stored");
        c = config_free(c);

        is_int(load("[Daemon]\n[API]\n[Storage]\n[Daemon]\nBackend=systemd\n", &c, NULL, NULL), 0,
               "empty and repeated sections are fine");
        if (c)
                is_int(c->backend, QUILT_BACKEND_SYSTEMD, "key after a repeated section");
        c = config_free(c);

        is_int(load("\xEF\xBB\xBF[Daemon]\nBackend=standalone\n", &c, NULL, NULL), 0,
               "UTF-8 BOM is skipped");
        if (c)
                is_int(c->backend, QUILT_BACKEND_STANDALONE, "key after a BOM-prefixed section");
        c = config_free(c);
        check_error("\xEF\xBB\xBF[Foo]\n", 1, "unknown section [Foo]", "unknown section after a BOM");

        /* inih's inline comments: ';' after whitespace ends the value. */
        is_int(load("[Daemon]\nBackend=systemd ; the host runs systemd\n", &c, NULL, NULL), 0,
               "inline comment");
        if (c)
                is_int(c->backend, QUILT_BACKEND_SYSTEMD, "inline comment is not part of the value");
        c = config_free(c);

        is_int(load("", &c, NULL, NULL), 0, "empty file loads");
        if (c)
                is_str(c->grpc_socket, "/run/quilt/quilt.sock", "empty file keeps defaults");
}

static void test_network(void) {
        _cleanup_(config_freep) QuiltConfig *c = NULL;
        _cleanup_free_ char *error = NULL;

        is_int(load("[Network]\nDNSPort=5353\nDNSUpstream=192.0.2.1 [2001:db8::1]:54\nDNSUpstream=127.0.0.1:5300\n",
                    &c, &error, NULL),
               0, "[Network] loads");
        if (c) {
                is_int(c->dns_port, 5353, "DNSPort= stored");
                ok(c->dns_upstreams && c->dns_upstreams[0] && streq(c->dns_upstreams[0], "192.0.2.1") &&
                           c->dns_upstreams[1] && streq(c->dns_upstreams[1], "[2001:db8::1]:54") &&
                           c->dns_upstreams[2] && streq(c->dns_upstreams[2], "127.0.0.1:5300") &&
                           !c->dns_upstreams[3],
                   "DNSUpstream= words and repeated keys add up, in order");
                is_int(config_verify(c, NULL), 0, "[Network] verifies");
        }
        c = config_free(c);

        is_int(load("[Network]\nDNSUpstream=192.0.2.1\nDNSUpstream=\nDNSPort=1\nDNSPort=\n", &c, NULL, NULL), 0,
               "[Network] empty assignments load");
        if (c) {
                ok(!c->dns_upstreams, "DNSUpstream= resets to the host's resolv.conf");
                is_int(c->dns_port, 53, "DNSPort= resets to 53");
        }

        check_error("[Network]\nDNSPort=0\n", 2, "DNSPort: invalid port '0', expected 1-65535", "DNSPort=0");
        check_error("[Network]\nDNSPort=65536\n", 2, "DNSPort: invalid port '65536'", "DNSPort= too big");
        check_error("[Network]\nDNSPort=dns\n", 2, "DNSPort: invalid port 'dns'", "DNSPort= not a number");
        check_error("[Network]\nDNSUpstream=1.1.1.1 dns.example\n", 2,
                    "DNSUpstream: invalid DNS server 'dns.example': not an IPv4 or IPv6 address",
                    "DNSUpstream= host name");
        check_error("[Network]\nDNSUpstream=192.0.2.1:99999\n", 2, "DNSUpstream: invalid DNS server '192.0.2.1:99999'",
                    "DNSUpstream= bad port");
}

static void test_empty_resets(void) {
        _cleanup_(config_freep) QuiltConfig *c = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        r = load("[Daemon]\n"
                 "Backend=systemd\nBackend=\n"
                 "IdleExitSec=10s\nIdleExitSec=\n"
                 "[API]\n"
                 "GRPCSocket=/x/g.sock\nGRPCSocket=\n"
                 "HTTPSocket=/x/h.sock\nHTTPSocket=\n"
                 "SocketGroup=wheel\nSocketGroup=\n"
                 "GRPCListen=127.0.0.1:1\nGRPCListen=\n"
                 "HTTPListen=127.0.0.1:2\nHTTPListen=\n"
                 "Token=abc\nToken=\n"
                 "[Storage]\n"
                 "StateDirectory=/x\nStateDirectory=\n"
                 "RuntimeDirectory=/y\nRuntimeDirectory=\n",
                 &c, &error, NULL);
        is_int(r, 0, "file with empty assignments loads");
        if (r < 0) {
                printf("#   %s\n", strempty(error));
                return;
        }
        is_int(c->backend, QUILT_BACKEND_AUTO, "Backend= resets");
        is_int(c->idle_exit_usec, 0, "IdleExitSec= resets");
        is_str(c->grpc_socket, "/run/quilt/quilt.sock", "GRPCSocket= resets");
        is_str(c->http_socket, "/run/quilt/http.sock", "HTTPSocket= resets");
        is_str(c->socket_group, "quilt", "SocketGroup= resets");
        ok(!c->grpc_listen, "GRPCListen= turns the listener off");
        ok(!c->http_listen, "HTTPListen= turns the listener off");
        ok(!c->token, "Token= clears the token");
        is_str(c->state_dir, "/var/lib/quilt", "StateDirectory= resets");
        is_str(c->runtime_dir, "/run/quilt", "RuntimeDirectory= resets");
}

static void test_errors(void) {
        char long_line[400];

        check_error("[Foo]\n", 1, "unknown section [Foo]", "unknown section");
        check_error("[Daemon]\nBackend=auto\n[daemon]\n", 3, "unknown section [daemon]",
                    "section names are case-sensitive");
        check_error("[API]\nGRPCSocket=/a\nFrobnicate=1\n", 3, "Frobnicate: unknown key in section [API]",
                    "unknown key");
        check_error("[Daemon]\nGRPCSocket=/a.sock\n", 2, "GRPCSocket: unknown key in section [Daemon]",
                    "key in the wrong section");
        check_error("[Daemon]\nbackend=auto\n", 2, "backend: unknown key", "keys are case-sensitive");
        check_error("Backend=auto\n", 1, "Backend: assignment outside of a section",
                    "key outside a section");
        check_error("[Daemon]\nBackend\n", 2, "syntax error", "line without '='");
        check_error("[Daemon\nBackend=auto\n", 1, "syntax error", "unterminated section header");
        check_error("[Daemon]\nBackend=auto\n  continued\n", 3, "syntax error",
                    "indented text is not a continuation line");
        check_error("[Daemon]\n\n\nBackend=docker\n", 4, "Backend: invalid backend 'docker'",
                    "bad Backend=");
        check_error("[Daemon]\nIdleExitSec=abc\n", 2, "IdleExitSec: invalid duration 'abc'",
                    "bad IdleExitSec=");
        check_error("[Daemon]\nIdleExitSec=-5s\n", 2, "IdleExitSec: invalid duration '-5s'",
                    "negative IdleExitSec=");
        check_error("[Daemon]\nIdleExitSec=99999999999999999999h\n", 2, "IdleExitSec: duration out of range",
                    "IdleExitSec= overflow");
        check_error("[API]\nGRPCSocket=run/quilt.sock\n", 2, "GRPCSocket: path must be absolute",
                    "relative GRPCSocket=");
        check_error("[API]\nHTTPSocket=/run/../etc/x.sock\n", 2, "HTTPSocket: path must be absolute",
                    "'..' in HTTPSocket=");
        check_error("[API]\nGRPCSocket=/run/quilt/"
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
                    2, "GRPCSocket: path too long for a unix socket", "socket path too long");
        check_error("[Storage]\nStateDirectory=var/lib/quilt\n", 2, "StateDirectory: path must be absolute",
                    "relative StateDirectory=");
        check_error("[Storage]\nRuntimeDirectory=..\n", 2, "RuntimeDirectory: path must be absolute",
                    "relative RuntimeDirectory=");
        check_error("[API]\nSocketGroup=bad group\n", 2, "SocketGroup: invalid group name 'bad group'",
                    "bad SocketGroup=");
        check_error("[API]\nSocketGroup=-x\n", 2, "SocketGroup: invalid group name '-x'",
                    "SocketGroup= starting with a dash");

        check_error("[API]\nGRPCListen=127.0.0.1\n", 2,
                    "GRPCListen: invalid address '127.0.0.1': expected HOST:PORT",
                    "listen address without a port");
        check_error("[API]\nGRPCListen=127.0.0.1:0\n", 2,
                    "GRPCListen: invalid address '127.0.0.1:0': port out of range", "port 0");
        check_error("[API]\nHTTPListen=127.0.0.1:65536\n", 2,
                    "HTTPListen: invalid address '127.0.0.1:65536': port out of range", "port 65536");
        check_error("[API]\nHTTPListen=127.0.0.1:999999\n", 2,
                    "HTTPListen: invalid address '127.0.0.1:999999': invalid port", "port with six digits");
        check_error("[API]\nHTTPListen=127.0.0.1:http\n", 2,
                    "HTTPListen: invalid address '127.0.0.1:http': invalid port", "service name as port");
        check_error("[API]\nHTTPListen=127.0.0.1:\n", 2,
                    "HTTPListen: invalid address '127.0.0.1:': invalid port", "empty port");
        check_error("[API]\nHTTPListen=127.0.0.1:+80\n", 2,
                    "HTTPListen: invalid address '127.0.0.1:+80': invalid port", "signed port");
        check_error("[API]\nGRPCListen=1.2.3:80\n", 2,
                    "GRPCListen: invalid address '1.2.3:80': host must be", "short IPv4 address");
        check_error("[API]\nGRPCListen=example.com:80\n", 2,
                    "GRPCListen: invalid address 'example.com:80': host must be",
                    "host name other than localhost");
        check_error("[API]\nGRPCListen=:80\n", 2, "GRPCListen: invalid address ':80': host must be",
                    "empty host");
        check_error("[API]\nGRPCListen=::1:80\n", 2,
                    "GRPCListen: invalid address '::1:80': IPv6 addresses must be written in brackets",
                    "IPv6 without brackets");
        check_error("[API]\nGRPCListen=[::1]80\n", 2,
                    "GRPCListen: invalid address '[::1]80': expected [IPV6]:PORT",
                    "IPv6 without ':' after ']'");
        check_error("[API]\nGRPCListen=[1.2.3.4]:80\n", 2,
                    "GRPCListen: invalid address '[1.2.3.4]:80': invalid IPv6", "IPv4 in brackets");
        check_error("[API]\nGRPCListen=[::1:80\n", 2,
                    "GRPCListen: invalid address '[::1:80': expected [IPV6]:PORT", "unterminated bracket");

        check_error("[API]\nToken=has space\n", 2, "Token: token must be", "Token= with a space");

        memset(long_line, 'a', sizeof(long_line));
        memcpy(long_line, "[API]\nToken=", strlen("[API]\nToken="));
        long_line[sizeof(long_line) - 2] = '\n';
        long_line[sizeof(long_line) - 1] = '\0';
        check_error(long_line, 2, "line too long", "over-long line refused, not split");

        {
                _cleanup_(config_freep) QuiltConfig *c = NULL;
                _cleanup_free_ char *error = NULL;
                char *path;
                static const char nul[] = "[Daemon]\nBackend=auto\0x\n";

                if (config_new(&c) < 0)
                        abort();
                path = write_temp_n(nul, sizeof(nul) - 1, 0600);
                is_int(config_load(c, path, &error), -EINVAL, "NUL byte refused");
                ok(error && strstr(error, ":2: line contains a NUL byte"),
                   "NUL byte message names the line");
                remove_temp(&path);
        }

        /* Only the first error is reported. */
        check_error("[Daemon]\nBackend=x\nIdleExitSec=y\n", 2, "Backend: invalid backend 'x'",
                    "first error wins");
        check_error("[Daemon]\nnonsense\nIdleExitSec=y\n", 2, "syntax error",
                    "first error wins (syntax first)");
        check_error("[Daemon]\nIdleExitSec=y\nnonsense\n", 2, "IdleExitSec: invalid duration 'y'",
                    "first error wins (value first)");
}

static void test_load_is_atomic(void) {
        _cleanup_(config_freep) QuiltConfig *c = NULL;
        _cleanup_free_ char *error = NULL;
        char *path;

        if (config_new(&c) < 0)
                abort();
        path = write_temp("[Daemon]\nBackend=systemd\n[API]\nGRPCSocket=/a/b.sock\nGRPCListen=nonsense\n",
                          0600);
        is_int(config_load(c, path, &error), -EINVAL, "bad file refused");
        is_int(c->backend, QUILT_BACKEND_AUTO, "a refused file changes nothing (Backend=)");
        is_str(c->grpc_socket, "/run/quilt/quilt.sock", "a refused file changes nothing (GRPCSocket=)");
        remove_temp(&path);

        /* A second file is loaded over the first. */
        error = mfree(error);
        path = write_temp("[Daemon]\nBackend=systemd\n", 0600);
        is_int(config_load(c, path, &error), 0, "first file");
        remove_temp(&path);
        path = write_temp("[API]\nSocketGroup=other\n", 0600);
        is_int(config_load(c, path, &error), 0, "second file");
        remove_temp(&path);
        is_int(c->backend, QUILT_BACKEND_SYSTEMD, "first file's value kept");
        is_str(c->socket_group, "other", "second file's value applied");
}

static void test_missing_files(void) {
        _cleanup_(config_freep) QuiltConfig *c = NULL;
        _cleanup_free_ char *error = NULL;
        struct stat st;

        if (config_new(&c) < 0)
                abort();
        is_int(config_load(c, "/nonexistent/quiltd.conf", &error), -EINVAL,
               "missing explicit file is an error");
        ok(error && strstr(error, "/nonexistent/quiltd.conf") && strstr(error, "not found"),
           "missing explicit file message names the file");

        if (stat(QUILT_CONFIG_FILE, &st) < 0 && errno == ENOENT) {
                error = mfree(error);
                is_int(config_load(c, NULL, &error), 0, "missing default file is fine (NULL)");
                ok(!error, "no message for a missing default file");
                is_int(config_load(c, QUILT_CONFIG_FILE, NULL), 0, "missing default file is fine (by name)");
        } else
                printf("# " QUILT_CONFIG_FILE " exists, not testing its absence\n");

        error = mfree(error);
        is_int(config_load(c, "/tmp", &error), -EINVAL, "a directory is refused");
        ok(error && strstr(error, "directory"), "directory message");
        is_int(config_load(c, "/nonexistent/x", NULL), -EINVAL, "ret_error may be NULL");
}

static void test_tokens(void) {
        _cleanup_(config_freep) QuiltConfig *c = NULL;
        _cleanup_free_ char *error = NULL, *content = NULL, *conf_path = NULL;
        char *token_path;

        /* TokenFile= with a trailing newline, mode 0600 */
        token_path = write_temp("tok-123\n", 0600);
        if (asprintf(&content, "[API]\nTokenFile=%s\nGRPCListen=127.0.0.1:50051\n", token_path) < 0)
                abort();
        is_int(load(content, &c, &error, NULL), 0, "TokenFile= loads");
        if (c) {
                is_str(c->token, "tok-123", "TokenFile= trailing newline stripped");
                is_int(config_verify(c, NULL), 0, "TCP listener with a token verifies");
        }
        c = config_free(c);
        content = mfree(content);
        remove_temp(&token_path);

        /* CRLF, group-readable is fine */
        token_path = write_temp("tok-456\r\n", 0640);
        if (asprintf(&content, "[API]\nTokenFile=%s\n", token_path) < 0)
                abort();
        is_int(load(content, &c, NULL, NULL), 0, "group-readable TokenFile= loads");
        if (c)
                is_str(c->token, "tok-456", "TokenFile= trailing CRLF stripped");
        c = config_free(c);
        content = mfree(content);

        /* Token=, then TokenFile= in the same file */
        if (asprintf(&content, "[API]\nToken=abc\n\nTokenFile=%s\n", token_path) < 0)
                abort();
        check_error(content, 4,
                    "TokenFile: Token= and TokenFile= are mutually exclusive (Token= is set on line 2)",
                    "Token= then TokenFile=");
        content = mfree(content);
        if (asprintf(&content, "[API]\nTokenFile=%s\nToken=abc\n", token_path) < 0)
                abort();
        check_error(content, 3,
                    "Token: Token= and TokenFile= are mutually exclusive (TokenFile= is set on line 2)",
                    "TokenFile= then Token=");
        content = mfree(content);

        /* An empty assignment in between clears the first one, so no conflict */
        if (asprintf(&content, "[API]\nToken=abc\nToken=\nTokenFile=%s\n", token_path) < 0)
                abort();
        is_int(load(content, &c, NULL, NULL), 0, "Token= reset, then TokenFile=");
        if (c)
                is_str(c->token, "tok-456", "TokenFile= wins after Token= was reset");
        c = config_free(c);
        content = mfree(content);
        if (asprintf(&content, "[API]\nTokenFile=%s\nTokenFile=\n", token_path) < 0)
                abort();
        is_int(load(content, &c, NULL, NULL), 0, "TokenFile= reset");
        if (c)
                ok(!c->token, "TokenFile= empty clears the token");
        c = config_free(c);
        content = mfree(content);
        remove_temp(&token_path);

        /* World-readable and world-writable token files are refused */
        token_path = write_temp("tok\n", 0644);
        if (asprintf(&content, "[API]\nTokenFile=%s\n", token_path) < 0)
                abort();
        check_error(content, 2, "TokenFile: '", "world-readable TokenFile= refused");
        error = mfree(error);
        is_int(load(content, NULL, &error, NULL), -EINVAL, "world-readable TokenFile= is -EINVAL");
        ok(error && strstr(error, "accessible by everyone (mode 0644)"),
           "world-readable message gives the mode");
        content = mfree(content);
        remove_temp(&token_path);

        token_path = write_temp("tok\n", 0602);
        if (asprintf(&content, "[API]\nTokenFile=%s\n", token_path) < 0)
                abort();
        error = mfree(error);
        is_int(load(content, NULL, &error, NULL), -EINVAL, "world-writable TokenFile= refused");
        ok(error && strstr(error, "accessible by everyone (mode 0602)"), "world-writable message");
        content = mfree(content);
        remove_temp(&token_path);

        /* Empty and newline-only token files */
        token_path = write_temp("", 0600);
        if (asprintf(&content, "[API]\nTokenFile=%s\n", token_path) < 0)
                abort();
        error = mfree(error);
        is_int(load(content, NULL, &error, NULL), -EINVAL, "empty TokenFile= refused");
        ok(error && strstr(error, "is empty"), "empty TokenFile= message");
        content = mfree(content);
        remove_temp(&token_path);

        token_path = write_temp("\n\n", 0600);
        if (asprintf(&content, "[API]\nTokenFile=%s\n", token_path) < 0)
                abort();
        error = mfree(error);
        is_int(load(content, NULL, &error, NULL), -EINVAL, "newline-only TokenFile= refused");
        ok(error && strstr(error, "is empty"), "newline-only TokenFile= message");
        content = mfree(content);
        remove_temp(&token_path);

        token_path = write_temp("two\nlines\n", 0600);
        if (asprintf(&content, "[API]\nTokenFile=%s\n", token_path) < 0)
                abort();
        error = mfree(error);
        is_int(load(content, NULL, &error, NULL), -EINVAL, "two-line TokenFile= refused");
        ok(error && strstr(error, "must contain one token") && !strstr(error, "lines"),
           "two-line TokenFile= message does not echo the content");
        content = mfree(content);
        remove_temp(&token_path);

        {
                char big[5000];

                memset(big, 'x', sizeof(big) - 1);
                big[sizeof(big) - 1] = '\0';
                token_path = write_temp(big, 0600);
                if (asprintf(&content, "[API]\nTokenFile=%s\n", token_path) < 0)
                        abort();
                error = mfree(error);
                is_int(load(content, NULL, &error, NULL), -EINVAL, "over-long TokenFile= refused");
                content = mfree(content);
                remove_temp(&token_path);
        }

        check_error("[API]\nTokenFile=/nonexistent/token\n", 2,
                    "TokenFile: cannot open '/nonexistent/token'", "missing TokenFile=");
        check_error("[API]\nTokenFile=token\n", 2, "TokenFile: path must be absolute",
                    "relative TokenFile=");
        check_error("[API]\nTokenFile=/tmp\n", 2, "TokenFile: '/tmp' is not a regular file",
                    "directory TokenFile=");

        /* Token= in a world-readable configuration file is no secret either */
        conf_path = write_temp("[API]\nToken=secret-value\n", 0644);
        if (config_new(&c) < 0)
                abort();
        error = mfree(error);
        is_int(config_load(c, conf_path, &error), -EINVAL, "Token= in a world-readable file refused");
        ok(error && strstr(error, ":2: Token: refusing a token in a file readable by everyone"),
           "world-readable Token= message");
        ok(error && !strstr(error, "secret-value"), "the message does not leak the token");
        ok(!c->token, "no token kept");
        (void) unlink(conf_path);
}

static void test_verify(void) {
        _cleanup_(config_freep) QuiltConfig *c = NULL;
        _cleanup_free_ char *error = NULL;

        is_int(load("[API]\nGRPCListen=127.0.0.1:50051\n", &c, NULL, NULL), 0,
               "GRPCListen= without a token loads");
        if (!c)
                return;
        is_int(config_verify(c, &error), -EINVAL, "GRPCListen= without a token fails verification");
        is_str(error, "GRPCListen= requires Token= or TokenFile=", "GRPCListen= without a token message");
        c = config_free(c);
        error = mfree(error);

        is_int(load("[API]\nHTTPListen=localhost:8080\n", &c, NULL, NULL), 0,
               "HTTPListen= without a token loads");
        is_int(config_verify(c, &error), -EINVAL, "HTTPListen= without a token fails verification");
        is_str(error, "HTTPListen= requires Token= or TokenFile=", "HTTPListen= without a token message");
        error = mfree(error);

        c->token = strdup("tok");
        is_int(config_verify(c, &error), 0, "HTTPListen= with a token verifies");
        ok(!error, "no message");

        c->grpc_listen = strdup("localhost:8080");
        is_int(config_verify(c, &error), -EINVAL, "same TCP address twice");
        ok(error && strstr(error, "must differ"), "same TCP address message");
        c->grpc_listen = mfree(c->grpc_listen);
        error = mfree(error);

        free(c->http_socket);
        c->http_socket = strdup(c->grpc_socket);
        is_int(config_verify(c, &error), -EINVAL, "same unix socket twice");
        ok(error && strstr(error, "GRPCSocket= and HTTPSocket= must differ"), "same unix socket message");
        free(c->http_socket);
        c->http_socket = strdup("/run/quilt/http.sock");
        error = mfree(error);

        free(c->state_dir);
        c->state_dir = strdup("relative");
        is_int(config_verify(c, &error), -EINVAL, "relative path set in code");
        ok(error && strstr(error, "StateDirectory=: path must be absolute"), "relative path message");
        free(c->state_dir);
        c->state_dir = strdup("/var/lib/quilt");
        error = mfree(error);

        c->backend = _QUILT_BACKEND_MAX;
        is_int(config_verify(c, &error), -EINVAL, "invalid backend set in code");
        c->backend = QUILT_BACKEND_AUTO;
        error = mfree(error);

        c->grpc_listen = strdup("nonsense");
        is_int(config_verify(c, &error), -EINVAL, "invalid listen address set in code");
        c->grpc_listen = mfree(c->grpc_listen);
        error = mfree(error);

        is_int(config_verify(c, NULL), 0, "ret_error may be NULL");
        ok(config_free(NULL) == NULL, "config_free(NULL)");
}

static void test_logs(void) {
        static const struct {
                const char *s;
                uint64_t bytes;
        } sizes[] = {
                { "0", 0 }, { "4096", 4096 }, { "512K", 512 * 1024 }, { "8M", 8 << 20 }, { "8mb", 8 << 20 },
                { "1G", UINT64_C(1) << 30 }, { "3KiB", 0 },
        };
        _cleanup_(config_freep) QuiltConfig *c = NULL;
        uint64_t v;

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                int r = parse_size_bytes(sizes[i].s, &v);

                if (sizes[i].bytes == 0 && !streq(sizes[i].s, "0"))
                        is_int(r, -EINVAL, sizes[i].s);
                else {
                        is_int(r, 0, sizes[i].s);
                        ok(v == sizes[i].bytes, sizes[i].s);
                }
        }
        is_int(parse_size_bytes("", &v), -EINVAL, "empty size");
        is_int(parse_size_bytes("-1", &v), -EINVAL, "negative size");
        is_int(parse_size_bytes("99999999999999999999", &v), -ERANGE, "size overflow");
        is_int(parse_size_bytes("17179869184G", &v), -ERANGE, "size overflow with unit");

        is_int(config_new(&c), 0, "config_new");
        is_int(c->log_driver, QUILT_LOG_DRIVER_AUTO, "default Logs.Driver=auto");
        ok(c->log_max_file_size == 8 << 20, "default Logs.MaxFileSize=8M");
        c = config_free(c);

        is_int(load("[Logs]\nDriver=file\nMaxFileSize=64K\n", &c, NULL, NULL), 0, "[Logs] loads");
        if (c) {
                is_int(c->log_driver, QUILT_LOG_DRIVER_FILE, "Driver=file");
                ok(c->log_max_file_size == 64 * 1024, "MaxFileSize=64K");
        }
        c = config_free(c);
        is_int(load("[Logs]\nDriver=journal\nMaxFileSize=0\n", &c, NULL, NULL), 0, "Driver=journal loads");
        if (c) {
                is_int(c->log_driver, QUILT_LOG_DRIVER_JOURNAL, "Driver=journal");
                ok(c->log_max_file_size == 0, "MaxFileSize=0 turns rotation off");
        }
        c = config_free(c);

        check_error("[Logs]\nDriver=syslog\n", 2, "Driver: invalid log driver 'syslog'", "unknown log driver");
        check_error("[Logs]\nMaxFileSize=lots\n", 2, "MaxFileSize: invalid size 'lots'", "bad size");
        check_error("[Logs]\nMaxFileSize=100\n", 2, "MaxFileSize: size '100' is below the minimum",
                    "size below the minimum");
        is_str(quilt_log_driver_to_string(QUILT_LOG_DRIVER_JOURNAL), "journal", "log driver to string");
        is_int(quilt_log_driver_from_string("File"), _QUILT_LOG_DRIVER_INVALID, "log driver names are case-sensitive");
}

static void test_network_subnet(void) {
        _cleanup_(config_freep) QuiltConfig *c = NULL;
        _cleanup_free_ char *error = NULL;
        char buf[IPV4_SUBNET_STRING_MAX];

        is_int(load("[Network]\nBridge=qbr7\nSubnet=192.168.77.0/29\nContainerAPIAccess=yes\n", &c, &error, NULL),
               0, "a [Network] section loads");
        is_str(c->bridge, "qbr7", "Bridge=qbr7");
        is_str(ipv4_subnet_to_string(&c->subnet, buf), "192.168.77.0/29", "Subnet=192.168.77.0/29");
        ok(c->container_api_access, "ContainerAPIAccess=yes");
        is_int(config_verify(c, &error), 0, "a /29 verifies");
        c = config_free(c);

        check_error("[Network]\nSubnet=10.42.0.1/16\n", 2,
                    "Subnet: invalid subnet '10.42.0.1/16': host bits are set (did you mean 10.42.0.0/16?)",
                    "Subnet= with host bits names the subnet that was meant");
        check_error("[Network]\nSubnet=10.42.0.0\n", 2, "Subnet: invalid subnet '10.42.0.0': expected ADDRESS/PREFIX",
                    "Subnet= without a prefix");
        check_error("[Network]\nSubnet=10.42.0.0/31\n", 2,
                    "Subnet: invalid subnet '10.42.0.0/31': the prefix length must be between /8 and /30",
                    "Subnet= /31 has no room");
        check_error("[Network]\nSubnet=10.0.0.0/4\n", 2, "Subnet: invalid subnet '10.0.0.0/4': the prefix length",
                    "Subnet= /4 is too big");
        check_error("[Network]\nSubnet=fd00::/64\n", 2, "Subnet: invalid subnet 'fd00::/64': not an IPv4 address",
                    "Subnet= IPv6");
        check_error("[Network]\nSubnet=10.42.0.0/1x\n", 2, "Subnet: invalid subnet '10.42.0.0/1x': the prefix length must be a number",
                    "Subnet= bad prefix");
        check_error("[Network]\nSubnet=300.1.2.0/24\n", 2, "Subnet: invalid subnet '300.1.2.0/24'",
                    "Subnet= bad address");
        check_error("[Network]\nBridge=this-name-is-too-long\n", 2, "Bridge: invalid interface name",
                    "Bridge= too long");
        check_error("[Network]\nBridge=a/b\n", 2, "Bridge: invalid interface name 'a/b'", "Bridge= with '/'");
        check_error("[Network]\nContainerAPIAccess=maybe\n", 2,
                    "ContainerAPIAccess: invalid boolean 'maybe'", "ContainerAPIAccess= not a boolean");

        is_int(parse_boolean("On"), 1, "parse_boolean On");
        is_int(parse_boolean("0"), 0, "parse_boolean 0");
        is_int(parse_boolean(""), -EINVAL, "parse_boolean empty");
}

static void test_ip_util(void) {
        Ipv4Subnet s;
        _cleanup_free_ char *reason = NULL;
        char buf[INET_ADDRSTRLEN];
        uint32_t a;

        is_int(ipv4_subnet_from_string("10.42.0.0/16", &s, &reason), 0, "10.42.0.0/16 parses");
        is_str(ipv4_to_string(ipv4_subnet_gateway(&s), buf), "10.42.0.1", "gateway of /16");
        is_str(ipv4_to_string(ipv4_subnet_pool_first(&s), buf), "10.42.0.2", "first pool address of /16");
        is_str(ipv4_to_string(ipv4_subnet_pool_last(&s), buf), "10.42.255.254", "last pool address of /16");
        is_str(ipv4_to_string(ipv4_subnet_broadcast(&s), buf), "10.42.255.255", "broadcast of /16");
        is_str(ipv4_to_string(ipv4_subnet_netmask(&s), buf), "255.255.0.0", "netmask of /16");
        is_int(ipv4_subnet_from_string("10.9.8.0/29", &s, &reason), 0, "10.9.8.0/29 parses");
        is_int(ipv4_subnet_pool_last(&s) - ipv4_subnet_pool_first(&s) + 1, 5, "a /29 holds 5 containers");
        is_int(ipv4_from_string("10.9.8.6", &a), 0, "10.9.8.6 parses");
        ok(ipv4_subnet_pool_contains(&s, a), "10.9.8.6 is in the /29 pool");
        is_int(ipv4_from_string("10.9.8.7", &a), 0, "10.9.8.7 parses");
        ok(!ipv4_subnet_pool_contains(&s, a), "the broadcast address is not in the pool");
        is_int(ipv4_from_string("10.9.8.1", &a), 0, "10.9.8.1 parses");
        ok(!ipv4_subnet_pool_contains(&s, a), "the gateway is not in the pool");
        is_int(ipv4_from_string("10.9.8", &a), -EINVAL, "a short address is refused");
        ok(ifname_is_valid("quilt0") && ifname_is_valid("vq0123456789ab"), "valid interface names");
        ok(!ifname_is_valid("") && !ifname_is_valid("0123456789abcdef") && !ifname_is_valid("a b") &&
                   !ifname_is_valid("..") && !ifname_is_valid("eth0:1"),
           "invalid interface names");
}

int main(void) {
        /* Make the modes the test asks for the modes the files get. */
        umask(0);

        test_defaults();
        test_network();
        test_backend_strings();
        test_durations();
        test_full_file();
        test_values();
        test_empty_resets();
        test_errors();
        test_load_is_atomic();
        test_missing_files();
        test_tokens();
        test_verify();
        test_logs();
        test_network_subnet();
        test_ip_util();
        return tap_finish();
}
