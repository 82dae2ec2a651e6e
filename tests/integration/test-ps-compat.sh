#!/usr/bin/env bash
# test-ps-compat.sh - system.data cross-compatibility between TrouSerS' tcsd
# 0.3.15 and ours, on one swtpm whose state survives every step:
#
#   1. TrouSerS: take ownership (the SRK record), register key set 1
#      (storage key with auth + signing grandchild + signing child of the
#      SRK), use it
#   2. reboot the TPM, start OUR tcsd on the same system.data: set 1 loads by
#      UUID and signs (grandchild included); register set 2 and use it
#   3. reboot the TPM, start TrouSerS on the file our tcsd rewrote: sets 2
#      and 1 load and sign
#
# The "reboot" is a TPM power cycle (swtpm stopped with its state saved and
# booted by the BIOS sequence again) with the daemon switched while the TPM
# is off: the realistic migration is a package swap followed by a reboot,
# and registered keys must survive a reboot anyway.
#
# File ownership: TrouSerS opens system.data while still root (before it
# drops to user tss) and so creates it root:root 0600. Our tcsd reads and
# writes the file only after dropping to tss; while still root at start-up it
# hands an existing store to tss (fchown, mode 0600), so the migration needs
# no manual `chown tss:tss /var/lib/tpm/system.data` - checked below: the
# file TrouSerS left is root-owned, ours starts on it and it is tss's after.
# Our tcsd writes by temp file + rename (tss:tss 0600), which TrouSerS
# (opening it as root) reads fine.
#
# Usage: test-ps-compat.sh [PROGRAM]   (PROGRAM: the tspi-ps-compat helper,
#        default $TCS_BUILD_DIR/tests/integration/tspi/tspi-ps-compat)
# Environment: what tcs-harness.sh reads (TCS_BUILD_DIR, TCS_TCSD_WRAPPER,
# TCS_KEEP, TCS_TRACE).
# Exit: 0 pass, 1 a step failed, 77 skip (not root, no swtpm / TrouSerS /
# our tcsd / the helper).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tcs-harness.sh
. "$HERE/tcs-harness.sh"

PROG=${1:-$TCS_BUILD_DIR/tests/integration/tspi/tspi-ps-compat}
[ -x "$PROG" ] || { echo "SKIP: helper not built: $PROG" >&2; exit 77; }
PROG=$(cd "$(dirname "$PROG")" && pwd)/$(basename "$PROG")   # it runs in the state dir
tcs_require swtpm swtpm_setup swtpm_bios swtpm_ioctl tpm_takeownership timeout stdbuf stat \
    "${TCS_TROUSERS_TCSD:-/usr/sbin/tcsd}"
if [ ! -x "$TCS_BUILD_DIR/daemon/tcsd" ]; then
    echo "SKIP: our tcsd is not built ($TCS_BUILD_DIR/daemon/tcsd)" >&2; exit 77
fi

tcs_harness_init
W=$TCS_DIR/work
PS=$TCS_DIR/ps/system.data
PASSED=0; FAILED=0
T_START=$(date +%s%N)

ok()   { echo "ok    $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL  $*"; FAILED=$((FAILED + 1)); }

# run_helper NAME ARGS... : the helper against the running daemon
run_helper() {
    local name=$1 rc t0 t1
    shift
    t0=$(date +%s%N)
    (cd "$W" && TSPI_TEST_DAEMON=$TCS_TCSD_FLAVOUR \
        LSAN_OPTIONS="suppressions=$TCS_SOURCE_DIR/tests/data/lsan-libtspi.supp" \
        exec timeout 120 "$PROG" "$@") \
        </dev/null >"$W/.out" 2>&1
    rc=$?
    t1=$(date +%s%N)
    if [ "$rc" = 0 ]; then
        ok "$(printf '%-58s %6d ms' "$name [$TCS_TCSD_FLAVOUR]" $(( (t1 - t0) / 1000000 )))"
        # show the known TrouSerS failures even when passing
        grep ' # TODO ' "$W/.out" | sed 's/^/      | /'
    else
        fail "$name [$TCS_TCSD_FLAVOUR]: rc=$rc"
        grep -v '^ok ' "$W/.out" | sed 's/^/      | /' | head -n 30
    fi
}

ps_info() { # one line: owner, mode, size
    if [ -e "$PS" ]; then stat -c '%U:%G %a %s bytes' "$PS"; else echo "absent"; fi
}

# keys_in FILE: the record count of a system.data (byte 0 version 1, bytes 1-4 LE32)
keys_in() {
    od -An -tu1 -j0 -N5 "$1" | awk '$1 == 1 { print $2 + 256 * ($3 + 256 * ($4 + 256 * $5)); exit }
                                    { print "bad-version-" $1 }'
}

# switch_daemon FLAVOUR: stop the daemon, power-cycle the TPM (state kept), start FLAVOUR
switch_daemon() {
    if ! tcs_stop_tcsd; then fail "$TCS_TCSD_FLAVOUR tcsd did not exit cleanly"; fi
    echo "      system.data after $TCS_TCSD_FLAVOUR: $(ps_info), $(keys_in "$PS") keys"
    cp "$PS" "$W/system.data.$TCS_TCSD_FLAVOUR"
    # power cycle only: tcs_power_cycle restarts no daemon without a flavour
    TCS_TCSD_FLAVOUR=
    tcs_power_cycle || { fail "TPM power cycle"; return 1; }
    if tcs_start_tcsd "$1"; then
        ok "$1 tcsd starts on the existing system.data and TPM"
    else
        fail "$1 tcsd does not start"; return 1
    fi
    # migration from TrouSerS: ours adopts the root-owned file at start-up
    if [ "$1" = ours ]; then
        if [ "$(stat -c '%U:%G %a' "$PS")" = "tss:tss 600" ]; then
            ok "ours handed system.data to tss (0600) at start-up"
        else
            fail "system.data not adopted by ours: $(ps_info)"
        fi
    fi
}

echo "ps-compat: dir=$TCS_DIR helper=$PROG"
tcs_start_swtpm || exit 1

# -- 1. TrouSerS writes system.data
if tcs_start_tcsd trousers && tcs_take_ownership; then
    ok "TrouSerS tcsd up, TPM owned (well-known secrets)"
    run_helper "register set 1 (TrouSerS writes)" create 1
    run_helper "use set 1" use 1
    # what a migration starts from (TrouSerS 0.3.15 creates it as root)
    if [ "$(stat -c %U "$PS")" = root ]; then
        ok "TrouSerS left system.data owned by root ($(ps_info))"
    else
        echo "      note: TrouSerS' system.data is not root-owned here: $(ps_info)"
    fi
else
    fail "TrouSerS tcsd / take ownership"; tcs_dump_logs; exit 1
fi

# -- 2. ours reads TrouSerS' file, then writes it
if switch_daemon ours; then
    run_helper "use set 1 (written by TrouSerS)" use 1
    run_helper "register set 2 (ours writes)" create 2
    run_helper "use set 2" use 2
fi

# -- 3. TrouSerS reads the file ours rewrote
if switch_daemon trousers; then
    # ours keeps TrouSerS' records byte for byte and appends its own
    n=$(( $(stat -c %s "$W/system.data.trousers") - 5 ))
    if [ "$(keys_in "$W/system.data.trousers")" = 4 ] && [ "$(keys_in "$W/system.data.ours")" = 7 ] &&
       cmp -s -n "$n" <(tail -c +6 "$W/system.data.trousers") <(tail -c +6 "$W/system.data.ours"); then
        ok "ours kept TrouSerS' 4 records byte for byte and appended 3 (7 keys)"
    else
        fail "system.data: TrouSerS' records not kept as they were (keys: $(keys_in "$W/system.data.trousers") -> $(keys_in "$W/system.data.ours"))"
    fi
    run_helper "use set 2 (written by ours)" use 2
    run_helper "use set 1 (kept by ours' rewrite)" use 1
fi
if ! tcs_stop_tcsd; then fail "$TCS_TCSD_FLAVOUR tcsd did not exit cleanly"; fi
echo "      system.data after trousers: $(ps_info)"

[ "$FAILED" = 0 ] || tcs_dump_logs
echo "ps-compat: $PASSED passed, $FAILED failed in $(( ($(date +%s%N) - T_START) / 1000000 )) ms"
[ "$FAILED" = 0 ]
