# containerd 1.6 on its own root, state and socket, for ctr.sh and cri.sh: its CRI plugin reads the
# conflist from /etc/cni/net.d and the plugins from /opt/cni/bin, as kubelet's containerd does.
# Sourced after lib.sh.

SOCK=$WORK/containerd.sock

start_containerd() {
	cat >"$WORK/containerd.toml" <<CONF
version = 2
root = "$WORK/containerd/root"
state = "$WORK/containerd/state"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$WORK/containerd.ttrpc.sock"
[debug]
  address = "$WORK/containerd.debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$IMAGE"
  # No CAP_SYS_RESOURCE here: a sandbox may not lower its OOM score below containerd's.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$BIN"
    conf_dir = "$CONF_DIR"
CONF
	containerd -c "$WORK/containerd.toml" >"$WORK/containerd.log" 2>&1 &
	local i
	for i in $(seq 100); do
		[ -S "$SOCK" ] && break
		sleep 0.1
	done
	check "containerd listens on its own socket" test -S "$SOCK"
	oci_archive "$(rootfs)" "$IMAGE" "$WORK/box.tar"
	check "ctr imports the busybox image (namespace $1)" ctr -a "$SOCK" -n "$1" images import --snapshotter native "$WORK/box.tar"
}
