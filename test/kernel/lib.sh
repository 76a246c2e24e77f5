# Shared by the kernel-tier scenarios, which run inside the VM (scripts/kernel-run) because the link
# types they test do not exist in this machine's kernel. Sourced, not run.
#
# The checks and their output are test/helpers/checks.sh's. Every plugin runs inside a "host" netns made here; traffic goes only between the
# netns made here.

set -uo pipefail

# shellcheck source=test/helpers/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../helpers/checks.sh"
BIN=/run/cni/bin
# The scenario's own files (peers, confs, IPAM data): the guest's tmpfs, gone with the VM.
WORK=/run/scenario
mkdir -p "$WORK"

# Background servers would keep the VM's output open: they go with the scenario.
trap 'kill $(jobs -p) 2>/dev/null' EXIT

# The built executable, copied into the guest's tmpfs: run from the 9p share, every start would
# read its 120 MB again (seconds each under TCG).
install_plugins() {
	mkdir -p "$BIN"
	cp dist/bin/cni-suite "$BIN/cni-suite"
	local name
	for name in "$@"; do ln -f "$BIN/cni-suite" "$BIN/$name"; done
}

make_netns() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
}

# A router netns and hosts on their own underlay subnets behind it: host hN has eth0 172.16.N.2/24,
# its default route via the router's 172.16.N.1. Usage: routed_hosts 3 (makes rt, h1, h2, h3).
routed_hosts() {
	local n
	make_netns rt
	ip netns exec rt sysctl -qw net.ipv4.ip_forward=1
	for n in $(seq 1 "$1"); do
		make_netns "h$n"
		ip link add "r$n" netns rt type veth peer name eth0 netns "h$n"
		ip -n rt addr add "172.16.$n.1/24" dev "r$n"
		ip -n rt link set "r$n" up
		ip -n "h$n" addr add "172.16.$n.2/24" dev eth0
		ip -n "h$n" link set eth0 up
		ip -n "h$n" route add default via "172.16.$n.1"
	done
	# An address outside the cluster, to see egress NAT.
	ip -n rt addr add 198.51.100.1/32 dev lo
}

# cni <plugin> <host netns> <command> <container id> <conf file> [pod netns path] — prints the
# plugin's stdout; its exit code is ours.
cni() {
	local netns=${6-/run/netns/$4}
	ip netns exec "$2" env -i PATH="$PATH" CNI_COMMAND="$3" CNI_CONTAINERID="$4" CNI_NETNS="$netns" \
		CNI_IFNAME=eth0 CNI_PATH="$BIN" "$BIN/$1" <"$5"
}

# The pod's first IPv4 address from an ADD result on stdin.
result_ip4() { jq -r '[.ips[] | select(.address | contains("."))][0].address | split("/")[0]'; }

ping_ok() { # from-netns address [extra ping args]
	local ns=$1 addr=$2
	shift 2
	ip netns exec "$ns" ping -c 1 -W 3 -q "$@" "$addr"
}

# A TCP server in a netns answering "tcp-ok" to every connection (busybox nc from the initramfs).
tcp_server() { # netns port
	ip netns exec "$1" /run/busybox nc -ll -p "$2" -e /bin/echo tcp-ok &
}

tcp_ok() { # from-netns address port
	ip netns exec "$1" timeout 5 bash -c "exec 3<>/dev/tcp/$2/$3 && read -r line <&3 && [ \"\$line\" = tcp-ok ]"
}

# Counts packets from a source address arriving in a netns (nft), to tell whose address they carry.
count_sources() { # netns
	ip netns exec "$1" nft -f - <<-'EOF'
		table inet seen {
			set from { type ipv4_addr; flags dynamic; size 1024; }
			chain in { type filter hook input priority 0; update @from { ip saddr }; }
		}
	EOF
}
seen_from() { # netns address
	local set
	set=$(ip netns exec "$1" nft list set inet seen from 2>&1)
	grep -qw "$2" <<<"$set" || { echo "$set" | tr -s ' \t\n' ' '; return 1; }
}

# run_chain <command> <conflist> <host netns> <container id> [prevResult file] — runs the conflist's
# plugins as a runtime does (ADD in order, each given the previous result; DEL in reverse), with
# file paths moved under $WORK and `peersFile` taken from conf-examples/<plugin>-peers.json. Prints
# the last result; fails at the first plugin that fails.
run_chain() {
	local cmd=$1 list=$2 host=$3 id=$4 prev=${5:-} n i order conf out plugin
	n=$(jq '.plugins | length' "$list")
	order=$(seq 0 $((n - 1)))
	[ "$cmd" = DEL ] && order=$(seq $((n - 1)) -1 0)
	plugin=$(jq -r '.plugins[0].type' "$list")
	cp "conf-examples/$plugin-peers.json" "$WORK/example-peers.json" 2>/dev/null
	for i in $order; do
		conf=$WORK/chain-$i.conf
		jq --argjson i "$i" --arg work "$WORK" --slurpfile prev <(cat "${prev:-/dev/null}") '
			{cniVersion, name} + .plugins[$i]
			| if .ipam then .ipam.dataDir = ($work + "/example-ipam") else . end
			| if .peersFile then .peersFile = ($work + "/example-peers.json") else . end
			| if .capabilities.portMappings then
				.runtimeConfig = {portMappings: [{hostPort: 8080, containerPort: 80, protocol: "tcp"}]}
			  else . end
			| if ($prev | length) > 0 then .prevResult = $prev[0] else . end' "$list" >"$conf"
		local type
		type=$(jq -r .type "$conf")
		out=$(ip netns exec "$host" env -i PATH="$PATH" CNI_COMMAND="$cmd" CNI_CONTAINERID="$id" \
			CNI_NETNS="/run/netns/$id" CNI_IFNAME=eth0 CNI_PATH="$BIN:/usr/lib/cni" \
			"$( [ -x "$BIN/$type" ] && echo "$BIN/$type" || echo "/usr/lib/cni/$type")" <"$conf") ||
			{ echo "$type $cmd: $out"; return 1; }
		if [ "$cmd" = ADD ]; then
			prev=$WORK/chain-result.json
			echo "$out" >"$prev"
		fi
	done
	[ "$cmd" = ADD ] && cat "$prev"
	return 0
}

# examples <plugin>: every conf-examples/<plugin>.*.conflist runs on host h1 as shipped: ADD through
# the chain (ours for every plugin of this suite), CHECK of the first plugin, GC and STATUS (at
# cniVersion 1.1.0, which they need), DEL, and DEL again.
examples() {
	local plugin=$1 list result id
	for list in conf-examples/"$plugin".*.conflist; do
		id=example-$(basename "$list" .conflist | tr . -)
		make_netns "$id"
		if result=$(run_chain ADD "$list" h1 "$id"); then
			pass "$list: ADD gives $(jq -c '[.ips[].address]' <<<"$result")"
		else
			fail "$list: ADD" "$result"
			continue
		fi
		echo "$result" >"$WORK/example-result.json"
		local ours=$WORK/example-ours.conf
		jq --arg work "$WORK" '{cniVersion, name} + .plugins[0]
			| .ipam.dataDir = ($work + "/example-ipam")
			| if .peersFile then .peersFile = ($work + "/example-peers.json") else . end' "$list" >"$ours"
		check "$list: CHECK" cni "$plugin" h1 CHECK "$id" <(jq --slurpfile r "$WORK/example-result.json" '. + {prevResult: $r[0]}' "$ours")
		# GC and STATUS came with cniVersion 1.1.0: asked of the same config at that version.
		check "$list: GC" cni "$plugin" h1 GC "$id" <(jq --arg id "$id" '. + {cniVersion: "1.1.0", "cni.dev/valid-attachments": [{containerID: $id, ifname: "eth0"}]}' "$ours")
		check "$list: STATUS" cni "$plugin" h1 STATUS "$id" <(jq '.cniVersion = "1.1.0"' "$ours")
		check "$list: DEL" run_chain DEL "$list" h1 "$id" "$WORK/example-result.json"
		check "$list: DEL again" run_chain DEL "$list" h1 "$id" "$WORK/example-result.json"
	done
}

# Hosts on one L2 underlay: a switch netns sw with a bridge, host hN with eth0 192.168.100.N/24, and
# an outside machine ext (192.168.100.100, with 198.51.100.1 behind it) that is every host's default
# gateway. Usage: switched_hosts 3 (makes sw, ext, h1, h2, h3).
switched_hosts() {
	local n
	make_netns sw ext
	ip -n sw link add br0 type bridge
	ip -n sw link set br0 up
	ip link add sext netns sw type veth peer name eth0 netns ext
	ip -n sw link set sext master br0 up
	ip -n ext addr add 192.168.100.100/24 dev eth0
	ip -n ext addr add 198.51.100.1/32 dev lo
	ip -n ext link set eth0 up
	for n in $(seq 1 "$1"); do
		make_netns "h$n"
		ip link add "s$n" netns sw type veth peer name eth0 netns "h$n"
		ip -n sw link set "s$n" master br0 up
		ip -n "h$n" addr add "192.168.100.$n/24" dev eth0
		ip -n "h$n" link set eth0 up
		ip -n "h$n" route add default via 192.168.100.100
	done
}

# killed_adds <plugin> <host netns> <conf file>: 10 ADDs into netns kill-p, each killed with SIGKILL
# at a later moment (0 to 1.8 s, across the whole call), then DELed. The caller checks what is left.
killed_adds() {
	local plugin=$1 host=$2 conf=$3 i pid
	make_netns kill-p
	for i in $(seq 0 9); do
		ip netns exec "$host" env -i PATH="$PATH" CNI_COMMAND=ADD CNI_CONTAINERID="victim-$i" \
			CNI_NETNS=/run/netns/kill-p CNI_IFNAME=eth0 CNI_PATH="$BIN" "$BIN/$plugin" <"$conf" >/dev/null 2>&1 &
		pid=$!
		sleep "0.$((i * 2))"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		cni "$plugin" "$host" DEL "victim-$i" "$conf" >/dev/null || fail "DEL after kill $i"
	done
}

# iperf <from netns> <to netns> <to address> → Gbit/s received, over $SECONDS_PER_RUN (4) seconds.
iperf() {
	ip netns exec "$2" iperf3 -s -1 -D -p 5201 >/dev/null 2>&1
	sleep 0.5
	ip netns exec "$1" iperf3 -c "$3" -p 5201 -t "${SECONDS_PER_RUN:-4}" -J 2>/dev/null |
		jq '.end.sum_received.bits_per_second / 1e9'
}

# A pod that holds CNI_IFNAME already (a veth of another owner): ADD is 4 naming CNI_IFNAME and
# leaves host and pod as they were; DEL succeeds and keeps the pod's own eth0.
# Usage: ifname_taken <plugin> <host netns> <conf file>
ifname_taken() {
	local plugin=$1 host=$2 conf=$3 before after out
	make_netns taken-p
	ip -n taken-p link add eth0 type veth peer name theirs
	before=$(ip -n "$host" -o link show | cut -d: -f2 | sort; ip -n taken-p -o link show | cut -d: -f2 | sort)
	out=$(cni "$plugin" "$host" ADD taken-p "$conf" 2>/dev/null)
	check_eq "ADD into a pod holding eth0 is 4 ($(jq -r .msg <<<"$out"))" 4 "$(jq -r .code <<<"$out")"
	check "DEL of it succeeds" cni "$plugin" "$host" DEL taken-p "$conf"
	after=$(ip -n "$host" -o link show | cut -d: -f2 | sort; ip -n taken-p -o link show | cut -d: -f2 | sort)
	check_eq "host and pod are as they were, the pod's eth0 kept" "$before" "$after"
	ip netns del taken-p
}
