# shellcheck shell=bash
# test-openssl-common.sh - sourced by the tpmcreate / engine / provider /
# stunnel tests: a private owned TPM stack (tcs-harness.sh), the built tools,
# a software CA, and a TAP-like step counter.
#
#   . "$HERE/test-openssl-common.sh"
#   ossl_setup "$@"          # --daemon ours|trousers; exits 77 when a dependency is missing
#   ossl_make_rk             # tcs-make-rk
#   ossl_ca                  # $W/ca.key, $W/ca.crt
#   ossl_issue NAME CSR      # $W/NAME.crt signed by the CA
#   ok "what" ; not_ok "what" ; expect_rc RC "what" -- cmd... ; ossl_done
#
# Exported: B (build dir), W (work dir), OPENSSL_ENGINES (our engine dir),
# TPMCREATE, MAKE_RK, PROVIDER_DIR.
set -u
_ossl_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tcs-harness.sh
. "$_ossl_here/tcs-harness.sh"

B=$TCS_BUILD_DIR
TPMCREATE=$B/cli/tpmcreate
MAKE_RK=$B/tests/integration/tcs-make-rk
TSPI_BLOB=$B/tests/integration/test-openssl-tspi-blob
PROVIDER_DIR=$B/engine/provider
export OPENSSL_ENGINES=$B/engine
tcs_engine_preload
DAEMON=${TCS_DAEMON:-ours}
N_OK=0
N_FAIL=0

ok() { N_OK=$((N_OK + 1)); echo "ok $((N_OK + N_FAIL)) - $*"; }
not_ok() { N_FAIL=$((N_FAIL + 1)); echo "not ok $((N_OK + N_FAIL)) - $*"; }

# expect_rc RC "what" -- cmd args... : run with a time limit in $W, output in $W/.out
expect_rc() {
    local want=$1 what=$2 rc
    shift 3
    (cd "$W" && exec timeout 120 "$@") >"$W/.out" 2>&1
    rc=$?
    if [ "$rc" = "$want" ]; then
        ok "$what"
        return 0
    fi
    not_ok "$what (rc=$rc, expected $want)"
    sed 's/^/#   | /' "$W/.out" | head -n 25
    return 1
}
# expect_fail "what" PATTERN -- cmd... : fails (rc != 0) and says PATTERN (grep -E)
expect_fail() {
    local what=$1 pat=$2 rc
    shift 3
    (cd "$W" && exec timeout 120 "$@") >"$W/.out" 2>&1
    rc=$?
    if [ "$rc" != 0 ] && grep -Eq -- "$pat" "$W/.out"; then
        ok "$what"
        return 0
    fi
    not_ok "$what (rc=$rc, wanted failure saying /$pat/)"
    sed 's/^/#   | /' "$W/.out" | head -n 25
    return 1
}
# check "what" CONDITION-COMMAND...
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}

ossl_setup() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --daemon) DAEMON=${2:-}; shift 2 ;;
            --daemon=*) DAEMON=${1#--daemon=}; shift ;;
            *) break ;;
        esac
    done
    OSSL_ARGS=("$@")
    tcs_require swtpm swtpm_setup swtpm_bios swtpm_ioctl tpm_takeownership timeout openssl
    for f in "$TPMCREATE" "$MAKE_RK" "$OPENSSL_ENGINES/tpm.so"; do
        [ -x "$f" ] || [ -f "$f" ] || { echo "SKIP: not built: $f" >&2; exit 77; }
    done
    case "$DAEMON" in
        ours) [ -x "$B/daemon/tcsd" ] || { echo "SKIP: our tcsd is not built" >&2; exit 77; } ;;
        trousers) tcs_require "${TCS_TROUSERS_TCSD:-/usr/sbin/tcsd}" stdbuf ;;
        *) echo "--daemon must be ours or trousers" >&2; exit 2 ;;
    esac
    tcs_harness_init
    W=$TCS_DIR/work
    tcs_start_swtpm || exit 1
    tcs_start_tcsd "$DAEMON" || exit 1
    tcs_take_ownership || { tcs_dump_logs; exit 1; }
    echo "# daemon=$DAEMON tcsd=127.0.0.1:$TCSD_PORT dir=$TCS_DIR"
    # never read the user's passphrase or OpenSSL config by accident
    unset TCS_PASS
    export OPENSSL_CONF=/dev/null
}

ossl_make_rk() { expect_rc 0 "tcs-make-rk: RK …0003 created under the SRK" -- "$MAKE_RK"; }

ossl_ca() {
    expect_rc 0 "software CA" -- openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key \
        -out ca.crt -days 2 -subj "/CN=tcs test CA"
}

# ossl_issue NAME CSR [CN-is-host]: the CA signs (no TPM involved)
ossl_issue() {
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' \
        > "$W/ext.cnf"
    expect_rc 0 "CA signs $1's request (openssl x509 -req)" -- openssl x509 -req -in "$2" \
        -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out "$1.crt"
}

ossl_done() {
    echo "1..$((N_OK + N_FAIL))"
    tcs_stop_tcsd || { echo "# tcsd did not exit cleanly"; N_FAIL=$((N_FAIL + 1)); }
    if [ "$N_FAIL" != 0 ]; then
        tcs_dump_logs | sed 's/^/# /'
        exit 1
    fi
    exit 0
}
