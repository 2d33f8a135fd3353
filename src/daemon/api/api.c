/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "api-handlers.h"
#include "api.h"
#include "log.h"
#include "manager.h"
#include "quilt.pb-c.h"

/* Which RPCs have a handler. The method table itself comes from the service descriptor,
 * so it cannot drift from proto/quilt.proto; an RPC without an entry here is answered
 * UNIMPLEMENTED. Streaming RPCs are also listed in src/shared/rpc-kind.c. */
static const ApiHandlerEntry handlers[] = {
        { "GetHealth", api_get_health },
        { "GetSystemInfo", api_get_system_info },
        { "CreateContainer", api_create_container },
        { "GetContainerStatus", api_get_container_status },
        { "GetContainerLogs", api_get_container_logs },
        { "StopContainer", api_stop_container },
        { "RemoveContainer", api_remove_container },
        { "StartContainer", api_start_container },
        { "KillContainer", api_kill_container },
        { "GetContainerByName", api_get_container_by_name },
        { "ListContainers", api_list_containers },
        { "WaitContainer", api_wait_container },
        { "ExecContainer", api_exec_container },
        { "ExecContainerStream", api_exec_container_stream },
        { "ExecInteractive", api_exec_interactive },
        { "ListImages", api_list_images },
        { "ImportImage", api_import_image },
        { "RemoveImage", api_remove_image },
        { "CreateVolume", api_create_volume },
        { "RemoveVolume", api_remove_volume },
        { "ListVolumes", api_list_volumes },
        { "InspectVolume", api_inspect_volume },
        { "PruneVolumes", api_prune_volumes },
        { "ReadFile", api_read_file },
        { "WriteFile", api_write_file },
        { "ListFiles", api_list_files },
        /* streams/events */
        { "StreamEvents", api_stream_events },
        { "ListNetworkAllocations", api_list_network_allocations },
        { "GetContainerNetwork", api_get_container_network },
        { "ComprehensiveNetworkCleanup", api_comprehensive_network_cleanup },
        /* DNS */
        { "ListDnsEntries", api_list_dns_entries },
        /* Logs */
        { "StreamContainerLogs", api_stream_container_logs },
};

const ApiService *api_quilt_service(void) {
        static ApiService *service = NULL;

        if (!service && api_service_new(&quilt__quilt_service__descriptor, handlers, ELEMENTSOF(handlers),
                                        &service) < 0)
                abort(); /* at start-up, when nothing works without it */
        return service;
}

const ApiMethod *api_methods(size_t *ret_n) {
        const ApiService *s = api_quilt_service();

        if (ret_n)
                *ret_n = s->n_methods;
        return s->methods;
}

const ApiMethod *api_method_find(const char *name) {
        return api_service_find_method(api_quilt_service(), name);
}
