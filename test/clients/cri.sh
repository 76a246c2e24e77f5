#!/usr/bin/env bash
# containerd 1.6's CRI plugin driven as kubelet drives it (RunPodSandbox, PodSandboxStatus,
# StopPodSandbox, RemovePodSandbox over gRPC, by test/helpers/cri/client.ts) runs two pod
# sandboxes on each plugin's kubelet-containerd conf-example; the first asks for hostPort 8080 where
# the example chains portmap. Run by test/clients/clients.test.ts inside private namespaces.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containerd.sh"

host_network
install_suite
start_containerd k8s.io
cri() { node_modules/.bin/node test/helpers/cri/client.ts "$SOCK" "$@"; }

for plugin in "${PLUGINS[@]}"; do
	use_example "$plugin" kubelet-containerd
	ports=()
	((MAPS_PORTS)) && ports=(8080:80)
	a=$(cri run "a-$plugin" "${ports[@]}" 2>&1) && pass "$plugin: RunPodSandbox a" || fail "$plugin: RunPodSandbox a" "$a"
	b=$(cri run "b-$plugin" 2>&1) && pass "$plugin: RunPodSandbox b" || fail "$plugin: RunPodSandbox b" "$b"
	sa=$(cri status "$a")
	sb=$(cri status "$b")
	check_eq "$plugin: pod a is ready" SANDBOX_READY "$(jq -r .state <<<"$sa")"
	pod_checks "$plugin" "$(jq -r .pid <<<"$sa")" "$(jq -r .ip <<<"$sa")" "$(jq -r .pid <<<"$sb")" "$(jq -r .ip <<<"$sb")"
	((MAPS_PORTS)) && port_check "$plugin"
	for id in "$a" "$b"; do
		check "$plugin: StopPodSandbox (CNI DEL)" cri stop "$id"
		check "$plugin: RemovePodSandbox" cri remove "$id"
	done
	leak_checks "$plugin"
done
finish
