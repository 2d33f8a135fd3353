#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds Quilt, installs it, and runs quiltd:
#   - on a host where systemd is PID 1: installs the units and starts quilt.socket and
#     quilt-http.socket, so the first `quilt` call starts quiltd (socket activation);
#   - elsewhere (containers, CI, this kind of VM): runs quiltd in the foreground with the
#     standalone backend; stop it with Ctrl-C.
# Then, from another shell: quilt health; quilt info.
set -euo pipefail

cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run.sh: must run as root (quiltd manages namespaces and cgroups)" >&2; exit 1; }

[ "${QUILT_SKIP_DEPS:-0}" = 1 ] || tools/install-deps.sh
if [ -d build ]; then meson setup --reconfigure build >/dev/null; else meson setup build; fi
ninja -C build
meson install -C build --quiet

# The socket group and the directories, from the sysusers.d and tmpfiles.d snippets just
# installed (the names are looked up in their search paths).
systemd-sysusers quilt.conf
systemd-tmpfiles --create quilt.conf

if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl enable --now quilt.socket quilt-http.socket
        echo "quilt.socket and quilt-http.socket are listening; quiltd starts on the first call."
        echo "Try: quilt health   (logs: journalctl -u quilt.service)"
else
        echo "No systemd as PID 1: running quiltd in the foreground (standalone backend)."
        echo "Try, from another shell: quilt health"
        opt() { meson introspect build --buildoptions | jq -r ".[] | select(.name == \"$1\") | .value"; }
        exec "$(opt prefix)/$(opt sbindir)/quiltd"
fi
