#!/usr/bin/env bash
# bench/tpm2-binding-bench.sh - what binding the embedded TPM 1.2 to a TPM 2.0
# costs (docs/tpm2-binding.md): time to the first reply through socket
# activation, unbound and bound, and the steady-state GetRandom rate.
#
# Usage (as root): bash bench/tpm2-binding-bench.sh [-r N]   (default N = 15)
#
# Two embedded TPMs (tpm_device = swtpm) are manufactured once, one unbound
# (tpm2_binding = none), one bound to an "swtpm --tpm2" playing the host's
# TPM 2.0. Then N times each, alternating: systemd-socket-activate listens on
# a free port, the clock starts, tpm_version connects (so tcsd starts, unseals
# when bound, starts swtpm, powers it on and answers), the clock stops at its
# exit; tcsd is stopped. Median and min/max in ms. Then on a running tcsd of
# each kind, tcs-bench random (1 client, 3 s): GetRandom(20) per second.
# Every process is started here and stopped by its PID; state in a private
# temporary directory (tests/integration/tcs-harness.sh).
set -u
REPS=15
[ "${1:-}" = -r ] && REPS=${2:-15}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tests/integration/tcs-harness.sh"
tcs_require swtpm swtpm_setup swtpm_ioctl systemd-socket-activate tpm_version python3
TCSD=$TCS_BUILD_DIR/daemon/tcsd
BENCH=$TCS_BUILD_DIR/bench/tcs-bench
[ -x "$TCSD" ] || { echo "tcsd not built" >&2; exit 1; }
tcs_harness_init

# the host's TPM 2.0
P=
for _ in 1 2 3 4 5; do
    P=$(tcs_free_port); echo $((P + 1)) >> "$TCS_DIR/ports.used"
    _tcs_port_in_use $((P + 1)) && continue
    mkdir -p "$TCS_DIR/tpm2"
    swtpm socket --tpm2 --tpmstate dir="$TCS_DIR/tpm2" \
        --server type=tcp,port="$P",bindaddr=127.0.0.1 \
        --ctrl type=tcp,port=$((P + 1)),bindaddr=127.0.0.1 \
        --flags startup-clear,not-need-init </dev/null >/dev/null 2>&1 &
    tcs_track_pid $!
    _tcs_wait_listen "$P" 100 $! && break
done
TCTI="swtpm:host=127.0.0.1,port=$P"

conf() { # NAME BINDING PORT
    mkdir -p "$TCS_DIR/$1-ps"; chown tss:tss "$TCS_DIR/$1-ps"
    cat > "$TCS_DIR/$1.conf" <<CONF
port = $3
system_ps_file = $TCS_DIR/$1-ps/system.data
state_dir = $TCS_DIR/$1-state
tpm_device = swtpm
tpm2_binding = $2
disable_ipv6 = 1
dbus = no
CONF
}
now_ms() { date +%s%3N; }

# one activation: prints the ms to tpm_version's exit
activate() { # NAME
    local port pid t0 t1 ok
    port=$(tcs_free_port)
    systemd-socket-activate -l "127.0.0.1:$port" "$TCSD" -f -c "$TCS_DIR/$1.conf" \
        >>"$TCS_DIR/$1.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do _tcs_port_listening "$port" && break; sleep 0.02; done
    t0=$(now_ms)
    TSS_TCSD_HOSTNAME=127.0.0.1 TSS_TCSD_PORT=$port timeout 60 tpm_version >/dev/null 2>&1; ok=$?
    t1=$(now_ms)
    _tcs_stop_pid "$pid" 100
    [ "$ok" = 0 ] || { echo "tpm_version failed on $1; log:" >&2; tail -5 "$TCS_DIR/$1.log" >&2; return 1; }
    echo $((t1 - t0))
}

conf unbound none 0
conf bound "$TCTI" 0
# manufacture both (not measured)
for n in unbound bound; do activate "$n" >/dev/null || exit 1; done
grep -q "bound the embedded TPM" "$TCS_DIR/bound.log" || { echo "not bound?" >&2; exit 1; }

declare -A T
for i in $(seq "$REPS"); do
    for n in unbound bound; do
        [ $((i % 2)) = 0 ] && n=$([ "$n" = bound ] && echo unbound || echo bound)
        T[$n]+="$(activate "$n") " || exit 1
    done
done
# shellcheck disable=SC2086 # $1: the list of times, split on purpose
stats() { python3 -c 'import statistics,sys; v=[int(x) for x in sys.argv[1:]]; print(f"{statistics.median(v):.0f} ms (min {min(v)}, max {max(v)})")' $1; }
echo "| first reply through socket activation (tpm_version, $REPS runs) | median |"
echo "|---|---|"
echo "| unbound embedded TPM | $(stats "${T[unbound]}") |"
echo "| bound to a TPM 2.0 (swtpm --tpm2) | $(stats "${T[bound]}") |"
MU=$(python3 -c 'import statistics,sys; print(statistics.median(int(x) for x in sys.argv[1].split()))' "${T[unbound]}")
MB=$(python3 -c 'import statistics,sys; print(statistics.median(int(x) for x in sys.argv[1].split()))' "${T[bound]}")
echo "| binding adds | $(python3 -c "print(round($MB - $MU))") ms (target <= 300 ms) |"

if [ -x "$BENCH" ]; then
    # one tcsd of each kind, measured in turns (u b b u u b ...): drift hits both
    declare -A R
    for n in unbound bound; do
        port=$(tcs_free_port)
        sed -i "s/^port = .*/port = $port/" "$TCS_DIR/$n.conf"
        "$TCSD" -f -c "$TCS_DIR/$n.conf" </dev/null >>"$TCS_DIR/$n.log" 2>&1 &
        tcs_track_pid $!
        eval "PID_$n=$! PORT_$n=$port"
        for _ in $(seq 300); do _tcs_port_listening "$port" && break; sleep 0.05; done
    done
    sleep 0.5
    for i in 1 2 3 4; do
        for n in unbound bound; do
            [ $((i % 2)) = 0 ] && n=$([ "$n" = bound ] && echo unbound || echo bound)
            port=PORT_$n
            r=$(TSS_TCSD_HOSTNAME=127.0.0.1 TSS_TCSD_PORT=${!port} "$BENCH" random -c 1 -d 2 2>&1 |
                grep -o 'ops_per_s=[0-9]*' | head -1)
            R[$n]+="${r#ops_per_s=} "
        done
    done
    echo
    echo "| steady state: tcs-bench random, 1 client, 4 x 2 s | GetRandom/s (median) |"
    echo "|---|---|"
    for n in unbound bound; do
        echo "| $n | $(python3 -c 'import statistics,sys; print(round(statistics.median(int(x) for x in sys.argv[1].split())))' "${R[$n]}") (${R[$n]% }) |"
    done
    for n in unbound bound; do pid=PID_$n; _tcs_stop_pid "${!pid}" 100; done
fi
