/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The mountinfo and /proc/<pid>/cgroup parsers against sample text from v1, hybrid and v2
 * hosts (and a cgroup namespace / bind mount case), and the attribute and tree helpers
 * against an ordinary directory that imitates a cgroup. No root needed. */

#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cgroup-util.h"
#include "tests.h"

/* CentOS 7 style: v1 only, cpu and cpuacct co-mounted, name=systemd with options. */
static const char mountinfo_v1[] =
        "18 62 0:17 / /sys rw,nosuid,nodev,noexec,relatime shared:6 - sysfs sysfs rw\n"
        "25 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755\n"
        "26 25 0:22 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup "
        "rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd\n"
        "29 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup "
        "rw,cpu,cpuacct\n"
        "30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup "
        "rw,memory\n"
        "31 25 0:27 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup "
        "rw,pids\n"
        /* the same memory hierarchy bind-mounted again: listed once */
        "90 62 0:26 /quilt.slice /mnt/mem rw,relatime shared:11 - cgroup cgroup rw,memory\n";

static const char cgroup_v1[] =
        "5:pids:/quilt.slice/quilt-abc.scope\n"
        "4:memory:/quilt.slice/quilt-abc.scope\n"
        "3:cpuacct,cpu:/quilt.slice/quilt-abc.scope\n" /* order differs from the super options */
        "2:freezer:/\n"                                /* not mounted: left out */
        "1:name=systemd:/quilt.slice/quilt-abc.scope\n";

/* This CI machine: hybrid, cpu and cpuacct separate, cgroup2 on .../unified. */
static const char mountinfo_hybrid[] =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char cgroup_hybrid[] = "9:name=systemd:/\n"
                                    "8:pids:/quilt.slice/quilt-x\n"
                                    "4:memory:/process_api/364e\n"
                                    "2:cpuacct:/\n"
                                    "1:cpu:/quilt.slice/quilt-x\n"
                                    "0::/\n";

/* Debian 12 / Fedora: v2 only; a mount point with an escaped space elsewhere. */
static const char mountinfo_v2[] =
        "24 18 0:21 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
        "rw,nsdelegate,memory_recursiveprot\n"
        "70 24 0:44 / /mnt/my\\040disk rw,relatime shared:30 - ext4 /dev/vdb rw\n";

static const char cgroup_v2[] = "0::/quilt.slice/quilt-abc.scope/supervisor\n";

/* Inside a container without a private cgroup namespace: /sys/fs/cgroup shows a subtree. */
static const char mountinfo_v2_sub[] =
        "600 500 0:21 /docker/c0ffee /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n"
        "601 500 0:50 / /mnt/cg\\040two rw,relatime - cgroup2 cgroup2 rw\n";

static void test_mounts_v1(void) {
        CgroupMounts m = {};
        const CgroupMount *c;

        is_int(cg_mounts_parse(mountinfo_v1, &m), 0, "v1: mountinfo parses");
        is_int(m.n, 4, "v1: four hierarchies (tmpfs, sysfs and the second memory mount left out)");

        c = cg_mounts_find_controller(&m, "memory");
        ok(c, "v1: memory hierarchy found");
        if (c) {
                is_str(c->path, "/sys/fs/cgroup/memory", "v1: memory mount point");
                is_str(c->root, "/", "v1: the root mount is kept, not the bind mount of a subtree");
                is_int(c->version, 1, "v1: version 1");
        }
        c = cg_mounts_find_controller(&m, "cpu");
        ok(c && cg_mounts_find_controller(&m, "cpuacct") == c, "v1: cpu and cpuacct share a hierarchy");
        if (c)
                is_str(c->path, "/sys/fs/cgroup/cpu,cpuacct", "v1: cpu,cpuacct mount point");
        c = cg_mounts_find_controller(&m, "name=systemd");
        ok(c && c->controllers && c->controllers[0] && !c->controllers[1],
           "v1: name=systemd is the only 'controller' (xattr, release_agent= are options)");
        ok(!cg_mounts_find_controller(&m, "xattr"), "v1: options are not controllers");
        ok(!cg_mounts_find_unified(&m), "v1: no cgroup2");

        cg_mounts_done(&m);
}

static void test_membership_v1(void) {
        CgroupMembership p = {};
        CgroupMounts m = {};
        CgroupDir *dirs = NULL;
        size_t n = 0;

        is_int(cg_mounts_parse(mountinfo_v1, &m), 0, "v1: mountinfo parses again");
        is_int(cg_membership_parse(cgroup_v1, &p), 0, "v1: /proc/pid/cgroup parses");
        is_int(p.n, 5, "v1: five lines");
        is_int(p.members[2].hierarchy_id, 3, "v1: hierarchy id");
        is_str(p.members[2].path, "/quilt.slice/quilt-abc.scope", "v1: path");

        ok(cg_mounts_find_member(&m, p.members + 2) == cg_mounts_find_controller(&m, "cpu"),
           "v1: 'cpuacct,cpu' matches the cpu,cpuacct mount");
        ok(!cg_mounts_find_member(&m, p.members + 3), "v1: freezer is not mounted");

        is_int(cg_membership_dirs(&m, &p, &dirs, &n), 0, "v1: dirs");
        is_int(n, 4, "v1: one dir per mounted hierarchy");
        if (n == 4) {
                is_str(dirs[0].path, "/sys/fs/cgroup/pids/quilt.slice/quilt-abc.scope", "v1: pids dir");
                is_str(dirs[1].path, "/sys/fs/cgroup/memory/quilt.slice/quilt-abc.scope", "v1: memory dir");
                is_str(dirs[2].path, "/sys/fs/cgroup/cpu,cpuacct/quilt.slice/quilt-abc.scope",
                       "v1: cpu dir");
                is_str(dirs[3].path, "/sys/fs/cgroup/systemd/quilt.slice/quilt-abc.scope",
                       "v1: systemd dir");
                ok(dirs[1].mount == cg_mounts_find_controller(&m, "memory"), "v1: dir points at its mount");
        }

        cg_dirs_free(dirs, n);
        cg_membership_done(&p);
        cg_mounts_done(&m);
}

static void test_hybrid(void) {
        CgroupMembership p = {};
        CgroupMounts m = {};
        CgroupDir *dirs = NULL;
        size_t n = 0;

        is_int(cg_mounts_parse(mountinfo_hybrid, &m), 0, "hybrid: mountinfo parses");
        is_int(m.n, 6, "hybrid: six hierarchies");
        ok(cg_mounts_find_controller(&m, "cpu") != cg_mounts_find_controller(&m, "cpuacct"),
           "hybrid: cpu and cpuacct are separate here");
        ok(cg_mounts_find_unified(&m), "hybrid: cgroup2 found");
        if (cg_mounts_find_unified(&m)) {
                is_str(cg_mounts_find_unified(&m)->path, "/sys/fs/cgroup/unified",
                       "hybrid: cgroup2 mount point");
                is_int(cg_mounts_find_unified(&m)->version, 2, "hybrid: version 2");
        }

        is_int(cg_membership_parse(cgroup_hybrid, &p), 0, "hybrid: /proc/pid/cgroup parses");
        is_int(p.n, 6, "hybrid: six lines");
        is_int(p.members[5].hierarchy_id, 0, "hybrid: 0:: line");
        ok(!p.members[5].controllers || !p.members[5].controllers[0], "hybrid: 0:: has no controllers");

        is_int(cg_membership_dirs(&m, &p, &dirs, &n), 0, "hybrid: dirs");
        is_int(n, 6, "hybrid: six dirs");
        if (n == 6) {
                is_str(dirs[0].path, "/sys/fs/cgroup/systemd", "hybrid: root cgroup is the mount point");
                is_str(dirs[2].path, "/sys/fs/cgroup/memory/process_api/364e", "hybrid: nested memory dir");
                is_str(dirs[4].path, "/sys/fs/cgroup/cpu/quilt.slice/quilt-x", "hybrid: cpu dir");
                is_str(dirs[5].path, "/sys/fs/cgroup/unified", "hybrid: unified dir");
        }

        cg_dirs_free(dirs, n);
        cg_membership_done(&p);
        cg_mounts_done(&m);
}

static void test_v2(void) {
        CgroupMembership p = {};
        CgroupMounts m = {};
        CgroupDir *dirs = NULL;
        size_t n = 0;
        char *d = NULL;

        is_int(cg_mounts_parse(mountinfo_v2, &m), 0, "v2: mountinfo parses");
        is_int(m.n, 1, "v2: one hierarchy");
        ok(!cg_mounts_find_controller(&m, "memory"), "v2: no v1 memory hierarchy");
        is_int(cg_membership_parse(cgroup_v2, &p), 0, "v2: /proc/pid/cgroup parses");
        is_int(cg_membership_dirs(&m, &p, &dirs, &n), 0, "v2: dirs");
        is_int(n, 1, "v2: one dir");
        if (n == 1)
                is_str(dirs[0].path, "/sys/fs/cgroup/quilt.slice/quilt-abc.scope/supervisor", "v2: dir");
        cg_dirs_free(dirs, n);
        cg_membership_done(&p);
        cg_mounts_done(&m);

        /* a subtree mounted (container without cgroupns), plus a second cgroup2 super
         * block whose mount point needs unescaping */
        is_int(cg_mounts_parse(mountinfo_v2_sub, &m), 0, "v2 subtree: mountinfo parses");
        is_int(m.n, 2, "v2 subtree: two super blocks");
        is_str(m.mounts[1].path, "/mnt/cg two", "v2 subtree: \\040 unescaped");
        is_int(cg_mount_dir(m.mounts, "/docker/c0ffee/quilt.slice/quilt-1", &d), 0,
               "v2 subtree: dir below root");
        is_str(d, "/sys/fs/cgroup/quilt.slice/quilt-1", "v2 subtree: relative to the mount's root");
        d = mfree(d);
        is_int(cg_mount_dir(m.mounts, "/docker/c0ffee", &d), 0, "v2 subtree: the root itself");
        is_str(d, "/sys/fs/cgroup", "v2 subtree: root is the mount point");
        d = mfree(d);
        is_int(cg_mount_dir(m.mounts, "/docker/c0ffee2/x", &d), -EXDEV,
               "v2 subtree: a sibling prefix is outside");
        is_int(cg_mount_dir(m.mounts, "/other", &d), -EXDEV, "v2 subtree: another subtree is outside");
        is_int(cg_mount_dir(m.mounts + 1, "/../outside", &d), -EXDEV,
               "v2: /.. paths are outside our namespace");
        is_int(cg_mount_dir(m.mounts + 1, "relative", &d), -EINVAL, "v2: a relative path is refused");
        cg_mounts_done(&m);
}

static void test_malformed(void) {
        CgroupMembership p = {};
        CgroupMounts m = {};

        is_int(cg_mounts_parse("1 2 0:3 / /x rw\n", &m), -EINVAL, "mountinfo without separator is refused");
        is_int(cg_mounts_parse("1 2 0:3 / /x rw - cgroup\n", &m), -EINVAL, "mountinfo without superopts");
        is_int(cg_mounts_parse("", &m), 0, "empty mountinfo parses");
        is_int(m.n, 0, "  ... to nothing");
        cg_mounts_done(&m);
        is_int(cg_membership_parse("garbage\n", &p), -EINVAL, "cgroup line without colons is refused");
        is_int(cg_membership_parse("x:memory:/a\n", &p), -EINVAL, "cgroup line without id is refused");
        is_int(cg_membership_parse("4:memory:relative\n", &p), -EINVAL, "cgroup line without / is refused");
}

static int write_file(const char *dir, const char *name, const char *content) {
        char p[512];
        FILE *f;

        snprintf(p, sizeof p, "%s/%s", dir, name);
        f = fopen(p, "we");
        if (!f)
                return -errno;
        fputs(content, f);
        return fclose(f) == 0 ? 0 : -errno;
}

/* A plain directory tree that looks like a cgroup: the helpers only read and write files. */
static void test_files(void) {
        char tmpl[] = "/tmp/test-cgroup-util.XXXXXX";
        char sub[600], subsub[700];
        pid_t *pids = NULL;
        size_t n = 0;
        char *s = NULL;
        uint64_t v = 0;
        const char *d = mkdtemp(tmpl);

        ok(d, "temporary directory");
        if (!d)
                return;

        snprintf(sub, sizeof sub, "%s/payload", d);
        snprintf(subsub, sizeof subsub, "%s/payload/deeper", d);
        (void) mkdir(sub, 0755);
        (void) mkdir(subsub, 0755);

        (void) write_file(d, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n");
        (void) write_file(d, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 5\n");
        (void) write_file(d, "memory.max", "max\n");
        (void) write_file(d, "pids.max", "32\n");
        (void) write_file(d, "cgroup.procs", "");
        (void) write_file(sub, "cgroup.procs", "");
        (void) write_file(subsub, "cgroup.procs", "");

        is_int(cg_read_key_u64(d, "memory.events", "oom_kill", &v), 0, "memory.events oom_kill");
        is_int(v, 2, "  ... is 2 (oom_group_kill not mistaken for it)");
        is_int(cg_read_key_u64(d, "memory.events", "oom", &v), 0, "memory.events oom");
        is_int(v, 1, "  ... is 1 (not oom_kill's value)");
        is_int(cg_read_key_u64(d, "memory.oom_control", "oom_kill", &v), 0,
               "v1 memory.oom_control oom_kill");
        is_int(v, 5, "  ... is 5");
        is_int(cg_read_key_u64(d, "memory.events", "nope", &v), -ENXIO, "missing key is -ENXIO");
        is_int(cg_read_key_u64(d, "missing.file", "oom_kill", &v), -ENOENT, "missing file is -ENOENT");
        is_int(cg_read_u64(d, "memory.max", &v), 0, "memory.max reads");
        ok(v == UINT64_MAX, "  ... 'max' is UINT64_MAX");
        is_int(cg_read_u64(d, "pids.max", &v), 0, "pids.max reads");
        is_int(v, 32, "  ... 32");
        is_int(cg_read_attr(d, "pids.max", &s), 0, "read_attr");
        is_str(s, "32", "  ... without the newline");
        s = mfree(s);
        is_int(cg_write_attr(d, "pids.max", "64"), 0, "write_attr");
        is_int(cg_read_u64(d, "pids.max", &v), 0, "  ... reads back");
        is_int(v, 64, "  ... 64");
        is_int(cg_write_attr(d, "not.there", "1"), -ENOENT, "write_attr to a missing file is -ENOENT");
        ok(cg_has_attr(d, "memory.events") && !cg_has_attr(d, "cgroup.kill"), "has_attr");

        is_int(cg_is_populated(d), 0, "empty tree is not populated");
        (void) write_file(subsub, "cgroup.procs", "4194303\n4194302\n");
        is_int(cg_read_pids(subsub, &pids, &n), 0, "cgroup.procs reads");
        is_int(n, 2, "  ... two pids");
        if (n == 2)
                is_int(pids[1], 4194302, "  ... in order");
        free(pids);
        is_int(cg_is_populated(d), 1, "a process two levels down populates the tree (v1 walk)");
        (void) write_file(d, "cgroup.events", "populated 0\nfrozen 0\n");
        is_int(cg_is_populated(d), 0, "cgroup.events wins where present (v2)");
        /* pids that do not exist: kill finds them, nothing is signalled */
        is_int(cg_kill_tree(d, SIGTERM), 0, "SIGTERM to vanished pids signals nothing");
        (void) write_file(subsub, "cgroup.procs", "bogus\n");
        is_int(cg_read_pids(subsub, &pids, &n), -EINVAL, "garbage in cgroup.procs is -EINVAL");

        /* remove_tree removes directories only (a cgroup's files vanish with it); here the
         * files are real, so the rmdir fails with ENOTEMPTY and that is reported */
        is_int(cg_remove_tree(d), -ENOTEMPTY, "remove_tree reports a directory it cannot remove");
        char cmd[700];
        snprintf(cmd, sizeof cmd, "find %s -type f -delete", d);
        ok(system(cmd) == 0, "delete the imitation files");
        is_int(cg_remove_tree(d), 0, "remove_tree removes the tree bottom-up");
        ok(access(d, F_OK) < 0 && errno == ENOENT, "  ... nothing left");
        is_int(cg_remove_tree(d), 0, "remove_tree of a missing dir is fine");
        is_int(cg_is_populated(d), -ENOENT, "populated of a missing dir is -ENOENT");
        is_int(cg_kill_tree(d, SIGKILL), 0, "kill of a missing dir signals nothing");
}

static void test_self(void) {
        char **dirs = NULL;

        /* Whatever this host has: our own cgroup must be found in at least one hierarchy,
         * and every directory must exist. */
        is_int(cg_pid_dirs(0, &dirs), 0, "own cgroup dirs");
        ok(dirs && dirs[0], "  ... at least one hierarchy");
        for (char **d = dirs; d && *d; d++)
                ok(access(*d, F_OK) == 0, *d);
        strv_free(dirs);
        is_int(cg_pid_dirs(-5, &dirs), -ESRCH, "a pid that cannot exist is -ESRCH");
}

int main(void) {
        test_mounts_v1();
        test_membership_v1();
        test_hybrid();
        test_v2();
        test_malformed();
        test_files();
        test_self();
        return tap_finish();
}
