/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* "quilt-monitor exec <run_dir>": runs one command in a running container (exec-spec.h). */
int exec_main(int argc, char *argv[]);
