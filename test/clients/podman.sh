#!/usr/bin/env bash
# podman 4.3 with its CNI backend runs two containers on each plugin's podman conf-example: the
# first publishes port 80 as host port 8080 (`-p`, served by our portmap) where the example chains
# portmap. Run by test/clients/clients.test.ts inside private namespaces (see lib.sh).
source "$(dirname "$0")/lib.sh"

host_network
install_suite
cat >"$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "cni"
cni_plugin_dirs = ["$BIN", "/usr/lib/cni"]
network_config_dir = "$CONF_DIR"
CONF
export CONTAINERS_CONF=$WORK/containers.conf
podman() { command podman --root "$WORK/storage" --runroot "$WORK/runroot" --storage-driver vfs "$@"; }
tar -C "$(rootfs)" -c . >"$WORK/rootfs.tar"
check "podman imports the busybox image" podman import -q "$WORK/rootfs.tar" "$IMAGE"

for plugin in "${PLUGINS[@]}"; do
	use_example "$plugin" podman
	ports=()
	((MAPS_PORTS)) && ports=(-p 8080:80)
	check "$plugin: podman run a" podman run -d --name a --network "$NETWORK" "${ports[@]}" "$IMAGE" /bin/httpd -f -p 80 -h /www
	check "$plugin: podman run b" podman run -d --name b --network "$NETWORK" "$IMAGE" /bin/sleep 600
	ip_of() { podman inspect "$1" --format "{{(index .NetworkSettings.Networks \"$NETWORK\").IPAddress}}"; }
	pid_of() { podman inspect "$1" --format '{{.State.Pid}}'; }
	pod_checks "$plugin" "$(pid_of a)" "$(ip_of a)" "$(pid_of b)" "$(ip_of b)"
	((MAPS_PORTS)) && port_check "$plugin"
	check "$plugin: podman rm -f a b" podman rm -f -t 0 a b
	leak_checks "$plugin"
done
finish
