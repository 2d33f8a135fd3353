#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Opt-in, never in CI (it contacts registry.npmjs.org): QUILT_TEST_INTERNET=1. A container
# installs a package from the npm registry the way npm does (the package document, then the
# tarball it names, unpacked into node_modules), through Quilt's DNS forwarding and
# masquerade.
#
# Unlike the other tests this one runs quiltd in the machine's own network namespace (it
# needs the real uplink), with a bridge and subnet of its own (qtinet0, 10.213.77.0/24). It
# leaves nothing but net.ipv4.ip_forward=1: its containers are removed and "quilt system
# prune --network" removes the bridge and Quilt's nft table. It refuses to run where a
# "table ip quilt" already exists (a running quiltd), whose table it would replace.
[ "${QUILT_TEST_INTERNET:-}" = 1 ] ||
        { echo "1..0 # SKIP opt-in: set QUILT_TEST_INTERNET=1 (contacts registry.npmjs.org)"; exit 0; }
export QUILT_TEST_NETNS=host
. "$(dirname "$0")/lib.sh"

nft list table ip quilt > /dev/null 2>&1 && tap_skip_all "a 'table ip quilt' exists here (a running quiltd?)"
ip link show qtinet0 > /dev/null 2>&1 && tap_skip_all "qtinet0 exists here"

internet_cleanup() {
        local ids
        ids=$(quilt ps -a -q 2>/dev/null) && [ -n "$ids" ] && quilt rm -f $ids > /dev/null 2>&1
        quilt system prune --network > /dev/null 2>&1
        quiltd_cleanup
}
trap internet_cleanup EXIT

quiltd_start "Network.Bridge=qtinet0" "Network.Subnet=10.213.77.0/24" ||
        { echo "Bail out! quiltd did not start"; exit 1; }

# shellcheck disable=SC2016 # for the container's shell
INSTALL='set -e
wget -q -O /tmp/left-pad.json https://registry.npmjs.org/left-pad/1.3.0
tarball=$(sed -n "s/.*\"tarball\":\"\([^\"]*\)\".*/\1/p" /tmp/left-pad.json)
echo "tarball: $tarball"
wget -q -O /tmp/left-pad.tgz "$tarball"
mkdir -p /app/node_modules/left-pad
tar -xzf /tmp/left-pad.tgz -C /app/node_modules/left-pad
grep "\"version\"" /app/node_modules/left-pad/package/package.json'
out=$(quilt run --rm --name npm-install -- sh -c "$INSTALL" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
tap_is "the install ran to the end" "$rc" 0
tap_check "it resolved the registry and fetched the package document" grep -q 'tarball: https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz' <<< "$out"
tap_check "it unpacked left-pad 1.3.0 into node_modules" grep -q '"version": "1.3.0"' <<< "$out"

out=$(quilt system prune --network)
tap_check "prune removes the bridge" grep -qx 'Removed bridge qtinet0' <<< "$out"
tap_is "nothing of Quilt is left in the machine's network namespace" \
        "$(ip -o link show | grep -c -e qtinet0 -e ': vq'; nft list tables | grep -c quilt)" "0
0"
quiltd_stop
tap_done
