# Shared by the kernel-tier scenarios, which run inside the VM (scripts/kernel-run) because the link
# types they test do not exist in this machine's kernel. Sourced, not run.
#
# A scenario prints one TAP-like line per check ("ok - <what>" / "not ok - <what>: <detail>") and
# "checks <n> failed <m>" at the end; test/kernel/scenario.ts turns them into tap assertions. Every
# plugin runs inside a "host" netns made here; traffic goes only between the netns made here.

set -uo pipefail

CHECKS=0
FAILED=0
BIN=/run/cni/bin
# The scenario's own files (peers, confs, IPAM data): the guest's tmpfs, gone with the VM.
WORK=/run/scenario
mkdir -p "$WORK"

pass() {
	CHECKS=$((CHECKS + 1))
	echo "ok - $1"
}

fail() {
	CHECKS=$((CHECKS + 1))
	FAILED=$((FAILED + 1))
	echo "not ok - $1${2:+: $2}"
}

# check <what> <command…>: the command succeeds.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$what"; else
		fail "$what" "$(tail -c 300 <<<"$out" | tr '\n' ' ')"
		[ -z "${DEBUG:-}" ] || $DEBUG
	fi
}

# check_not <what> <command…>: the command fails (pair it with a check of the same command that
# succeeds, its positive control).
check_not() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then fail "$what" "succeeded"; else pass "$what"; fi
}

# check_eq <what> <want> <got>
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "want '$2', got '$3'"; fi
}

finish() {
	echo "checks $CHECKS failed $FAILED"
	[ "$FAILED" = 0 ]
}

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
