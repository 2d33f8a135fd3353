/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* Takes the sockets systemd passed (by FileDescriptorName=: "grpc", "http"), or binds the
 * configured ones itself, plus the optional TCP listeners, and hands them to the
 * transports. */
int manager_listen(Manager *m);

/* Takes the activation fds out of the environment ($LISTEN_FDS/$LISTEN_FDNAMES are
 * unset) so that nothing quiltd spawns inherits them. Must run before any thread
 * exists, because it changes the environment. */
int manager_collect_activation_fds(Manager *m);
