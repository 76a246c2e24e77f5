#!/usr/bin/env bash
# containerd 1.6's `ctr run --cni` runs two tasks on each plugin's kubelet-containerd conf-example.
# ctr runs in the foreground (a detached task never gets its DEL): ADD gets /proc/<pid>/ns/net, and
# DEL, when the task is killed, an empty CNI_NETNS. ctr has no port mappings. Run by
# test/clients/clients.test.ts inside private namespaces (see lib.sh).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containerd.sh"

host_network
install_suite
start_containerd default
ctr() { command ctr -a "$SOCK" "$@"; }

for plugin in "${PLUGINS[@]}"; do
	use_example "$plugin" kubelet-containerd
	ctr run --cni --snapshotter native --rm "$IMAGE" a >"$WORK/ctr-a.log" 2>&1 &
	runs=($!)
	ctr run --cni --snapshotter native --rm "$IMAGE" b /bin/sleep 600 >"$WORK/ctr-b.log" 2>&1 &
	runs+=($!)
	# ctr sets the network up between creating and starting the task: wait until both run.
	for i in $(seq 100); do
		[ "$(ctr task ls | grep -c RUNNING)" = 2 ] && break
		sleep 0.1
	done
	pid_of() { ctr task ls | awk -v id="$1" '$1 == id {print $2}'; }
	# ctr reports no address: libcni's cached result is what the runtime recorded.
	# ctr names the container <namespace>-<id> for CNI.
	ip_of() { jq -r ".result.ips[0].address" /var/lib/cni/results/"$NETWORK-default-$1-eth0" | cut -d/ -f1; }
	check "$plugin: ctr run a and b" test -n "$(pid_of a)" -a -n "$(pid_of b)"
	pod_checks "$plugin" "$(pid_of a)" "$(ip_of a)" "$(pid_of b)" "$(ip_of b)"
	ctr task kill -s KILL a
	ctr task kill -s KILL b
	wait "${runs[@]}" 2>/dev/null
	check_eq "$plugin: ctr ran DEL for both (no task left)" "" "$(ctr task ls -q)"
	leak_checks "$plugin"
done
finish
