#!/usr/bin/env bash
# bench/tpmencrypt-bench.sh - tpmencrypt/tpmdecrypt throughput against
# `openssl enc` with the same cipher on the same file. Not a pass/fail test.
#
# Usage (as root): bash bench/tpmencrypt-bench.sh [-s MIB] [-r N] [--no-build]
#   -s MIB      size of the test file (default 1024)
#   -r N        repetitions; the table shows the best (default 3)
#   --no-build  do not run ninja; use what is in $TCS_BUILD_DIR
#   --no-gzip   skip the -z gzip rows (zlib takes about 25 s per GiB)
#
# A private swtpm + our tcsd (tests/integration/tcs-harness.sh) with an RK
# (tcs-make-rk). The input is incompressible (from /dev/urandom) so that
# -z none measures the cipher path (libarchive packing + chunked AEAD +
# file I/O) and -z zstd / gzip show what compression costs on top of it.
# Every command reads and writes files in the page cache of the same
# directory; each row's time is wall clock of the whole command, so
# tpmencrypt's includes the TPM work (connecting, creating a 2048-bit bind
# key, about 0.1-0.5 s with swtpm) and tpmdecrypt's the UnBind. openssl enc
# cannot do AEAD modes: aes-256-gcm is compared with aes-256-ctr (GCM is CTR
# plus GHASH), aes-256-cbc (ours adds HMAC-SHA256) with aes-256-cbc, and
# chacha20-poly1305 with chacha20.
#
# Output: a markdown table on stdout (also in $TCS_BUILD_DIR/bench/
# tpmencrypt-last-run.txt), progress on stderr. Environment: TCS_BUILD_DIR
# (default <repo>/build).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export TCS_SOURCE_DIR=${TCS_SOURCE_DIR:-$(cd "$HERE/.." && pwd)}
export TCS_BUILD_DIR=${TCS_BUILD_DIR:-$TCS_SOURCE_DIR/build}
SIZE_MB=1024 REPS=3 BUILD=1 COMPS="zstd gzip"
while [ $# -gt 0 ]; do
    case "$1" in
        -s) SIZE_MB=${2:-}; shift ;;
        -r) REPS=${2:-}; shift ;;
        --no-build) BUILD=0 ;;
        --no-gzip) COMPS=zstd ;;
        -h|--help) sed -n "2,29p" "$0"; exit 0 ;;
        *) echo "tpmencrypt-bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
case "$SIZE_MB$REPS" in *[!0-9]*|'') echo "tpmencrypt-bench.sh: -s and -r take numbers" >&2; exit 2 ;; esac

if [ "$BUILD" = 1 ]; then
    ninja -C "$TCS_BUILD_DIR" cli/tpmencrypt cli/tpmdecrypt daemon/tcsd \
        tests/integration/tcs-make-rk >&2 || exit 1
fi
ENC=$TCS_BUILD_DIR/cli/tpmencrypt DEC=$TCS_BUILD_DIR/cli/tpmdecrypt
MKRK=$TCS_BUILD_DIR/tests/integration/tcs-make-rk
for b in "$ENC" "$DEC" "$MKRK"; do [ -x "$b" ] || { echo "not built: $b" >&2; exit 1; }; done

# shellcheck source=../tests/integration/tcs-harness.sh
. "$TCS_SOURCE_DIR/tests/integration/tcs-harness.sh"
tcs_require swtpm swtpm_setup swtpm_bios tpm_takeownership openssl
tcs_harness_init
tcs_start_swtpm || exit 1
tcs_start_tcsd ours || exit 1
tcs_take_ownership || exit 1
"$MKRK" >/dev/null || exit 1

W=$TCS_DIR/work
cd "$W" || exit 1
echo "tpmencrypt-bench: $SIZE_MB MiB from /dev/urandom in $W" >&2
mkdir in
head -c $((SIZE_MB << 20)) /dev/urandom > in/data
BYTES=$((SIZE_MB << 20))
KEY=$(openssl rand -hex 32) IV=$(openssl rand -hex 16)

# best N: run a command REPS times, print the fastest wall time in ms
best() {
    local b=0 t0 t1 ms _
    for _ in $(seq 1 "$REPS"); do
        rm -rf out out.enc out.bin; mkdir out
        t0=$(date +%s%N)
        "$@" >/dev/null 2>"$W/err.txt" || { echo "FAILED: $* ($(cat "$W/err.txt"))" >&2; echo 0; return; }
        t1=$(date +%s%N)
        ms=$(( (t1 - t0) / 1000000 ))
        [ "$b" = 0 ] || [ "$ms" -lt "$b" ] && b=$ms
    done
    echo "$b"
}
# a decrypt needs its input: made once, outside the timing
prepared() { # PREP-CMD... -- CMD...
    local prep=()
    while [ "$1" != -- ]; do prep+=("$1"); shift; done
    shift
    rm -f prep.enc; "${prep[@]}" >/dev/null 2>&1 || { echo 0; return; }
    best "$@"
}
mbps() { [ "$1" -gt 0 ] && echo $(( BYTES * 1000 / $1 / 1048576 )) || echo "-"; }
ratio() { [ "$1" -gt 0 ] && [ "$2" -gt 0 ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }' || echo "-"; }

ossl() { openssl enc "$@" -K "$KEY" -iv "$IV" -in in/data -out out.bin; }
osd() { openssl enc -d "$@" -K "$KEY" -iv "$IV" -in prep.bin -out out.bin; }

rows=()
row() { # LABEL OURS-MS OPENSSL-MS
    rows+=("| $1 | $2 ms ($(mbps "$2") MiB/s) | ${3:+$3 ms ($(mbps "$3") MiB/s)} | ${3:+$(ratio "$2" "$3")} |")
    echo "  $1: ours $2 ms, openssl ${3:--} ms" >&2
}

for pair in "aes-256-gcm aes-256-ctr" "chacha20-poly1305 chacha20" "aes-256-cbc aes-256-cbc"; do
    set -- $pair
    alg=$1 oalg=$2
    o_enc=$(best ossl "-$oalg")
    openssl enc "-$oalg" -K "$KEY" -iv "$IV" -in in/data -out prep.bin
    o_dec=$(best osd "-$oalg")
    t_enc=$(best "$ENC" -n -z none -a "$alg" -o out.enc in/data)
    t_dec=$(prepared "$ENC" -n -z none -a "$alg" -o prep.enc in/data -- "$DEC" -i prep.enc -C out)
    row "encrypt $alg -z none vs openssl enc -$oalg" "$t_enc" "$o_enc"
    row "decrypt $alg -z none vs openssl enc -d -$oalg" "$t_dec" "$o_dec"
done
rm -f prep.bin
for z in $COMPS; do
    t_enc=$(best "$ENC" -n -z "$z" -o out.enc in/data)
    t_dec=$(prepared "$ENC" -n -z "$z" -o prep.enc in/data -- "$DEC" -i prep.enc -C out)
    row "encrypt aes-256-gcm -z $z (incompressible input)" "$t_enc" ""
    row "decrypt aes-256-gcm -z $z (incompressible input)" "$t_dec" ""
done
# the TPM's share: a tiny file
t_small=$(best "$ENC" -n -o out.enc /etc/hostname)
t_small_d=$(prepared "$ENC" -n -o prep.enc /etc/hostname -- "$DEC" -i prep.enc -C out)
rm -f prep.enc

out=$(
    echo "tpmencrypt-bench: $SIZE_MB MiB incompressible, best of $REPS, $(nproc) CPUs, $(openssl version | cut -d' ' -f1-2)"
    echo
    echo "| workload | tpmencrypt / tpmdecrypt | openssl enc | ratio (≥ 0.8 target) |"
    echo "| --- | --- | --- | --- |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "fixed cost (TPM work, connection, process start): tpmencrypt of a tiny file $t_small ms, tpmdecrypt $t_small_d ms"
)
mkdir -p "$TCS_BUILD_DIR/bench"
echo "$out" | tee "$TCS_BUILD_DIR/bench/tpmencrypt-last-run.txt"
