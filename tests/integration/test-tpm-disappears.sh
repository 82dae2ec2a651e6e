#!/usr/bin/env bash
# test-tpm-disappears.sh - the TPM goes away under a running tcsd (swtpm shut
# down): clients get an error at once instead of hanging, tcsd keeps running,
# and when the TPM is back (rebooted by the BIOS step) clients are served
# again without restarting tcsd.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tcs-harness.sh
. "$HERE/tcs-harness.sh"
tcs_require swtpm swtpm_setup swtpm_bios swtpm_ioctl tpm_version timeout
[ -x "$TCS_BUILD_DIR/daemon/tcsd" ] || { echo "SKIP: tcsd not built" >&2; exit 77; }
tcs_harness_init || exit 1
tcs_start_swtpm || exit 1
tcs_start_tcsd_ours || exit 1
rc=0
step() { # DESCRIPTION EXPECTED-OUTPUT-REGEX (tpm_version exits 0 even on errors)
    local out
    out=$(timeout 30 tpm_version 2>&1 | tr -d '\000')
    if echo "$out" | grep -Eq "$2"; then echo "ok - $1"; else echo "not ok - $1: $out"; rc=1; fi
}
step "served while the TPM is there" "TPM 1.2 Version Info"
tcs_stop_swtpm
t0=$(date +%s)
step "an error, not a hang, while the TPM is gone" "0x00002011 .*Communication failure"
[ $(( $(date +%s) - t0 )) -lt 20 ] || { echo "not ok - the error took too long"; rc=1; }
kill -0 "$_TCS_TCSD_PID" 2>/dev/null && echo "ok - tcsd still runs" || { echo "not ok - tcsd died"; rc=1; }
_tcs_swtpm_boot || exit 1
step "served again once the TPM is back" "TPM 1.2 Version Info"
grep -q "TPM command failed" "$TCS_DIR/tcsd.log" || { echo "not ok - no log line for the failure"; rc=1; }
tcs_stop_tcsd || rc=1
exit $rc
