/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/socket.h>

/* Parses a numeric socket address: "IPv4", "IPv4:PORT", "IPv6" (also "IPv6%iface"),
 * "[IPv6]" or "[IPv6]:PORT"; default_port when none is given. Host names are refused, so
 * this never asks a resolver. 0, -ENOMEM, or -EINVAL with *ret_reason (a static string
 * saying what is wrong). */
int socket_address_parse(const char *s, uint16_t default_port, struct sockaddr_storage *ret, socklen_t *ret_len,
                         const char **ret_reason);
