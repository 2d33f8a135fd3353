/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The handlers, one file per area (handler-system.c, …), wired up in api.c. */

#include "api.h"

int api_get_health(Manager *m, ApiCall *call);
int api_get_system_info(Manager *m, ApiCall *call);

int api_create_container(Manager *m, ApiCall *call);
int api_get_container_status(Manager *m, ApiCall *call);
/* handler-container-logs.c */
int api_get_container_logs(Manager *m, ApiCall *call);
int api_stream_container_logs(Manager *m, ApiCall *call);
int api_stop_container(Manager *m, ApiCall *call);
int api_remove_container(Manager *m, ApiCall *call);
int api_start_container(Manager *m, ApiCall *call);
int api_kill_container(Manager *m, ApiCall *call);
int api_get_container_by_name(Manager *m, ApiCall *call);
int api_list_containers(Manager *m, ApiCall *call);
int api_wait_container(Manager *m, ApiCall *call);
/* handler-container-exec.c */
int api_exec_container(Manager *m, ApiCall *call);
int api_exec_container_stream(Manager *m, ApiCall *call);
int api_exec_interactive(Manager *m, ApiCall *call);
/* handler-image.c */
int api_list_images(Manager *m, ApiCall *call);
int api_import_image(Manager *m, ApiCall *call);
int api_remove_image(Manager *m, ApiCall *call);
/* handler-volume.c */
int api_create_volume(Manager *m, ApiCall *call);
int api_remove_volume(Manager *m, ApiCall *call);
int api_list_volumes(Manager *m, ApiCall *call);
int api_inspect_volume(Manager *m, ApiCall *call);
int api_prune_volumes(Manager *m, ApiCall *call);
/* handler-file.c */
int api_read_file(Manager *m, ApiCall *call);
int api_write_file(Manager *m, ApiCall *call);
int api_list_files(Manager *m, ApiCall *call);
/* handler-events.c */
int api_stream_events(Manager *m, ApiCall *call);
/* handler-dns.c */
int api_list_dns_entries(Manager *m, ApiCall *call);

/* handler-network.c: the container network */
int api_list_network_allocations(Manager *m, ApiCall *call);
int api_get_container_network(Manager *m, ApiCall *call);
int api_comprehensive_network_cleanup(Manager *m, ApiCall *call);
