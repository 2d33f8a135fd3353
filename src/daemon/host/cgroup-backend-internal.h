/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What cgroup-backend.c (dispatch and everything that is the same for both backends: ids,
 * directories, kill, populated, memory, removal) shares with cgroup-fs.c and
 * cgroup-systemd.c. Not for other users. */

#include <systemd/sd-bus.h>

#include "cgroup-backend.h"
#include "cgroup-util.h"

#define QUILT_SLICE "quilt.slice"

typedef struct CgroupBackendOps {
        const char *leaf_suffix;    /* appended to "quilt-<id>": "" or ".scope" */
        const char *display_prefix; /* "/quilt.slice/" or "quilt.slice/" */

        /* Fills b->hierarchies and b->slice_dirs; sets up what the backend needs. */
        int (*init)(CgroupBackend *b);
        void (*done)(CgroupBackend *b);

        /* a has id, leaf, callback and userdata set. Same contract as cgroup_backend_attach(). */
        int (*attach)(CgroupAttach *a, pid_t pid, const char *description, const CgroupLimits *limits);
        /* Cancels whatever a still has in flight. */
        void (*attach_done)(CgroupAttach *a);

        /* Called by cgroup_backend_destroy() before the directories are removed. Optional. */
        int (*destroy)(CgroupBackend *b, const char *leaf);

        /* Optional: NULL means "nothing to register with". */
        int (*register_machine)(CgroupBackend *b, const char *id, const char *name, pid_t leader,
                                const char *root);
} CgroupBackendOps;

extern const CgroupBackendOps cgroup_fs_ops;
extern const CgroupBackendOps cgroup_systemd_ops;

/* A job result that arrived before the reply with the job's path (systemd). */
typedef struct CgroupJobResult {
        char *job;
        char *result;
} CgroupJobResult;

struct CgroupAttach {
        CgroupBackend *backend;
        char *id;
        char *leaf;
        CgroupAttachCallback callback;
        void *userdata;

        /* systemd */
        char *unit;
        char *description;
        pid_t pid;
        CgroupLimits limits;
        sd_bus_slot *call_slot; /* StartTransientUnit or ResetFailedUnit in flight */
        sd_event_source *timeout;
        char *job;              /* from the StartTransientUnit reply */
        CgroupJobResult *early; /* JobRemoved seen for our unit before the reply */
        size_t n_early;
        bool retried;                              /* ResetFailedUnit + second try done */
        CgroupAttach *pending_prev, *pending_next; /* in backend->pending while waiting */
        bool in_pending;
};

struct CgroupBackend {
        const CgroupBackendOps *ops;
        sd_event *event;
        HostInfo host;
        CgroupMounts mounts;

        /* The hierarchies containers live in, and in each the directory of quilt.slice. The
         * container's leaf is <slice_dir>/<leaf> in each (where it exists). */
        const CgroupMount **hierarchies;
        char **slice_dirs;
        size_t n_hierarchies;

        /* cgroupfs: quilt.slice exists and has its controllers enabled */
        bool slice_ready;

        /* systemd */
        sd_bus *bus;
        sd_bus_slot *job_removed_slot;
        CgroupAttach *pending;
};

/* Adds a hierarchy with its quilt.slice directory (takes slice_dir). Skips duplicates. */
int cgroup_backend_add_hierarchy(CgroupBackend *b, const CgroupMount *m, char *slice_dir);

/* <slice_dir of hierarchy i>/<leaf>. */
int cgroup_backend_leaf_dir(CgroupBackend *b, size_t i, const char *leaf, char **ret);

bool cgroup_mount_has_controller(const CgroupMount *m, const char *controller);
