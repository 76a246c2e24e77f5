# Shared by the clients tier's scenarios (test/clients/<client>.sh): a real runtime drives the
# built plugins through its own CNI code. Sourced, not run. Each scenario runs in a host netns the
# test made, in private mount and PID namespaces set up by test/clients/private.sh: /etc, /opt and
# /var/lib are throwaway overlays, so the runtime's state, /etc/cni/net.d, /opt/cni/bin and
# /var/lib/cni (libcni's cache, host-local's leases) vanish with it.

set -uo pipefail
# shellcheck source=test/helpers/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/../helpers/checks.sh"

# private.sh's tmpfs. Keep it short: podman refuses a runroot path over 50 characters.
WORK=$CLIENTS_WORK
BIN=/opt/cni/bin
CONF_DIR=/etc/cni/net.d
IMAGE=cni-suite.local/box:1
# The plugins this machine's kernel runs, each with its network name in conf-examples.
PLUGINS=(bridge-route vxlan macvlan)
HOST_IP=192.168.100.11
PAGE="hello from cni-suite"

trap 'kill $(jobs -p) 2>/dev/null' EXIT

# The host: eth0 on a switch port (a veth whose peer stays up here), with the node addresses the
# conf-examples' peers files name for node1 (192.168.100.11 for bridge-route, 192.168.101.11 for
# vxlan) and a default route, as a node has.
host_network() {
	ip link add eth0 type veth peer name uplink0
	ip link set uplink0 up
	ip addr add "$HOST_IP/24" dev eth0
	ip addr add 192.168.101.11/24 dev eth0
	ip link set eth0 up
	ip route add default via 192.168.100.1
	ip link set lo up
}

# The suite, installed as a user would: `cni-suite install`, then the reference loopback (CRI
# needs it in its bin dir) and nothing else of the reference in /opt/cni/bin.
install_suite() {
	check "cni-suite install into $BIN" dist/bin/cni-suite install --bin-dir "$BIN" --conf-dir "$CONF_DIR"
	cp /usr/lib/cni/loopback "$BIN/"
	# The runtime's own default config (podman's package ships one) must not be the first found.
	rm -f "$CONF_DIR"/*
}

# use_example <plugin> <client>: conf-examples/<plugin>.<client>.conflist as shipped, installed
# with `cni-suite install --conflist`, with its peers file where the example names it.
use_example() {
	local plugin=$1 client=$2 list peers
	list=conf-examples/$plugin.$client.conflist
	rm -f "$CONF_DIR"/*
	check "$plugin: cni-suite install --conflist $list" dist/bin/cni-suite install --bin-dir "$BIN" --conf-dir "$CONF_DIR" --conflist "$list"
	peers=$(jq -r '.plugins[0].peersFile // empty' "$list")
	[ -z "$peers" ] || cp "conf-examples/$plugin-peers.json" "$peers"
	NETWORK=$(jq -r .name "$list")
	MAPS_PORTS=$(jq '[.plugins[] | select(.type == "portmap")] | length' "$list")
}

# An image of busybox-static whose default command serves $PAGE over HTTP on port 80.
rootfs() {
	local dir=$WORK/rootfs
	mkdir -p "$dir/bin" "$dir/www" "$dir/etc"
	cp /bin/busybox "$dir/bin/"
	for a in sh sleep httpd ip wget; do ln -sf busybox "$dir/bin/$a"; done
	echo "$PAGE" >"$dir/www/index.html"
	echo "$dir"
}

# oci_archive <rootfs> <ref> <out.tar>: an OCI image layout tarball with one uncompressed layer,
# named <ref> (containerd imports it with `ctr images import`).
oci_archive() {
	local rootfs=$1 ref=$2 out=$3 dir layer config manifest
	dir=$(mktemp -d)
	mkdir -p "$dir/blobs/sha256"
	tar -C "$rootfs" -cf "$dir/layer" .
	layer=$(blob "$dir" layer)
	jq -n --arg l "sha256:${layer%% *}" '{architecture: "amd64", os: "linux",
		config: {Cmd: ["/bin/httpd", "-f", "-p", "80", "-h", "/www"]},
		rootfs: {type: "layers", diff_ids: [$l]}}' >"$dir/config"
	config=$(blob "$dir" config)
	jq -n --arg c "${config%% *}" --argjson cs "${config##* }" --arg l "${layer%% *}" --argjson ls "${layer##* }" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: ("sha256:" + $c), size: $cs},
		layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: ("sha256:" + $l), size: $ls}]}' >"$dir/manifest"
	manifest=$(blob "$dir" manifest)
	jq -n --arg m "${manifest%% *}" --argjson ms "${manifest##* }" --arg ref "$ref" '{schemaVersion: 2,
		manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: ("sha256:" + $m), size: $ms,
			annotations: {"io.containerd.image.name": $ref, "org.opencontainers.image.ref.name": ($ref | sub(".*:"; ""))}}]}' >"$dir/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	tar -C "$dir" -cf "$out" oci-layout index.json blobs
	rm -rf "$dir"
}

# blob <dir> <file>: moves the file into the layout's blobs; prints "<sha256> <size>".
blob() {
	local hash size
	hash=$(sha256sum "$1/$2" | cut -d' ' -f1)
	size=$(stat -c %s "$1/$2")
	mv "$1/$2" "$1/blobs/sha256/$hash"
	echo "$hash $size"
}

# The address of eth0 inside the netns of process <pid>.
pod_ip() {
	nsenter -t "$1" -n ip -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}' | cut -d/ -f1
}

# pod_checks <label> <pid a> <reported ip a> <pid b> <reported ip b>: what every client must give.
pod_checks() {
	local label=$1 pa=$2 ia=$3 pb=$4 ib=$5
	check "$label: the runtime reports both pods' addresses" test -n "$ia" -a -n "$ib"
	check_eq "$label: pod a's address is the one the runtime reports" "$ia" "$(pod_ip "$pa")"
	check_eq "$label: pod b's address is the one the runtime reports" "$ib" "$(pod_ip "$pb")"
	check "$label: libcni's cached result holds pod a's address" grep -rqs "\"$ia/" /var/lib/cni/results
	check "$label: pod a pings pod b" nsenter -t "$pa" -n ping -c1 -W2 "$ib"
	check "$label: pod b pings pod a" nsenter -t "$pb" -n ping -c1 -W2 "$ia"
}

# port_check <label>: pod a's port 80, published as host port 8080, answers through the host.
port_check() {
	local label=$1 got
	check "$label: the mapping is in portmap's table" nft list table inet cni_suite_portmap
	MAPPED=1
	# (busybox 1.35 wget crashes on -T: timeout(1) bounds it instead)
	got=$(timeout 5 busybox wget -qO- "http://$HOST_IP:8080/" 2>&1)
	check_eq "$label: the host's port 8080 reaches pod a (portmap)" "$PAGE" "$got"
}

# leak_checks <label>: nothing of the removed pods is left.
leak_checks() {
	local label=$1 links leases cached
	links=$(ip -j link show | jq -r '.[] | select(.ifalias // "" | startswith("cni-suite/")) | .ifname')
	check_eq "$label: no pod link is left" "" "$links"
	leases=$(find /var/lib/cni/networks/"$NETWORK" -type f ! -name lock ! -name 'last_reserved_ip.*' 2>/dev/null)
	check_eq "$label: no lease is left" "" "$leases"
	cached=$(find /var/lib/cni/results -name "$NETWORK-*" 2>/dev/null)
	check_eq "$label: no libcni cache entry is left" "" "$cached"
	check_eq "$label: no nft element is left" "0" "$(nft list ruleset | grep -c comment)"
	# Only where a mapping was made (port_check saw the table): otherwise there was nothing to leave.
	((${MAPPED:-0})) && check_not "$label: no portmap table is left" nft list table inet cni_suite_portmap
	MAPPED=0
}
