/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "macro.h"
#include "name-util.h"

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool container_name_is_valid(const char *name) {
        size_t n;

        if (isempty(name))
                return false;
        n = strlen(name);
        if (n > CONTAINER_NAME_MAX || name[0] == '-' || name[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(name[i]) && name[i] != '-')
                        return false;
        return true;
}

static bool user_part_is_valid(const char *s, size_t n) {
        if (n == 0 || n > 32)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("_.-", s[i]))
                        return false;
        return s[0] != '-';
}

bool container_user_is_valid(const char *user) {
        const char *colon;

        if (isempty(user))
                return false;
        colon = strchr(user, ':');
        if (!colon)
                return user_part_is_valid(user, strlen(user));
        return user_part_is_valid(user, colon - user) && user_part_is_valid(colon + 1, strlen(colon + 1));
}

bool env_name_is_valid(const char *name) {
        return !isempty(name) && !strchr(name, '=');
}
