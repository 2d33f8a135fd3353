#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Container networking, asserted on what the kernel shows: addresses on eth0, pings and
# TCP between containers by address and by name, twenty concurrent creates, --network
# none/host, a quiltd restart under running containers, outbound NAT to an "internet"
# network namespace this test creates, the API port filter, a full address pool, bad
# input, and that removing containers and pruning leaves no veth, rule, row or DNS name.
# Everything happens in the test's own network namespace (tests/lib.sh): nothing here
# touches the host's network, and no packet leaves the machine.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || tap_skip_all "needs jq"
command -v nft >/dev/null || tap_skip_all "needs nft (nftables)"
command -v bridge >/dev/null || tap_skip_all "needs bridge (iproute2)"

INET=quilt-inet-$$-$RANDOM
network_cleanup() {
        local ids
        ids=$(quilt ps -a -q 2>/dev/null) && [ -n "$ids" ] && quilt rm -f $ids >/dev/null 2>&1
        ip netns delete "$INET" 2>/dev/null
        quiltd_cleanup
}
trap network_cleanup EXIT

quiltd_start || { echo "Bail out! quiltd did not start"; exit 1; }

field() { http GET "/containers/$1" | jq -r "$2"; }
state() { field "$1" .status; }
ip_of() { field "$1" .ip_address; }
pid_of() { field "$1" .pid; }
wait_state() {
        local i
        for i in $(seq 400); do
                [ "$(state "$1")" = "$2" ] && return 0
                sleep 0.05
        done
        echo "#   $1 is $(state "$1"), expected $2"
        return 1
}
# in_container_netns CONTAINER CMD...: CMD (a host tool) in the container's network namespace
in_container_netns() { local p; p=$(pid_of "$1"); shift; nsenter -t "$p" -n -- "$@"; }
# eth0_address CONTAINER: the IPv4 address the kernel has on the container's eth0
eth0_address() { in_container_netns "$1" ip -4 -o addr show dev eth0 | awk '{ print $4 }'; }
# crun ARGS... -- COMMAND: a throw-away container; prints its output, exits with its status
crun() { quilt run --rm "$@"; }
veths() { ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | grep '^vq' | sort; }
bridge_ports() { bridge link show | grep -c 'master quilt0'; }
allocations() { quilt network ls --json | jq -r '.allocations[] | "\(.container_id) \(.ip_address)"' | sort; }
quilt_rules() { nft list table ip quilt 2>/dev/null | grep -cE 'masquerade|accept|drop'; }
# resolve NAME: what the DNS server on the gateway says, from the test's namespace
resolve() { busybox nslookup "$1" 10.42.0.1 2>&1; }
# now_is NAME EXPECTED COMMAND...: tap_is of COMMAND's output, run right away (quilt rm
# answers only once the network worker has removed the container's veth and rules)
now_is() { local name=$1 want=$2; shift 2; tap_is "$name" "$("$@")" "$want"; }
n_veths() { veths | wc -l; }

# ---- a and b: addresses, ping by address, name, FQDN and id --------------------------
quilt create --name b --async-mode > /dev/null && wait_state b RUNNING
quilt create --name a --async-mode > /dev/null && wait_state a RUNNING
A=$(ip_of a) B=$(ip_of b) B_ID=$(field b .container_id)
tap_check "a has an address in 10.42.0.0/16 ($A)" grep -Eq '^10\.42\.[0-9]+\.[0-9]+$' <<< "$A"
tap_check "b has an address in 10.42.0.0/16 ($B)" grep -Eq '^10\.42\.[0-9]+\.[0-9]+$' <<< "$B"
tap_check "a and b have different addresses" [ "$A" != "$B" ]
tap_is "the kernel has a's address on its eth0" "$(eth0_address a)" "$A/16"
tap_is "the kernel has b's address on its eth0" "$(eth0_address b)" "$B/16"
tap_is "a's default route goes via the gateway" \
        "$(in_container_netns a ip -4 route show default | awk '{ print $3, $5 }')" "10.42.0.1 eth0"
tap_is "a's lo is up" "$(in_container_netns a ip -o link show lo | grep -c 'UP')" 1
tap_is "quilt0 has the gateway address" "$(ip -4 -o addr show dev quilt0 | awk '{ print $4 }')" "10.42.0.1/16"
tap_is "two veths are on quilt0" "$(bridge_ports)" 2
tap_is "status shows a's address" "$(quilt status a | awk '/^IP address:/ { print $3 }')" "$A"
tap_is "ps shows a's address" "$(quilt ps | awk '$2 == "a" { for (i = 1; i <= NF; i++) if ($i ~ /^10\.42\./) print $i }')" "$A"

out=$(crun --name pinger -- ping -c 3 -W 2 "$B" 2>&1)
tap_check "ping -c 3 <address of b> from a container" grep -q '3 packets received' <<< "$out"
out=$(crun -- sh -c 'ping -c 3 -W 2 b && ping -c 1 -W 2 b.quilt.local' 2>&1)
tap_check "ping -c 3 b and ping b.quilt.local by name" [ "$(grep -c 'packets received' <<< "$out")" = 2 ]
tap_check "... b resolved to its address" grep -q "PING b ($B)" <<< "$out"
out=$(crun -- ping -c 1 -W 2 "$B_ID" 2>&1)
tap_check "ping <id of b>" grep -q "($B).*" <<< "$out"
out=$(crun -- nslookup nosuch.quilt.local 2>&1)
tap_check "nslookup nosuch.quilt.local is NXDOMAIN" grep -q NXDOMAIN <<< "$out"
out=$(crun --name named -- sh -c 'cat /etc/hostname; grep -c "named" /etc/hosts; cat /etc/resolv.conf' 2>&1)
tap_check "/etc/hostname, /etc/hosts and /etc/resolv.conf are written" \
        grep -qz 'named.*[12].*nameserver 10.42.0.1.*search quilt.local' <<< "$out"

# A TCP server in b2, reached from a container by name.
quilt create --name srv --async-mode -- sh -c 'echo hello-from-srv | nc -l -p 8080' > /dev/null
out=$(crun -- sh -c 'for i in $(seq 50); do r=$(nc srv 8080 </dev/null 2>/dev/null) && [ -n "$r" ] && { echo "$r"; exit 0; }; sleep 0.1; done; exit 1' 2>&1)
tap_is "a TCP server (nc -l) in a container is reached by name" "$out" hello-from-srv
quilt rm -f srv > /dev/null

# ---- four containers, all-to-all ------------------------------------------------------
# Each pings the three others by name (waiting until they have their network), says so,
# and stays up so that the others can reach it too.
ALL='for n in c1 c2 c3 c4; do [ "$n" = "$(hostname)" ] && continue; ok=; for i in $(seq 100); do ping -c 1 -W 1 "$n" >/dev/null 2>&1 && { ok=1; break; }; sleep 0.1; done; [ -n "$ok" ] || { echo "no answer from $n"; exit 1; }; done; echo reached-all; exec sleep 300'
for c in c1 c2 c3 c4; do quilt create --async-mode --name "$c" -- sh -c "$ALL" > /dev/null; done
all_reached() { local c; for c in c1 c2 c3 c4; do quilt logs "$c" 2>/dev/null | grep -q reached-all || return 1; done; }
for i in $(seq 300); do all_reached && break; sleep 0.1; done
tap_check "four containers reach each other all-to-all" all_reached
quilt rm -f c1 c2 c3 c4 > /dev/null

# ---- twenty at once ----------------------------------------------------------------------
pids=()
for i in $(seq 20); do quilt create --async-mode --name "p$i" > /dev/null & pids+=($!); done
wait "${pids[@]}" # not a bare "wait": quiltd is a child of this shell too
ok=1
for i in $(seq 20); do wait_state "p$i" RUNNING > /dev/null || ok=; done
tap_check "twenty containers created concurrently run" [ -n "$ok" ]
addrs=$(for i in $(seq 20); do ip_of "p$i"; done | sort)
tap_is "twenty containers got twenty distinct addresses" "$(sort -u <<< "$addrs" | grep -c '^10\.42\.')" 20
kernel=$(for i in $(seq 20); do eth0_address "p$i" | cut -d/ -f1; done | sort)
tap_is "... and the kernel has each on the container's eth0" "$kernel" "$addrs"
tap_is "twenty-two veths on quilt0 (a, b and the twenty)" "$(bridge_ports)" 22
quilt rm -f $(for i in $(seq 20); do echo "p$i"; done) > /dev/null
now_is "removing the twenty leaves a's and b's veths" 2 n_veths

# ---- --network none and host --------------------------------------------------------------
tap_is "--network none: only lo" "$(crun --network none -- ls /sys/class/net | tr '\n' ' ')" "lo "
tap_is "--no-network: only lo" "$(crun --no-network -- ls /sys/class/net | tr '\n' ' ')" "lo "
tap_is "--no-network: lo is up" "$(crun --no-network -- cat /sys/class/net/lo/operstate)" unknown
quilt create --name lonely --no-network --async-mode > /dev/null && wait_state lonely RUNNING
tap_is "--no-network: no address" "$(ip_of lonely)" ""
tap_is "--no-network: GetContainerNetwork says none" \
        "$(http GET /containers/lonely/network | jq -r .network_config.status)" none
tap_is "--no-network: no allocation row" "$(allocations | grep -c "$(field lonely .container_id)")" 0
tap_is "--no-network: no veth for it" "$(bridge_ports)" 2
quilt rm -f lonely > /dev/null
tap_check "--network host: the container sees quilt0" \
        grep -qx quilt0 <<< "$(crun --network host -- ls /sys/class/net)"

# ---- the APIs --------------------------------------------------------------------------------
json=$(quilt network ls --json)
tap_is "ListNetworkAllocations lists a and b" "$(jq -r '[.allocations[].ip_address] | sort | join(" ")' <<< "$json")" \
        "$(printf '%s\n' "$A" "$B" | sort | tr '\n' ' ' | sed 's/ $//')"
tap_is "... active, on quilt0, with their veths" \
        "$(jq -r '[.allocations[] | select(.status == "active" and .bridge_interface == "quilt0" and .setup_completed and (.veth_host | startswith("vq")))] | length' <<< "$json")" 2
tap_is "GetContainerNetwork by name" "$(quilt network inspect --json b | jq -r .network_config.ip_address)" "$B"
tap_is "GetContainerNetwork names the host veth that exists" \
        "$(quilt network inspect --json b | jq -r .network_config.veth_host)" "$(veths | grep "${B_ID:0:8}")"
http GET /containers/nosuch/network > /dev/null
tap_is "GetContainerNetwork of an unknown container is 404" "$HTTP_STATUS" 404
tap_is "ListDnsEntries has a and b" "$(quilt network dns --json | jq -r '[.entries[].container_name] | sort | join(" ")')" "a b"

# ---- rules --------------------------------------------------------------------------------------
rules=$(nft list table ip quilt)
tap_check "masquerade for the subnet out of other interfaces" \
        grep -q 'ip saddr 10.42.0.0/16 oifname != "quilt0" masquerade' <<< "$rules"
tap_check "forwarding from the bridge is accepted" grep -q 'iifname "quilt0" accept' <<< "$rules"
tap_is "IPv4 forwarding is on in quiltd's namespace" "$(cat /proc/sys/net/ipv4/ip_forward)" 1
tap_is "no other table was created" "$(nft list tables | grep -vc 'table ip quilt')" 0

# ---- prune is refused while containers use the network ------------------------------------------
out=$(quilt system prune --network 2>&1); rc=$?
tap_check "prune is refused while containers run ($out)" [ $rc != 0 ]
tap_check "... and says why" grep -q 'in use by 2 running containers' <<< "$out"
tap_is "... the bridge is still there" "$(ip -o link show | grep -c ': quilt0:')" 1

# ---- quiltd restart under running containers -------------------------------------------------
A_PID=$(pid_of a)
quiltd_stop; tap_is "quiltd stops" $? 0
tap_is "a's network survives quiltd's exit" "$(nsenter -t "$A_PID" -n ip -4 -o addr show dev eth0 | awk '{ print $4 }')" "$A/16"
quiltd_start || { echo "Bail out! quiltd did not restart"; exit 1; }
tap_is "after the restart a keeps its address" "$(ip_of a)" "$A"
tap_is "after the restart b keeps its address" "$(ip_of b)" "$B"
tap_check "after the restart the rules are back" grep -q masquerade <<< "$(nft list table ip quilt)"
tap_is "after the restart a reaches b by address" \
        "$(in_container_netns a busybox ping -c 1 -W 2 "$B" | grep -c '1 packets received')" 1
out=$(crun -- ping -c 1 -W 2 b 2>&1)
tap_check "after the restart b resolves by name" grep -q "PING b ($B)" <<< "$out"
quilt stop -t 0 a > /dev/null && wait_state a EXITED
tap_is "a stopped container keeps its allocation" "$(allocations | grep -c " $A\$")" 1
quilt start a > /dev/null && wait_state a RUNNING
tap_is "a restarted container gets the same address" "$(ip_of a)" "$A"
tap_is "... on its eth0" "$(eth0_address a)" "$A/16"
tap_is "... and reaches b" "$(in_container_netns a busybox ping -c 1 -W 2 "$B" | grep -c '1 packets received')" 1

# ---- outbound: an "internet" namespace behind a veth, reached through masquerade -------------
ip netns add "$INET"
ip link add qtup0 type veth peer name eth0 netns "$INET"
ip addr add 192.0.2.1/24 dev qtup0 && ip link set qtup0 up
ip -n "$INET" addr add 192.0.2.2/24 dev eth0
ip -n "$INET" link set eth0 up && ip -n "$INET" link set lo up
ip route add default via 192.0.2.2
# The server records who connected (it has no route back to 10.42.0.0/16: only a
# masqueraded connection can be answered).
nsenter --net="/run/netns/$INET" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.2", 8080)); s.listen(1); s.settimeout(30)
c, peer = s.accept(); c.sendall(b"hello-internet\n"); c.close()
open(sys.argv[1], "w").write(peer[0] + "\n")' "$QT_DIR/peer" &
SERVER=$!
out=$(crun -- sh -c 'for i in $(seq 50); do r=$(nc 192.0.2.2 8080 </dev/null 2>/dev/null) && [ -n "$r" ] && { echo "$r"; exit 0; }; sleep 0.1; done; exit 1' 2>&1)
wait "$SERVER"
tap_is "a container reaches a server in the 'internet' namespace" "$out" hello-internet
tap_is "... which saw the uplink address (masquerade), not 10.42.x" "$(cat "$QT_DIR/peer" 2>/dev/null)" 192.0.2.1
ip route del default via 192.0.2.2
ip link del qtup0
ip netns delete "$INET"

# ---- removing everything leaves nothing -------------------------------------------------------
quilt rm -f a b > /dev/null
now_is "after removing all containers: no vq* veth" 0 n_veths
now_is "... nothing on quilt0" 0 bridge_ports
now_is "... no Quilt rule (the empty base table stays)" 0 quilt_rules
tap_is "... no allocation row" "$(sqlite3 "$QT_DIR/state/quilt.db" 'SELECT count(*) FROM network_allocations')" 0
tap_check "... the DNS server answers NXDOMAIN for b" grep -q NXDOMAIN <<< "$(resolve b.quilt.local)"
tap_is "... ListDnsEntries is empty" "$(quilt network dns --json | jq '.entries | length')" 0

out=$(quilt system prune --network 2>&1)
tap_check "prune says it removed the bridge" grep -qx 'Removed bridge quilt0' <<< "$out"
tap_check "prune says it removed the table" grep -qx 'Removed nftables table ip quilt' <<< "$out"
tap_is "... quilt0 is gone" "$(ip -o link show | grep -c ': quilt0:')" 0
tap_is "... the table is gone" "$(nft list tables | grep -c quilt)" 0
tap_is "prune again: nothing to remove" "$(quilt system prune --network)" \
        "Nothing to remove: the container network is not set up."
tap_is "after prune a new container gets the network back" "$(crun -- ping -c 1 -W 2 10.42.0.1 | grep -c '1 packets received')" 1

# ---- bad input -----------------------------------------------------------------------------------
BEFORE="$(quilt ps -a -q | sort) $(veths) $(allocations)"
http POST /containers '{"command": ["true"], "network": "bogus"}' > "$QT_DIR/out"
tap_is "an unknown network is 400" "$HTTP_STATUS" 400
tap_check "... naming it" grep -q "unknown network 'bogus'" "$QT_DIR/out"
http POST /containers '{"command": ["true"], "network": "quilt", "host_namespaces": ["network"]}' > "$QT_DIR/out"
tap_is "network quilt with the host's namespace is 400" "$HTTP_STATUS" 400
out=$(quilt create --network bridge -- true 2>&1)
tap_check "quilt create --network bridge is a usage error naming it" grep -q "'bridge'" <<< "$out"
tap_is "bad requests leave no row, veth or allocation" "$(quilt ps -a -q | sort) $(veths) $(allocations)" "$BEFORE"

# An invalid subnet: quiltd refuses to start, saying what is wrong, and creates nothing.
mkdir -p "$QT_DIR/bad"
printf '[Storage]\nStateDirectory=%s\nRuntimeDirectory=%s\n[API]\nGRPCSocket=%s\nHTTPSocket=%s\n[Network]\nSubnet=10.42.0.1/16\n' \
        "$QT_DIR/bad/state" "$QT_DIR/bad/run" "$QT_DIR/bad/q.sock" "$QT_DIR/bad/h.sock" > "$QT_DIR/bad/quiltd.conf"
out=$(timeout 20 "$QUILTD_BIN" --config="$QT_DIR/bad/quiltd.conf" 2>&1); rc=$?
tap_check "quiltd refuses an invalid Subnet= (exit $rc)" [ $rc != 0 ] && [ $rc != 124 ]
tap_check "... with a clear message" grep -q "invalid subnet '10.42.0.1/16': host bits are set (did you mean 10.42.0.0/16?)" <<< "$out"
tap_check "... and creates no state" [ ! -e "$QT_DIR/bad/state" ]

# A full pool: a /29 holds five containers. "old" was created in the default subnet and is
# stopped: it keeps its address until it starts in the new one.
quilt create --name old --async-mode > /dev/null && wait_state old RUNNING
quilt stop -t 0 old > /dev/null
quiltd_stop
quiltd_start "Network.Subnet=10.99.0.0/29" || { echo "Bail out! quiltd did not start with a /29"; exit 1; }
for i in 1 2 3 4 5; do quilt create --async-mode --name "f$i" > /dev/null; done
tap_is "a /29 pool holds five containers" "$(allocations | grep -c ' 10\.99\.0\.[2-6]$')" 5
out=$(quilt create --async-mode --name f6 2>&1); rc=$?
tap_check "the sixth create fails" [ $rc != 0 ]
tap_check "... with 'address pool 10.99.0.0/29 is exhausted'" grep -q 'address pool 10.99.0.0/29 is exhausted' <<< "$out"
tap_is "... leaving no row" "$(quilt ps -a -q | wc -l)" 6
tap_is "... no allocation" "$(allocations | wc -l)" 6
for i in 1 2 3 4 5; do wait_state "f$i" RUNNING > /dev/null; done
tap_is "... and no sixth veth" "$(veths | wc -l)" 5
tap_is "the bridge moved to the new gateway" "$(ip -4 -o addr show dev quilt0 | awk '{ print $4 }')" 10.99.0.1/29
out=$(quilt start old 2>&1); rc=$?
tap_check "starting a container from the old subnet in the full pool fails" [ $rc != 0 ]
tap_check "... saying the pool is exhausted" grep -q 'address pool 10.99.0.0/29 is exhausted' <<< "$out"
tap_is "... and it is failed, not left pending" "$(state old)" FAILED
quilt rm -f f5 > /dev/null
quilt start old > /dev/null
tap_is "with room again, it starts with an address of the new pool" "$(ip_of old)" 10.99.0.6
tap_is "... on its eth0" "$(eth0_address old)" 10.99.0.6/29
quilt rm -f f1 f2 f3 f4 old > /dev/null
now_is "removing them leaves no veth" 0 n_veths
tap_is "... and no allocation" "$(allocations | wc -l)" 0

# ---- quiltd's API from containers: dropped unless ContainerAPIAccess=yes --------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# (busybox wget's own -T crashes; timeout(1) bounds the dropped connection)
get_health() { crun -- timeout 4 wget -q -O - "http://10.42.0.1:$port/health" 2>&1; }
quiltd_stop
quiltd_start "API.HTTPListen=0.0.0.0:$port" "API.Token=secret" || { echo "Bail out! no TCP quiltd"; exit 1; }
tap_is "quiltd's TCP API answers from the test's namespace" \
        "$(curl -s "http://127.0.0.1:$port/health" | jq -r .status)" healthy
tap_is "containers cannot reach quiltd's TCP API by default" "$(get_health | grep -c healthy)" 0
quilt create --name guard --async-mode > /dev/null && wait_state guard RUNNING
tap_check "... the rule names the port" grep -Eq "iifname \"quilt0\" tcp dport (\{ )?$port( \})? drop" \
        <<< "$(nft list table ip quilt)"
quilt rm -f guard > /dev/null
quiltd_stop
quiltd_start "API.HTTPListen=0.0.0.0:$port" "API.Token=secret" "Network.ContainerAPIAccess=yes" ||
        { echo "Bail out! no TCP quiltd"; exit 1; }
tap_check "with ContainerAPIAccess=yes they can" grep -q healthy <<< "$(get_health)"

quiltd_stop
tap_is "quiltd exits cleanly" $? 0
tap_done
