#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-manager-queue.sh - org.tcs.Manager under concurrency and stalls
# (py/manager_queue.py): read-only use with no polkit authority at all;
# tpmadm restore on an unowned TPM; tpmadm backup filename=- to stdout and
# back through restore; concurrent backups queue instead of failing; a
# Restore pipe that never delivers and a Backup pipe that never drains hold
# up neither the TPM worker (TSS GetRandom) nor other manager calls and fail
# after manager_io_timeout_ms; a queued operation whose caller left the bus
# is dropped; a full queue answers Busy; a polkit check that never answers
# holds up nobody and fails after manager_auth_timeout_ms. TAP on stdout.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tcs-harness.sh"
. "$HERE/test-manager-lib.sh"
tcs_require swtpm swtpm_setup dbus-daemon setpriv /usr/bin/python3
/usr/bin/python3 -c 'import dbus, dbusmock, gi' 2>/dev/null || { echo "1..0 # SKIP python3-dbus/dbusmock/gi"; exit 77; }
[ -x "$TCS_BUILD_DIR/daemon/tcsd" ] || { echo "1..0 # SKIP tcsd not built"; exit 77; }
for p in tpmadm tpmlist; do
    [ -x "$TCS_BUILD_DIR/cli/$p" ] || { echo "1..0 # SKIP $p not built"; exit 77; }
done
export PATH=$TCS_BUILD_DIR/cli:$PATH

M="/usr/bin/python3 $HERE/py/manager.py"
Q="/usr/bin/python3 $HERE/py/manager_queue.py"
mc() { $M call "$@"; }
mn() { as_nobody $M call "$@"; }
unset TPM_PASSWD TCS_PASS TPM_NEW_PASSWD

tcs_harness_init || exit 1
mkdir -p "$TCS_DIR/tmp"; chmod 1777 "$TCS_DIR/tmp"
export TMPDIR=$TCS_DIR/tmp
tm_start_bus || exit 1
tcs_start_swtpm || exit 1
start_tcsd() { # IO_TIMEOUT_MS
    TCS_TCSD_DBUS=yes TCS_TCSD_EXTRA_CONF="manager_auth_timeout_ms = 3000
manager_io_timeout_ms = $1" tcs_start_tcsd_ours || return 1
    tm_wait_name org.tcs.Manager || { tcs_log "tcsd did not take org.tcs.Manager"; cat "$TCS_DIR/tcsd.log" >&2; return 1; }
}
start_tcsd 3000 || exit 1
chmod 0755 "$TCS_DIR"; A=$TCS_DIR/work; mkdir -p "$A/cwd"; chmod 0777 "$A"

# ---- no polkit authority on the bus at all
t_run 0 "no polkit: nobody runs tpmlist status" as_nobody tpmlist status
t_grep "... which shows the status" 'Owned: +no'
echo junk > "$A/junk.arch"
t_run 6 "tpmadm restore on an unowned TPM: exit 6" env TCS_PASS=s tpmadm restore filename="$A/junk.arch" yes
t_grep "... saying the TPM is not owned" 'not owned' "$T_ERR"
t_run 0 "root takes ownership (owner secret stored)" mc TakeOwnership '{"ay":"owner"}' '{"ay":""}' '{}'
t_run 0 "no polkit: nobody runs tpmlist keys" as_nobody tpmlist keys
t_grep "... which lists the RK" '00000000-0000-0000-0000-000000000003'
t_run 0 "no polkit: nobody runs tpmlist keyinfo uuid=rk" as_nobody tpmlist keyinfo uuid=rk
t_run 0 "no polkit: nobody calls GetKeyInfo srk" mn GetKeyInfo '"srk"'
t_run 1 "no polkit: nobody is still refused ForgetOwnerSecret" mn ForgetOwnerSecret
t_json "... PermissionDenied" 'd["error"] == "org.tcs.Error.PermissionDenied"'
t_run 3 "no polkit: nobody is still refused tpmadm backup (exit 3)" as_nobody env TCS_PASS=s tpmadm backup filename="$A/nobody.arch"

# ---- backup to stdout, and back
t_run 0 "tpmadm backup filename=- (archive on stdout)" \
    sh -c 'cd "$1" && TCS_PASS=stdout-secret tpmadm backup filename=- > "$2"' _ "$A/cwd" "$A/stdout.arch"
t_ok "... no file named '-' was created" [ ! -e "$A/cwd/-" ]
t_ok "... the archive arrived on stdout" [ -s "$A/stdout.arch" ]
t_ok "... with no message mixed in" sh -c '! grep -aq "Backup in progress\|succeeded" "$1"' _ "$A/stdout.arch"
t_grep "... the messages went to stderr" 'The backup operation has succeeded' "$T_ERR"
t_run 2 "tpmctl --json backup - is refused: both would use stdout" \
    sh -c 'tpmctl --json backup - > /dev/null' _
t_run 0 "tpmadm restore filename=- yes reads that archive from stdin" \
    sh -c 'TCS_PASS=stdout-secret tpmadm restore filename=- yes < "$1"' _ "$A/stdout.arch"
t_grep "... and restores it" 'The restore operation has succeeded'

# ---- concurrent owner operations queue
pids=()
for i in 1 2 3; do
    env TCS_PASS=s tpmadm backup filename="$A/conc$i.arch" >"$A/conc$i.out" 2>&1 &
    pids+=($!)
done
for i in 1 2 3; do
    wait "${pids[$((i - 1))]}"; rc=$?
    t_ok "concurrent tpmadm backup $i of 3 succeeds (exit $rc)" [ "$rc" = 0 ] && [ -s "$A/conc$i.arch" ]
    [ "$rc" = 0 ] || t_diag < "$A/conc$i.out"
done

# ---- stalled archive descriptors (manager_io_timeout_ms = 3000)
T_OUT=$(timeout 120 $Q stuck-io "$TCSD_PORT" "$A" 2>"$A/stuck.err"); T_RC=$?
t_ok "stuck-io scenario ran" [ "$T_RC" = 0 ]
[ "$T_RC" = 0 ] || t_diag < "$A/stuck.err"
t_json "a Restore waiting for its archive is pending" 'd["restore_pending"]'
t_json "... while a TSS client gets GetRandom at once" 'd["getrandom_during_restore"] is not None and d["getrandom_during_restore"] < 2'
t_json "... ListKeys answers" 'd["listkeys_during_restore"]["error"] is None'
t_json "... and an owner operation (Backup) runs" 'd["backup_during_restore"]["error"] is None'
t_json "the Restore fails with Io after the bound" 'd["restore"]["error"] == "org.tcs.Error.Io" and 2.5 <= d["restore"]["elapsed"] < 20 and "did not deliver" in d["restore"]["message"]'
t_json "while a Backup cannot write its archive, GetRandom works" 'd["getrandom_during_backup"] is not None and d["getrandom_during_backup"] < 2'
t_json "... and ListKeys answers" 'd["listkeys_during_backup"]["error"] is None'
t_json "that Backup fails with Io after the bound" 'd["backup"]["error"] == "org.tcs.Error.Io" and d["backup"]["elapsed"] < 20'
t_json "the TPM worker serves afterwards" 'd["getrandom_after"] is not None'

# ---- the queue (manager_io_timeout_ms = 60000: the stalled Backup holds the turn)
tcs_stop_tcsd || t_line fail "tcsd stopped for the restart"
start_tcsd 60000 || exit 1
T_OUT=$(timeout 300 $Q queue "$TCS_DIR/tcsd.log" "$A" 2>"$A/queue.err"); T_RC=$?
t_ok "queue scenario ran" [ "$T_RC" = 0 ]
[ "$T_RC" = 0 ] || t_diag < "$A/queue.err"
t_json "a Backup whose archive cannot be written holds the owner turn" 'd["a_made"] and d["a_pending"]'
t_json "a second caller's Backup waits in the queue" 'd["b_pending"]'
t_json "... and is dropped when that caller leaves the bus" 'd["b_dropped_logged"]'
t_json "16 more Backups wait" 'd["c_pending_while_a_holds"] == 16'
t_json "the 17th waiting one is refused with Busy at once" 'd["d"]["error"] == "org.tcs.Error.Busy" and d["d"]["elapsed"] < 5'
t_json "the held Backup completes once its pipe drains" 'd["a"]["error"] is None and d["a_bytes_beyond_stuffing"]'
t_json "then all 16 queued Backups succeed" 'd["c_ok"] == 16 and d["c_files_written"] == 16'
t_json "the dropped Backup never wrote its file" 'd["vanished_file_size"] == 0'

# ---- a polkit authority that never answers (manager_auth_timeout_ms = 3000)
$Q polkit-never "$A/polkit.log" >"$A/polkit.err" 2>&1 & tcs_track_pid $!
tm_wait_name org.freedesktop.PolicyKit1 || t_line fail "the never-answering polkit started"
as_nobody $Q call-interactive ClearOwner >"$A/nobody-clear.json" 2>"$A/nobody-clear.err" &
NOBODY_PID=$!
for _ in $(seq 50); do grep -q "^check" "$A/polkit.log" 2>/dev/null && break; sleep 0.1; done
t_ok "nobody's interactive ClearOwner waits for polkit" grep -q "^check org.tcs.manager.clear-owner flags=1" "$A/polkit.log"
START=$(date +%s%N)
t_run 0 "meanwhile root's ForgetOwnerSecret succeeds" timeout 20 $M call ForgetOwnerSecret
ELAPSED=$((($(date +%s%N) - START) / 1000000))
t_ok "... without waiting for nobody's check (${ELAPSED} ms)" [ "$ELAPSED" -lt 2500 ]
wait "$NOBODY_PID"
T_OUT=$(cat "$A/nobody-clear.json")
t_json "nobody's ClearOwner is refused after the bound" 'd["error"] == "org.tcs.Error.PermissionDenied" and "did not answer" in d["message"] and d["elapsed"] >= 2.5'
t_ok "... and tcsd withdrew the check (CancelCheckAuthorization)" grep -q "^cancel tcsd-" "$A/polkit.log"

if ! kill -0 "$_TCS_TCSD_PID" 2>/dev/null; then t_line fail "tcsd still runs"; tail -20 "$TCS_DIR/tcsd.log" | t_diag; fi
tcs_stop_tcsd || t_line fail "tcsd stopped cleanly"
if grep -Eq 'CRITICAL|WARNING \*\*|ERROR:|AddressSanitizer|LeakSanitizer|runtime error' "$TCS_DIR/tcsd.log"; then
    t_line fail "tcsd's log is clean"; grep -E 'CRITICAL|WARNING|ERROR:|Sanitizer|runtime error' "$TCS_DIR/tcsd.log" | head | t_diag
fi
t_done
