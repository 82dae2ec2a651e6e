#!/usr/bin/env bash
# test-owner-users.sh - ownership-class ordinals over TCP only for allowed local
# users (owner_users, default root and tss; tcsd learns the uid of a loopback
# peer from the kernel's socket diagnostics): 'nobody' is refused
# TakeOwnership and OwnerClear while ordinary ordinals keep working for it;
# root succeeds; with nobody listed in owner_users, nobody succeeds too.
# Exit: 0 pass, 1 fail, 77 skip.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tcs-harness.sh
. "$HERE/tcs-harness.sh"
tcs_require swtpm swtpm_setup swtpm_bios swtpm_ioctl setpriv tpm_takeownership tpm_version tpm_clear
[ -x "$TCS_BUILD_DIR/daemon/tcsd" ] || { echo "SKIP: tcsd not built" >&2; exit 77; }
getent passwd nobody >/dev/null || { echo "SKIP: no user nobody" >&2; exit 77; }
tcs_harness_init || exit 1
rc=0
as_nobody() {
    TSS_USER_PS_FILE=$TCS_DIR/work/nobody.data setpriv --reuid=nobody --regid=nogroup \
        --clear-groups -- "$@" </dev/null 2>&1 | tr -d '\000'
}
expect() { # DESCRIPTION EXPECTED-REGEX OUTPUT
    if echo "$3" | grep -Eq "$2"; then echo "ok - $1"; else echo "not ok - $1: $3"; rc=1; fi
}

tcs_start_swtpm || exit 1
tcs_start_tcsd_ours || exit 1
expect "nobody runs ordinary ordinals" "TPM 1.2 Version Info" "$(as_nobody tpm_version)"
expect "nobody is refused TakeOwnership" "0x00002002" "$(as_nobody tpm_takeownership -y -z)"
grep -q "refused owner operation TAKEOWNERSHIP from 127.0.0.1:[0-9]* (uid 65534)" "$TCS_DIR/tcsd.log" ||
    { echo "not ok - no audit line naming uid 65534"; rc=1; }
expect "root takes ownership" "^$" "$(tpm_takeownership -y -z 2>&1 | tr -d '\000')"
expect "nobody is refused OwnerClear" "0x00002002" "$(as_nobody tpm_clear -z)"
tcs_stop_tcsd || rc=1

export TCS_TCSD_EXTRA_CONF="owner_users = root,tss,nobody"
tcs_start_tcsd_ours || exit 1
expect "nobody, now listed, clears the owner" "Successfuly Cleared" "$(as_nobody tpm_clear -z)"
tcs_stop_tcsd || rc=1
exit $rc
