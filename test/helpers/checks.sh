# The scenario scripts' checks (test/kernel/*.sh, test/clients/*.sh), sourced. A scenario prints
# one TAP-like line per check ("ok - <what>" / "not ok - <what>: <detail>") and "checks <n> failed
# <m>" at the end; test/helpers/scenario.ts turns them into tap assertions.

CHECKS=0
FAILED=0

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

