#!/usr/bin/env bash
# gre in the Debian kernel (scripts/kernel-run bash test/kernel/gre.sh), with real packets:
#   h1, h2, h3: hosts on their own underlay subnets (172.16.N.0/24) behind the router netns rt;
#   one pod per host and mode. Mode l3: pod subnets 10.50.N.0/24 routed into GRE tunnels. Mode l2:
#   one subnet 10.60.0.0/16 over gretap ports of the bridges, a slice per host.
# Prints a line per check (see lib.sh).
cd "$(dirname "$0")/../.." || exit 1
source test/kernel/lib.sh

install_plugins gre host-local portmap
routed_hosts 3
HOSTS=(1 2 3)

peers() { # mode hosts… → the peers list of those hosts
	local mode=$1 n
	shift
	for n in "$@"; do
		if [ "$mode" = l3 ]; then cidr="10.50.$n.0/24"; else cidr=10.60.0.0/16; fi
		printf '{"name":"h%s","nodeIP":"172.16.%s.2","podCIDR":"%s"}\n' "$n" "$n" "$cidr"
	done | jq -s .
}

conf() { # mode host → the host's network config file
	local mode=$1 n=$2 f=$WORK/$1-h$2.conf ipam
	if [ "$mode" = l3 ]; then
		ipam="{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam-$mode-h$n\",\"ranges\":[[{\"subnet\":\"10.50.$n.0/24\"}]]}"
	else
		ipam="{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam-$mode-h$n\",\"ranges\":[[{\"subnet\":\"10.60.0.0/16\",\"rangeStart\":\"10.60.$n.10\",\"rangeEnd\":\"10.60.$n.250\",\"gateway\":\"10.60.$n.1\"}]]}"
	fi
	jq -n --arg mode "$mode" --argjson ipam "$ipam" --arg peers "$WORK/$mode-peers.json" \
		--arg cluster "$([ "$mode" = l3 ] && echo 10.50.0.0/16 || echo 10.60.0.0/16)" \
		'{cniVersion:"1.1.0", name:("gre-" + $mode), type:"gre", mode:$mode, bridge:("br-" + $mode),
		  ipMasq:true, clusterCIDR:$cluster, peersFile:$peers, ipam:$ipam}' >"$f"
	echo "$f"
}

# The tunnel from host h<from> to host h<to> (names derive from network and nodeIP, as in plan.ts).
tunnel_of() { # mode from to
	ip -n "h$2" -o link show | awk -F': ' -v want="cni-suite-peer/gre-$1/172.16.$3.2" '
		{ name=$2; sub(/@.*/, "", name) } /alias/ && index($0, "alias " want) { print name }'
}

declare -A POD_IP RESULT

scenario() { # mode
	local mode=$1 n m out code
	peers "$mode" 1 2 3 >"$WORK/$mode-peers.json"
	for n in "${HOSTS[@]}"; do
		make_netns "$mode-p$n"
		if out=$(cni gre "h$n" ADD "$mode-p$n" "$(conf "$mode" "$n")"); then
			POD_IP[$mode$n]=$(result_ip4 <<<"$out")
			RESULT[$mode$n]=$out
			pass "$mode: ADD on h$n gives ${POD_IP[$mode$n]}"
		else
			fail "$mode: ADD on h$n" "$out"
		fi
		count_sources "$mode-p$n"
	done

	for n in "${HOSTS[@]}"; do tcp_server "$mode-p$n" 8080; done
	sleep 1
	for n in "${HOSTS[@]}"; do
		for m in "${HOSTS[@]}"; do
			[ "$n" = "$m" ] && continue
			check "$mode: ping p$n → p$m" ping_ok "$mode-p$n" "${POD_IP[$mode$m]}"
			check "$mode: TCP p$n → p$m" tcp_ok "$mode-p$n" "${POD_IP[$mode$m]}" 8080
			check "$mode: p$m saw p$n's own address" seen_from "$mode-p$m" "${POD_IP[$mode$n]}"
		done
	done

	local mtu
	mtu=$(ip -n "$mode-p1" -j link show eth0 | jq '.[0].mtu')
	check_eq "$mode: pod MTU is the underlay's minus the tunnel's overhead" \
		"$([ "$mode" = l3 ] && echo 1476 || echo 1462)" "$mtu"
	check "$mode: a DF ping of the full pod MTU crosses" \
		ping_ok "$mode-p1" "${POD_IP[${mode}2]}" -M do -s $((mtu - 28))
	check_not "$mode: one byte more does not (DF)" \
		ping_ok "$mode-p1" "${POD_IP[${mode}2]}" -M do -s $((mtu - 27))

	count_sources rt
	check "$mode: a pod reaches outside the cluster" ping_ok "$mode-p1" 198.51.100.1
	check "$mode: egress carries the host's underlay address" seen_from rt 172.16.1.2
	check_not "$mode: and not the pod's" seen_from rt "${POD_IP[${mode}1]}"
	ip netns exec rt nft delete table inet seen

	# CHECK, and what it catches; GC repairs.
	local conf1=$WORK/$mode-h1.conf
	check_code() { # what want-code
		local out
		out=$(cni gre h1 CHECK "$mode-p1" <(jq -c --argjson res "${RESULT[${mode}1]}" '. + {prevResult:$res}' "$conf1") 2>/dev/null)
		check_eq "$1" "$2" "$(jq -r '.code // 0' <<<"${out:-"{}"}")"
	}
	check_code "$mode: CHECK passes on a converged host" 0
	local t12
	t12=$(tunnel_of "$mode" 1 2)
	check "$mode: h1 has a tunnel to h2 ($t12)" test -n "$t12"
	ip -n h1 link del "$t12"
	check_code "$mode: CHECK catches a deleted tunnel (103)" 103
	check "$mode: GC brings it back" cni gre h1 GC "" <(jq -c '. + {"cni.dev/valid-attachments":[{containerID:"'"$mode"'-p1",ifname:"eth0"}]}' "$conf1")
	check "$mode: and pods cross it again" ping_ok "$mode-p1" "${POD_IP[${mode}2]}"
	if [ "$mode" = l3 ]; then
		ip -n h1 route del 10.50.2.0/24 proto 204
		check_code "l3: CHECK catches a deleted route (103)" 103
		cni gre h1 GC "" <(jq -c '. + {"cni.dev/valid-attachments":[{containerID:"l3-p1",ifname:"eth0"}]}' "$conf1") >/dev/null
		check "l3: GC restores the route" ping_ok l3-p1 "${POD_IP[l32]}"
	fi

	# A peer leaves, then comes back.
	peers "$mode" 1 2 >"$WORK/$mode-peers.json"
	local gc1
	gc1=$(jq -c '. + {"cni.dev/valid-attachments":[{containerID:"'"$mode"'-p1",ifname:"eth0"}]}' "$conf1")
	check "$mode: GC after h3 left" cni gre h1 GC "" <(echo "$gc1")
	check_eq "$mode: h3's tunnel is gone from h1" "" "$(tunnel_of "$mode" 1 3)"
	check "$mode: h2's stays" test -n "$(tunnel_of "$mode" 1 2)"
	check_not "$mode: p1 no longer reaches p3" ping_ok "$mode-p1" "${POD_IP[${mode}3]}" -W 1
	peers "$mode" 1 2 3 >"$WORK/$mode-peers.json"
	check "$mode: GC after h3 came back" cni gre h1 GC "" <(echo "$gc1")
	check "$mode: p1 reaches p3 again" ping_ok "$mode-p1" "${POD_IP[${mode}3]}"

	if [ "$mode" = l2 ]; then no_storm; fi

	# DEL is total, and repeatable; DEL without a netns.
	for n in "${HOSTS[@]}"; do
		check "$mode: DEL on h$n" cni gre "h$n" DEL "$mode-p$n" "$WORK/$mode-h$n.conf"
		check "$mode: DEL again on h$n" cni gre "h$n" DEL "$mode-p$n" "$WORK/$mode-h$n.conf"
		check "$mode: DEL without a netns on h$n" cni gre "h$n" DEL "$mode-p$n" "$WORK/$mode-h$n.conf" ""
		check_eq "$mode: no pod veth left on h$n" "" "$(ip -n "h$n" -o link show | grep -o ' ge[0-9a-f]*' || true)"
		check_eq "$mode: no lease left on h$n" "" "$(ls "$WORK/ipam-$mode-h$n/gre-$mode" | grep -v -e lock -e last_reserved || true)"
	done
}

# l2: a broadcast from p1 reaches the other hosts once, and no tunnel port forwards it into another
# (split horizon), so the counters stay bounded.
no_storm() {
	local n before=() after=()
	for n in "${HOSTS[@]}"; do before+=("$(tunnel_packets "$n")"); done
	ip netns exec l2-p1 ping -b -c 5 -i 0.2 -W 1 -q -I eth0 255.255.255.255 >/dev/null 2>&1
	sleep 1
	for n in "${HOSTS[@]}"; do after+=("$(tunnel_packets "$n")"); done
	local rx3=$(($(cut -d' ' -f1 <<<"${after[2]}") - $(cut -d' ' -f1 <<<"${before[2]}")))
	check "l2: the broadcasts reached h3 over its tunnels ($rx3 packets)" test "$rx3" -ge 5
	for n in 0 1 2; do
		local tx=$(($(cut -d' ' -f2 <<<"${after[$n]}") - $(cut -d' ' -f2 <<<"${before[$n]}")))
		check "l2: h$((n + 1)) sent $tx packets into its tunnels for 5 broadcasts: no storm" test "$tx" -le 30
	done
}

tunnel_packets() { # host → "rx tx" summed over its gretap ports
	ip -n "h$1" -s -j link show type gretap |
		jq -r '[(map(.stats64.rx.packets) | add), (map(.stats64.tx.packets) | add)] | join(" ")'
}

bad_config() {
	local before after f out
	before=$(ip -n h1 -o link show; ip -n h1 route show table all)
	make_netns bad-p
	for bad in '{"mode":"l4"}' '{"ttl":0}' '{"key":-1}' '{"localIP":"nope"}' \
		'{"peers":[{"name":"v6","nodeIP":"fd00::2","podCIDR":"10.50.9.0/24"}]}'; do
		f=$WORK/bad.conf
		jq -c --argjson bad "$bad" 'del(.peersFile) + $bad' "$WORK/l3-h1.conf" >"$f"
		out=$(cni gre h1 ADD bad-p "$f" 2>/dev/null)
		check_eq "bad config $bad gives code 7 ($(jq -r .msg <<<"$out"))" 7 "$(jq -r .code <<<"$out")"
	done
	after=$(ip -n h1 -o link show; ip -n h1 route show table all)
	check_eq "bad configs changed nothing on the host" "$before" "$after"
	check_eq "bad configs left no lease" "" "$(ls "$WORK/ipam-l3-h1/gre-l3" 2>/dev/null | grep -v -e lock -e last_reserved || true)"
}

# kill -9 at spread moments of ADD, then DEL: no veth, no lease, no firewall entry of the victim.
kills() {
	killed_adds gre h1 "$WORK/l3-h1.conf"
	check_eq "after 10 killed ADDs and their DELs: no pod veth" "" "$(ip -n h1 -o link show | grep -o ' ge[0-9a-f]*' || true)"
	check_eq "no lease of a victim" "" "$(grep -l victim "$WORK"/ipam-l3-h1/gre-l3/* 2>/dev/null || true)"
	check_eq "no firewall entry" "" "$(ip netns exec h1 nft list ruleset | grep -o 'victim-[0-9]*' | sort -u || true)"
	check_eq "no address left in the pod" "" "$(ip -n kill-p -o addr show scope global)"
}

# Steps to run (all by default): l3, bad, taken, kills, l2, examples (conf-examples/gre.*, as shipped).
for step in ${@:-l3 bad taken kills l2 examples}; do
	case $step in
	l3 | l2) scenario "$step" ;;
	bad) bad_config ;;
	taken) ifname_taken gre h1 "$WORK/l3-h1.conf" ;;
	kills) kills ;;
	examples) examples gre ;;
	esac
done
finish
