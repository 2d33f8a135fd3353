/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <grp.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "api-grpc.h"
#include "api-http.h"
#include "log.h"
#include "manager-listen.h"

typedef enum ListenerRole {
        LISTENER_GRPC,
        LISTENER_HTTP,
} ListenerRole;

static const char *listener_role_to_string(ListenerRole role) {
        return role == LISTENER_GRPC ? "gRPC" : "HTTP";
}

static int manager_add_listener(Manager *m, ListenerRole role, int fd, bool require_token) {
        return role == LISTENER_GRPC ? api_grpc_add_listener(m->grpc, fd, require_token)
                                     : api_http_add_listener(m->http, fd, require_token);
}

int manager_collect_activation_fds(Manager *m) {
        char **names = NULL;
        int n;

        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                return log_error_errno(n, "Failed to read the sockets passed by systemd: %m");
        if (n == 0)
                return 0;

        m->activation_fds = calloc(n, sizeof(int));
        if (!m->activation_fds) {
                strv_free(names);
                return log_oom();
        }
        for (int i = 0; i < n; i++)
                m->activation_fds[i] = SD_LISTEN_FDS_START + i;
        m->activation_names = names;
        m->n_activation_fds = n;
        m->socket_activated = true;
        return 0;
}

static int socket_family(int fd) {
        struct sockaddr_storage sa;
        socklen_t l = sizeof sa;

        if (getsockname(fd, (struct sockaddr *) &sa, &l) < 0)
                return -errno;
        return sa.ss_family;
}

/* TCP is reachable by every local user (and more), so it is only ever served with a token;
 * unix sockets are guarded by their file mode and group. */
static int manager_take_activation_fds(Manager *m) {
        int r;

        for (size_t i = 0; i < m->n_activation_fds; i++) {
                int fd = TAKE_FD(m->activation_fds[i]);
                const char *name = m->activation_names[i];
                ListenerRole role;
                bool tcp;
                int family;

                if (streq(name, "grpc"))
                        role = LISTENER_GRPC;
                else if (streq(name, "http"))
                        role = LISTENER_HTTP;
                else {
                        log_warning("Ignoring socket passed by systemd with unknown FileDescriptorName=%s "
                                    "(expected \"grpc\" or \"http\").",
                                    name);
                        safe_close(fd);
                        continue;
                }

                family = socket_family(fd);
                if (family < 0) {
                        safe_close(fd);
                        return log_error_errno(family, "Passed socket %s is not a socket: %m", name);
                }
                tcp = family != AF_UNIX;
                if (tcp && !m->config->token) {
                        safe_close(fd);
                        return log_error_errno(EINVAL,
                                               "systemd passed a TCP socket (%s) but no Token= or TokenFile= "
                                               "is configured; refusing to serve it unauthenticated.",
                                               name);
                }

                r = manager_add_listener(m, role, fd, tcp);
                if (r < 0)
                        return log_error_errno(r, "Failed to serve the %s socket passed by systemd: %m",
                                               listener_role_to_string(role));
                log_debug("Serving %s on the socket passed by systemd (%s).", listener_role_to_string(role),
                          tcp ? "TCP" : "unix");
        }

        m->activation_fds = mfree(m->activation_fds);
        m->activation_names = strv_free(m->activation_names);
        m->n_activation_fds = 0;
        return 0;
}

static int bind_unix_socket(const char *path, const char *group, int *ret) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        struct group *gr;

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(ENAMETOOLONG, "Socket path %s is too long.", path);
        strcpy(sa.sun_path, path);

        /* A socket left behind by a previous quiltd is replaced; any other file is not ours
         * to remove. */
        if (lstat(path, &st) >= 0) {
                if (!S_ISSOCK(st.st_mode))
                        return log_error_errno(EEXIST, "%s exists and is not a socket; not replacing it.", path);
                if (unlink(path) < 0)
                        return log_error_errno(errno, "Failed to remove the stale socket %s: %m", path);
        }

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create a unix socket: %m");
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return log_error_errno(errno, "Failed to bind %s: %m", path);

        /* Access is by group membership, as with docker's and podman's sockets. */
        gr = group ? getgrnam(group) : NULL;
        if (gr) {
                if (chown(path, 0, gr->gr_gid) < 0)
                        log_warning_errno(errno, "Failed to give %s to group %s: %m", path, group);
        } else if (group)
                log_warning("Group %s does not exist (install sysusers.d/quilt.conf); %s stays root-only.", group,
                            path);
        if (chmod(path, 0660) < 0)
                return log_error_errno(errno, "Failed to set the mode of %s: %m", path);

        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "Failed to listen on %s: %m", path);

        *ret = TAKE_FD(fd);
        return 0;
}

static int bind_tcp_socket(const char *address, int *ret) {
        _cleanup_free_ char *host = NULL;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai = NULL;
        const char *port;
        int r, fd, one = 1;

        /* "HOST:PORT" or "[V6]:PORT", already validated by the configuration parser. */
        port = strrchr(address, ':');
        if (!port)
                return log_error_errno(EINVAL, "Invalid listen address %s.", address);
        if (address[0] == '[')
                host = strndup(address + 1, port - address - 2);
        else
                host = strndup(address, port - address);
        if (!host)
                return log_oom();

        r = getaddrinfo(host, port + 1, &hints, &ai);
        if (r != 0)
                return log_error_errno(EINVAL, "Cannot resolve listen address %s: %s", address, gai_strerror(r));

        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                r = log_error_errno(errno, "Failed to create a TCP socket: %m");
                goto finish;
        }
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
                r = log_error_errno(errno, "Failed to listen on %s: %m", address);
                safe_close(fd);
                goto finish;
        }
        *ret = fd;
        r = 0;
finish:
        freeaddrinfo(ai);
        return r;
}

int manager_listen(Manager *m) {
        const QuiltConfig *c = m->config;
        int r, fd;

        if (m->socket_activated) {
                r = manager_take_activation_fds(m);
                if (r < 0)
                        return r;
        } else {
                r = bind_unix_socket(c->grpc_socket, c->socket_group, &fd);
                if (r < 0)
                        return r;
                r = manager_add_listener(m, LISTENER_GRPC, fd, false);
                if (r < 0)
                        return log_error_errno(r, "Failed to serve %s: %m", c->grpc_socket);

                r = bind_unix_socket(c->http_socket, c->socket_group, &fd);
                if (r < 0)
                        return r;
                r = manager_add_listener(m, LISTENER_HTTP, fd, false);
                if (r < 0)
                        return log_error_errno(r, "Failed to serve %s: %m", c->http_socket);
                log_info("Listening on %s (gRPC) and %s (HTTP).", c->grpc_socket, c->http_socket);
        }

        /* The optional TCP listeners come from quiltd.conf in both cases. */
        if (c->grpc_listen) {
                r = bind_tcp_socket(c->grpc_listen, &fd);
                if (r < 0)
                        return r;
                r = manager_add_listener(m, LISTENER_GRPC, fd, true);
                if (r < 0)
                        return log_error_errno(r, "Failed to serve %s: %m", c->grpc_listen);
                log_info("Listening on %s (gRPC over TCP, token required).", c->grpc_listen);
        }
        if (c->http_listen) {
                r = bind_tcp_socket(c->http_listen, &fd);
                if (r < 0)
                        return r;
                r = manager_add_listener(m, LISTENER_HTTP, fd, true);
                if (r < 0)
                        return log_error_errno(r, "Failed to serve %s: %m", c->http_listen);
                log_info("Listening on %s (HTTP over TCP, token required).", c->http_listen);
        }
        return 0;
}
