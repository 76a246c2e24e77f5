# PID 1 of the kernel-run guest after switch_root, run by the initramfs's static busybox from
# /run (so no host binary is loaded before the command itself). Runs the command that the host
# wrote to /run/kernel-run/command.sh, with its stdio relayed to the virtio ports the host
# streams, records its exit code in /run/kernel-run/status and stops the VM.

bb=/run/busybox
ctl=/run/kernel-run

# virtio ports are found by the name the host gave them (there is no udev to make symlinks).
find_port() { # name
	local port name
	for port in /sys/class/virtio-ports/*; do
		read -r name <"$port/name"
		if [ "$name" = "$1" ]; then
			echo "/dev/${port##*/}"
			return 0
		fi
	done
	return 1
}

# stdout and stderr reach the command as FIFOs, not as the ports themselves: a port can be open
# only once at a time, and scripts reopen /dev/stdout and /dev/stderr all the time.
start_output_relays() {
	local stdout stderr
	stdout=$(find_port stdout) && stderr=$(find_port stderr) || return 1
	$bb mkfifo /run/stdout /run/stderr
	$bb cat </run/stdout >"$stdout" &
	stdout_relay=$!
	$bb cat </run/stderr >"$stderr" &
	stderr_relay=$!
}

# stdin is an anonymous pipe instead: reopening /dev/stdin after the writer finished blocks on a
# FIFO but not on a pipe. The relay records its pid so that it can be stopped when the command
# ends without reading everything (our stdin may never close).
relay_stdin() {
	$bb sh -c 'echo $$ >/run/stdin-relay.pid; exec /run/busybox cat' <"$stdin_port"
}

stop_stdin_relay() {
	until [ -s /run/stdin-relay.pid ]; do $bb sleep 0.01; done
	$bb kill "$($bb cat /run/stdin-relay.pid)" 2>/dev/null
}

# A PATH search of our own: busybox's `command -v` would also accept its applets.
find_in_path() { # name path
	local dir
	case $1 in */*) [ -x "$1" ] && return 0 || return 1 ;; esac
	local IFS=:
	for dir in $2; do
		[ -x "${dir:-.}/$1" ] && [ ! -d "${dir:-.}/$1" ] && return 0
	done
	return 1
}

# command.sh (written by the host) sets kr_cwd, kr_path and kr_name and defines kr_exec.
# shellcheck disable=SC1091,SC2154 # command.sh is written per run by scripts/kernel-run
run_command() {
	. "$ctl/command.sh" || return 125
	cd "$kr_cwd" || return 125
	if ! find_in_path "$kr_name" "$kr_path"; then
		echo "kernel-run: cannot start '$kr_name': not found in the VM (PATH=$kr_path)" >&2
		return 127
	fi
	kr_exec
}

# The right side of `relay_stdin | …`: runs the command, records its exit code, ends the relay.
run_and_record() {
	(run_command) >/run/stdout 2>/run/stderr
	echo "$?" >/run/status
	stop_stdin_relay
}

if stdin_port=$(find_port stdin) && start_output_relays; then
	relay_stdin | run_and_record
	# The output relays end once the command and everything it left behind close the FIFOs.
	wait "$stdout_relay" "$stderr_relay"
	$bb cp /run/status "$ctl/status"
else
	echo "kernel-run guest: virtio ports missing" >&2
fi
$bb sync
# With acpi=off there is no power-off; QEMU runs with -no-reboot, so a reboot ends it.
$bb reboot -f
