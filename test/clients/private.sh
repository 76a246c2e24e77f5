#!/usr/bin/env bash
# private.sh <work dir> <command…>: runs the command with the machine's runtime state out of reach,
# as the clients tier needs: call it as `unshare --mount --pid --fork --mount-proc
# --propagation private test/clients/private.sh …` inside a host netns made by the test. /etc, /opt
# and /var/lib become overlays whose upper layers live in a tmpfs on <work dir>, /run/netns and
# /run/containerd fresh tmpfs: the runtime's configs, /opt/cni/bin, /var/lib/cni (libcni's cache,
# host-local's leases), image stores and pod netns files all vanish with this mount namespace, and
# every process with this PID namespace.
set -euo pipefail
work=$1
shift
mount -t tmpfs -o mode=0755 clients "$work"
for dir in /etc /opt /var/lib; do
	name=${dir//\//_}
	mkdir -p "$work/up$name" "$work/wk$name"
	mount -t overlay overlay -o "lowerdir=$dir,upperdir=$work/up$name,workdir=$work/wk$name" "$dir"
done
for dir in /run/netns /run/containerd /run/containers /run/libpod /run/runc; do
	mkdir -p "$dir"
	mount -t tmpfs -o mode=0755 clients "$dir"
done
mkdir -p "$work/tmp"
export TMPDIR=$work/tmp CLIENTS_WORK=$work
exec "$@"
