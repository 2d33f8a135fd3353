/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rm-rf.h"

/* nftw() has no userdata pointer; callers on other threads get their own. */
static _Thread_local int rm_rf_error;

static int rm_rf_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        int r;

        if (type == FTW_DP || type == FTW_D)
                r = rmdir(path);
        else if (type == FTW_DNR)
                /* Unreadable: its entries were not visited, so this fails unless it is empty. */
                r = rmdir(path);
        else
                r = unlink(path);

        if (r < 0 && errno != ENOENT && rm_rf_error == 0)
                rm_rf_error = -errno;
        return 0; /* keep going: remove as much as possible */
}

int rm_rf(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;

        rm_rf_error = 0;
        if (nftw(path, rm_rf_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
                return -errno;
        return rm_rf_error;
}
