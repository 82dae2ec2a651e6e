#!/usr/bin/env bash
# test-bad-input.sh - malformed packets, hostile and vanishing clients against
# our tcsd (py/test_bad_input.py), then: the daemon is still alive, exits
# cleanly on SIGTERM, and its log shows no crash.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tcs-harness.sh
. "$HERE/tcs-harness.sh"
tcs_require swtpm swtpm_setup swtpm_bios swtpm_ioctl python3
[ -x "$TCS_BUILD_DIR/daemon/tcsd" ] || { echo "SKIP: tcsd not built" >&2; exit 77; }
tcs_harness_init || exit 1
export TCS_REQUEST_TIMEOUT_MS=1500
export TCS_TCSD_EXTRA_CONF="request_timeout_ms = $TCS_REQUEST_TIMEOUT_MS"
tcs_start_swtpm || exit 1
tcs_start_tcsd_ours || exit 1
rc=0
timeout 240 python3 "$HERE/py/test_bad_input.py" || rc=1
if ! kill -0 "$_TCS_TCSD_PID" 2>/dev/null; then
    echo "tcsd died:" >&2; tail -30 "$TCS_DIR/tcsd.log" >&2; rc=1
fi
tcs_stop_tcsd || rc=1
if grep -Eq 'CRITICAL|ERROR:|AddressSanitizer|runtime error' "$TCS_DIR/tcsd.log"; then
    echo "tcsd log shows a problem:" >&2
    grep -E 'CRITICAL|ERROR:|AddressSanitizer|runtime error' "$TCS_DIR/tcsd.log" | head >&2; rc=1
fi
exit $rc
