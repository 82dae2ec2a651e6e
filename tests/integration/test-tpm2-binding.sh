#!/usr/bin/env bash
# test-tpm2-binding.sh - the embedded TPM 1.2's state bound to the host's TPM
# 2.0 (docs/tpm2-binding.md). Two "swtpm socket --tpm2" play two machines'
# TPM 2.0 (TCTI swtpm:host=127.0.0.1,port=P). Our tcsd runs the embedded
# swtpm with a private D-Bus and the polkit mock:
#   - the seal library alone: unseal on the other TPM 2.0 and after a PCR
#     change fail with their causes (tcs-tpm2-tool)
#   - an unbound embedded TPM with an owner and an RK; tpmencrypt a tree
#   - tpm2_binding set: Tpm2Binding "pending"; tpmctl bind as nobody is
#     refused without the polkit action, then converts; the state file is
#     encrypted, the plaintext copy gone, the tree decrypts (keys kept), also
#     after a restart
#   - an interrupted conversion is completed at the next start
#   - the state key is nowhere: not in state_dir, swtpm's or tcsd's argv or
#     environment (the key comes from unsealing it here, with the test helper)
#   - the state directory copied to the other machine: tcsd refuses with the
#     cause and changes nothing; with tpm2_binding = none it says so too
#   - a PCR policy (tpm2_pcrs = 16): status shows it; PCR 16 extended on the
#     host: tcsd refuses and names PCR 16; nothing changed
# TAP output. Exit: 0 pass, 1 fail; "1..0 # SKIP" when a tool is missing.
set -u
. "$(dirname "$0")/tcs-harness.sh"
. "$(dirname "$0")/test-manager-lib.sh"

skip_all() { echo "1..0 # SKIP $*"; exit 0; }
for p in swtpm swtpm_setup swtpm_ioctl dbus-daemon gdbus setpriv tpm_version xxd md5sum; do
    command -v "$p" >/dev/null || skip_all "$p is not installed"
done
"$TM_PY" -c 'import dbus, dbusmock' 2>/dev/null || skip_all "python3-dbusmock is not installed"
[ "$(id -u)" = 0 ] || skip_all "must run as root"
getent passwd tss >/dev/null || skip_all "no tss user"
TCSD=$TCS_BUILD_DIR/daemon/tcsd
TOOL=$TCS_BUILD_DIR/tests/integration/tcs-tpm2-tool
B=$TCS_BUILD_DIR/cli
for p in "$TCSD" "$TOOL" "$B/tpmctl" "$B/tpmadm" "$B/tpmencrypt" "$B/tpmdecrypt"; do
    [ -x "$p" ] || skip_all "$p is not built"
done
export PATH=$B:$PATH
tcs_harness_init
W=$TCS_DIR/work
cd "$W" || exit 1
mkdir -p "$TCS_DIR/tmp"; chmod 1777 "$TCS_DIR/tmp"
export TMPDIR=$TCS_DIR/tmp
unset TPM_PASSWD TCS_PASS TPM_NEW_PASSWD
READ_ACTIONS=(org.tcs.manager.read-status org.tcs.manager.list-keys)

# ------------------------------------------------------------------ two hosts' TPM 2.0

start_host() { # NAME: prints the TCTI
    local name=$1 p
    mkdir -p "$TCS_DIR/$name"
    for _ in 1 2 3 4 5; do
        p=$(tcs_free_port) || return 1
        echo $((p + 1)) >> "$TCS_DIR/ports.used"
        _tcs_port_in_use $((p + 1)) && continue
        swtpm socket --tpm2 --tpmstate dir="$TCS_DIR/$name" \
            --server type=tcp,port="$p",bindaddr=127.0.0.1 \
            --ctrl type=tcp,port=$((p + 1)),bindaddr=127.0.0.1 \
            --flags startup-clear,not-need-init </dev/null >>"$TCS_DIR/$name.log" 2>&1 &
        tcs_track_pid $!
        if _tcs_wait_listen "$p" 100 $! && _tcs_wait_listen $((p + 1)) 50 $!; then
            echo "swtpm:host=127.0.0.1,port=$p"
            return 0
        fi
    done
    return 1
}
TCTI_A=$(start_host host-a) || { echo "Bail out! TPM 2.0 A did not start"; exit 1; }
TCTI_B=$(start_host host-b) || { echo "Bail out! TPM 2.0 B did not start"; exit 1; }
echo "# host A: $TCTI_A, host B: $TCTI_B, dir $TCS_DIR"

# ------------------------------------------------------------------ the seal library alone
KEY=$(head -c 32 /dev/urandom | xxd -p -c 64)
t_run 0 "seal a key with TPM 2.0 A" "$TOOL" seal "$TCTI_A" none "$KEY" "$W/k.sealed"
t_run 0 "unseal it on A" "$TOOL" unseal "$TCTI_A" "$W/k.sealed"
t_ok "the same key comes back" [ "$T_OUT" = "$KEY" ]
t_run 15 "unseal on TPM 2.0 B fails (another TPM)" "$TOOL" unseal "$TCTI_B" "$W/k.sealed"
t_grep "  and says so" "sealed by another TPM 2.0" "$T_ERR"
t_run 0 "seal with a PCR policy (PCRs 16, 23)" "$TOOL" seal "$TCTI_B" 16,23 "$KEY" "$W/p.sealed"
t_run 0 "unseal while the PCRs hold" "$TOOL" unseal "$TCTI_B" "$W/p.sealed"
t_run 0 "extend PCR 23 on B" "$TOOL" extend "$TCTI_B" 23
t_run 16 "unseal after the change fails (PCR mismatch)" "$TOOL" unseal "$TCTI_B" "$W/p.sealed"
t_grep "  and names PCR 23 only" "PCR 23 changed" "$T_ERR"
printf 'TCS2SEAL\0\1garbage' > "$W/bad.sealed"
t_run 14 "a damaged blob: a format error, no TPM call" "$TOOL" unseal "$TCTI_A" "$W/bad.sealed"

# ------------------------------------------------------------------ tcsd on the embedded TPM
tm_start_bus || { echo "Bail out! no private bus"; exit 1; }
tm_start_polkit || { echo "Bail out! the polkit mock did not start"; exit 1; }
tm_polkit_allow "${READ_ACTIONS[@]}"
TCSD_PORT=$(tcs_free_port)
export TSS_TCSD_HOSTNAME=127.0.0.1 TSS_TCSD_PORT=$TCSD_PORT TSS_USER_PS_FILE=$TCS_DIR/user.data
STATE=$TCS_DIR/state
TPID=
write_conf() { # STATE_DIR BINDING [PCRS]
    cat > "$TCS_DIR/tcsd.conf" <<CONF
port = $TCSD_PORT
system_ps_file = $TCS_DIR/ps/system.data
disable_ipv6 = 1
tpm_device = swtpm
state_dir = $1
tpm2_binding = $2
tpm2_pcrs = ${3:-none}
dbus = yes
CONF
}
start_tcsd() { # 0 when it comes up, 1 when it exits (its log in $T_ERR)
    local before
    stop_tcsd
    before=$(grep -c ' up: TPM' "$TCS_DIR/tcsd.log" 2>/dev/null)
    "$TCSD" -f -c "$TCS_DIR/tcsd.conf" </dev/null >>"$TCS_DIR/tcsd.log" 2>&1 &
    TPID=$!
    tcs_track_pid "$TPID"
    for _ in $(seq 600); do
        [ "$(grep -c ' up: TPM' "$TCS_DIR/tcsd.log")" -gt "${before:-0}" ] && break
        _tcs_alive "$TPID" || break
        sleep 0.1
    done
    if _tcs_alive "$TPID" && tm_wait_name org.tcs.Manager 100; then return 0; fi
    wait "$TPID" 2>/dev/null
    T_ERR=$(tail -3 "$TCS_DIR/tcsd.log")
    TPID=
    return 1
}
stop_tcsd() {
    [ -n "$TPID" ] || return 0
    _tcs_stop_pid "$TPID" 100
    TPID=
}
tree_sum() { (cd "$1" && find . -type f -exec md5sum {} + | sort -k 2); }
perm_encrypted() { # swtpm's state header: flags (bytes 4-5) bit 0 = encrypted
    local f
    f=$(xxd -s 4 -l 2 -p "$1/tpm/tpm-00.permall") && [ $((0x$f & 1)) = 1 ]
}

write_conf "$STATE" none
t_ok "tcsd starts on an unbound embedded TPM" start_tcsd
t_run 0 "tpmctl --json status" tpmctl --json status
t_json "  backend swtpm, binding none" 'd["TpmBackend"] == "swtpm" and d["Tpm2Binding"] == "none" and d["Tpm2BindingPcrs"] == []'
t_ok "  the state file is not encrypted" eval '! perm_encrypted "$STATE"'
tm_polkit_allow "${READ_ACTIONS[@]}" org.tcs.manager.take-ownership
t_run 0 "tpmadm takeownership (owner, SRK, SK, RK)" tpmadm takeownership
mkdir -p "$W/src/sub"; echo hello > "$W/src/a.txt"; head -c 100000 /dev/urandom > "$W/src/sub/r.bin"
t_run 0 "tpmencrypt a tree with the RK" tpmencrypt -n -o "$W/tree.enc" src
t_ok "tpm_version (tpm-tools) works" eval "tpm_version >/dev/null 2>&1"

stop_tcsd
write_conf "$STATE" "$TCTI_A"
t_ok "tcsd starts with tpm2_binding set on the old unbound state" start_tcsd
t_run 0 "tpmctl --json status" tpmctl --json status
t_json "  binding pending" 'd["Tpm2Binding"] == "pending"'
t_grep "  tcsd says how to convert it" "tpmctl bind' converts it" "$(cat "$TCS_DIR/tcsd.log")"
t_run 3 "tpmctl bind as nobody without the polkit action: denied" as_nobody "$B/tpmctl" --no-ask-password bind
t_ok "  nothing changed" eval '[ ! -e "$STATE/tpm2-key.sealed" ] && ! perm_encrypted "$STATE"'
tm_polkit_allow "${READ_ACTIONS[@]}" org.tcs.manager.bind-tpm2
t_run 0 "tpmctl bind as nobody with the polkit action" as_nobody "$B/tpmctl" --no-ask-password bind
t_grep "  reports the binding" "bound: tpm2 \\($TCTI_A, PCRs none\\)"
t_ok "  the state file is now encrypted" perm_encrypted "$STATE"
t_ok "  the sealed key is there, no work files or plaintext copy left" \
    eval '[ -s "$STATE/tpm2-key.sealed" ] && [ ! -e "$STATE/tpm2-convert" ] && [ ! -e "$STATE/tpm.bound-new" ]'
t_run 0 "tpmctl --json status" tpmctl --json status
t_json "  binding tpm2, backend swtpm" 'd["Tpm2Binding"] == "tpm2" and d["TpmBackend"] == "swtpm"'
t_run 0 "tpmctl status (text)" tpmctl status
t_grep "  shows the backend" '^  TPM backend: +swtpm$'
t_grep "  shows the binding" '^  TPM 2.0 binding: +tpm2$'
rm -rf "$W/out1"; mkdir "$W/out1"
t_run 0 "the tree decrypts after the live conversion (keys kept)" tpmdecrypt -i "$W/tree.enc" -C "$W/out1"
t_ok "  identical" cmp -s "$W/src/sub/r.bin" "$W/out1/src/sub/r.bin"
t_run 6 "tpmctl bind again: already bound (exit 6)" tpmctl --no-ask-password bind

# the key: unseal it here (the test has host A's TCTI) and look for it everywhere
SEALED_KEY=$("$TOOL" unseal "$TCTI_A" "$STATE/tpm2-key.sealed")
SWPID=$(ps -o pid= --ppid "$TPID" | tr -d ' ' | while read -r p; do [ "$(cat /proc/"$p"/comm)" = swtpm ] && echo "$p"; done)
t_ok "the state key unseals with A (64 hex digits)" [ "${#SEALED_KEY}" = 64 ]
t_ok "swtpm (pid ${SWPID:-none}) got the key as fd 3, not in argv" \
    eval '[ -n "$SWPID" ] && tr "\0" " " < /proc/$SWPID/cmdline | grep -q "key fd=3" && ! tr "\0" " " < /proc/$SWPID/cmdline | grep -qi "$SEALED_KEY"'
t_ok "  nor in swtpm's or tcsd's environment" \
    eval '! grep -qai "$SEALED_KEY" /proc/$SWPID/environ /proc/$TPID/environ /proc/$TPID/cmdline'
t_ok "  nor in any file of state_dir (hex or binary)" \
    eval '! grep -rqai "$SEALED_KEY" "$STATE" && ! grep -rqaF "$(printf "%s" "$SEALED_KEY" | xxd -r -p)" "$STATE"'

stop_tcsd
t_ok "tcsd restarts on the bound state" start_tcsd
rm -rf "$W/out2"; mkdir "$W/out2"
t_run 0 "the tree decrypts after the restart" tpmdecrypt -i "$W/tree.enc" -C "$W/out2"
t_ok "tpm_version works" eval "tpm_version >/dev/null 2>&1"
stop_tcsd

# tcsd died in the conversion after writing the sealed key, before the switch:
# the encrypted state waits in tpm.bound-new, the plaintext one is still tpm/
mkdir -p "$W/plain"
swtpm_setup --tpm-state "$W/plain" --createek --logfile "$W/plain.log" >/dev/null 2>&1
mv "$STATE/tpm" "$STATE/tpm.bound-new"
cp -a "$W/plain" "$STATE/tpm"; mkdir "$STATE/tpm2-convert"; echo blob > "$STATE/tpm2-convert/permanent"
chown -R tss:tss "$STATE"
t_ok "an interrupted conversion: tcsd completes it at start" start_tcsd
t_ok "  the encrypted state is in place, the plaintext and the blobs gone" \
    eval 'perm_encrypted "$STATE" && [ ! -e "$STATE/tpm.bound-new" ] && [ ! -e "$STATE/tpm2-convert" ]'
rm -rf "$W/out3"; mkdir "$W/out3"
t_run 0 "  the tree decrypts" tpmdecrypt -i "$W/tree.enc" -C "$W/out3"
stop_tcsd

# ------------------------------------------------------------------ another machine
COPY=$TCS_DIR/state-copy
cp -a "$STATE" "$COPY"
BEFORE=$(tree_sum "$COPY")
write_conf "$COPY" "$TCTI_B"
t_ok "the copied state on TPM 2.0 B: tcsd refuses to start" eval '! start_tcsd'
t_grep "  naming the cause" "cannot unlock the embedded TPM's state in $COPY: the state key was sealed by another TPM 2.0" "$T_ERR"
t_ok "  and changed nothing" [ "$(tree_sum "$COPY")" = "$BEFORE" ]
write_conf "$COPY" none
t_ok "the copied state with tpm2_binding = none: refused" eval '! start_tcsd'
t_grep "  it says the state is bound" "is bound to a TPM 2.0" "$T_ERR"
t_ok "  and changed nothing" [ "$(tree_sum "$COPY")" = "$BEFORE" ]

# ------------------------------------------------------------------ PCR policy
PSTATE=$TCS_DIR/state-pcr
write_conf "$PSTATE" "$TCTI_A" 16
t_ok "a new embedded TPM bound with tpm2_pcrs = 16" start_tcsd
t_run 0 "tpmctl --json status" tpmctl --json status
t_json "  binding tpm2 with PCR 16" 'd["Tpm2Binding"] == "tpm2" and d["Tpm2BindingPcrs"] == [16]'
t_run 0 "tpmctl status" tpmctl status
t_grep "  shows the PCRs" '^  TPM 2.0 binding: +tpm2 \(PCRs 16\)$'
stop_tcsd
BEFORE=$(tree_sum "$PSTATE")
t_run 0 "extend PCR 16 of TPM 2.0 A" "$TOOL" extend "$TCTI_A" 16
t_ok "tcsd refuses to start after the PCR change" eval '! start_tcsd'
t_grep "  naming the PCR" "PCR policy \\(SHA-256 PCRs 16\\) does not hold, PCR 16 changed" "$T_ERR"
t_ok "  and changed nothing" [ "$(tree_sum "$PSTATE")" = "$BEFORE" ]

t_done
