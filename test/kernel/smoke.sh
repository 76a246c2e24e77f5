#!/usr/bin/env bash
# Kernel smoke test, run inside the Debian kernel: scripts/kernel-run bash test/kernel/smoke.sh
# Proves the link types this machine's kernel lacks work in the VM, with real packets between
# network namespaces made here (and nothing else):
#   smoke-a ══ veth underlay 192.168.100.0/24 ══ smoke-b
#           ── gre    10.10.0.0/30 ──
#           ── gretap 10.20.0.0/24 ──
#   smoke-a holds dummy0, the parent of two ipvlan L3 links moved into smoke-b and smoke-c
#   (10.30.0.2 ↔ 10.30.0.3).
# Prints "ok <check>" per check; any failure stops the script with a non-zero exit.

set -euo pipefail

readonly NETNS=(smoke-a smoke-b smoke-c)

cleanup() {
	local ns
	for ns in "${NETNS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}

fail() {
	echo "FAIL $*" >&2
	exit 1
}

expect_ping() { # check-name netns address
	ip netns exec "$2" ping -c 1 -W 3 -q "$3" >/dev/null || fail "$1: $2 cannot ping $3"
	echo "ok $1: $2 → $3"
}

make_netns() {
	local ns
	for ns in "${NETNS[@]}"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
}

make_underlay() {
	ip link add va netns smoke-a type veth peer name vb netns smoke-b
	ip -n smoke-a addr add 192.168.100.1/24 dev va
	ip -n smoke-b addr add 192.168.100.2/24 dev vb
	ip -n smoke-a link set va up
	ip -n smoke-b link set vb up
	expect_ping underlay smoke-a 192.168.100.2
}

make_gre() {
	ip -n smoke-a link add gre1 type gre local 192.168.100.1 remote 192.168.100.2 ttl 64
	ip -n smoke-b link add gre1 type gre local 192.168.100.2 remote 192.168.100.1 ttl 64
	ip -n smoke-a addr add 10.10.0.1/30 dev gre1
	ip -n smoke-b addr add 10.10.0.2/30 dev gre1
	ip -n smoke-a link set gre1 up
	ip -n smoke-b link set gre1 up
	expect_ping gre smoke-a 10.10.0.2
	expect_ping gre smoke-b 10.10.0.1
}

# gretap carries Ethernet frames, so ARP must cross the tunnel too; a key keeps it apart from gre1.
make_gretap() {
	ip -n smoke-a link add tap1 type gretap local 192.168.100.1 remote 192.168.100.2 key 7
	ip -n smoke-b link add tap1 type gretap local 192.168.100.2 remote 192.168.100.1 key 7
	ip -n smoke-a addr add 10.20.0.1/24 dev tap1
	ip -n smoke-b addr add 10.20.0.2/24 dev tap1
	ip -n smoke-a link set tap1 up
	ip -n smoke-b link set tap1 up
	expect_ping gretap smoke-a 10.20.0.2
	ip -n smoke-a neigh show dev tap1 | grep -q '^10\.20\.0\.2 lladdr' ||
		fail "gretap: no ARP entry for 10.20.0.2 in smoke-a"
	echo "ok gretap: ARP resolved across the tunnel"
}

# In L3 mode the ipvlan port routes between its children by IP, with no ARP and the parent's MAC.
make_ipvlan_l3() {
	ip -n smoke-a link add dummy0 type dummy
	ip -n smoke-a link set dummy0 up
	ip -n smoke-a link add ipvl-b link dummy0 type ipvlan mode l3
	ip -n smoke-a link add ipvl-c link dummy0 type ipvlan mode l3
	ip -n smoke-a link set ipvl-b netns smoke-b
	ip -n smoke-a link set ipvl-c netns smoke-c
	ip -n smoke-b addr add 10.30.0.2/24 dev ipvl-b
	ip -n smoke-c addr add 10.30.0.3/24 dev ipvl-c
	ip -n smoke-b link set ipvl-b up
	ip -n smoke-c link set ipvl-c up
	ip -n smoke-b -d link show ipvl-b | grep -q 'ipvlan.*mode l3 ' || fail "ipvlan: ipvl-b is not in mode l3"
	expect_ping ipvlan-l3 smoke-b 10.30.0.3
	expect_ping ipvlan-l3 smoke-c 10.30.0.2
}

main() {
	echo "kernel $(uname -r)"
	trap cleanup EXIT
	cleanup
	make_netns
	make_underlay
	make_gre
	make_gretap
	make_ipvlan_l3
	echo "ok all"
}

main "$@"
