#!/usr/bin/env bash
# gre's throughput bench, inside the Debian kernel (scripts/kernel-run; this machine's has no GRE):
# iperf3 TCP pod to pod across two routed hosts, over the plugin's tunnels and over the same shape
# built by hand with `ip` (bridge, veth, a GRE/gretap tunnel, a route), runs alternated.
# Also times ADD and DEL of the plugin next to a hand-built attachment of the same shape.
# Prints "<label> <value>" lines; scripts/bench/gre.ts makes the table.
cd "$(dirname "$0")/../.." || exit 1
source test/kernel/lib.sh
install_plugins gre host-local
routed_hosts 2
ROUNDS=${ROUNDS:-3}

plugin_pods() { # mode
	local n mode=$1 cidr
	for n in 1 2; do
		if [ "$mode" = l3 ]; then cidr="10.50.$n.0/24"; else cidr=10.60.0.0/16; fi
		jq -n --arg mode "$mode" --arg w "$WORK" --arg n "$n" --arg cidr "$cidr" '
			{cniVersion:"1.1.0", name:("bench-" + $mode), type:"gre", mode:$mode, bridge:("br-" + $mode),
			 peers:[{name:"h1",nodeIP:"172.16.1.2",podCIDR:(if $mode == "l3" then "10.50.1.0/24" else $cidr end)},
			        {name:"h2",nodeIP:"172.16.2.2",podCIDR:(if $mode == "l3" then "10.50.2.0/24" else $cidr end)}],
			 ipam:{type:"host-local", dataDir:($w + "/ipam-" + $mode + $n),
			       ranges:[[ if $mode == "l3" then {subnet:$cidr}
			                 else {subnet:$cidr, rangeStart:("10.60." + $n + ".10"), rangeEnd:("10.60." + $n + ".250"),
			                       gateway:("10.60." + $n + ".1")} end ]]}}' >"$WORK/$mode-$n.conf"
		make_netns "$mode-p$n"
		cni gre "h$n" ADD "$mode-p$n" "$WORK/$mode-$n.conf" | result_ip4 >"$WORK/$mode-ip$n"
	done
}

# The same shape by hand: bridge hb with the gateway, veth into the pod, a tunnel, a route (l3) or
# the tunnel as an isolated bridge port (l2); the MTUs the plugin uses. The kernel allows one tunnel
# per (local, remote, key): the hand-built ones run between second underlay addresses, 172.16.N.3.
hand_pods() { # mode
	local mode=$1 n other mtu type
	if [ "$mode" = l3 ]; then mtu=1476 type=gre; else mtu=1462 type=gretap; fi
	for n in 1 2; do
		other=$((3 - n))
		make_netns "hand-$mode-p$n"
		ip -n "h$n" link add "hb$mode" mtu "$mtu" type bridge
		ip -n "h$n" link add "hv$mode" mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns "hand-$mode-p$n"
		ip -n "h$n" link set "hv$mode" master "hb$mode" up
		ip -n "h$n" addr add "172.16.$n.3/24" dev eth0 2>/dev/null
		ip -n "h$n" link add "ht$mode" mtu "$mtu" type "$type" local "172.16.$n.3" remote "172.16.$other.3" ttl 64 dev eth0
		ip -n "h$n" link set "hb$mode" up
		ip -n "h$n" link set "ht$mode" up
		ip -n "hand-$mode-p$n" link set eth0 up
		if [ "$mode" = l3 ]; then
			ip -n "h$n" addr add "10.70.$n.1/24" dev "hb$mode"
			ip -n "h$n" route add "10.70.$other.0/24" dev "ht$mode"
			ip -n "hand-$mode-p$n" addr add "10.70.$n.2/24" dev eth0
			ip -n "hand-$mode-p$n" route add default via "10.70.$n.1"
			echo "10.70.$n.2" >"$WORK/hand-$mode-ip$n"
		else
			ip -n "h$n" link set "ht$mode" master "hb$mode"
			ip -n "h$n" link set "ht$mode" type bridge_slave isolated on
			ip -n "hand-$mode-p$n" addr add "10.80.0.$n/16" dev eth0
			echo "10.80.0.$n" >"$WORK/hand-$mode-ip$n"
		fi
		ip netns exec "h$n" sysctl -qw net.ipv4.ip_forward=1
	done
}

for mode in ${MODES:-l3 l2}; do
	plugin_pods "$mode"
	hand_pods "$mode"
	for r in $(seq 1 "$ROUNDS"); do
		echo "$mode plugin $(iperf "$mode-p1" "$mode-p2" "$(cat "$WORK/$mode-ip2")")"
		echo "$mode hand $(iperf "hand-$mode-p1" "hand-$mode-p2" "$(cat "$WORK/hand-$mode-ip2")")"
	done
done

# ADD and DEL times: the plugin with host-local, next to the same steps by hand (ip only).
for r in $(seq 1 "$ROUNDS"); do
	make_netns "t-$r"
	start=$(date +%s%N)
	cni gre h1 ADD "t-$r" "$WORK/l3-1.conf" >/dev/null
	echo "add plugin $((($(date +%s%N) - start) / 1000000))"
	start=$(date +%s%N)
	cni gre h1 DEL "t-$r" "$WORK/l3-1.conf" >/dev/null
	echo "del plugin $((($(date +%s%N) - start) / 1000000))"
	make_netns "u-$r"
	start=$(date +%s%N)
	ip -n h1 link add "hx$r" type veth peer name eth0 netns "u-$r"
	ip -n h1 link set "hx$r" master hbl3 up
	ip -n "u-$r" addr add "10.70.1.$((10 + r))/24" dev eth0
	ip -n "u-$r" link set eth0 up
	ip -n "u-$r" route add default via 10.70.1.1
	echo "add hand $((($(date +%s%N) - start) / 1000000))"
	start=$(date +%s%N)
	ip -n h1 link del "hx$r"
	echo "del hand $((($(date +%s%N) - start) / 1000000))"
done
