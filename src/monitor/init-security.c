/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "init.h"

/* Docker's default profile, reduced to what matters: whatever administers the host,
 * changes mounts or namespaces, or inspects other processes. The rest is allowed. */
static const char *const denied_syscalls[] = {
        "mount",         "umount2",          "pivot_root",      "kexec_load",        "kexec_file_load",
        "init_module",   "finit_module",     "delete_module",   "bpf",               "ptrace",
        "process_vm_readv", "process_vm_writev", "keyctl",      "add_key",           "request_key",
        "swapon",        "swapoff",          "reboot",          "acct",              "settimeofday",
        "clock_settime", "adjtimex",         "clock_adjtime",   "open_by_handle_at", "name_to_handle_at",
        "perf_event_open", "lookup_dcookie", "quotactl",        "syslog",            "userfaultfd",
        "fsopen",        "fsmount",          "fsconfig",        "fspick",            "move_mount",
        "open_tree",     "setns",            "unshare",
};

/* clone() may still create threads and processes, not namespaces. (CLONE_NEWTIME shares
 * its bit with the exit signal in clone(); it only exists for clone3() and unshare().) */
static const unsigned long clone_namespace_flags[] = {
        CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

int init_setup_rlimits(const ContainerSpec *spec) {
        for (size_t i = 0; i < spec->n_rlimits; i++) {
                const ContainerRlimit *rl = &spec->rlimits[i];
                struct rlimit l = { .rlim_cur = (rlim_t) rl->soft, .rlim_max = (rlim_t) rl->hard };

                if (setrlimit(rl->resource, &l) < 0)
                        return init_fail(errno, "setrlimit %i", rl->resource);
        }
        return 0;
}

void init_credentials_done(InitCredentials *c) {
        c->groups = mfree(c->groups);
        c->n_groups = 0;
}

static bool parse_id(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        if (isempty(s) || !strchr("0123456789", s[0]))
                return false;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v >= (unsigned long) (uid_t) -1)
                return false;
        *ret = (unsigned) v;
        return true;
}

/* The container's files, never the host's NSS: fgetpwent()/fgetgrent() read exactly the
 * file they are given. */
static int lookup_passwd(const char *name, uid_t uid, struct passwd *ret, char **ret_name) {
        _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
        struct passwd *pw;

        if (!f)
                return errno == ENOENT ? -ESRCH : -errno;
        while ((pw = fgetpwent(f)))
                if (name ? streq(pw->pw_name, name) : pw->pw_uid == uid) {
                        *ret = *pw;
                        *ret_name = strdup(pw->pw_name);
                        return *ret_name ? 0 : -ENOMEM;
                }
        return -ESRCH;
}

static int lookup_group(const char *name, gid_t *ret) {
        _cleanup_fclose_ FILE *f = fopen("/etc/group", "re");
        struct group *gr;

        if (!f)
                return errno == ENOENT ? -ESRCH : -errno;
        while ((gr = fgetgrent(f)))
                if (streq(gr->gr_name, name)) {
                        *ret = gr->gr_gid;
                        return 0;
                }
        return -ESRCH;
}

/* The groups /etc/group lists user in, plus gid, as login(1) would set them. */
static int collect_groups(const char *user, gid_t gid, InitCredentials *c) {
        _cleanup_fclose_ FILE *f = NULL;
        struct group *gr;

        c->groups = malloc(sizeof(gid_t));
        if (!c->groups)
                return -ENOMEM;
        c->groups[c->n_groups++] = gid;
        if (!user)
                return 0;

        f = fopen("/etc/group", "re");
        if (!f)
                return 0;
        while ((gr = fgetgrent(f))) {
                gid_t *n;
                bool member = false;

                if (gr->gr_gid == gid)
                        continue;
                for (char **m = gr->gr_mem; m && *m; m++)
                        if (streq(*m, user))
                                member = true;
                if (!member)
                        continue;
                n = reallocarray(c->groups, c->n_groups + 1, sizeof(gid_t));
                if (!n)
                        return -ENOMEM;
                c->groups = n;
                c->groups[c->n_groups++] = gr->gr_gid;
        }
        return 0;
}

int init_resolve_user(const char *user, InitCredentials *ret) {
        _cleanup_free_ char *copy = NULL, *name = NULL;
        InitCredentials c = {};
        struct passwd pw;
        char *group;
        unsigned id;
        int r;

        if (!user) {
                r = collect_groups("root", 0, &c);
                if (r < 0)
                        return init_fail(r, "groups of root");
                *ret = c;
                return 0;
        }

        copy = strdup(user);
        if (!copy)
                return init_fail(ENOMEM, "user %s", user);
        group = strchr(copy, ':');
        if (group)
                *group++ = '\0';

        if (parse_id(copy, &id)) {
                c.uid = id;
                /* A uid need not be in /etc/passwd; then its group is 0, as in Docker. */
                r = lookup_passwd(NULL, c.uid, &pw, &name);
                if (r < 0 && r != -ESRCH)
                        return init_fail(r, "read /etc/passwd");
                c.gid = r >= 0 ? pw.pw_gid : 0;
        } else {
                r = lookup_passwd(copy, 0, &pw, &name);
                if (r == -ESRCH)
                        return init_fail(ESRCH, "user %s is not in the container's /etc/passwd", copy);
                if (r < 0)
                        return init_fail(r, "read /etc/passwd");
                c.uid = pw.pw_uid;
                c.gid = pw.pw_gid;
        }

        if (group) {
                if (parse_id(group, &id))
                        c.gid = id;
                else {
                        r = lookup_group(group, &c.gid);
                        if (r == -ESRCH)
                                return init_fail(ESRCH, "group %s is not in the container's /etc/group", group);
                        if (r < 0)
                                return init_fail(r, "read /etc/group");
                }
        }

        r = collect_groups(name, c.gid, &c);
        if (r < 0) {
                init_credentials_done(&c);
                return init_fail(r, "read /etc/group");
        }
        *ret = c;
        return 0;
}

/* The filter as BPF, once compiled for many loads (execs fork from the monitor). */
static struct sock_fprog compiled;

static int build_seccomp(bool no_new_privs, scmp_filter_ctx *ret) {
        scmp_filter_ctx ctx;
        int r;

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return init_fail(ENOMEM, "seccomp_init");

        /* libseccomp sets no_new_privs itself unless told not to; whether it is set is the
         * spec's decision (without it, loading needs CAP_SYS_ADMIN, see below). */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, no_new_privs);
        if (r < 0)
                goto fail;
        /* A binary tree of syscall numbers rather than a list: when the filter is attached the
         * kernel runs it for every syscall number (to cache which are always allowed), and
         * that takes about half as long (~80 instead of ~140 µs here), which every exec pays.
         * libseccomp before 2.5 does not know the attribute; the list works as well. */
        (void) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

        for (size_t i = 0; i < ELEMENTSOF(denied_syscalls); i++) {
                int nr = seccomp_syscall_resolve_name(denied_syscalls[i]);

                /* Not a system call on this architecture (libseccomp knows every name). */
                if (nr == __NR_SCMP_ERROR || nr < 0)
                        continue;
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                if (r < 0)
                        goto fail;
        }

        for (size_t i = 0; i < ELEMENTSOF(clone_namespace_flags); i++) {
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, clone_namespace_flags[i], clone_namespace_flags[i]));
                if (r < 0)
                        goto fail;
        }

        /* clone3() passes its flags in memory, which seccomp cannot inspect: ENOSYS makes
         * libc fall back to clone(), which the rules above can. */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        if (r < 0)
                goto fail;

        *ret = ctx;
        return 0;

fail:
        seccomp_release(ctx);
        return init_fail(r, "seccomp filter");
}

int init_seccomp_precompile(void) {
        _cleanup_close_ int fd = -EBADF;
        scmp_filter_ctx ctx;
        struct stat st;
        void *p;
        int r;

        if (compiled.filter)
                return 0;
        r = build_seccomp(false, &ctx);
        if (r < 0)
                return r;
        fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        r = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
        seccomp_release(ctx);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
            st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -EBADMSG;
        p = malloc((size_t) st.st_size);
        if (!p)
                return -ENOMEM;
        if (pread(fd, p, (size_t) st.st_size, 0) != st.st_size) {
                free(p);
                return -EIO;
        }
        compiled = (struct sock_fprog) {
                .len = (unsigned short) (st.st_size / sizeof(struct sock_filter)),
                .filter = p,
        };
        return 0;
}

static int load_seccomp(bool no_new_privs) {
        scmp_filter_ctx ctx;
        int r;

        /* Without no_new_privs the kernel wants CAP_SYS_ADMIN, which the caller still has. */
        if (compiled.filter) {
                if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &compiled, 0, 0) < 0)
                        return init_fail(errno, "seccomp filter");
                return 0;
        }

        r = build_seccomp(no_new_privs, &ctx);
        if (r < 0)
                return r;
        r = seccomp_load(ctx);
        seccomp_release(ctx);
        if (r < 0)
                return init_fail(r, "seccomp filter");
        return 0;
}

static int parse_capabilities(char *const *names, cap_value_t **ret, size_t *ret_n) {
        _cleanup_free_ cap_value_t *caps = NULL;
        size_t n = 0, max = 0;

        for (char *const *c = names; c && *c; c++)
                max++;
        caps = calloc(max ?: 1, sizeof(cap_value_t));
        if (!caps)
                return init_fail(ENOMEM, "capabilities");

        for (char *const *c = names; c && *c; c++) {
                cap_value_t v;

                if (cap_from_name(*c, &v) < 0)
                        return init_fail(EINVAL, "unknown capability %s", *c);
                /* Newer than the running kernel: it cannot be granted anyway. */
                if (v >= cap_max_bits())
                        continue;
                caps[n++] = v;
        }
        *ret = TAKE_PTR(caps);
        *ret_n = n;
        return 0;
}

static int set_capabilities(const cap_value_t *caps, size_t n, bool root) {
        cap_t c;
        int r = 0;

        c = cap_init();
        if (!c)
                return init_fail(ENOMEM, "cap_init");

        /* Root gets the set in every flag. Another user keeps nothing: execve() would
         * drop its permitted and effective sets anyway, and an inheritable set would let
         * files with inheritable capabilities regain them. */
        if (root && n > 0 &&
            (cap_set_flag(c, CAP_PERMITTED, (int) n, caps, CAP_SET) < 0 ||
             cap_set_flag(c, CAP_EFFECTIVE, (int) n, caps, CAP_SET) < 0 ||
             cap_set_flag(c, CAP_INHERITABLE, (int) n, caps, CAP_SET) < 0))
                r = init_fail(errno, "cap_set_flag");
        else if (cap_set_proc(c) < 0)
                r = init_fail(errno, "cap_set_proc");

        cap_free(c);
        return r;
}

int init_drop_privileges(const ContainerSpec *spec, const InitCredentials *creds) {
        _cleanup_free_ cap_value_t *caps = NULL;
        size_t n_caps = 0;
        int r;

        r = parse_capabilities(spec->capabilities, &caps, &n_caps);
        if (r < 0)
                return r;

        /* Without no_new_privs the kernel only accepts a filter from a task with
         * CAP_SYS_ADMIN, which init still has now and not after the drop. The filter
         * allows everything the remaining steps need (capset, prctl, set*id). */
        if (spec->seccomp && !spec->no_new_privileges) {
                r = load_seccomp(false);
                if (r < 0)
                        return r;
        }

        /* The bounding set first: dropping from it needs CAP_SETPCAP. */
        for (cap_value_t v = 0; v < cap_max_bits(); v++) {
                bool keep = false;

                for (size_t i = 0; i < n_caps; i++)
                        if (caps[i] == v)
                                keep = true;
                if (!keep && cap_drop_bound(v) < 0)
                        return init_fail(errno, "drop capability %i from the bounding set", (int) v);
        }

        /* Keep the permitted set across setresuid() so that root can be given its set. */
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return init_fail(errno, "PR_SET_KEEPCAPS");
        if (setgroups(creds->n_groups, creds->groups) < 0)
                return init_fail(errno, "setgroups");
        if (setresgid(creds->gid, creds->gid, creds->gid) < 0)
                return init_fail(errno, "setresgid %u", (unsigned) creds->gid);
        if (setresuid(creds->uid, creds->uid, creds->uid) < 0)
                return init_fail(errno, "setresuid %u", (unsigned) creds->uid);
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return init_fail(errno, "PR_SET_KEEPCAPS");

        r = set_capabilities(caps, n_caps, creds->uid == 0);
        if (r < 0)
                return r;
        if (cap_reset_ambient() < 0)
                return init_fail(errno, "clear the ambient capabilities");

        if (spec->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return init_fail(errno, "PR_SET_NO_NEW_PRIVS");

        /* Last, so that no step above runs into the filter. */
        if (spec->seccomp && spec->no_new_privileges) {
                r = load_seccomp(true);
                if (r < 0)
                        return r;
        }
        return 0;
}
