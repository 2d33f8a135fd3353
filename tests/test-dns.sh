#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Names on quilt0: containers find each other by name, id and name.quilt.local through
# Quilt's DNS server; unknown names under quilt.local are NXDOMAIN; removed containers'
# names go away; names come back after a quiltd restart; quilt icc ping. Asserted from
# inside the containers (ping, nslookup, nc) and on the DNS table quiltd reports.
#
# Needs container networking (the quilt0 bridge) and ExecContainer; skips (77) while this
# quiltd has neither.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || tap_skip_all "needs jq"

# Forwarded names must never leave the machine: the upstream is a loopback port where
# nothing listens, so they get SERVFAIL at once.
CONF=("Network.DNSUpstream=127.0.0.1:9")
quiltd_start "${CONF[@]}" || { echo "Bail out! quiltd did not start"; exit 1; }

field() { http GET "/containers/$1" | jq -r "$2"; }
ip_of() { field "$1" '.ip_address // empty'; }
# in CONTAINER CMD...: run CMD in the container, output on stdout (stderr too)
run_in() { local c=$1; shift; quilt exec "$c" -- "$@" 2>&1; }
# fails CMD...: CMD exits non-zero
fails() { ! "$@"; }
# ok_in CONTAINER CMD...: CMD succeeds in CONTAINER; its output is shown (as TAP comments)
# only when it fails
ok_in() { local out; out=$(quilt exec "$1" -- "${@:2}" 2>&1) && return 0; sed 's/^/#   /' <<< "$out"; return 1; }
dns_names() { quilt network dns --json | jq -r '[.entries[] | "\(.container_name)=\(.ip_address)"] | sort | join(" ")'; }

ID_A=$(quilt create --name a -- sleep 600) || { echo "Bail out! cannot create a container"; exit 1; }
if [ -z "$(ip_of a)" ] || ! ip link show quilt0 > /dev/null 2>&1; then
        quilt rm -f a > /dev/null 2>&1
        tap_skip_all "container networking (quilt0, an address for each container) is not in this quiltd yet"
fi
if quilt exec a -- true 2>&1 | grep -q UNIMPLEMENTED; then
        quilt rm -f a > /dev/null 2>&1
        tap_skip_all "ExecContainer is not in this quiltd yet"
fi

ID_B=$(quilt create --name b -- sleep 600)
IP_A=$(ip_of a)
IP_B=$(ip_of b)
tap_check "a and b have different addresses" test -n "$IP_B" -a "$IP_A" != "$IP_B"

# ---- what the containers are told -----------------------------------------------------
RESOLV=$(run_in a cat /etc/resolv.conf)
NS=$(awk '$1 == "nameserver" { print $2; exit }' <<< "$RESOLV")
tap_check "resolv.conf searches quilt.local" grep -qE '^search( .*)? quilt\.local( |$)' <<< "$RESOLV"
tap_check "resolv.conf names a nameserver on the bridge" test -n "$NS"
tap_check "the nameserver is quilt0's address" grep -qw "$NS" <(ip -4 -o addr show dev quilt0)

# ---- names resolve ----------------------------------------------------------------------
tap_check "from a: ping -c 3 b" ok_in a ping -c 3 -W 2 b
tap_check "from a: ping b.quilt.local" ok_in a ping -c 1 -W 2 b.quilt.local
tap_check "from a: ping <id of b>" ok_in a ping -c 1 -W 2 "$ID_B"
tap_check "from a: ping <short id of b>" ok_in a ping -c 1 -W 2 "${ID_B:0:12}"
tap_check "from b: ping a (both ways)" ok_in b ping -c 1 -W 2 a
OUT=$(run_in a nslookup b.quilt.local)
tap_check "nslookup b.quilt.local gives b's address" grep -qw "$IP_B" <<< "$OUT"
OUT=$(run_in a nslookup "$ID_B.quilt.local")
tap_check "nslookup <id>.quilt.local gives b's address" grep -qw "$IP_B" <<< "$OUT"
OUT=$(run_in a nslookup B.Quilt.Local)
tap_check "names are case-insensitive" grep -qw "$IP_B" <<< "$OUT"
OUT=$(run_in a nslookup nosuch.quilt.local)
tap_check "nslookup nosuch.quilt.local gives NXDOMAIN" grep -q NXDOMAIN <<< "$OUT" || echo "$OUT" | sed 's/^/#   /'

# Over TCP too (busybox's nslookup only speaks UDP): a raw query from this shell, which
# shares quiltd's network namespace, to the nameserver the containers use.
tcp_lookup() {
        /usr/bin/python3 - "$NS" "$1" << 'PY'
import socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
q = struct.pack(">HHHHHH", 0x2a2a, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.create_connection((server, 53), timeout=5)
s.sendall(struct.pack(">H", len(q)) + q)
def read(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("connection closed")
        b += c
    return b
a = read(struct.unpack(">H", read(2))[0])
ident, flags, qd, an = struct.unpack(">HHHH", a[:8])
rcode = flags & 15
addr = socket.inet_ntoa(a[-4:]) if an else "-"
print(f"id={ident:#x} rcode={rcode} answers={an} last={addr}")
PY
}
tap_is "over TCP: b.quilt.local gives b's address" "$(tcp_lookup b.quilt.local)" "id=0x2a2a rcode=0 answers=1 last=$IP_B"
tap_is "over TCP: nosuch.quilt.local is NXDOMAIN" "$(tcp_lookup nosuch.quilt.local)" "id=0x2a2a rcode=3 answers=0 last=-"

# A TCP server in one container, reached from another by name.
quilt create --name srv -- sh -c 'echo hello-from-srv | nc -l -p 7000' > /dev/null
GOT=
for i in $(seq 20); do
        GOT=$(quilt exec a -- nc srv 7000 2> /dev/null) && [ -n "$GOT" ] && break
        sleep 0.25
done
tap_is "from a: nc srv 7000 reaches the TCP server in srv by name" "$GOT" hello-from-srv

# ---- the table quiltd reports -------------------------------------------------------------
IP_SRV=$(ip_of srv)
NAMES=$(dns_names)
tap_check "ListDnsEntries lists a and b with their addresses" grep -q "a=$IP_A b=$IP_B" <<< "$NAMES"
tap_is "GET /dns/entries agrees" "$(http GET /dns/entries | jq -r '[.entries[] | "\(.container_name)=\(.ip_address)"] | sort | join(" ")')" "$NAMES"
tap_is "ListDnsEntries has the full ids" "$(quilt network dns --json | jq -r '.entries[] | select(.container_name == "b") | .container_id')" "$ID_B"

# ---- quilt icc ping -------------------------------------------------------------------------
OUT=$(quilt icc ping a b 2>&1)
tap_is "quilt icc ping a b exits 0" "$?" 0
tap_check "quilt icc ping shows the answers from b's address" grep -q "bytes from $IP_B" <<< "$OUT"
OUT=$(quilt icc ping -c 1 a "$IP_B" 2>&1)
tap_is "quilt icc ping to an address exits 0" "$?" 0
OUT=$(quilt icc ping a nosuch 2>&1)
RC=$?
tap_check "quilt icc ping a nosuch fails" test "$RC" != 0
tap_check "quilt icc ping a nosuch names the missing container" grep -q nosuch <<< "$OUT"
# An address in the subnet nobody has: ping runs and gets no answer.
OUT=$(quilt icc ping -c 1 -W 1 a 10.42.255.254 2>&1)
tap_check "quilt icc ping to an address without a container fails" test $? != 0

# ---- removed containers' names go away ------------------------------------------------------
quilt rm -f b > /dev/null
OUT=$(run_in a nslookup b.quilt.local)
tap_check "after rm: b.quilt.local is NXDOMAIN" grep -q NXDOMAIN <<< "$OUT"
OUT=$(run_in a nslookup "$ID_B.quilt.local")
tap_check "after rm: <id of b>.quilt.local is NXDOMAIN" grep -q NXDOMAIN <<< "$OUT"
tap_check "after rm: ping b fails" fails ok_in a ping -c 1 -W 1 b
tap_check "after rm: ListDnsEntries has no b" fails grep -q "b=" <<< "$(dns_names)"

# ---- a quiltd restart keeps the names -------------------------------------------------------
ID_C=$(quilt create --name c -- sleep 600)
IP_C=$(ip_of c)
quiltd_stop || tap_fail "quiltd stops"
quiltd_start "${CONF[@]}" || { echo "Bail out! quiltd did not start again"; exit 1; }
tap_is "after the restart a keeps its address" "$(ip_of a)" "$IP_A"
tap_check "after the restart: from a, ping c" ok_in a ping -c 1 -W 2 c
OUT=$(run_in a nslookup "$ID_C.quilt.local")
tap_check "after the restart: <id of c>.quilt.local gives c's address" grep -qw "$IP_C" <<< "$OUT"
OUT=$(run_in c nslookup a.quilt.local)
tap_check "after the restart: from c, a.quilt.local gives a's address" grep -qw "$IP_A" <<< "$OUT"
tap_check "after the restart: ListDnsEntries lists a and c" grep -q "a=$IP_A c=$IP_C" <<< "$(dns_names)"

# ---- nothing left -------------------------------------------------------------------------
quilt rm -f a c srv > /dev/null
tap_is "after removing every container ListDnsEntries is empty" "$(dns_names)" ""

tap_done
