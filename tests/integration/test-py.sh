#!/usr/bin/env bash
# test-py.sh SCRIPT [--owned] [--conf 'key = value']... - run a python
# wire-level test (py/) against our tcsd on a fresh swtpm; --owned takes
# ownership first (well-known secrets); --conf adds tcsd.conf lines.
# Afterwards the daemon must still run and stop cleanly, with a clean log.
# Extra tcsd.conf lines: TCS_TCSD_EXTRA_CONF; the script's time limit: TCS_PY_TIMEOUT
# (seconds, default 240). Exit: 0 pass, 1 fail, 77 skip.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tcs-harness.sh
. "$HERE/tcs-harness.sh"
SCRIPT=$1; shift
OWNED=0
while [ $# -gt 0 ]; do
    case "$1" in
        --owned) OWNED=1; shift ;;
        --conf) TCS_TCSD_EXTRA_CONF="${TCS_TCSD_EXTRA_CONF:+$TCS_TCSD_EXTRA_CONF
}$2"; shift 2 ;;
        *) echo "usage: $0 SCRIPT [--owned] [--conf LINE]..." >&2; exit 2 ;;
    esac
done
export TCS_TCSD_EXTRA_CONF
tcs_require swtpm swtpm_setup swtpm_bios swtpm_ioctl python3
[ -x "$TCS_BUILD_DIR/daemon/tcsd" ] || { echo "SKIP: tcsd not built" >&2; exit 77; }
tcs_harness_init || exit 1
tcs_start_swtpm || exit 1
tcs_start_tcsd_ours || exit 1
if [ "$OWNED" = 1 ]; then tcs_take_ownership || exit 1; fi
rc=0
timeout "${TCS_PY_TIMEOUT:-240}" python3 "$HERE/py/$SCRIPT" || rc=1
if ! kill -0 "$_TCS_TCSD_PID" 2>/dev/null; then
    echo "tcsd died:" >&2; tail -30 "$TCS_DIR/tcsd.log" >&2; rc=1
fi
tcs_stop_tcsd || rc=1
if grep -Eq 'CRITICAL|ERROR:|AddressSanitizer|LeakSanitizer|runtime error' "$TCS_DIR/tcsd.log"; then
    echo "tcsd log shows a problem:" >&2
    grep -E 'CRITICAL|ERROR:|Sanitizer|runtime error' "$TCS_DIR/tcsd.log" | head >&2; rc=1
fi
exit $rc
