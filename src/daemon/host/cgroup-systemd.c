/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The systemd backend: each container is a transient scope quilt-<id>.scope in quilt.slice,
 * created with StartTransientUnit on the system bus, asynchronously on the event loop.
 *
 * One JobRemoved match for the whole backend, installed when the backend is created and so
 * before any StartTransientUnit is sent (AddMatch goes out first on the same connection,
 * and the bus daemon handles one connection's messages in order). Pending attaches are
 * found by unit name; a result that arrives before the method reply is remembered by job
 * path until the reply says which job is ours.
 *
 * Where the scope's cgroups are: systemd puts the scope in every hierarchy it manages
 * (the cgroup2 tree on v2; on v1/hybrid name=systemd, the controllers it supports and the
 * cgroup2 tracking tree), at <systemd's root>/quilt.slice/quilt-<id>.scope. systemd's root
 * is PID 1's cgroup without "/init.scope" ("/" on a host, deeper in a container without a
 * cgroup namespace). */

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-id128.h>

#include "cgroup-backend-internal.h"
#include "log.h"

#define SYSTEMD_DEST    "org.freedesktop.systemd1"
#define SYSTEMD_PATH    "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"

#define MACHINED_DEST    "org.freedesktop.machine1"
#define MACHINED_PATH    "/org/freedesktop/machine1"
#define MACHINED_MANAGER "org.freedesktop.machine1.Manager"

/* A scope's start job finishes at once; this only catches a lost signal. */
#define ATTACH_TIMEOUT_USEC (30 * USEC_PER_SEC)

/* ------------------------------------------------------------------------ where it lives */

static int systemd_root(const CgroupMounts *mounts, char **ret) {
        CgroupMembership pid1 = {};
        char *root = NULL;
        int r;

        r = cg_membership_read(1, &pid1);
        if (r < 0)
                return log_error_errno(r, "Failed to read the cgroup of PID 1: %m");

        /* systemd's own hierarchy: name=systemd on v1/hybrid, the cgroup2 tree on v2 */
        for (size_t i = 0; i < pid1.n && !root; i++) {
                const CgroupMember *c = pid1.members + i;
                bool named = c->controllers && c->controllers[0] && streq(c->controllers[0], "name=systemd");

                if (named || (c->hierarchy_id == 0 && !cg_mounts_find_controller(mounts, "name=systemd")))
                        root = strdup(c->path);
        }
        cg_membership_done(&pid1);
        if (!root)
                root = strdup("/");
        if (!root)
                return -ENOMEM;

        size_t l = strlen(root);
        if (l >= strlen("/init.scope") && streq(root + l - strlen("/init.scope"), "/init.scope"))
                root[l - strlen("/init.scope")] = 0;
        if (root[0] == 0 || streq(root, "/"))
                root[0] = 0; /* so that root + "/quilt.slice" works */

        *ret = root;
        return 0;
}

/* --------------------------------------------------------------------------- completion */

static void pending_remove(CgroupAttach *a) {
        CgroupBackend *b = a->backend;

        if (!a->in_pending)
                return;
        if (a->pending_prev)
                a->pending_prev->pending_next = a->pending_next;
        else
                b->pending = a->pending_next;
        if (a->pending_next)
                a->pending_next->pending_prev = a->pending_prev;
        a->pending_prev = a->pending_next = NULL;
        a->in_pending = false;
}

static void early_results_free(CgroupAttach *a) {
        for (size_t i = 0; i < a->n_early; i++) {
                free(a->early[i].job);
                free(a->early[i].result);
        }
        a->early = mfree(a->early);
        a->n_early = 0;
}

static void attach_cancel(CgroupAttach *a) {
        pending_remove(a);
        a->call_slot = sd_bus_slot_unref(a->call_slot);
        a->timeout = sd_event_source_disable_unref(a->timeout);
        early_results_free(a);
}

/* The unit we created did not come up: leave nothing behind. Fire and forget, in this
 * order (systemd handles them in order): stop what may run, forget the failure, drop the
 * reference AddRef= gave us, so that CollectMode= can unload it. */
static void unit_discard_async(sd_bus *bus, const char *unit) {
        (void) sd_bus_call_method_async(bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "StopUnit",
                                        NULL, NULL, "ss", unit, "replace");
        (void) sd_bus_call_method_async(bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                        "ResetFailedUnit", NULL, NULL, "s", unit);
        (void) sd_bus_call_method_async(bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "UnrefUnit",
                                        NULL, NULL, "s", unit);
}

/* Answers the caller. Must be the last thing done with a: the callback may free it. */
static void attach_complete(CgroupAttach *a, int error, const char *message) {
        CgroupAttachCallback cb = a->callback;
        void *userdata = a->userdata;

        attach_cancel(a);
        a->callback = NULL;
        if (error < 0)
                log_debug_errno(error, "Attaching pid %ji to %s failed: %s", (intmax_t) a->pid, a->unit,
                                message);
        if (cb)
                cb(error, message, userdata);
}

static void attach_job_done(CgroupAttach *a, const char *result) {
        _cleanup_free_ char *message = NULL;

        if (streq(result, "done")) {
                attach_complete(a, 0, NULL);
                return;
        }

        unit_discard_async(a->backend->bus, a->unit);
        if (asprintf(&message, "scope job %s", result) < 0)
                message = NULL;
        attach_complete(a, -EIO, message ?: "scope job failed");
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        CgroupBackend *b = userdata;
        const char *job, *unit, *result;
        CgroupAttach *done = NULL;
        uint32_t id;
        int r;

        r = sd_bus_message_read(m, "uoss", &id, &job, &unit, &result);
        if (r < 0) {
                log_debug_errno(r, "Failed to parse a JobRemoved signal: %m");
                return 0;
        }

        for (CgroupAttach *a = b->pending; a; a = a->pending_next) {
                if (!streq(a->unit, unit))
                        continue;

                if (a->job) {
                        if (streq(a->job, job))
                                done = a;
                        continue;
                }

                /* The reply with our job path is not here yet: remember, it may be ours. */
                CgroupJobResult *e = realloc(a->early, (a->n_early + 1) * sizeof(CgroupJobResult));
                if (!e) {
                        log_oom();
                        continue;
                }
                a->early = e;
                e[a->n_early].job = strdup(job);
                e[a->n_early].result = strdup(result);
                if (!e[a->n_early].job || !e[a->n_early].result) {
                        free(e[a->n_early].job);
                        free(e[a->n_early].result);
                        log_oom();
                        continue;
                }
                a->n_early++;
        }

        /* Last: the callback may free any attach, so the list is not touched afterwards. */
        if (done)
                attach_job_done(done, result);
        return 0;
}

static int on_attach_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        CgroupAttach *a = userdata;

        /* Also without a reply: the unit may exist by now, and ids are never shared by two
         * live containers, so it can only be ours. */
        unit_discard_async(a->backend->bus, a->unit);
        attach_complete(a, -ETIMEDOUT, "timed out waiting for systemd to start the scope");
        return 0;
}

/* ---------------------------------------------------------------------------- the calls */

static int start_transient_unit(CgroupAttach *a);

static int on_reset_failed_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CgroupAttach *a = userdata;
        int r;

        a->call_slot = sd_bus_slot_unref(a->call_slot);

        /* Whatever it answered, try once more: a unit that is still active makes the second
         * StartTransientUnit fail with UnitExists again, and that is the answer. */
        r = start_transient_unit(a);
        if (r < 0)
                attach_complete(a, r, "failed to send StartTransientUnit");
        return 0;
}

static int on_start_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CgroupAttach *a = userdata;
        const sd_bus_error *e;
        const char *job;
        int r;

        a->call_slot = sd_bus_slot_unref(a->call_slot);

        e = sd_bus_message_get_error(reply);
        if (e) {
                _cleanup_free_ char *message = NULL;

                if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists") && !a->retried) {
                        /* Typically a failed leftover of an earlier run. */
                        log_debug("%s exists already, resetting it and trying again.", a->unit);
                        a->retried = true;
                        r = sd_bus_call_method_async(a->backend->bus, &a->call_slot, SYSTEMD_DEST,
                                                     SYSTEMD_PATH, SYSTEMD_MANAGER, "ResetFailedUnit",
                                                     on_reset_failed_reply, a, "s", a->unit);
                        if (r < 0)
                                attach_complete(a, r, "failed to send ResetFailedUnit");
                        return 0;
                }

                r = sd_bus_error_get_errno(e);
                if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists"))
                        r = EEXIST;
                if (asprintf(&message, "cannot create %s: %s", a->unit, e->message ?: e->name) < 0)
                        message = NULL;
                attach_complete(a, -(r > 0 ? r : EIO), message ?: "cannot create the scope");
                return 0;
        }

        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0) {
                unit_discard_async(a->backend->bus, a->unit);
                attach_complete(a, r, "unexpected reply to StartTransientUnit");
                return 0;
        }
        a->job = strdup(job);
        if (!a->job) {
                unit_discard_async(a->backend->bus, a->unit);
                attach_complete(a, -ENOMEM, "out of memory");
                return 0;
        }

        for (size_t i = 0; i < a->n_early; i++)
                if (streq(a->early[i].job, job)) {
                        _cleanup_free_ char *result = TAKE_PTR(a->early[i].result);

                        attach_job_done(a, result);
                        return 0;
                }
        early_results_free(a);
        return 0;
}

static int append_property_t(sd_bus_message *m, const char *name, uint64_t v) {
        return sd_bus_message_append(m, "(sv)", name, "t", v);
}

static int start_transient_unit(CgroupAttach *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus = a->backend->bus;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                           "StartTransientUnit");
        if (r < 0)
                return r;

        r = sd_bus_message_append(m, "ss", a->unit, "fail");
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;

        /* One property per line. */
        /* clang-format off */
        r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                  "Description", "s", a->description,
                                  "Slice", "s", QUILT_SLICE,
                                  "DefaultDependencies", "b", 0,
                                  "PIDs", "au", 1, (uint32_t) a->pid,
                                  "Delegate", "b", 1,
                                  "CollectMode", "s", "inactive-or-failed",
                                  /* keeps the unit loaded while quiltd is connected, even
                                   * once it is empty; destroy drops the reference */
                                  "AddRef", "b", 1,
                                  "MemoryAccounting", "b", 1,
                                  "TasksAccounting", "b", 1,
                                  "CPUAccounting", "b", 1);
        /* clang-format on */
        if (r < 0)
                return r;

        if (a->limits.memory_max_bytes > 0) {
                r = append_property_t(m, "MemoryMax", a->limits.memory_max_bytes);
                if (r < 0)
                        return r;
        }
        if (a->limits.cpu_quota_usec > 0) {
                r = append_property_t(m, "CPUQuotaPerSecUSec", a->limits.cpu_quota_usec);
                if (r < 0)
                        return r;
        }
        if (a->limits.pids_max > 0) {
                r = append_property_t(m, "TasksMax", a->limits.pids_max);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;

        r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;

        return sd_bus_call_async(bus, &a->call_slot, m, on_start_reply, a, 0);
}

static int systemd_attach(CgroupAttach *a, pid_t pid, const char *description, const CgroupLimits *limits) {
        CgroupBackend *b = a->backend;
        uint64_t now;
        int r;

        /* systemd 252 turns a pid that does not exist into a failed scope rather than an
         * error (systemd#24613): refuse it here. */
        if (kill(pid, 0) < 0)
                return log_debug_errno(errno, "Cannot attach pid %ji: %m", (intmax_t) pid);

        a->pid = pid;
        a->limits = *limits;
        if (asprintf(&a->unit, "%s", a->leaf) < 0)
                return -ENOMEM;
        if (description)
                a->description = strdup(description);
        else if (asprintf(&a->description, "Quilt container %s", a->id) < 0)
                a->description = NULL;
        if (!a->description)
                return -ENOMEM;

        /* The timer first: once the call is sent, failing here would leave a unit behind. */
        r = sd_event_now(b->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(b->event, &a->timeout, CLOCK_MONOTONIC, now + ATTACH_TIMEOUT_USEC, 0,
                                      on_attach_timeout, a);
        if (r < 0)
                return log_error_errno(r, "Failed to arm the attach timeout: %m");

        r = start_transient_unit(a);
        if (r < 0)
                return log_error_errno(r, "Failed to send StartTransientUnit for %s: %m", a->unit);

        a->pending_next = b->pending;
        if (b->pending)
                b->pending->pending_prev = a;
        b->pending = a;
        a->in_pending = true;
        return 0;
}

static void systemd_attach_done(CgroupAttach *a) {
        attach_cancel(a);
        free(a->unit);
        free(a->description);
        free(a->job);
}

/* ------------------------------------------------------------------------------ destroy */

static bool error_is_no_unit(const sd_bus_error *e) {
        return sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit") ||
               sd_bus_error_has_name(e, "org.freedesktop.systemd1.LoadFailed");
}

static int systemd_destroy(CgroupBackend *b, const char *leaf) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        /* Synchronous: three quick calls. The stop job of an empty scope finishes at once;
         * its JobRemoved reaches on_job_removed(), which ignores it. */
        r = sd_bus_call_method(b->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "StopUnit", &error, NULL,
                               "ss", leaf, "replace");
        if (r < 0) {
                if (error_is_no_unit(&error))
                        return 0; /* gone already: nothing to reset or unreference */
                return log_error_errno(r, "Failed to stop %s: %s", leaf, error.message ?: strerror(-r));
        }

        sd_bus_error_free(&error);
        r = sd_bus_call_method(b->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "ResetFailedUnit",
                               &error, NULL, "s", leaf);
        if (r < 0 && !error_is_no_unit(&error))
                log_debug("ResetFailedUnit(%s): %s", leaf, error.message ?: strerror(-r));

        /* Our reference from AddRef=; a quiltd restarted since has none (NotReferenced). */
        sd_bus_error_free(&error);
        r = sd_bus_call_method(b->bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "UnrefUnit", &error,
                               NULL, "s", leaf);
        if (r < 0 && !error_is_no_unit(&error))
                log_debug("UnrefUnit(%s): %s", leaf, error.message ?: strerror(-r));

        return 0;
}

/* ------------------------------------------------------------------------------ machined */

static int on_register_machine_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const char *name = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (!e)
                log_debug("Registered machine %s with systemd-machined.", name);
        else if (sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.ServiceUnknown") ||
                 sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.NameHasNoOwner"))
                log_debug("systemd-machined is not available, machine %s not registered.", name);
        else
                log_warning("Failed to register machine %s with systemd-machined: %s", name,
                            e->message ?: e->name);
        return 0;
}

static int systemd_register_machine(CgroupBackend *b, const char *id, const char *name, pid_t leader,
                                    const char *root) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_free_ char *name_copy = NULL;
        sd_id128_t machine_id;
        bool have_id;
        int r;

        /* The container UUID is the machine id (machinectl status shows it). */
        have_id = sd_id128_from_string(id, &machine_id) >= 0;

        name_copy = strdup(name);
        if (!name_copy)
                return log_oom();

        r = sd_bus_message_new_method_call(b->bus, &m, MACHINED_DEST, MACHINED_PATH, MACHINED_MANAGER,
                                           "RegisterMachine");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(m, 'y', have_id ? machine_id.bytes : NULL, have_id ? 16 : 0);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ssus", "quilt", "container", (uint32_t) leader, strempty(root));
        if (r < 0)
                return r;

        r = sd_bus_call_async(b->bus, &slot, m, on_register_machine_reply, name_copy, 0);
        if (r < 0)
                return log_warning_errno(r, "Failed to send RegisterMachine for %s: %m", name);

        /* Floating: the reply handler runs once, then the slot frees the name. */
        r = sd_bus_slot_set_destroy_callback(slot, free);
        if (r < 0)
                return r;
        TAKE_PTR(name_copy);
        r = sd_bus_slot_set_floating(slot, 1);
        if (r < 0)
                return r;
        return 0;
}

/* ---------------------------------------------------------------------------- lifecycle */

static int on_match_installed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_error("Failed to subscribe to systemd's JobRemoved signal: %s; "
                          "container creation will time out.",
                          e->message ?: e->name);
        return 0;
}

static int systemd_init(CgroupBackend *b) {
        _cleanup_free_ char *root = NULL, *slice = NULL;
        int r;

        r = systemd_root(&b->mounts, &root);
        if (r < 0)
                return r;
        if (asprintf(&slice, "%s/" QUILT_SLICE, root) < 0)
                return log_oom();

        for (size_t i = 0; i < b->mounts.n; i++) {
                char *d;

                r = cg_mount_dir(b->mounts.mounts + i, slice, &d);
                if (r == -EXDEV)
                        continue;
                if (r < 0)
                        return log_oom();
                r = cgroup_backend_add_hierarchy(b, b->mounts.mounts + i, d);
                if (r < 0)
                        return log_oom();
        }

        r = sd_bus_open_system(&b->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = sd_bus_attach_event(b->bus, b->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the system bus to the event loop: %m");

        r = sd_bus_match_signal_async(b->bus, &b->job_removed_slot, SYSTEMD_DEST, SYSTEMD_PATH,
                                      SYSTEMD_MANAGER, "JobRemoved", on_job_removed, on_match_installed, b);
        if (r < 0)
                return log_error_errno(r, "Failed to add a match for systemd's JobRemoved signal: %m");

        return 0;
}

static void systemd_done(CgroupBackend *b) {
        b->job_removed_slot = sd_bus_slot_unref(b->job_removed_slot);
        if (b->bus) {
                /* send what is queued (fire-and-forget cleanups), then close */
                (void) sd_bus_flush(b->bus);
                (void) sd_bus_detach_event(b->bus);
                b->bus = sd_bus_flush_close_unref(b->bus);
        }
}

const CgroupBackendOps cgroup_systemd_ops = {
        .leaf_suffix = ".scope",
        .display_prefix = QUILT_SLICE "/",
        .init = systemd_init,
        .done = systemd_done,
        .attach = systemd_attach,
        .attach_done = systemd_attach_done,
        .destroy = systemd_destroy,
        .register_machine = systemd_register_machine,
};
