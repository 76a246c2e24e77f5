#!/usr/bin/env bash
# ipvlan-l3 in the Debian kernel (scripts/kernel-run bash test/kernel/ipvlan.sh), with real packets:
#   h1, h2, h3 on one switch (192.168.100.N/24), each with pod subnet 10.90.N.0/24; ext is outside.
#   h1 and h2 run mode l3; h3 runs mode l3s with ipMasq (the host's netfilter sees its pods).
# Prints a line per check (see lib.sh).
cd "$(dirname "$0")/../.." || exit 1
source test/kernel/lib.sh

install_plugins ipvlan-l3 host-local
switched_hosts 3
HOSTS=(1 2 3)
PEERS=$WORK/peers.json

peers() { # hosts…
	local n
	for n in "$@"; do printf '{"name":"h%s","nodeIP":"192.168.100.%s","podCIDR":"10.90.%s.0/24"}\n' "$n" "$n" "$n"; done | jq -s .
}

conf() { # host [extra JSON] → its config file
	local n=$1 extra=${2:-'{}'} f=$WORK/h$1.conf mode=l3 masq=false
	[ "$n" = 3 ] && mode=l3s masq=true
	jq -n --arg n "$n" --arg w "$WORK" --arg mode "$mode" --argjson masq "$masq" --argjson extra "$extra" '
		{cniVersion:"1.1.0", name:"ipv", type:"ipvlan-l3", mode:$mode, ipMasq:$masq,
		 clusterCIDR:"10.90.0.0/16", peersFile:($w + "/peers.json"),
		 ipam:{type:"host-local", dataDir:($w + "/ipam-h" + $n), ranges:[[{subnet:("10.90." + $n + ".0/24")}]]}}
		+ $extra' >"$f"
	echo "$f"
}

gc_conf() { # host ids… → GC config with these attachments valid
	local n=$1
	shift
	jq -c --argjson ids "$(for id in "$@"; do jq -n --arg id "$id" '{containerID: $id, ifname: "eth0"}'; done | jq -s .)" \
		'. + {"cni.dev/valid-attachments": $ids}' "$WORK/h$n.conf"
}

declare -A IP RESULT

pods() {
	local n m out
	peers 1 2 3 >"$PEERS"
	for n in "${HOSTS[@]}"; do
		make_netns "p$n"
		if out=$(cni ipvlan-l3 "h$n" ADD "p$n" "$(conf "$n")"); then
			IP[$n]=$(result_ip4 <<<"$out")
			RESULT[$n]=$out
			pass "ADD on h$n gives ${IP[$n]}"
		else
			fail "ADD on h$n" "$out"
		fi
		count_sources "p$n"
		count_sources "h$n"
		tcp_server "p$n" 8080
	done
	check_eq "the pod's link is an ipvlan in mode l3 (h1)" "ipvlan l3" \
		"$(ip -n p1 -d -j link show eth0 | jq -r '.[0].linkinfo | "\(.info_kind) \(.info_data.mode)"')"
	check_eq "and l3s on h3" "l3s" "$(ip -n p3 -d -j link show eth0 | jq -r '.[0].linkinfo.info_data.mode')"
	check_eq "the pod has a device default route" "default dev eth0" "$(ip -n p1 route show default | cut -d' ' -f1-3)"
	sleep 1
	for n in "${HOSTS[@]}"; do
		for m in "${HOSTS[@]}"; do
			[ "$n" = "$m" ] && continue
			check "ping p$n → p$m" ping_ok "p$n" "${IP[$m]}"
			check "TCP p$n → p$m" tcp_ok "p$n" "${IP[$m]}" 8080
			# In l3s (h3) packets for the pod pass the host's netfilter, not the pod's.
			if [ "$m" = 3 ]; then
				check "p$n's own address reached p$m (seen by h$m's netfilter, l3s)" seen_from "h$m" "${IP[$n]}"
			else
				check "p$m saw p$n's own address" seen_from "p$m" "${IP[$n]}"
			fi
		done
	done
}

shim() {
	check "h1 reaches its pod through the shim" ping_ok h1 "${IP[1]}"
	check "TCP from h1 to its pod" tcp_ok h1 "${IP[1]}" 8080
	check "p1 reaches its host's shim address" ping_ok p1 10.90.1.1
	# The control: a network without the shim on h2 (its own pod subnet, same master).
	local f=$WORK/noshim.conf out
	jq '.name = "ipv-noshim" | .hostShim = false | .podCIDR = "10.92.2.0/24"
		| .ipam.ranges = [[{subnet: "10.92.2.0/24"}]] | .ipam.dataDir += "-noshim" | del(.peersFile)' \
		"$WORK/h2.conf" >"$f"
	make_netns q2
	out=$(cni ipvlan-l3 h2 ADD q2 "$f") || fail "ADD without shim" "$out"
	local q2
	q2=$(result_ip4 <<<"$out")
	check "q2 got an address ($q2)" test -n "$q2"
	check_not "without the shim h2 cannot reach its pod q2" ping_ok h2 "$q2" -W 1
	check "while it reaches p2 through the other network's shim" ping_ok h2 "${IP[2]}"
	check "DEL q2" cni ipvlan-l3 h2 DEL q2 "$f"
}

egress() {
	count_sources ext
	check "p3 (l3s, ipMasq) reaches outside" ping_ok p3 198.51.100.1
	check "its egress carries h3's address" seen_from ext 192.168.100.3
	check_not "and not the pod's" seen_from ext "${IP[3]}"
	ip netns exec ext nft delete table inet seen
	count_sources ext
	# The control: in mode l3 (h1, no NAT) ext sees the pod's own address, and has no route back.
	ip netns exec p1 ping -c 1 -W 1 198.51.100.1 >/dev/null 2>&1
	check "without NAT (l3 on h1) outside sees the pod's own address" seen_from ext "${IP[1]}"
	ip netns exec ext nft delete table inet seen
}

checks() {
	local conf1=$WORK/h1.conf out
	check_code() { # what want [extra JSON for the config]
		out=$(cni ipvlan-l3 h1 CHECK p1 <(jq -c --argjson res "${RESULT[1]}" --argjson x "${3:-{\}}" \
			'. + {prevResult: $res} + $x' "$conf1") 2>/dev/null)
		check_eq "$1" "$2" "$(jq -r '.code // 0' <<<"${out:-"{}"}")"
	}
	check_code "CHECK passes on a converged host" 0
	check "STATUS passes with every peer on-link" cni ipvlan-l3 h1 STATUS "" "$conf1"
	out=$(cni ipvlan-l3 h1 STATUS "" <(jq -c '. + {peers: [{name: "far", nodeIP: "10.99.0.1", podCIDR: "10.99.1.0/24"}]}' "$conf1"))
	check_eq "STATUS is 51 with a peer whose nodeIP is not on-link ($(jq -r .msg <<<"$out"))" 51 "$(jq -r .code <<<"$out")"
	check_code "CHECK catches another mode (103)" 103 '{"mode":"l3s","ipMasq":false}'
	ip -n h1 route del 10.90.2.0/24 proto 205
	check_code "CHECK catches a removed peer route (103)" 103
	check "GC restores it" cni ipvlan-l3 h1 GC "" <(gc_conf 1 p1)
	check_code "CHECK passes again" 0
	check "p1 → p2 again" ping_ok p1 "${IP[2]}"

	peers 1 2 >"$PEERS"
	check "GC after h3 left" cni ipvlan-l3 h1 GC "" <(gc_conf 1 p1)
	check_eq "h1 has no route to h3's pods" "" "$(ip -n h1 route show 10.90.3.0/24 proto 205)"
	check "h1 keeps h2's" test -n "$(ip -n h1 route show 10.90.2.0/24 proto 205)"
	check_not "p1 no longer reaches p3" ping_ok p1 "${IP[3]}" -W 1
	peers 1 2 3 >"$PEERS"
	make_netns p1b
	check "an ADD after h3 came back" cni ipvlan-l3 h1 ADD p1b "$conf1"
	check "p1 reaches p3 again" ping_ok p1 "${IP[3]}"
	check "DEL p1b" cni ipvlan-l3 h1 DEL p1b "$conf1"
}

dels() {
	local n
	for n in "${HOSTS[@]}"; do
		check "DEL on h$n" cni ipvlan-l3 "h$n" DEL "p$n" "$WORK/h$n.conf"
		check_eq "no link left in p$n" "" "$(ip -n "p$n" -o link show type ipvlan)"
		check "DEL again on h$n" cni ipvlan-l3 "h$n" DEL "p$n" "$WORK/h$n.conf"
		check "DEL without a netns on h$n" cni ipvlan-l3 "h$n" DEL "p$n" "$WORK/h$n.conf" ""
		check_eq "no lease left on h$n" "" "$(ls "$WORK/ipam-h$n/ipv" | grep -v -e lock -e last_reserved || true)"
	done
	check "GC without pods on h1" cni ipvlan-l3 h1 GC "" <(gc_conf 1)
	check_eq "the shim went with the last pod" "" "$(ip -n h1 -o link show type ipvlan)"
}

bad_config() {
	local before after f out bad
	before=$(ip -n h1 -o link show; ip -n h1 route show table all)
	make_netns bad-p
	for bad in '{"mode":"l2"}' '{"master":"nope0"}' '{"mtu":9000}' '{"ipMasq":true}' '{"hostShim":"yes"}' \
		'{"peers":[{"name":"x","nodeIP":"not-an-ip","podCIDR":"10.90.9.0/24"}]}'; do
		f=$WORK/bad.conf
		jq -c --argjson bad "$bad" '. + $bad' "$WORK/h1.conf" >"$f"
		out=$(cni ipvlan-l3 h1 ADD bad-p "$f" 2>/dev/null)
		check_eq "bad config $bad gives code 7 ($(jq -r .msg <<<"$out"))" 7 "$(jq -r .code <<<"$out")"
	done
	after=$(ip -n h1 -o link show; ip -n h1 route show table all)
	check_eq "bad configs changed nothing on the host" "$before" "$after"
	check_eq "nor in the pod" "" "$(ip -n bad-p -o link show type ipvlan)"
}

# kill -9 at spread moments of ADD, then DEL: no link in the pod, no lease of a victim.
kills() {
	killed_adds ipvlan-l3 h1 "$WORK/h1.conf"
	check_eq "after 10 killed ADDs and their DELs: no ipvlan in the pod" "" "$(ip -n kill-p -o link show type ipvlan)"
	check_eq "no lease of a victim" "" "$(grep -l victim "$WORK"/ipam-h1/ipv/* 2>/dev/null || true)"
}

# The reference ipvlan (mode l3) on the same config: results of the same shape, and each DELs what
# the other added.
interop() {
	local ref=/usr/lib/cni/ipvlan ours theirs f=$WORK/ref.conf
	# The reference speaks CNI up to 1.0.0; its pods get another subnet (one master, one address space).
	jq '.cniVersion = "1.0.0" | .type = "ipvlan" | .master = "eth0" | .ipam.dataDir += "-ref"
		| .ipam.ranges = [[{subnet: "10.93.1.0/24"}]]
		| del(.peersFile, .ipMasq, .clusterCIDR)' \
		"$WORK/h1.conf" >"$f"
	make_netns r1 r2
	theirs=$(ip netns exec h1 env -i PATH="$PATH" CNI_COMMAND=ADD CNI_CONTAINERID=r1 CNI_NETNS=/run/netns/r1 \
		CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$ref" <"$f" 2>&1)
	check "the reference ipvlan adds a pod: $(jq -c "[.ips[]?.address]" <<<"$theirs" 2>/dev/null || echo "$theirs")" jq -e '.ips[0].address' <<<"$theirs"
	ours=$(cni ipvlan-l3 h1 ADD r2 "$WORK/h1.conf")
	shape() { jq -c '{interfaces: [.interfaces[] | keys], ips: [.ips[] | {interface} + (. | {address: (.address | test("/"))})], dns: (.dns | type)}'; }
	check_eq "same result shape as the reference (interfaces, ips, dns)" "$(shape <<<"$theirs")" "$(shape <<<"$ours")"
	check_eq "the same MAC (the master's)" "$(jq -r '.interfaces[0].mac' <<<"$theirs")" "$(jq -r '.interfaces[0].mac' <<<"$ours")"
	check "ours DELs the reference's pod" cni ipvlan-l3 h1 DEL r1 "$WORK/h1.conf"
	# Its link carries no alias of ours: nothing proves it ours, so it stays; the reference removes it.
	check_eq "its link stays (no alias of ours)" "1" "$(ip -n r1 -o link show type ipvlan | wc -l)"
	check "the reference DELs its own pod" ip netns exec h1 env -i PATH="$PATH" CNI_COMMAND=DEL CNI_CONTAINERID=r1 \
		CNI_NETNS=/run/netns/r1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$ref" <"$f"
	check_eq "its link is gone" "" "$(ip -n r1 -o link show type ipvlan)"
	check "the reference DELs ours" ip netns exec h1 env -i PATH="$PATH" CNI_COMMAND=DEL CNI_CONTAINERID=r2 \
		CNI_NETNS=/run/netns/r2 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$ref" <"$f"
	check_eq "our link is gone" "" "$(ip -n r2 -o link show type ipvlan)"
	check "our DEL of r2 after that" cni ipvlan-l3 h1 DEL r2 "$WORK/h1.conf"
	check_eq "releases its lease" "" "$(grep -l r2 "$WORK"/ipam-h1/ipv/* 2>/dev/null || true)"
}

for step in ${@:-pods shim egress checks interop dels bad taken kills examples}; do
	case $step in
	pods) pods ;;
	shim) shim ;;
	egress) egress ;;
	checks) checks ;;
	interop) interop ;;
	dels) dels ;;
	bad) bad_config ;;
	taken) ifname_taken ipvlan-l3 h1 "$WORK/h1.conf" ;;
	kills) kills ;;
	examples) examples ipvlan-l3 ;;
	esac
done
finish
