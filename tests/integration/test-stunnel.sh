#!/usr/bin/env bash
# test-stunnel.sh - stunnel4 client and server, each with a tpmcreate key
# used through the engine as the TCS guide's stunnel example configures it
# (engine=dynamic, engineCtrl=SO_PATH:…/tpm.so, ID:tpm, LOAD, INIT,
# engineNum=1; the server in the background, "foreground = no"),
# certificates from a software CA, verify=2 on both sides:
# bytes sent into the client tunnel come back from `exec = /bin/cat` behind
# the server. TLS is capped at 1.2 with PKCS#1 v1.5 signature algorithms:
# TPM 1.2 keys cannot make the RSA-PSS signatures TLS 1.3 requires.
#
# Usage: test-stunnel.sh [--daemon ours|trousers]
# Exit: 0 pass, 1 fail, 77 skip.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test-openssl-common.sh
. "$HERE/test-openssl-common.sh"
STUNNEL=$(command -v stunnel4 || command -v stunnel) || { echo "SKIP: stunnel4 not installed" >&2; exit 77; }
ossl_setup "$@"
ENG=(-engine tpm -keyform engine)

ossl_make_rk
ossl_ca
for who in server client; do
    expect_rc 0 "tpmcreate $who.blob" -- "$TPMCREATE" "$who.blob"
    expect_rc 0 "$who CSR through the engine" -- \
        openssl req -new "${ENG[@]}" -key "$who.blob" -subj "/CN=localhost" -out "$who.csr"
    ossl_issue "$who" "$who.csr"
done

SPORT=$(tcs_free_port) && CPORT=$(tcs_free_port) || exit 1
# stunnel_conf NAME SERVICE-LINES...: the guide's global engine lines, then one service
stunnel_conf() {
    local name=$1
    shift
    cat <<EOF
; $name: stunnel configuration for a TPM-protected key (TCS guide, "Stunnel Examples")
$(if [ "$name" = server ]; then
    echo "foreground = no"; echo "pid = $W/stunnel-server.pid"
  else
    echo "foreground = yes"; echo "pid ="
  fi)
debug = 7
output = $W/stunnel-$name.log

; load the built-in engine 'dynamic' and give it the path of the TPM engine
engine = dynamic
engineCtrl = SO_PATH:$OPENSSL_ENGINES/tpm.so
; identify the engine as 'tpm', load and initialise it
engineCtrl = ID:tpm
engineCtrl = LOAD
engineCtrl = INIT

[$name]
$(printf '%s\n' "$@")
cert = $W/$name.crt
key = $W/$name.blob
engineNum = 1
CAfile = $W/ca.crt
verify = 2
sslVersionMax = TLSv1.2
config = SignatureAlgorithms:RSA+SHA256:RSA+SHA384
config = ClientSignatureAlgorithms:RSA+SHA256:RSA+SHA384
EOF
}
stunnel_conf server "accept = 127.0.0.1:$SPORT" "exec = /bin/cat" > "$W/server.conf"
stunnel_conf client "client = yes" "accept = 127.0.0.1:$CPORT" "connect = 127.0.0.1:$SPORT" \
    "checkHost = localhost" > "$W/client.conf"

STUNNEL_PIDS=()
for who in server client; do
    (cd "$W" && exec "$STUNNEL" "$W/$who.conf") </dev/null >"$W/stunnel-$who.out" 2>&1 &
    pid=$!
    port=$SPORT; [ "$who" = client ] && port=$CPORT
    if [ "$who" = server ]; then
        # the server goes to the background as in the guide ("foreground = no"): its
        # child uses the key the parent loaded, over a tcsd connection of its own
        wait "$pid"
        for _ in $(seq 1 100); do [ -s "$W/stunnel-server.pid" ] && break; sleep 0.1; done
        pid=$(cat "$W/stunnel-server.pid" 2>/dev/null)
    fi
    tcs_track_pid "$pid"
    STUNNEL_PIDS+=("$pid")
    if _tcs_wait_listen "$port" 300 "$pid"; then
        ok "stunnel $who starts with its TPM key (engine dynamic -> tpm)"
    else
        not_ok "stunnel $who did not start"
        tail -n 30 "$W/stunnel-$who.log" "$W/stunnel-$who.out" 2>/dev/null | sed 's/^/#   | /'
    fi
done

# shellcheck disable=SC2016 # $1 is expanded by the inner shell
reply=$(timeout 60 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "through the TPM-keyed tunnel\n" >&3
    head -n 1 <&3' _ "$CPORT" 2>&1)
if [ "$reply" = "through the TPM-keyed tunnel" ]; then
    ok "data goes through client stunnel -> server stunnel -> cat and back"
else
    not_ok "no echo through the tunnel (got '$reply')"
fi
for who in server client; do
    if grep -q "Executing engine control command SO_PATH:.*tpm.so" "$W/stunnel-$who.log" &&
       grep -q "Engine #1 (tpm) initialized" "$W/stunnel-$who.log" &&
       grep -q "Private key initialized on engine ID: .*$who.blob" "$W/stunnel-$who.log"; then
        ok "stunnel $who's log: engine initialised, private key loaded from the blob"
    else
        not_ok "stunnel $who's log lacks the engine / key lines"
        grep -i "engine\|key" "$W/stunnel-$who.log" | head -n 20 | sed 's/^/#   | /'
    fi
done
check "the server verified the client certificate (verify = 2)" \
    grep -q "Certificate accepted at depth=0" "$W/stunnel-server.log"
check "the TLS version was 1.2" grep -q "TLSv1.2" "$W/stunnel-client.log"
# stunnel first: TrouSerS' tcsd waits for its clients before it exits
for pid in "${STUNNEL_PIDS[@]}"; do _tcs_stop_pid "$pid" 50; done
if [ "$N_FAIL" != 0 ]; then
    for who in server client; do tail -n 40 "$W/stunnel-$who.log" | sed "s/^/# $who| /"; done
fi
ossl_done
