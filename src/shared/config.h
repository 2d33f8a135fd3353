/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* quiltd's configuration: /etc/quilt/quiltd.conf, INI syntax with systemd-style keys,
 * parsed with inih. Every key is optional; unset keys keep the defaults below.
 *
 *   [Daemon]
 *   Backend=auto|systemd|standalone        (auto: systemd when sd_booted() > 0)
 *   IdleExitSec=0                          (0 = never exit when idle)
 *   WatchdogSec is taken from the unit ($WATCHDOG_USEC), not from here.
 *
 *   [API]
 *   GRPCSocket=/run/quilt/quilt.sock
 *   HTTPSocket=/run/quilt/http.sock
 *   SocketGroup=quilt
 *   GRPCListen=                            (e.g. 127.0.0.1:50051; empty = off)
 *   HTTPListen=                            (e.g. 127.0.0.1:8080; empty = off)
 *   Token=                                 (bearer token for the TCP listeners)
 *   TokenFile=                             (or read it from this file)
 *
 *   [Storage]
 *   StateDirectory=/var/lib/quilt
 *   RuntimeDirectory=/run/quilt
 *
 *   [Logs]
 *   Driver=auto|journal|file               (auto: journal with the systemd backend when journald
 *                                           is reachable, else file; a container keeps the
 *                                           driver it was created with)
 *   MaxFileSize=8M                         (file driver: container.log is rotated to
 *                                           container.log.1 beyond this; K, M, G; 0 = never)
 *
 *   [Network]
 *   Bridge=quilt0                          (the bridge containers are attached to)
 *   Subnet=10.42.0.0/16                    (IPv4, /8 to /30; the first address is the
 *                                           gateway, see ip-util.h)
 *   ContainerAPIAccess=no                  (yes: containers may connect to quiltd's TCP
 *                                           listeners on the gateway address, for nested
 *                                           use; no: Quilt's firewall drops that)
 *   DNSPort=53                             (the DNS server's port on the bridge address)
 *   DNSUpstream=                           (where names that are not containers' go:
 *                                           "IP" or "IP:PORT", "[IPv6]:PORT", several
 *                                           separated by spaces; repeating the key adds,
 *                                           an empty value resets; none = the host's
 *                                           /etc/resolv.conf, followed when it changes)
 *
 * A TCP listener without a token is a configuration error: the TCP ports are reachable by
 * every local user, so they are never served unauthenticated. */

#include <errno.h>
#include <stdint.h>

#include "ip-util.h"
#include "macro.h"

#define QUILT_CONFIG_FILE "/etc/quilt/quiltd.conf"
#define DEFAULT_DNS_PORT  53

typedef enum QuiltBackend {
        QUILT_BACKEND_AUTO,
        QUILT_BACKEND_SYSTEMD,
        QUILT_BACKEND_STANDALONE,
        _QUILT_BACKEND_MAX,
        _QUILT_BACKEND_INVALID = -EINVAL, /* also makes the enum signed, so "< 0" works */
} QuiltBackend;

typedef enum QuiltLogDriver {
        QUILT_LOG_DRIVER_AUTO,
        QUILT_LOG_DRIVER_JOURNAL,
        QUILT_LOG_DRIVER_FILE,
        _QUILT_LOG_DRIVER_MAX,
        _QUILT_LOG_DRIVER_INVALID = -EINVAL,
} QuiltLogDriver;

#define QUILT_LOG_MAX_FILE_SIZE_DEFAULT (8U * 1024U * 1024U)
#define QUILT_LOG_MAX_FILE_SIZE_MIN     4096U

typedef struct QuiltConfig {
        QuiltBackend backend;
        uint64_t idle_exit_usec;

        char *grpc_socket;
        char *http_socket;
        char *socket_group;
        char *grpc_listen; /* "HOST:PORT" or NULL */
        char *http_listen;
        char *token;       /* from Token= or TokenFile=, NULL when neither */

        char *state_dir;
        char *runtime_dir;

        QuiltLogDriver log_driver;
        uint64_t log_max_file_size; /* bytes; 0 = never rotate */
        char *bridge;
        Ipv4Subnet subnet;
        bool container_api_access;
        uint16_t dns_port;
        char **dns_upstreams; /* NULL: the host's /etc/resolv.conf */
} QuiltConfig;

/* Defaults only. */
int config_new(QuiltConfig **ret);

/* Loads a file over the defaults. A missing file is fine when it is the default path
 * (returns 0); a missing explicit file, a syntax error, an unknown section or key, or a
 * bad value is -EINVAL with *ret_error ("quiltd.conf:12: IdleExitSec: invalid duration
 * 'abc'"). */
int config_load(QuiltConfig *c, const char *path, char **ret_error);

/* Checks consistency after loading (TCP listener without token, relative paths, ...). */
int config_verify(const QuiltConfig *c, char **ret_error);

QuiltConfig *config_free(QuiltConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(QuiltConfig *, config_free);

const char *quilt_backend_to_string(QuiltBackend b);
QuiltBackend quilt_backend_from_string(const char *s); /* _QUILT_BACKEND_INVALID if unknown */

const char *quilt_log_driver_to_string(QuiltLogDriver d);
QuiltLogDriver quilt_log_driver_from_string(const char *s); /* _QUILT_LOG_DRIVER_INVALID if unknown */

/* "4096", "512K", "8M", "1G" (powers of 1024, case-insensitive, an optional "B" after the
 * unit) → bytes. -EINVAL when malformed, -ERANGE on overflow. */
int parse_size_bytes(const char *s, uint64_t *ret);

/* "yes", "true", "on", "1" / "no", "false", "off", "0". -EINVAL otherwise. */
int parse_boolean(const char *s);

/* "30", "30s", "500ms", "2min" or "2m", "1h 30min", "1d", "0" → µs (systemd's units). -EINVAL when malformed, -ERANGE on overflow. */
int parse_duration_usec(const char *s, uint64_t *ret);
