#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs every Debian (12, bookworm) package that building and testing Quilt needs.
# Idempotent: packages already installed are left alone, and apt is not even called
# when nothing is missing. Used by tools/test.sh, tools/run.sh and .ci/run.
set -euo pipefail

PACKAGES=(
        # build
        build-essential meson ninja-build pkgconf
        libsystemd-dev systemd          # libsystemd; systemd.pc (unit, tmpfiles, sysusers dirs)
        libsqlite3-dev
        libprotobuf-c-dev protobuf-c-compiler
        libgrpc-dev
        libmicrohttpd-dev libjansson-dev libinih-dev
        # libraries DESIGN.md assigns to the runtime (tar, netlink, NAT, seccomp, caps)
        libarchive-dev libnl-3-dev libnl-route-3-dev libnftables-dev libseccomp-dev libcap-dev
        libldns-dev                     # DNS packets for the DNS server on quilt0
        bash-completion                 # bash-completion.pc: where completions go
        # tests
        python3 python3-grpcio python3-grpc-tools python3-protobuf   # gRPC interop test
        curl jq                         # HTTP/JSON tests
        xz-utils zstd gzip              # compressed image tarballs in the image tests
        busybox-static                  # the default container image
        iproute2 nftables               # container networking
        util-linux                      # unshare, nsenter, setpriv, flock (the systemd harness)
        systemd-container dbus          # the harness boots systemd: system bus, machined
        valgrind
        zsh man-db                      # syntax of the zsh completion, man page rendering
)

[ "$(id -u)" = 0 ] || { echo "install-deps.sh: must run as root" >&2; exit 1; }
command -v apt-get > /dev/null || { echo "install-deps.sh: needs apt-get (Debian 12)" >&2; exit 1; }

missing=()
for p in "${PACKAGES[@]}"; do
        [ "$(dpkg-query -W -f '${db:Status-Status}' "$p" 2> /dev/null)" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
        echo "install-deps.sh: all ${#PACKAGES[@]} packages are installed"
        exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
