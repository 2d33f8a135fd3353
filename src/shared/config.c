/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "config.h"
#include "socket-address.h"
#include "strv.h"

#define DEFAULT_GRPC_SOCKET  "/run/quilt/quilt.sock"
#define DEFAULT_HTTP_SOCKET  "/run/quilt/http.sock"
#define DEFAULT_SOCKET_GROUP "quilt"
#define DEFAULT_STATE_DIR    "/var/lib/quilt"
#define DEFAULT_RUNTIME_DIR  "/run/quilt"
#define DEFAULT_BRIDGE       "quilt0"
#define DEFAULT_SUBNET       "10.42.0.0/16"

/* A token is sent in an HTTP header and a gRPC metadata value: keep it to printable ASCII
 * without spaces, and bounded, so that it can never break either framing. */
#define TOKEN_SIZE_MAX 4096

#define SUN_PATH_SIZE sizeof(((struct sockaddr_un *) NULL)->sun_path)

static const char *const backend_table[_QUILT_BACKEND_MAX] = {
        [QUILT_BACKEND_AUTO] = "auto",
        [QUILT_BACKEND_SYSTEMD] = "systemd",
        [QUILT_BACKEND_STANDALONE] = "standalone",
};

static const char *const log_driver_table[_QUILT_LOG_DRIVER_MAX] = {
        [QUILT_LOG_DRIVER_AUTO] = "auto",
        [QUILT_LOG_DRIVER_JOURNAL] = "journal",
        [QUILT_LOG_DRIVER_FILE] = "file",
};

const char *quilt_log_driver_to_string(QuiltLogDriver d) {
        if ((int) d < 0 || d >= _QUILT_LOG_DRIVER_MAX)
                return NULL;
        return log_driver_table[d];
}

QuiltLogDriver quilt_log_driver_from_string(const char *s) {
        for (size_t i = 0; s && i < ELEMENTSOF(log_driver_table); i++)
                if (streq(s, log_driver_table[i]))
                        return (QuiltLogDriver) i;
        return _QUILT_LOG_DRIVER_INVALID;
}

int parse_size_bytes(const char *s, uint64_t *ret) {
        static const struct {
                char unit;
                uint64_t factor;
        } units[] = {
                { 'K', UINT64_C(1) << 10 },
                { 'M', UINT64_C(1) << 20 },
                { 'G', UINT64_C(1) << 30 },
        };
        uint64_t n = 0, factor = 1;
        const char *p = s;

        if (!s)
                return -EINVAL;
        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (n > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                        return -ERANGE;
                n = n * 10 + (uint64_t) (*p - '0');
        }
        if (*p) {
                bool found = false;

                for (size_t i = 0; i < ELEMENTSOF(units) && !found; i++)
                        if (*p == units[i].unit || *p == units[i].unit + ('a' - 'A')) {
                                factor = units[i].factor;
                                found = true;
                        }
                if (!found)
                        return -EINVAL;
                p++;
                if (*p == 'B' || *p == 'b')
                        p++;
                if (*p)
                        return -EINVAL;
        }
        if (n > UINT64_MAX / factor)
                return -ERANGE;
        *ret = n * factor;
        return 0;
}

const char *quilt_backend_to_string(QuiltBackend b) {
        if ((int) b < 0 || b >= _QUILT_BACKEND_MAX)
                return NULL;
        return backend_table[b];
}

QuiltBackend quilt_backend_from_string(const char *s) {
        if (!s)
                return _QUILT_BACKEND_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(backend_table); i++)
                if (streq(s, backend_table[i]))
                        return (QuiltBackend) i;
        return _QUILT_BACKEND_INVALID;
}

static int parse_unit(const char *s, size_t n, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "us", 1 },
                { "usec", 1 },
                { "ms", USEC_PER_MSEC },
                { "msec", USEC_PER_MSEC },
                { "s", USEC_PER_SEC },
                { "sec", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
                { "d", 86400 * USEC_PER_SEC },
        };

        /* A bare number is seconds, as in systemd's *Sec= settings. */
        if (n == 0) {
                *ret = USEC_PER_SEC;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strlen(units[i].suffix) == n && strncmp(s, units[i].suffix, n) == 0) {
                        *ret = units[i].usec;
                        return 0;
                }
        return -EINVAL;
}

int parse_duration_usec(const char *s, uint64_t *ret) {
        uint64_t total = 0;
        const char *p;

        if (!s || s[strspn(s, " ")] == '\0')
                return -EINVAL;

        /* One or more "<digits>[ ]<unit>" components, e.g. "1h 30min"; the sum is returned.
         * Digits are parsed by hand because strtoull() quietly accepts signs and whitespace. */
        p = s;
        for (;;) {
                uint64_t n = 0, mult;
                const char *unit;
                size_t digits = 0;
                int r;

                while (*p == ' ')
                        p++;
                if (*p == '\0')
                        break;

                for (; *p >= '0' && *p <= '9'; p++, digits++) {
                        if (n > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                                return -ERANGE;
                        n = n * 10 + (uint64_t) (*p - '0');
                }
                if (digits == 0)
                        return -EINVAL;

                while (*p == ' ')
                        p++;
                unit = p;
                while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
                        p++;
                r = parse_unit(unit, (size_t) (p - unit), &mult);
                if (r < 0)
                        return r;

                if (n > UINT64_MAX / mult || total > UINT64_MAX - n * mult)
                        return -ERANGE;
                total += n * mult;
        }

        *ret = total;
        return 0;
}

int config_new(QuiltConfig **ret) {
        _cleanup_(config_freep) QuiltConfig *c = NULL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;

        c->backend = QUILT_BACKEND_AUTO;
        c->idle_exit_usec = 0;
        c->grpc_socket = strdup(DEFAULT_GRPC_SOCKET);
        c->http_socket = strdup(DEFAULT_HTTP_SOCKET);
        c->socket_group = strdup(DEFAULT_SOCKET_GROUP);
        c->state_dir = strdup(DEFAULT_STATE_DIR);
        c->runtime_dir = strdup(DEFAULT_RUNTIME_DIR);
        c->log_driver = QUILT_LOG_DRIVER_AUTO;
        c->log_max_file_size = QUILT_LOG_MAX_FILE_SIZE_DEFAULT;
        c->bridge = strdup(DEFAULT_BRIDGE);
        c->dns_port = DEFAULT_DNS_PORT;
        if (!c->grpc_socket || !c->http_socket || !c->socket_group || !c->state_dir || !c->runtime_dir ||
            !c->bridge)
                return -ENOMEM;
        c->subnet = (Ipv4Subnet) { .network = UINT32_C(0x0a2a0000), .prefixlen = 16 }; /* DEFAULT_SUBNET */

        *ret = TAKE_PTR(c);
        return 0;
}

static void erase_and_free(char *s) {
        /* The token is a secret: do not leave it behind in freed heap memory. */
        if (s)
                explicit_bzero(s, strlen(s));
        free(s);
}

QuiltConfig *config_free(QuiltConfig *c) {
        if (!c)
                return NULL;

        free(c->grpc_socket);
        free(c->http_socket);
        free(c->socket_group);
        free(c->grpc_listen);
        free(c->http_listen);
        erase_and_free(c->token);
        free(c->state_dir);
        free(c->runtime_dir);
        free(c->bridge);
        strv_free(c->dns_upstreams);
        return mfree(c);
}

static int strdup_or_null(const char *s, char **ret) {
        char *copy = NULL;

        if (s) {
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
        }
        *ret = copy;
        return 0;
}

/* config_load() parses into a copy and only replaces the caller's configuration when the
 * whole file was good, so a bad file never leaves a half-applied configuration behind. */
static int config_dup(const QuiltConfig *c, QuiltConfig **ret) {
        _cleanup_(config_freep) QuiltConfig *n = NULL;

        n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;

        n->backend = c->backend;
        n->idle_exit_usec = c->idle_exit_usec;
        n->log_driver = c->log_driver;
        n->log_max_file_size = c->log_max_file_size;
        n->subnet = c->subnet;
        n->container_api_access = c->container_api_access;
        if (strdup_or_null(c->grpc_socket, &n->grpc_socket) < 0 ||
            strdup_or_null(c->http_socket, &n->http_socket) < 0 ||
            strdup_or_null(c->socket_group, &n->socket_group) < 0 ||
            strdup_or_null(c->grpc_listen, &n->grpc_listen) < 0 ||
            strdup_or_null(c->http_listen, &n->http_listen) < 0 || strdup_or_null(c->token, &n->token) < 0 ||
            strdup_or_null(c->state_dir, &n->state_dir) < 0 ||
            strdup_or_null(c->runtime_dir, &n->runtime_dir) < 0 || strdup_or_null(c->bridge, &n->bridge) < 0)
                return -ENOMEM;
        n->dns_port = c->dns_port;
        if (c->dns_upstreams) {
                n->dns_upstreams = strv_copy(c->dns_upstreams);
                if (!n->dns_upstreams)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(n);
        return 0;
}

static void config_swap(QuiltConfig *a, QuiltConfig *b) {
        QuiltConfig t = *a;

        *a = *b;
        *b = t;
}

static _printf_(3, 4) int set_error(char **ret_error, int r, const char *format, ...) {
        va_list ap;
        char *m;

        if (!ret_error)
                return r;

        va_start(ap, format);
        if (vasprintf(&m, format, ap) < 0)
                m = NULL;
        va_end(ap);

        /* Out of memory while reporting: the caller still gets the error code. */
        *ret_error = m;
        return r;
}

typedef struct ParseState {
        QuiltConfig *config;
        const char *path;
        FILE *f;
        bool world_readable;

        char *line;
        size_t line_allocated;
        unsigned line_no;

        /* Where Token= and TokenFile= were last set to something, to refuse both at once. */
        unsigned token_line, token_file_line;

        unsigned error_line; /* 0 while there is no error */
        int error_r;
        char *error;
} ParseState;

static _printf_(3, 4) int parse_error(ParseState *st, const char *key, const char *format, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;
        int k;

        /* Keep the first error only: inih goes on after a failed line, and the first error is
         * the one the user needs to fix. */
        if (st->error_line > 0)
                return -EINVAL;

        va_start(ap, format);
        k = vasprintf(&m, format, ap);
        va_end(ap);

        st->error_line = st->line_no;
        st->error_r = -EINVAL;
        if (k < 0)
                m = NULL;
        if (!m || asprintf(&st->error, "%s:%u: %s%s%s", st->path, st->line_no, strempty(key),
                           key ? ": " : "", m) < 0) {
                st->error = NULL;
                st->error_r = -ENOMEM;
        }
        return -EINVAL;
}

static bool path_is_valid_absolute(const char *p) {
        const char *c;

        if (!p || p[0] != '/' || strlen(p) >= PATH_MAX)
                return false;

        /* Refuse ".." components: a configured path should say where it points. */
        for (c = p; c; c = strchr(c + 1, '/'))
                if (c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == '\0'))
                        return false;
        return true;
}

static bool token_is_valid(const char *t) {
        size_t n = strlen(t);

        if (n == 0 || n > TOKEN_SIZE_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (t[i] < 0x21 || t[i] > 0x7e)
                        return false;
        return true;
}

/* "HOST:PORT" with HOST an IPv4 literal, a bracketed IPv6 literal or "localhost". Names
 * other than localhost are not resolved: where the daemon listens should not depend on DNS. */
static int listen_address_validate(const char *s, const char **ret_reason) {
        _cleanup_free_ char *host = NULL;
        const char *port;
        unsigned long value = 0;
        unsigned char buf[sizeof(struct in6_addr)];
        size_t digits;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');

                if (!close || close[1] != ':') {
                        *ret_reason = "expected [IPV6]:PORT";
                        return -EINVAL;
                }
                host = strndup(s + 1, (size_t) (close - s - 1));
                if (!host)
                        return -ENOMEM;
                if (inet_pton(AF_INET6, host, buf) != 1) {
                        *ret_reason = "invalid IPv6 address";
                        return -EINVAL;
                }
                port = close + 2;
        } else {
                const char *colon = strrchr(s, ':');

                if (!colon) {
                        *ret_reason = "expected HOST:PORT";
                        return -EINVAL;
                }
                host = strndup(s, (size_t) (colon - s));
                if (!host)
                        return -ENOMEM;
                if (strchr(host, ':')) {
                        *ret_reason = "IPv6 addresses must be written in brackets, e.g. [::1]:50051";
                        return -EINVAL;
                }
                if (!streq(host, "localhost") && inet_pton(AF_INET, host, buf) != 1) {
                        *ret_reason = "host must be an IPv4 address, an [IPv6] address or localhost";
                        return -EINVAL;
                }
                port = colon + 1;
        }

        digits = strspn(port, "0123456789");
        if (digits == 0 || digits > 5 || port[digits] != '\0') {
                *ret_reason = "invalid port, expected 1-65535";
                return -EINVAL;
        }
        for (size_t i = 0; i < digits; i++)
                value = value * 10 + (unsigned long) (port[i] - '0');
        if (value < 1 || value > 65535) {
                *ret_reason = "port out of range, expected 1-65535";
                return -EINVAL;
        }
        return 0;
}

static bool group_name_is_valid(const char *g) {
        size_t n = strlen(g);

        /* A numeric GID, or a name as useradd/systemd-sysusers accept it. */
        if (n == 0 || n > 32)
                return false;
        if (strspn(g, "0123456789") == n)
                return true;
        if (!((g[0] >= 'a' && g[0] <= 'z') || (g[0] >= 'A' && g[0] <= 'Z') || g[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++) {
                char ch = g[i];

                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                      ch == '_' || ch == '-' || ch == '.' || (ch == '$' && i == n - 1)))
                        return false;
        }
        return true;
}

static int replace_string(char **field, const char *value) {
        char *n = NULL;

        if (value) {
                n = strdup(value);
                if (!n)
                        return -ENOMEM;
        }
        free(*field);
        *field = n;
        return 0;
}

typedef int (*ConfigParser)(ParseState *st, const char *key, const char *value, void *data);

static int parse_backend(ParseState *st, const char *key, const char *value, void *data) {
        QuiltBackend *b = data, v;

        v = quilt_backend_from_string(isempty(value) ? "auto" : value);
        if (v < 0)
                return parse_error(st, key, "invalid backend '%s', expected auto, systemd or standalone",
                                   value);
        *b = v;
        return 0;
}

static int parse_log_driver(ParseState *st, const char *key, const char *value, void *data) {
        QuiltLogDriver *d = data, v;

        v = quilt_log_driver_from_string(isempty(value) ? "auto" : value);
        if (v < 0)
                return parse_error(st, key, "invalid log driver '%s', expected auto, journal or file", value);
        *d = v;
        return 0;
}

static int parse_log_size(ParseState *st, const char *key, const char *value, void *data) {
        uint64_t *u = data, v;
        int r;

        if (isempty(value)) {
                *u = QUILT_LOG_MAX_FILE_SIZE_DEFAULT;
                return 0;
        }
        r = parse_size_bytes(value, &v);
        if (r == -ERANGE)
                return parse_error(st, key, "size out of range '%s'", value);
        if (r < 0)
                return parse_error(st, key, "invalid size '%s' (e.g. 8M; units: K, M, G)", value);
        if (v > 0 && v < QUILT_LOG_MAX_FILE_SIZE_MIN)
                return parse_error(st, key, "size '%s' is below the minimum of %u bytes (0 turns rotation off)",
                                   value, QUILT_LOG_MAX_FILE_SIZE_MIN);
        *u = v;
        return 0;
}

static int parse_duration(ParseState *st, const char *key, const char *value, void *data) {
        uint64_t *u = data, v;
        int r;

        if (isempty(value)) {
                *u = 0;
                return 0;
        }
        r = parse_duration_usec(value, &v);
        if (r == -ERANGE)
                return parse_error(st, key, "duration out of range '%s'", value);
        if (r < 0)
                return parse_error(st, key, "invalid duration '%s' (units: us, ms, s, m or min, h, d)", value);
        *u = v;
        return 0;
}

static int parse_path_with_default(ParseState *st, const char *key, const char *value, char **field,
                                   const char *def, bool socket) {
        if (isempty(value))
                value = def;

        if (!path_is_valid_absolute(value))
                return parse_error(st, key, "path must be absolute and must not contain '..': '%s'", value);
        if (socket && strlen(value) >= SUN_PATH_SIZE)
                return parse_error(st, key, "path too long for a unix socket (max %zu bytes): '%s'",
                                   SUN_PATH_SIZE - 1, value);
        return replace_string(field, value);
}

static int parse_grpc_socket(ParseState *st, const char *key, const char *value, void *data) {
        return parse_path_with_default(st, key, value, data, DEFAULT_GRPC_SOCKET, true);
}

static int parse_http_socket(ParseState *st, const char *key, const char *value, void *data) {
        return parse_path_with_default(st, key, value, data, DEFAULT_HTTP_SOCKET, true);
}

static int parse_state_dir(ParseState *st, const char *key, const char *value, void *data) {
        return parse_path_with_default(st, key, value, data, DEFAULT_STATE_DIR, false);
}

static int parse_runtime_dir(ParseState *st, const char *key, const char *value, void *data) {
        return parse_path_with_default(st, key, value, data, DEFAULT_RUNTIME_DIR, false);
}

static int parse_group(ParseState *st, const char *key, const char *value, void *data) {
        if (isempty(value))
                value = DEFAULT_SOCKET_GROUP;
        if (!group_name_is_valid(value))
                return parse_error(st, key, "invalid group name '%s'", value);
        return replace_string(data, value);
}

static int parse_listen(ParseState *st, const char *key, const char *value, void *data) {
        const char *reason = NULL;
        int r;

        if (isempty(value))
                return replace_string(data, NULL);

        r = listen_address_validate(value, &reason);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return parse_error(st, key, "invalid address '%s': %s", value, reason);
        return replace_string(data, value);
}

int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" },
                                 *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; s && i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

static int parse_bool(ParseState *st, const char *key, const char *value, void *data) {
        bool *b = data;
        int r;

        r = isempty(value) ? 0 : parse_boolean(value);
        if (r < 0)
                return parse_error(st, key, "invalid boolean '%s' (expected yes or no)", value);
        *b = r;
        return 0;
}

static int parse_bridge(ParseState *st, const char *key, const char *value, void *data) {
        if (isempty(value))
                value = DEFAULT_BRIDGE;
        if (!ifname_is_valid(value))
                return parse_error(st, key,
                                   "invalid interface name '%s' (1-15 letters, digits, '_', '.' or '-')",
                                   value);
        return replace_string(data, value);
}

static int parse_subnet(ParseState *st, const char *key, const char *value, void *data) {
        _cleanup_free_ char *reason = NULL;
        Ipv4Subnet *subnet = data;
        int r;

        r = ipv4_subnet_from_string(isempty(value) ? DEFAULT_SUBNET : value, subnet, &reason);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return parse_error(st, key, "invalid subnet '%s': %s", value, reason ?: "malformed");
        return 0;
}

static void token_reset(ParseState *st) {
        erase_and_free(st->config->token);
        st->config->token = NULL;
        st->token_line = st->token_file_line = 0;
}

static int parse_token(ParseState *st, const char *key, const char *value, void *data) {
        char *t;

        if (isempty(value)) {
                token_reset(st);
                return 0;
        }

        /* Never echo the value in these messages: it is (meant to be) a secret. */
        if (st->token_file_line > 0)
                return parse_error(
                        st, key,
                        "Token= and TokenFile= are mutually exclusive (TokenFile= is set on line %u)",
                        st->token_file_line);
        if (st->world_readable)
                return parse_error(st, key,
                                   "refusing a token in a file readable by everyone; "
                                   "use TokenFile= with a file only root can read, or chmod o-r %s",
                                   st->path);
        if (!token_is_valid(value))
                return parse_error(st, key, "token must be 1-%u printable ASCII characters without spaces",
                                   TOKEN_SIZE_MAX);

        t = strdup(value);
        if (!t)
                return -ENOMEM;
        erase_and_free(st->config->token);
        st->config->token = t;
        st->token_line = st->line_no;
        return 0;
}

static int read_token_file(ParseState *st, const char *key, const char *path, char **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat stbuf;
        size_t n = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return parse_error(st, key, "cannot open '%s': %s", path, strerror(errno));
        if (fstat(fd, &stbuf) < 0)
                return parse_error(st, key, "cannot stat '%s': %s", path, strerror(errno));
        if (!S_ISREG(stbuf.st_mode))
                return parse_error(st, key, "'%s' is not a regular file", path);

        /* A token that everyone can read is no secret, and one that everyone can write lets
         * anyone choose the token: refuse both rather than warn. */
        if (stbuf.st_mode & (S_IROTH | S_IWOTH))
                return parse_error(st, key,
                                   "'%s' is accessible by everyone (mode %04o); run chmod o-rw on it", path,
                                   (unsigned) (stbuf.st_mode & 07777));

        buf = malloc(TOKEN_SIZE_MAX + 2);
        if (!buf)
                return -ENOMEM;

        /* Read one byte more than a token may have, to tell "too long" from "just fits". */
        while (n < TOKEN_SIZE_MAX + 1) {
                ssize_t k = read(fd, buf + n, TOKEN_SIZE_MAX + 1 - n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        explicit_bzero(buf, n);
                        return parse_error(st, key, "cannot read '%s': %s", path, strerror(errno));
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = '\0';

        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                buf[--n] = '\0';

        if (n == 0)
                return parse_error(st, key, "'%s' is empty", path);
        if (strlen(buf) != n || !token_is_valid(buf)) {
                explicit_bzero(buf, n);
                return parse_error(
                        st, key,
                        "'%s' must contain one token of 1-%u printable ASCII characters without spaces",
                        path, TOKEN_SIZE_MAX);
        }

        *ret = TAKE_PTR(buf);
        return 0;
}

static int parse_token_file(ParseState *st, const char *key, const char *value, void *data) {
        char *t = NULL;
        int r;

        if (isempty(value)) {
                token_reset(st);
                return 0;
        }

        if (st->token_line > 0)
                return parse_error(st, key,
                                   "Token= and TokenFile= are mutually exclusive (Token= is set on line %u)",
                                   st->token_line);
        if (!path_is_valid_absolute(value))
                return parse_error(st, key, "path must be absolute and must not contain '..': '%s'", value);

        r = read_token_file(st, key, value, &t);
        if (r < 0)
                return r;

        erase_and_free(st->config->token);
        st->config->token = t;
        st->token_file_line = st->line_no;
        return 0;
}

static int parse_port(ParseState *st, const char *key, const char *value, void *data) {
        uint16_t *p = data;
        size_t digits;
        unsigned long v;

        if (isempty(value)) {
                *p = DEFAULT_DNS_PORT;
                return 0;
        }
        digits = strspn(value, "0123456789");
        v = digits > 0 && digits <= 5 && value[digits] == '\0' ? strtoul(value, NULL, 10) : 0;
        if (v < 1 || v > 65535)
                return parse_error(st, key, "invalid port '%s', expected 1-65535", value);
        *p = (uint16_t) v;
        return 0;
}

/* DNSUpstream=: a list, as systemd's list settings: each assignment adds, an empty one
 * resets to the default (the host's resolv.conf). */
static int parse_dns_upstreams(ParseState *st, const char *key, const char *value, void *data) {
        char ***l = data;
        _cleanup_free_ char *copy = NULL;
        char *word, *save = NULL;

        if (isempty(value)) {
                *l = strv_free(*l);
                return 0;
        }
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;

        for (word = strtok_r(copy, " \t", &save); word; word = strtok_r(NULL, " \t", &save)) {
                struct sockaddr_storage sa;
                const char *reason = NULL;
                size_t n = strv_length(*l);
                socklen_t len;
                char **a;
                int r;

                r = socket_address_parse(word, DEFAULT_DNS_PORT, &sa, &len, &reason);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return parse_error(st, key, "invalid DNS server '%s': %s (expected IP or IP:PORT)", word,
                                           reason);

                a = realloc(*l, (n + 2) * sizeof(char *));
                if (!a)
                        return -ENOMEM;
                *l = a;
                a[n] = strdup(word);
                a[n + 1] = NULL;
                if (!a[n])
                        return -ENOMEM;
        }
        return 0;
}

static const struct {
        const char *section;
        const char *key;
        ConfigParser parse;
        size_t offset;
} config_table[] = {
        { "Daemon", "Backend", parse_backend, offsetof(QuiltConfig, backend) },
        { "Daemon", "IdleExitSec", parse_duration, offsetof(QuiltConfig, idle_exit_usec) },
        { "API", "GRPCSocket", parse_grpc_socket, offsetof(QuiltConfig, grpc_socket) },
        { "API", "HTTPSocket", parse_http_socket, offsetof(QuiltConfig, http_socket) },
        { "API", "SocketGroup", parse_group, offsetof(QuiltConfig, socket_group) },
        { "API", "GRPCListen", parse_listen, offsetof(QuiltConfig, grpc_listen) },
        { "API", "HTTPListen", parse_listen, offsetof(QuiltConfig, http_listen) },
        { "API", "Token", parse_token, offsetof(QuiltConfig, token) },
        { "API", "TokenFile", parse_token_file, offsetof(QuiltConfig, token) },
        { "Storage", "StateDirectory", parse_state_dir, offsetof(QuiltConfig, state_dir) },
        { "Storage", "RuntimeDirectory", parse_runtime_dir, offsetof(QuiltConfig, runtime_dir) },
        { "Logs", "Driver", parse_log_driver, offsetof(QuiltConfig, log_driver) },
        { "Logs", "MaxFileSize", parse_log_size, offsetof(QuiltConfig, log_max_file_size) },
        { "Network", "Bridge", parse_bridge, offsetof(QuiltConfig, bridge) },
        { "Network", "Subnet", parse_subnet, offsetof(QuiltConfig, subnet) },
        { "Network", "ContainerAPIAccess", parse_bool, offsetof(QuiltConfig, container_api_access) },
        { "Network", "DNSPort", parse_port, offsetof(QuiltConfig, dns_port) },
        { "Network", "DNSUpstream", parse_dns_upstreams, offsetof(QuiltConfig, dns_upstreams) },
};

static bool section_is_known(const char *s, size_t n) {
        for (size_t i = 0; i < ELEMENTSOF(config_table); i++)
                if (strlen(config_table[i].section) == n && strncmp(config_table[i].section, s, n) == 0)
                        return true;
        return false;
}

/* inih's handler, called once per "Key=Value". Returns nonzero to continue. */
static int config_handler(void *userdata, const char *section, const char *name, const char *value) {
        ParseState *st = userdata;
        int r;

        if (st->error_line > 0)
                return 0;

        if (isempty(section)) {
                (void) parse_error(st, name, "assignment outside of a section");
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(config_table); i++) {
                if (!streq(config_table[i].section, section) || !streq(config_table[i].key, name))
                        continue;

                r = config_table[i].parse(st, name, value, (uint8_t *) st->config + config_table[i].offset);
                if (r == -ENOMEM && st->error_line == 0) {
                        st->error_line = st->line_no;
                        st->error_r = -ENOMEM;
                }
                return r >= 0;
        }

        (void) parse_error(st, name, "unknown key in section [%s]", section);
        return 0;
}

/* inih's line reader. We feed it one line at a time ourselves so that we know the line
 * number (the distribution's inih is built without INI_HANDLER_LINENO), can refuse what
 * inih would silently split or reinterpret (over-long lines, NUL bytes, indented
 * continuation lines), and can refuse unknown sections even when they are empty. */
static char *config_reader(char *str, int num, void *stream) {
        ParseState *st = stream;
        const char *start;
        ssize_t n;
        size_t len;

        if (st->error_line > 0)
                return NULL;

        n = getline(&st->line, &st->line_allocated, st->f);
        if (n < 0) {
                if (ferror(st->f)) {
                        int r = errno > 0 ? -errno : -EIO;

                        st->line_no++;
                        (void) parse_error(st, NULL, "read error: %s", strerror(-r));
                        st->error_r = r;
                }
                return NULL;
        }
        st->line_no++;

        if (memchr(st->line, '\0', (size_t) n)) {
                (void) parse_error(st, NULL, "line contains a NUL byte");
                return NULL;
        }

        /* Leading whitespace is insignificant, as in systemd's unit files; stripping it also
         * stops inih from treating an indented line as a continuation of the previous value.
         * A UTF-8 byte order mark is dropped here rather than by inih, so that the section
         * check below sees the first line as it is meant. */
        start = st->line;
        if (st->line_no == 1 && startswith(start, "\xEF\xBB\xBF"))
                start += 3;
        start += strspn(start, " \t");
        len = strcspn(start, "\r\n");

        /* inih's buffer needs room for the line plus "\r\n\0". */
        if (num < 4 || len > (size_t) num - 3) {
                (void) parse_error(st, NULL, "line too long (at most %d bytes)", num - 3);
                return NULL;
        }

        if (start[0] == '[') {
                const char *close = memchr(start, ']', len);

                if (close && !section_is_known(start + 1, (size_t) (close - start - 1))) {
                        (void) parse_error(st, NULL, "unknown section [%.*s]", (int) (close - start - 1),
                                           start + 1);
                        return NULL;
                }
        }

        memcpy(str, start, len);
        str[len] = '\0';
        return str;
}

int config_load(QuiltConfig *c, const char *path, char **ret_error) {
        _cleanup_(config_freep) QuiltConfig *n = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        ParseState st = {};
        struct stat stbuf;
        bool is_default;
        int r, k;

        if (!c)
                return -EINVAL;
        if (ret_error)
                *ret_error = NULL;

        is_default = !path || streq(path, QUILT_CONFIG_FILE);
        if (!path)
                path = QUILT_CONFIG_FILE;

        f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && is_default)
                        return 0;
                if (errno == ENOENT)
                        return set_error(ret_error, -EINVAL, "%s: configuration file not found", path);
                r = -errno;
                return set_error(ret_error, r, "%s: cannot open: %s", path, strerror(-r));
        }
        if (fstat(fileno(f), &stbuf) < 0) {
                r = -errno;
                return set_error(ret_error, r, "%s: cannot stat: %s", path, strerror(-r));
        }
        if (S_ISDIR(stbuf.st_mode))
                return set_error(ret_error, -EINVAL, "%s: is a directory", path);

        r = config_dup(c, &n);
        if (r < 0)
                return set_error(ret_error, r, "%s: out of memory", path);

        st = (ParseState){
                .config = n,
                .path = path,
                .f = f,
                .world_readable = stbuf.st_mode & S_IROTH,
        };

        k = ini_parse_stream(config_reader, &st, config_handler, &st);
        free(st.line);

        /* inih reports the first failing line, whether it failed in inih's own syntax check or
         * in our handler; ours, if earlier or equal, has the better message. */
        if (k > 0 && (st.error_line == 0 || (unsigned) k < st.error_line)) {
                free(st.error);
                return set_error(ret_error, -EINVAL, "%s:%d: syntax error, expected Key=Value or [Section]",
                                 path, k);
        }
        if (st.error_line > 0) {
                r = st.error_r;
                if (!st.error)
                        return set_error(ret_error, r, "%s:%u: %s", path, st.error_line, strerror(-r));
                if (ret_error)
                        *ret_error = st.error;
                else
                        free(st.error);
                return r;
        }
        if (k < 0)
                return set_error(ret_error, -ENOMEM, "%s: out of memory", path);

        config_swap(c, n);
        return 0;
}

int config_verify(const QuiltConfig *c, char **ret_error) {
        static const struct {
                const char *key;
                size_t offset;
                bool socket;
        } paths[] = {
                { "GRPCSocket", offsetof(QuiltConfig, grpc_socket), true },
                { "HTTPSocket", offsetof(QuiltConfig, http_socket), true },
                { "StateDirectory", offsetof(QuiltConfig, state_dir), false },
                { "RuntimeDirectory", offsetof(QuiltConfig, runtime_dir), false },
        };
        const char *reason = NULL;

        if (ret_error)
                *ret_error = NULL;
        if (!c)
                return -EINVAL;

        /* The loader already checked each value; this also covers configurations built or
         * changed in code, and the rules that involve more than one key. */
        if (!quilt_backend_to_string(c->backend))
                return set_error(ret_error, -EINVAL, "Backend=: invalid value %d", (int) c->backend);
        if (!quilt_log_driver_to_string(c->log_driver))
                return set_error(ret_error, -EINVAL, "Driver=: invalid value %d", (int) c->log_driver);

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                const char *p = *(char *const *) ((const uint8_t *) c + paths[i].offset);

                if (!path_is_valid_absolute(p))
                        return set_error(ret_error, -EINVAL,
                                         "%s=: path must be absolute and must not contain '..': '%s'",
                                         paths[i].key, strempty(p));
                if (paths[i].socket && strlen(p) >= SUN_PATH_SIZE)
                        return set_error(ret_error, -EINVAL, "%s=: path too long for a unix socket: '%s'",
                                         paths[i].key, p);
        }
        if (streq(c->grpc_socket, c->http_socket))
                return set_error(ret_error, -EINVAL,
                                 "GRPCSocket= and HTTPSocket= must differ, both are '%s'", c->grpc_socket);

        if (!ifname_is_valid(c->bridge))
                return set_error(ret_error, -EINVAL, "Bridge=: invalid interface name '%s'", strempty(c->bridge));
        if (c->subnet.prefixlen < IPV4_SUBNET_PREFIX_MIN || c->subnet.prefixlen > IPV4_SUBNET_PREFIX_MAX ||
            (c->subnet.network & ~ipv4_subnet_netmask(&c->subnet)) != 0)
                return set_error(ret_error, -EINVAL, "Subnet=: invalid subnet");

        if (!c->socket_group || !group_name_is_valid(c->socket_group))
                return set_error(ret_error, -EINVAL, "SocketGroup=: invalid group name '%s'",
                                 strempty(c->socket_group));

        if (c->grpc_listen && listen_address_validate(c->grpc_listen, &reason) < 0)
                return set_error(ret_error, -EINVAL, "GRPCListen=: invalid address '%s': %s", c->grpc_listen,
                                 strempty(reason));
        if (c->http_listen && listen_address_validate(c->http_listen, &reason) < 0)
                return set_error(ret_error, -EINVAL, "HTTPListen=: invalid address '%s': %s", c->http_listen,
                                 strempty(reason));
        if (c->grpc_listen && c->http_listen && streq(c->grpc_listen, c->http_listen))
                return set_error(ret_error, -EINVAL,
                                 "GRPCListen= and HTTPListen= must differ, both are '%s'", c->grpc_listen);

        if (c->dns_port == 0)
                return set_error(ret_error, -EINVAL, "DNSPort=: invalid port 0, expected 1-65535");
        for (char **u = c->dns_upstreams; u && *u; u++) {
                struct sockaddr_storage sa;
                socklen_t len;

                if (socket_address_parse(*u, DEFAULT_DNS_PORT, &sa, &len, &reason) < 0)
                        return set_error(ret_error, -EINVAL, "DNSUpstream=: invalid DNS server '%s': %s", *u,
                                         strempty(reason));
        }

        if (c->token && !token_is_valid(c->token))
                return set_error(ret_error, -EINVAL,
                                 "Token=: token must be 1-%u printable ASCII characters without spaces",
                                 TOKEN_SIZE_MAX);

        /* The TCP ports are reachable by every local user (and maybe more), so they are never
         * served without authentication. */
        if (c->grpc_listen && !c->token)
                return set_error(ret_error, -EINVAL, "GRPCListen= requires Token= or TokenFile=");
        if (c->http_listen && !c->token)
                return set_error(ret_error, -EINVAL, "HTTPListen= requires Token= or TokenFile=");

        return 0;
}
