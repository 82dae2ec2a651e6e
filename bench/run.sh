#!/usr/bin/env bash
# bench/run.sh - run the libtspi benchmarks against our tcsd and against
# TrouSerS' tcsd, back to back on this machine, and print the comparison.
#
# Usage (as root, from anywhere):
#   bash bench/run.sh [-r N] [--quick] [--sequential] [--no-build] [--keep]
#                     [--host-net] [--cpus LIST] [--pin1 CPU|none] [--no-strace]
#   -r N          repetitions of every workload; the table shows medians (default 3)
#   --quick       short smoke run: 1 repetition, short loops, 22 keys
#   --sequential  all workloads on ours, then all on TrouSerS (default:
#                 interleaved, see below)
#   --no-build    do not run meson; use what is in $TCS_BUILD_DIR
#   --keep        keep the state directories (logs, TPM state, key blobs)
#   --tpmencrypt  only run bench/tpmencrypt-bench.sh (tpmencrypt/tpmdecrypt
#                 against openssl enc, 1 GiB; 128 MiB with --quick) and exit
#   --host-net    run in the machine's network namespace (default: a private
#                 one, see below)
#   --cpus LIST   run every process (swtpm, both daemons, clients) on these
#                 CPUs (taskset -c LIST; e.g. 0 puts the whole chain on one CPU)
#   --pin1 CPU    the 1-client small-command rows (GetRandom, connect+close,
#                 their plain-loop cross-checks, the raw GetRandom floor and
#                 the strace count) run with the client, every daemon thread
#                 and swtpm on this one CPU (default: the last allowed CPU;
#                 none: not pinned). See "CPU placement" below.
#   --no-strace   skip the system-call count (strace -c -f) of each daemon
#
# Two stacks are brought up, each on a fresh swtpm TPM 1.2 with the same
# well-known owner and SRK secrets (tpm_takeownership -y -z), on random
# loopback ports, in its own private state directory
# (tests/integration/tcs-harness.sh): our tcsd, and TrouSerS' /usr/sbin/tcsd
# with -e. Then: RSS idle; 40 2048-bit signing keys created per stack
# (tcs-bench mkkeys); N times GetRandom(20) and Context create+connect+close
# loops with 1 and 8 clients, OIAP+Sign with 1 and 8 clients, 1000 clients
# connected at once each doing GetRandom (refusals counted, the daemon's RSS
# taken while all are connected); a TPM power cycle (TrouSerS restarted with
# num_threads = 64 so that 40 clients can connect at all); N times key
# thrash: 40 clients each with its own key (twice the TPM's 20 key slots)
# and 8 clients cycling over all 40 keys; then the daemons are stopped and
# tcs-rawtpm-bench measures the raw swtpm floor for the same TPM traffic on
# the same TPMs. Cross-checks: the 1-client GetRandom and connect rows and
# the raw GetRandom floor are also measured with tcs-plain-loop (one process,
# no fork, no pipes, no per-operation clock), and each daemon's system calls
# per GetRandom are counted with strace -c -f during a separate, untimed
# 1-client loop. Each workload runs on ours and on TrouSerS back to back,
# alternating which goes first, so that the drifts of a shared machine hit
# both daemons alike (--sequential: one daemon's whole series, then the
# other's). A full run takes about 5 minutes on 2 CPUs.
#
# CPU placement: one client's request is a chain of wake-ups (client ->
# daemon thread(s) -> swtpm -> back). On this 2-vCPU VM a wake-up on the
# same CPU is a context switch, a wake-up on the other CPU is an IPI - and a
# VM exit when that vCPU has halted, or a wait for the end of another
# process's slice when it is busy. Unpinned, where the scheduler happens to
# put the chain decides the result: the raw GetRandom floor measured 3 k/s
# with swtpm and the client on different CPUs and 140 k/s on the same CPU,
# back to back on the loaded machine. Pinned to one CPU the 1-client rows
# measure what the daemon costs per request, and tcs-bench agrees with the
# plain loop; the multi-client rows stay unpinned (they need both CPUs).
#
# Network namespace: unless --host-net, the script re-executes itself in a
# private network namespace (unshare --net, loopback up) with
# net.ipv4.tcp_max_tw_buckets = 0 there (a per-namespace setting; the
# machine's own is not touched). TrouSerS with -e opens a new TCP connection
# to swtpm for every TPM command, and each leaves a TIME_WAIT socket on its
# side: after ~14 000 of them (the even half of the ephemeral port range) every
# connect() has to hunt for a reusable port, which caps TrouSerS at ~14 k
# commands/s and makes its connect() 2-5x slower, depending on what ran in the
# last minute (other tests' sockets included) - an artefact of the TCP TPM
# the harness gives it, not of TrouSerS (it talks to /dev/tpm0 in real life).
#
# Output: the results table (markdown) on stdout, progress and every raw
# result line on stderr; both are also saved in
# $TCS_BUILD_DIR/bench/last-run.txt. Every process is started through the
# harness (or is our own child) and stopped by its recorded PID; every loop
# is bounded in count and time. Not part of the pass/fail tests.
#
# Environment: TCS_BUILD_DIR (default <repo>/build), TCS_TROUSERS_TCSD
# (default /usr/sbin/tcsd).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export TCS_SOURCE_DIR=${TCS_SOURCE_DIR:-$(cd "$HERE/.." && pwd)}
export TCS_BUILD_DIR=${TCS_BUILD_DIR:-$TCS_SOURCE_DIR/build}

ARGS=("$@")
REPS=3 QUICK=0 BUILD=1 KEEP=0 SEQUENTIAL=0 TPMENCRYPT=0 HOSTNET=0 CPUS='' STRACE=1 PIN1=default
while [ $# -gt 0 ]; do
    case "$1" in
        -r) REPS=${2:-}; shift ;;
        -r*) REPS=${1#-r} ;;
        --quick) QUICK=1 ;;
        --no-build) BUILD=0 ;;
        --keep) KEEP=1 ;;
        --sequential) SEQUENTIAL=1 ;;
        --tpmencrypt) TPMENCRYPT=1 ;;
        --host-net) HOSTNET=1 ;;
        --cpus) CPUS=${2:-}; shift ;;
        --no-strace) STRACE=0 ;;
        --pin1) PIN1=${2:-}; shift ;;
        -h|--help) sed -n "2,78p" "$0"; exit 0 ;;
        *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$REPS" in ''|*[!0-9]*) echo "bench/run.sh: -r needs a number" >&2; exit 2 ;; esac
if [ "$REPS" -lt 1 ] || [ "$REPS" -gt 20 ]; then echo "bench/run.sh: -r 1..20" >&2; exit 2; fi
if [ "$TPMENCRYPT" = 1 ]; then
    topts=(-r "$REPS"); [ "$QUICK" = 1 ] && topts=(-r 1 -s 128)
    [ "$BUILD" = 1 ] || topts+=(--no-build)
    exec bash "$HERE/tpmencrypt-bench.sh" "${topts[@]}"
fi
case "$CPUS" in *[!0-9,-]*) echo "bench/run.sh: --cpus needs a CPU list such as 0 or 0-1" >&2; exit 2 ;; esac
case "$PIN1" in default|none) ;; ''|*[!0-9]*) echo "bench/run.sh: --pin1 needs a CPU number or none" >&2; exit 2 ;; esac

if [ "$(id -u)" != 0 ]; then
    echo "bench/run.sh: run as root (both daemons start as root and drop to user tss)" >&2
    exit 1
fi

# ------------------------------------------------------------------ isolation
# Once: re-execute pinned (--cpus) and in a private network namespace.
if [ -z "${TCS_BENCH_REEXEC:-}" ] && { [ "$HOSTNET" = 0 ] || [ -n "$CPUS" ]; }; then
    pre=()
    [ -n "$CPUS" ] && pre+=(taskset -c "$CPUS")
    if [ "$HOSTNET" = 0 ]; then
        if ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
            echo "bench/run.sh: unshare (util-linux) and ip (iproute2) needed, or use --host-net" >&2; exit 1
        fi
        if unshare --net true 2>/dev/null; then
            pre+=(unshare --net --)
        else
            echo "bench/run.sh: warning: no private network namespace here (unshare --net failed): TrouSerS' rows may be held back by TIME_WAIT" >&2
            ARGS+=(--host-net)
        fi
    fi
    [ "${#pre[@]}" -gt 0 ] && exec env TCS_BENCH_REEXEC=1 TCS_BENCH_HOST_NETNS="$(readlink /proc/self/ns/net)" \
        "${pre[@]}" bash "$0" "${ARGS[@]}"
    HOSTNET=1   # no namespace after all
fi
NETNOTE="the machine's network namespace"
# the CPUs we may use (after --cpus), and the one for the 1-client rows
ALLCPUS=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
[ "$PIN1" = default ] && PIN1=$(printf '%s\n' "$ALLCPUS" | sed 's/.*[-,]//')
[ "$PIN1" = none ] && PIN1=''
if [ "$HOSTNET" = 0 ]; then
    # never the machine's own settings: only in the namespace we made (the
    # parent passed the id of the one it ran in; /proc/1 may be unreadable)
    netns=$(readlink /proc/self/ns/net)
    if [ -z "${TCS_BENCH_HOST_NETNS:-}" ] || [ -z "$netns" ] || [ "$netns" = "$TCS_BENCH_HOST_NETNS" ]; then
        echo "bench/run.sh: not in a private network namespace (TCS_BENCH_REEXEC set by hand?); use --host-net" >&2; exit 1
    fi
    ip link set lo up || { echo "bench/run.sh: cannot bring up lo in the private network namespace" >&2; exit 1; }
    echo 0 > /proc/sys/net/ipv4/tcp_max_tw_buckets ||
        { echo "bench/run.sh: cannot set tcp_max_tw_buckets in the private network namespace" >&2; exit 1; }
    NETNOTE="a private network namespace (tcp_max_tw_buckets = 0 there)"
fi

# ------------------------------------------------------------------ parameters
if [ "$QUICK" = 1 ]; then
    [ "$REPS" = 3 ] && REPS=1
    D_SMALL=0.5 D_SIGN=1 D_THRASH=1.5 NKEYS=22 MANY_N=1 SC_N=2000
else
    D_SMALL=2 D_SIGN=3 D_THRASH=5 NKEYS=40 MANY_N=5 SC_N=5000
fi
MANY=1000          # simultaneous clients
CLIENTS=8          # "8 clients" workloads
THRASH_C=$NKEYS    # one client per key

# ------------------------------------------------------------------ build
if [ "$BUILD" = 1 ]; then
    if [ ! -f "$TCS_BUILD_DIR/build.ninja" ]; then
        meson setup "$TCS_BUILD_DIR" "$TCS_SOURCE_DIR" >&2 || exit 1
    fi
    meson compile -C "$TCS_BUILD_DIR" tcsd tcs-bench tcs-rawtpm-bench tcs-plain-loop >&2 || {
        echo "bench/run.sh: build failed (tcs-bench needs libtspi-dev)" >&2; exit 1; }
fi
TB=$TCS_BUILD_DIR/bench/tcs-bench
RB=$TCS_BUILD_DIR/bench/tcs-rawtpm-bench
PL=$TCS_BUILD_DIR/bench/tcs-plain-loop
for b in "$TB" "$RB" "$PL" "$TCS_BUILD_DIR/daemon/tcsd"; do
    [ -x "$b" ] || { echo "bench/run.sh: $b not built (libtspi-dev installed?)" >&2; exit 1; }
done

# shellcheck source=tests/integration/tcs-harness.sh
. "$TCS_SOURCE_DIR/tests/integration/tcs-harness.sh"
tcs_require swtpm swtpm_setup swtpm_bios swtpm_ioctl tpm_takeownership timeout
if [ "$STRACE" = 1 ] && ! command -v strace >/dev/null; then
    echo "bench/run.sh: warning: strace not installed: no system-call counts (apt-get install strace)" >&2
    STRACE=0
fi
[ -x "$TCS_TROUSERS_TCSD_BIN" ] || { echo "bench/run.sh: TrouSerS tcsd not installed ($TCS_TROUSERS_TCSD_BIN)" >&2; exit 1; }

# TrouSerS' connection cap for the key-thrash phase: the harness writes
# "num_threads = 10"; this wrapper around its config writer changes the value
# when BENCH_TROUSERS_THREADS is set (the file keeps its owner and mode).
TROUSERS_THRASH_THREADS=64
BENCH_TROUSERS_THREADS=
eval "$(declare -f _tcs_write_conf | sed '1s/^_tcs_write_conf/_bench_harness_write_conf/')"
_tcs_write_conf() {
    local conf
    _bench_harness_write_conf "$@"
    if [ "$1" = trousers ] && [ -n "$BENCH_TROUSERS_THREADS" ]; then
        conf=$(sed "s/^num_threads = .*/num_threads = $BENCH_TROUSERS_THREADS/" "$TCS_DIR/tcsd.conf") &&
            printf '%s\n' "$conf" > "$TCS_DIR/tcsd.conf"
    fi
}

# 1000 connections: the daemon (our child) needs > 1000 descriptors
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 8192 ]; then ulimit -n 8192; else ulimit -n "$hard"; fi
[ "$(ulimit -n)" -ge $((MANY + 64)) ] ||
    echo "bench/run.sh: warning: ulimit -n is $(ulimit -n); the $MANY-client run needs more" >&2

OUT=$(mktemp -d /tmp/tcs-bench.XXXXXX) || exit 1
chmod 0755 "$OUT"
RES=$OUT/results.txt
: > "$RES"
declare -A HOLDER=()   # flavour -> holder pid

say() { echo "bench: $*" >&2; }

# ------------------------------------------------------------------ stacks
# Each daemon's stack (swtpm + tcsd, private state dir, random ports) lives
# in a "holder": a background subshell that uses the harness, writes what the
# driver needs to $ctl/env and then obeys one-word commands written to
# $ctl/cmd (cycle: TPM power cycle + daemon restart; stopd: stop the daemon,
# keep swtpm for the raw floor; exit). Its EXIT trap (the harness's) stops
# every process it started, by PID. Both stacks are up at once, so workloads
# can alternate between the daemons (an idle stack costs nothing).
stack_holder() {
    local flavour=$1 ctl=$2 n=0 cmd _
    tcs_harness_init
    BENCH_TROUSERS_THREADS=
    [ "$KEEP" = 1 ] && export TCS_KEEP=1
    write_env() {
        { echo "H_DIR=$TCS_DIR"; echo "H_TCSD_PORT=$TCSD_PORT"; echo "H_SWTPM_PORT=$SWTPM_PORT"
          echo "H_PID=${_TCS_TCSD_PID:-}"; echo "H_SWTPM_PID=${_TCS_SWTPM_PID:-}"; } > "$ctl/env.tmp" && mv "$ctl/env.tmp" "$ctl/env"
    }
    # shellcheck disable=SC2119
    tcs_start_swtpm || exit 1
    tcs_start_tcsd "$flavour" || exit 1
    tcs_take_ownership || exit 1
    write_env
    for _ in $(seq 1 18000); do    # at most one hour
        if [ -f "$ctl/cmd" ]; then
            cmd=$(cat "$ctl/cmd"); rm -f "$ctl/cmd"; n=$((n + 1))
            case $cmd in
                cycle) BENCH_TROUSERS_THREADS=$TROUSERS_THRASH_THREADS
                       if tcs_power_cycle; then write_env; echo ok > "$ctl/ack"; else echo fail > "$ctl/ack"; fi ;;
                stopd) tcs_stop_tcsd || say "$flavour: the daemon exited badly (see tcsd.log)"
                       _TCS_TCSD_PID=; write_env; echo ok > "$ctl/ack" ;;
                exit)  echo ok > "$ctl/ack"; exit 0 ;;
                *)     echo fail > "$ctl/ack" ;;
            esac
        fi
        sleep 0.2
    done
    exit 0
}

# holder_start FLAVOUR: start its holder, wait (bounded) until its stack is up
holder_start() {
    local ctl=$OUT/$1 pid _
    mkdir -p "$ctl"
    ( stack_holder "$1" "$ctl" ) </dev/null >>"$OUT/$1.log" 2>&1 &
    pid=$!
    HOLDER[$1]=$pid
    for _ in $(seq 1 600); do
        [ -f "$ctl/env" ] && return 0
        _tcs_alive "$pid" || break
        sleep 0.2
    done
    say "$1: the stack did not come up; its log:"; tail -n 40 "$OUT/$1.log" >&2
    return 1
}

# holder_cmd FLAVOUR CMD: send a command, wait (bounded) for the acknowledgement
holder_cmd() {
    local ctl=$OUT/$1 _
    rm -f "$ctl/ack"
    echo "$2" > "$ctl/cmd.tmp" && mv "$ctl/cmd.tmp" "$ctl/cmd"
    for _ in $(seq 1 600); do
        if [ -f "$ctl/ack" ]; then [ "$(cat "$ctl/ack")" = ok ]; return; fi
        _tcs_alive "${HOLDER[$1]:-}" || break
        sleep 0.2
    done
    say "$1: no answer to '$2'"
    return 1
}

# stack FLAVOUR: load its env (H_DIR, H_TCSD_PORT, H_SWTPM_PORT, H_PID)
stack() {
    H_DIR='' H_TCSD_PORT='' H_SWTPM_PORT='' H_PID='' H_SWTPM_PID=''
    # shellcheck disable=SC1090
    . "$OUT/$1/env"
}

# holders_stop: each holder stops its stack and exits (SIGTERM after 30 s)
holders_stop() {
    local f pid _
    for f in "${!HOLDER[@]}"; do
        _tcs_alive "${HOLDER[$f]}" && holder_cmd "$f" exit >/dev/null 2>&1
    done
    for f in "${!HOLDER[@]}"; do
        pid=${HOLDER[$f]}
        for _ in $(seq 1 150); do _tcs_alive "$pid" || break; sleep 0.2; done
        if _tcs_alive "$pid"; then kill -TERM "$pid" 2>/dev/null; sleep 5; fi
        wait "$pid" 2>/dev/null
        unset "HOLDER[$f]"
    done
}
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    holders_stop
    if [ "$KEEP" = 1 ]; then say "holder logs and raw results kept in $OUT"; else rm -rf "$OUT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# record FLAVOUR WORKLOAD REP LINE
record() {
    echo "$1 $2 $3 $4" >> "$RES"
    echo "  $1 $2 #$3: $4" >&2
}

vmrss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }

# cpu_ticks PID: user + system CPU time of the whole process (every thread,
# exited ones included) in clock ticks
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { [ -r "/proc/$1/stat" ] && sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# pin_stack CPUS: the current stack's daemon (every thread) and swtpm
pin_stack() {
    local p
    for p in $H_PID $H_SWTPM_PID; do
        taskset -a -p -c "$1" "$p" >/dev/null 2>&1 || say "warning: cannot pin pid $p to CPU(s) $1"
    done
}

# run_one FLAVOUR WORKLOAD REP: one tcs-bench run against that daemon
run_one() {
    local flavour=$1 wl=$2 rep=$3 keys line secs args=() tsk=() c0='' c1
    stack "$flavour"
    case $wl in random1|connect1) c0=$(cpu_ticks "$H_PID") ;; esac
    case $wl in
        random1|plain_random1|connect1|plain_connect1|raw_random|plain_raw)
            if [ -n "$PIN1" ]; then pin_stack "$PIN1"; tsk=(taskset -c "$PIN1"); fi ;;
    esac
    keys=$H_DIR/keys
    case $wl in
        random1)      args=(random -c 1 -d "$D_SMALL"); secs=$D_SMALL ;;
        plain_random1)  args=(random -d "$D_SMALL"); secs=$D_SMALL ;;
        plain_connect1) args=(connect -d "$D_SMALL"); secs=$D_SMALL ;;
        plain_raw)    args=(raw -p "$H_SWTPM_PORT" -d "$D_SMALL"); secs=$D_SMALL ;;
        random8)      args=(random -c "$CLIENTS" -d "$D_SMALL"); secs=$D_SMALL ;;
        connect1)     args=(connect -c 1 -d "$D_SMALL"); secs=$D_SMALL ;;
        connect8)     args=(connect -c "$CLIENTS" -d "$D_SMALL"); secs=$D_SMALL ;;
        sign1)        args=(sign -c 1 -K "$keys" -d "$D_SIGN"); secs=$D_SIGN ;;
        sign8)        args=(sign -c "$CLIENTS" -K "$keys" -d "$D_SIGN"); secs=$D_SIGN ;;
        thrash_own)   args=(keythrash -c "$THRASH_C" -k "$NKEYS" -K "$keys" -d "$D_THRASH"); secs=$D_THRASH ;;
        thrash_cycle) args=(keythrash -c "$CLIENTS" -k "$NKEYS" -K "$keys" -d "$D_THRASH"); secs=$D_THRASH ;;
        many)         args=(random -c "$MANY" -n "$MANY_N" -P "$H_PID" -w 120); secs=0 ;;
        mkkeys)       args=(mkkeys -k "$NKEYS" -K "$keys" -d 500); secs=500; mkdir -p "$keys" ;;
        raw_random)   args=(getrandom -p "$H_SWTPM_PORT" -d "$D_SMALL"); secs=$D_SMALL ;;
        raw_sign)     args=(sign -p "$H_SWTPM_PORT" -K "$keys/key-0.blob" -d "$D_SIGN"); secs=$D_SIGN ;;
        raw_swapsign) args=(swapsign -p "$H_SWTPM_PORT" -K "$keys/key-0.blob" -d "$D_SIGN"); secs=$D_SIGN ;;
    esac
    # every program bounds itself (-w set-up, -d loop, -t hard); timeout is a backstop
    case $wl in
        raw_*) line=$(timeout -k 5 "$(awk -v s="$secs" 'BEGIN { printf "%d", s + 300 }')" \
                   "${tsk[@]}" "$RB" "${args[@]}" 2>>"$OUT/$flavour.client.err") ;;
        plain_raw) line=$(timeout -k 5 "$(awk -v s="$secs" 'BEGIN { printf "%d", s + 300 }')" \
                   "${tsk[@]}" "$PL" "${args[@]}" 2>>"$OUT/$flavour.client.err") ;;
        plain_*) line=$(TSS_TCSD_HOSTNAME=127.0.0.1 TSS_TCSD_PORT=$H_TCSD_PORT TSS_USER_PS_FILE=$H_DIR/user.data \
                   timeout -k 5 "$(awk -v s="$secs" 'BEGIN { printf "%d", s + 300 }')" \
                   "${tsk[@]}" "$PL" "${args[@]}" 2>>"$OUT/$flavour.client.err") ;;
        *) line=$(TSS_TCSD_HOSTNAME=127.0.0.1 TSS_TCSD_PORT=$H_TCSD_PORT TSS_USER_PS_FILE=$H_DIR/user.data \
                   timeout -k 5 "$(awk -v s="$secs" 'BEGIN { printf "%d", s + 300 }')" \
                   "${tsk[@]}" "$TB" "${args[@]}" -t 120 2>>"$OUT/$flavour.client.err") ;;
    esac
    [ "${#tsk[@]}" -gt 0 ] && pin_stack "$ALLCPUS"
    [ -n "$line" ] || line="$wl failed (no output)"
    # the daemon's CPU time per operation: a figure the machine's load moves little
    if [ -n "$c0" ] && c1=$(cpu_ticks "$H_PID") && [ -n "$c1" ]; then
        line="$line $(printf '%s\n' "$line" | awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" '
            { for (i = 1; i <= NF; i++) if ($i ~ /^ops=/) n = substr($i, 5) }
            END { if (n > 0) printf "daemon_cpu_us=%.1f", t * 1e6 / hz / n }')"
    fi
    record "$flavour" "$wl" "$rep" "$line"
    if [ -n "$H_PID" ] && ! _tcs_alive "$H_PID"; then
        say "$flavour: the daemon (pid $H_PID) died during $wl; log:"
        tail -n 30 "$H_DIR/tcsd.log" >&2
        return 1
    fi
    return 0
}

# syscalls_one FLAVOUR: the daemon's system calls per GetRandom(20): strace
# -c -f on every thread of the daemon during an untimed 1-client loop of
# $SC_N operations (the client's connect and close add a few dozen calls).
# Records syscalls_per_op and the biggest contributors per operation.
syscalls_one() {
    local f=$1 st=$OUT/$1.strace se=$OUT/$1.strace.err spid line ops total top _ tsk=()
    stack "$f"
    if [ -n "$PIN1" ]; then pin_stack "$PIN1"; tsk=(taskset -c "$PIN1"); fi
    : > "$se"
    "${tsk[@]}" strace -c -f -p "$H_PID" -o "$st" 2>"$se" &
    spid=$!
    for _ in $(seq 1 100); do grep -q attached "$se" && break; sleep 0.1; done
    line=$(TSS_TCSD_HOSTNAME=127.0.0.1 TSS_TCSD_PORT=$H_TCSD_PORT TSS_USER_PS_FILE=$H_DIR/user.data \
           timeout -k 5 300 "${tsk[@]}" "$TB" random -c 1 -n "$SC_N" -t 120 2>>"$OUT/$f.client.err")
    kill -INT "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
    [ -n "$PIN1" ] && pin_stack "$ALLCPUS"
    ops=$(printf '%s\n' "$line" | sed -n 's/.* ops=\([0-9]*\) .*/\1/p')
    total=$(awk '$NF == "total" { print $4 }' "$st" 2>/dev/null)
    if [ -z "$ops" ] || [ "$ops" = 0 ] || [ -z "$total" ]; then
        record "$f" syscalls 1 "syscalls failed (strace: $(tail -n 1 "$se" 2>/dev/null))"
        return 0
    fi
    top=$(awk -v n="$ops" '$1 ~ /^[0-9.]+$/ && $NF != "total" && $4 ~ /^[0-9]+$/ && $4 / n >= 0.05 { printf "%s:%.1f\n", $NF, $4 / n }' "$st" |
          sort -t: -k2 -gr | head -n 9 | paste -sd, -)
    record "$f" syscalls 1 "$(awk -v t="$total" -v n="$ops" 'BEGIN { printf "syscalls_per_op=%.1f", t / n }') ops=$ops calls=$total top=$top"
}

# run_phase WORKLOAD... : REPS repetitions of every workload on both daemons.
# Interleaved (default): for each repetition and workload, ours and TrouSerS
# back to back, the order alternating between repetitions, so that the
# machine's drifts hit both alike. --sequential: all of ours, then all of
# TrouSerS.
run_phase() {
    local rep wl f order
    if [ "$SEQUENTIAL" = 1 ]; then
        for f in ours trousers; do
            [ "${DEAD[$f]}" = 1 ] && continue
            for rep in $(seq 1 "$REPS"); do
                for wl in "$@"; do
                    run_one "$f" "$wl" "$rep" || { DEAD[$f]=1; break 2; }
                    sleep 0.3
                done
            done
        done
        return
    fi
    for rep in $(seq 1 "$REPS"); do
        order="ours trousers"; [ $((rep % 2)) = 0 ] && order="trousers ours"
        for wl in "$@"; do
            for f in $order; do
                [ "${DEAD[$f]}" = 1 ] && continue
                run_one "$f" "$wl" "$rep" || DEAD[$f]=1
                sleep 0.3
            done
        done
    done
}

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
# how busy the machine is before we start: CPU time used over 1 s, the 3
# biggest users (the comparison is interleaved, but the absolute numbers and
# the noise depend on it)
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
read -r b0 a0 < <(cpu_busy); sleep 1; read -r b1 a1 < <(cpu_busy)
BUSY0=$(awk -v b=$((b1 - b0)) -v a=$((a1 - a0)) 'BEGIN { printf "%.0f", (a > 0 ? 100 * b / a : 0) }')
TOPCPU=$(top -b -n 2 -d 1 -w 200 2>/dev/null | awk '/^top -/ { n++ } n == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 >= 5 { printf "%s%s %s%%", k++ ? ", " : "", $12, $9 }' | cut -c1-200)
say "start $START, loadavg $LOAD0, $REPS repetition(s)$([ "$QUICK" = 1 ] && echo ', quick')$([ "$SEQUENTIAL" = 1 ] && echo ', sequential')"
busy=$(pgrep -x swtpm | wc -l)
[ "$busy" -gt 0 ] && say "warning: $busy other swtpm process(es) running: the numbers will be noisy"
t_start=$SECONDS
declare -A DEAD=([ours]=0 [trousers]=0)
for f in ours trousers; do
    holder_start "$f" || DEAD[$f]=1
done
sleep 1
for f in ours trousers; do
    [ "${DEAD[$f]}" = 1 ] && continue
    stack "$f"
    say "$f: state in $H_DIR, tcsd pid $H_PID on port $H_TCSD_PORT, swtpm on $H_SWTPM_PORT"
    record "$f" rss_idle 1 "rss kib=$(vmrss "$H_PID")"
    run_one "$f" mkkeys 1 || DEAD[$f]=1
done
run_phase random1 plain_random1 random8 connect1 plain_connect1 connect8 sign1 sign8 many
if [ "$STRACE" = 1 ]; then
    for f in ours trousers; do
        [ "${DEAD[$f]}" = 1 ] && continue
        say "$f: counting system calls per GetRandom (strace -c -f, $SC_N operations, untimed)"
        syscalls_one "$f"
    done
fi
sleep 1
for f in ours trousers; do
    [ "${DEAD[$f]}" = 1 ] && continue
    stack "$f"; record "$f" rss_after 1 "rss kib=$(vmrss "$H_PID")"
done
# Key thrash needs 40 simultaneous clients: TrouSerS gets num_threads =
# $TROUSERS_THRASH_THREADS for it (with its default 10 it refuses 30 of them).
# Both daemons get a TPM power cycle first: no leftovers in the TPM.
for f in ours trousers; do
    [ "${DEAD[$f]}" = 1 ] && continue
    holder_cmd "$f" cycle || { say "$f: power cycle failed"; DEAD[$f]=1; continue; }
    stack "$f"
    [ "$f" = trousers ] && ! grep -q "^num_threads = $TROUSERS_THRASH_THREADS\$" "$H_DIR/tcsd.conf" &&
        say "warning: could not raise TrouSerS' num_threads (harness changed?)"
done
sleep 1
run_phase thrash_own thrash_cycle
# the floor: the same TPMs, nothing in between
for f in ours trousers; do
    [ "${DEAD[$f]}" = 1 ] && continue
    sed 's/\[[0-9]*\]//' "$OUT/$f.client.err" 2>/dev/null | sort | uniq -c | sort -rn | head -n 5 | sed "s/^/  $f client stderr: /" >&2
    holder_cmd "$f" stopd || DEAD[$f]=1
done
DEAD[ours]=0 DEAD[trousers]=0   # the raw floor needs only swtpm
for f in ours trousers; do [ -f "$OUT/$f/env" ] || DEAD[$f]=1; done
run_phase raw_random plain_raw raw_sign raw_swapsign
holders_stop
ELAPSED=$((SECONDS - t_start))
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ report
# val FLAVOUR WORKLOAD FIELD: median over the repetitions ("NA" when absent)
val() {
    awk -v f="$1" -v w="$2" -v k="$3" '$1 == f && $2 == w {
            for (i = 4; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) print substr($i, n + 1) } }' "$RES" |
        sort -g | awk '{ a[NR] = $1 } END { if (!NR) print "NA"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# total FLAVOUR WORKLOAD FIELD: sum over the repetitions
total() {
    awk -v f="$1" -v w="$2" -v k="$3" 'BEGIN { s = 0; seen = 0 } $1 == f && $2 == w {
            for (i = 4; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) { s += substr($i, n + 1); seen = 1 } } }
            END { print seen ? s : "NA" }' "$RES"
}
# scale F X: F * X, NA when X is missing
scale() { case "$2" in NA|'') echo NA ;; *) awk -v f="$1" -v x="$2" 'BEGIN { print f * x }' ;; esac; }
minus() { case "$1$2" in *NA*) echo NA ;; *) awk -v a="$1" -v b="$2" 'BEGIN { print a - b }' ;; esac; }
fmt() { case "$1" in NA|'') echo NA ;; *) awk -v x="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, x }' ;; esac; }
ratio() { case "$1$2" in *NA*) echo NA ;; *) awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "NA" }' ;; esac; }
# cmp A OP B: yes/no (NA when either is missing)
cmp() { case "$1$3" in *NA*) echo NA ;; *) awk -v a="$1" -v b="$3" "BEGIN { print (a $2 b) ? \"yes\" : \"**no**\" }" ;; esac; }
row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$@"; }

# plain_row WORKLOAD OURS_BENCH TROUSERS_BENCH LABEL: the cross-check row;
# "met" when tcs-bench is within ±15 % of the plain loop for both stacks
plain_row() {
    local po pt qo qt ok
    po=$(val ours "$1" ops_per_s); pt=$(val trousers "$1" ops_per_s)
    qo=$(ratio "$2" "$po"); qt=$(ratio "$3" "$pt")
    ok=$(awk -v a="${qo%×}" -v b="${qt%×}" 'BEGIN { if (a == "NA" || b == "NA") print "NA";
            else print (a >= 0.85 && a <= 1.15 && b >= 0.85 && b <= 1.15) ? "yes" : "**no**" }')
    row "$4 [ops/s]" "$(fmt "$po")" "$(fmt "$pt")" "$(ratio "$po" "$pt")" \
        "row above ÷ this within ±15 %: ours $qo, TrouSerS $qt" "$ok"
}

report() {
    local o t fl_o fl_t s1_o s1_t p50 lim wl c label e_o e_t
    echo "### tcs benchmarks, $START"
    echo
    echo "Machine: $(nproc --all) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), kernel $(uname -r);" \
         "loadavg $LOAD0 at the start, $LOAD1 at the end; CPUs ${BUSY0} % busy in the second before the start (${TOPCPU:-no process above 5 %});" \
         "$REPS repetition(s) (medians)$([ "$QUICK" = 1 ] && echo ', --quick'), ${ELAPSED} s in all."
    echo "Isolation: $NETNOTE; CPUs: $([ -n "$CPUS" ] && echo "every process pinned to $CPUS (taskset)" || echo "not pinned ($ALLCPUS)");" \
         "1-client small-command rows, raw GetRandom and strace count: $([ -n "$PIN1" ] && echo "client, every daemon thread and swtpm on CPU $PIN1" || echo 'not pinned')."
    echo "Ours: $TCS_BUILD_DIR/daemon/tcsd, source $(git -C "$TCS_SOURCE_DIR" describe --always --dirty 2>/dev/null || echo '(not a git checkout)');" \
         "buildtype $(meson introspect --buildoptions "$TCS_BUILD_DIR" 2>/dev/null | grep -o '"name": "buildtype"[^}]*"value": "[a-z]*"' | sed 's/.*"value": "//; s/"$//')."
    echo "TrouSerS: $TCS_TROUSERS_TCSD_BIN -e, num_threads = 10 (its default), $TROUSERS_THRASH_THREADS for the key-thrash rows." \
         "Order: $([ "$SEQUENTIAL" = 1 ] && echo 'sequential (all of ours, then all of TrouSerS)' || echo 'interleaved (each workload on both daemons back to back)'). Loops: ${D_SMALL} s small commands, ${D_SIGN} s sign, ${D_THRASH} s key thrash."
    echo
    row "workload" "ours" "TrouSerS" "ratio" "target" "met?"
    row "---" "---:" "---:" "---:" "---" "---"
    for wl in random1 random8 connect1 connect8; do
        case $wl in
            random1) label="GetRandom(20), 1 client [ops/s]" ;;
            random8) label="GetRandom(20), $CLIENTS clients [ops/s]" ;;
            connect1) label="Context connect+close, 1 client [ops/s]" ;;
            connect8) label="Context connect+close, $CLIENTS clients [ops/s]" ;;
        esac
        o=$(val ours "$wl" ops_per_s); t=$(val trousers "$wl" ops_per_s)
        e_o=$(total ours "$wl" errors); e_t=$(total trousers "$wl" errors)
        row "$label" "$(fmt "$o")" "$(fmt "$t")$([ "$e_t" != 0 ] && [ "$e_t" != NA ] && echo " ($e_t errors)")" \
            "$(ratio "$o" "$t")" "≥ 1.5× TrouSerS" \
            "$(cmp "$o" '>=' "$(scale 1.5 "$t")")$([ "$e_o" != 0 ] && echo " ($e_o errors)")"
        case $wl in random1|connect1) plain_row "plain_$wl" "$o" "$t" "… plain libtspi loop, 1 process (tcs-plain-loop ${wl%1})" ;; esac
        if [ "$wl" = random1 ]; then
            o=$(val ours syscalls syscalls_per_op); t=$(val trousers syscalls syscalls_per_op)
            row "… system calls per GetRandom(20) in the daemon (strace -c -f)" "$(fmt "$o" 1)" "$(fmt "$t" 1)" "$(ratio "$o" "$t")" "≤ 8" "$(cmp "$o" '<=' 8)"
        fi
        case $wl in random1|connect1)
            o=$(val ours "$wl" daemon_cpu_us); t=$(val trousers "$wl" daemon_cpu_us)
            row "… daemon CPU time per operation [µs] (/proc/PID/stat, over the tcs-bench loop)" "$(fmt "$o" 1)" "$(fmt "$t" 1)" "$(ratio "$o" "$t")" "— (lower is better)" "" ;;
        esac
    done
    fl_o=$(val ours raw_sign ops_per_s); fl_t=$(val trousers raw_sign ops_per_s)
    for wl in sign1 sign8; do
        c=1; [ "$wl" = sign8 ] && c=$CLIENTS
        o=$(val ours "$wl" ops_per_s); t=$(val trousers "$wl" ops_per_s)
        row "sign 2048 (OIAP+Sign), $c client(s) [ops/s]" "$(fmt "$o")" "$(fmt "$t")" "$(ratio "$o" "$t")" \
            "≥ 0.97× raw floor ($(fmt "$fl_o")); ours/floor $(ratio "$o" "$fl_o")" "$(cmp "$o" '>=' "$(scale 0.97 "$fl_o")")"
    done
    row "raw swtpm floor: OIAP+Sign [ops/s]" "$(fmt "$fl_o")" "$(fmt "$fl_t")" "$(ratio "$fl_o" "$fl_t")" "(same TPM, no daemon)" ""
    o=$(val ours raw_swapsign ops_per_s); t=$(val trousers raw_swapsign ops_per_s)
    row "raw swtpm floor: SaveContext+Flush+LoadContext, OIAP+Sign [ops/s]" "$(fmt "$o")" "$(fmt "$t")" "$(ratio "$o" "$t")" "(a key swap per signature)" ""
    o=$(val ours raw_random ops_per_s); t=$(val trousers raw_random ops_per_s)
    row "raw swtpm floor: GetRandom(20) [ops/s]" "$(fmt "$o")" "$(fmt "$t")" "$(ratio "$o" "$t")" "(same TPM, no daemon)" ""
    plain_row plain_raw "$o" "$t" "… plain raw client, one connection (tcs-plain-loop raw)"
    s1_o=$(val ours sign1 ops_per_s); s1_t=$(val trousers sign1 ops_per_s)
    for wl in thrash_own thrash_cycle; do
        if [ "$wl" = thrash_own ]; then c=$THRASH_C; label="key thrash: $THRASH_C clients, each its own key"
        else c=$CLIENTS; label="key thrash: $CLIENTS clients cycling over $NKEYS keys"; fi
        o=$(val ours "$wl" ops_per_s); t=$(val trousers "$wl" ops_per_s)
        row "$label [ops/s]" "$(fmt "$o")" "$(fmt "$t")" "$(ratio "$o" "$t")" \
            "≥ 0.95× single-key sign ($(fmt "$s1_o")); ours $(ratio "$o" "$s1_o"), TrouSerS $(ratio "$t" "$s1_t")" \
            "$(cmp "$o" '>=' "$(scale 0.95 "$s1_o")")"
        e_o=$(( $(total ours "$wl" errors | sed 's/NA/0/') + $(total ours "$wl" failed_clients | sed 's/NA/0/') ))
        e_t=$(( $(total trousers "$wl" errors | sed 's/NA/0/') + $(total trousers "$wl" failed_clients | sed 's/NA/0/') ))
        row "… errors + failed clients (all repetitions)" "$e_o" "$e_t" "" "0" "$(cmp "$e_o" '==' 0)"
        p50=$(val ours sign1 p50_us)
        lim=$(scale "$((2 * c))e-3" "$p50")
        o=$(val ours "$wl" p99_us); t=$(val trousers "$wl" p99_us)
        row "… p99 latency [ms]" "$(fmt "$(scale 1e-3 "$o")" 1)" "$(fmt "$(scale 1e-3 "$t")" 1)" "$(ratio "$o" "$t")" \
            "≤ 2 × $c × single-client p50 ($(fmt "$(scale 1e-3 "$p50")" 2) ms) = $(fmt "$lim" 1) ms" \
            "$(cmp "$(scale 1e-3 "$o")" '<=' "$lim")"
    done
    o=$(val ours many ops); t=$(val trousers many ops)
    row "$MANY clients connected at once, GetRandom × $MANY_N each: completed ops" "$(fmt "$o")" "$(fmt "$t")" "$(ratio "$o" "$t")" "$((MANY * MANY_N))" "$(cmp "$o" '>=' $((MANY * MANY_N)))"
    o=$(val ours many refused); t=$(val trousers many refused)
    local fo ft
    fo=$(val ours many failed_clients); ft=$(val trousers many failed_clients)
    row "… refusals (+ other set-up failures)" "$(fmt "$o") (+$(minus "$fo" "$o"))" "$(fmt "$t") (+$(minus "$ft" "$t"))" "" "0" "$(cmp "$o" '==' 0)"
    o=$(val ours rss_idle kib); t=$(val trousers rss_idle kib)
    row "daemon RSS idle [KiB]" "$(fmt "$o")" "$(fmt "$t")" "$(ratio "$o" "$t")" "≤ 4096" "$(cmp "$o" '<=' 4096)"
    o=$(val ours many rss_connected_kib); t=$(val trousers many rss_connected_kib)
    row "daemon RSS, $MANY clients connected [KiB]" "$(fmt "$o")" "$(fmt "$t") (10 connected)" "$(ratio "$o" "$t")" "—" ""
    o=$(val ours rss_after kib); t=$(val trousers rss_after kib)
    row "daemon RSS idle after the $MANY-client run [KiB]" "$(fmt "$o")" "$(fmt "$t")" "$(ratio "$o" "$t")" "—" ""
    echo
    echo "Latencies (medians over the repetitions), µs:"
    echo
    printf '| %s | %s | %s | %s | %s |\n' workload "ours p50" "ours p99" "TrouSerS p50" "TrouSerS p99"
    printf '| %s | %s | %s | %s | %s |\n' --- ---: ---: ---: ---:
    for wl in random1 random8 connect1 connect8 sign1 sign8 thrash_own thrash_cycle many raw_random raw_sign raw_swapsign; do
        printf '| %s | %s | %s | %s | %s |\n' "$wl" "$(fmt "$(val ours "$wl" p50_us)")" "$(fmt "$(val ours "$wl" p99_us)")" \
            "$(fmt "$(val trousers "$wl" p50_us)")" "$(fmt "$(val trousers "$wl" p99_us)")"
    done
    echo
    if [ "$STRACE" = 1 ]; then
        echo "System calls per GetRandom(20), by call (strace -c -f -p PID on every daemon thread, $SC_N operations of 1 client, untimed):" \
             "ours $(val ours syscalls top | tr ',:' '; ' | sed 's/;/; /g'); TrouSerS $(val trousers syscalls top | tr ',:' '; ' | sed 's/;/; /g')."
        echo
    fi
    echo "Key thrash set-up (clients loading their keys), median s: own key ours $(val ours thrash_own setup_secs), TrouSerS $(val trousers thrash_own setup_secs);" \
         "cycling ours $(val ours thrash_cycle setup_secs), TrouSerS $(val trousers thrash_cycle setup_secs). $NKEYS keys created in $(val ours mkkeys secs) s (ours), $(val trousers mkkeys secs) s (TrouSerS)."
}

TABLE=$(report)
echo "$TABLE"
mkdir -p "$TCS_BUILD_DIR/bench" 2>/dev/null &&
    { echo "$TABLE"; echo; echo "Raw results (flavour workload repetition line):"; cat "$RES"; } > "$TCS_BUILD_DIR/bench/last-run.txt" &&
    say "table and raw results saved in $TCS_BUILD_DIR/bench/last-run.txt"
exit 0
