/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Container names become the hostname, the machine name in systemd-machined and the DNS
 * name on quilt0, so they are what all three accept: one DNS label, 1-63 letters, digits
 * and '-', not starting or ending with '-'. */
#define CONTAINER_NAME_MAX 63
bool container_name_is_valid(const char *name);

/* "uid[:gid]" with numbers or user/group names (looked up in the image): letters,
 * digits, '_', '.', '-', one optional ':'. */
bool container_user_is_valid(const char *user);

/* Environment variable names: not empty, no '=' and no NUL. */
bool env_name_is_valid(const char *name);
