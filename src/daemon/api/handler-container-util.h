/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the container handlers share: finding the container a request names, and turning
 * a row into the API's messages. */

#include "api.h"
#include "quilt.pb-c.h"
#include "store-containers.h"

/* Resolves what the request names: container_name (exact name) when set, else
 * container_id (full id, name, or unique id prefix). On failure answers the call (NOT_FOUND,
 * INVALID_ARGUMENT) and returns < 0; the caller just returns. */
int container_lookup(ApiCall *call, const char *container_id, const char *container_name, ContainerRecord *ret);

Quilt__ContainerStatus container_status_to_proto(ContainerState s);

/* A heap-built ContainerInfo (free with protobuf_c_message_free_unpacked()). */
Quilt__ContainerInfo *container_info_from_record(Manager *m, const ContainerRecord *c);
