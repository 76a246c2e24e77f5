#!/usr/bin/env bash
# ipvlan-l3's bench, inside the Debian kernel (scripts/kernel-run; this machine's has no ipvlan):
# iperf3 TCP pod to pod across two hosts on one switch, through the plugin's pods and through the
# same shape built by hand with `ip` (an ipvlan L3 child per pod, a device route, a route to the
# other host's pod subnet), runs alternated; ADD and DEL next to the reference ipvlan + host-local.
# Prints "<label> <value>" lines; scripts/bench/kernel-vm.ts makes the tables.
cd "$(dirname "$0")/../.." || exit 1
source test/kernel/lib.sh
install_plugins ipvlan-l3 host-local
switched_hosts 2
ROUNDS=${ROUNDS:-3}

for n in 1 2; do
	jq -n --arg n "$n" --arg w "$WORK" '
		{cniVersion:"1.0.0", name:"bench", type:"ipvlan-l3", master:"eth0",
		 peers:[{name:"h1",nodeIP:"192.168.100.1",podCIDR:"10.90.1.0/24"},
		        {name:"h2",nodeIP:"192.168.100.2",podCIDR:"10.90.2.0/24"}],
		 ipam:{type:"host-local", dataDir:($w + "/ipam" + $n), ranges:[[{subnet:("10.90." + $n + ".0/24")}]]}}' \
		>"$WORK/h$n.conf"
	make_netns "p$n"
	cni ipvlan-l3 "h$n" ADD "p$n" "$WORK/h$n.conf" | result_ip4 >"$WORK/ip$n"
	# By hand: the same shape in another subnet.
	make_netns "q$n"
	ip -n "h$n" link add link eth0 name "hq$n" type ipvlan mode l3
	ip -n "h$n" link set "hq$n" netns "q$n" name eth0
	ip -n "q$n" addr add "10.94.$n.2/24" dev eth0
	ip -n "q$n" link set eth0 up
	ip -n "q$n" route add default dev eth0
	ip -n "h$n" route add "10.94.$((3 - n)).0/24" via "192.168.100.$((3 - n))"
done

for r in $(seq 1 "$ROUNDS"); do
	echo "l3 plugin $(iperf p1 p2 "$(cat "$WORK/ip2")")"
	echo "l3 hand $(iperf q1 q2 10.94.2.2)"
done

jq '.type = "ipvlan" | .ipam.dataDir += "-ref" | .ipam.ranges = [[{subnet: "10.93.1.0/24"}]] | del(.peers)' \
	"$WORK/h1.conf" >"$WORK/ref.conf"
ms_of() { # command… → wall ms
	local start
	start=$(date +%s%N)
	"$@" >/dev/null
	echo $((($(date +%s%N) - start) / 1000000))
}
ref() { # command id
	ip netns exec h1 env -i PATH="$PATH" CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="/run/netns/$2" \
		CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/ipvlan <"$WORK/ref.conf"
}
for r in $(seq 1 "$ROUNDS"); do
	make_netns "t$r" "u$r"
	echo "add plugin $(ms_of cni ipvlan-l3 h1 ADD "t$r" "$WORK/h1.conf")"
	echo "add reference $(ms_of ref ADD "u$r")"
	echo "del plugin $(ms_of cni ipvlan-l3 h1 DEL "t$r" "$WORK/h1.conf")"
	echo "del reference $(ms_of ref DEL "u$r")"
done
