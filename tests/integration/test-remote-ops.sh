#!/usr/bin/env bash
# test-remote-ops.sh - remote_ops as TrouSerS defines it, from a real remote
# peer: a client in its own network namespace reaches tcsd over a veth pair
# (addresses 10.231.77.1/2, inside the namespace this test creates) and may run
# only the listed operations; loopback peers keep running everything; with
# remote_ops empty tcsd listens on loopback only and the peer cannot connect.
# Exit: 0 pass, 1 fail, 77 skip (no ip netns, not root).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tcs-harness.sh
. "$HERE/tcs-harness.sh"
tcs_require swtpm swtpm_setup swtpm_bios swtpm_ioctl python3 ip
[ -x "$TCS_BUILD_DIR/daemon/tcsd" ] || { echo "SKIP: tcsd not built" >&2; exit 77; }
NS=tcs-rops-$$
VH=tcsr$$h; VH=${VH:0:15}
ip netns add "$NS" 2>/dev/null || { echo "SKIP: cannot create a network namespace" >&2; exit 77; }
tcs_harness_init || exit 1
trap 'st=$?; ip netns del "$NS" 2>/dev/null; ip link del "$VH" 2>/dev/null; (exit $st); _tcs_cleanup' EXIT
ip link add "$VH" type veth peer name tcsr-peer netns "$NS" || exit 1
ip addr add 10.231.77.1/30 dev "$VH" && ip link set "$VH" up || exit 1
ip -n "$NS" addr add 10.231.77.2/30 dev tcsr-peer && ip -n "$NS" link set tcsr-peer up && ip -n "$NS" link set lo up || exit 1

tcs_start_swtpm || exit 1
rc=0
export TCS_TCSD_EXTRA_CONF="remote_ops = random,getcapability"
tcs_start_tcsd_ours || exit 1
ip netns exec "$NS" timeout 60 python3 "$HERE/py/remote_client.py" 10.231.77.1 "$TCSD_PORT" listed || rc=1
# loopback peers are never restricted
out=$(timeout 60 tpm_version 2>&1 | tr -d '\000') || rc=1
echo "$out" | grep -q "TPM 1.2" || { echo "loopback client failed: $out" >&2; rc=1; }
grep -q "refused OIAP from remote peer 10.231.77.2" "$TCS_DIR/tcsd.log" || { echo "no audit line for the refusal" >&2; rc=1; }
tcs_stop_tcsd || { echo "tcsd did not stop cleanly" >&2; rc=1; }

export TCS_TCSD_EXTRA_CONF=""
tcs_start_tcsd_ours || exit 1
ip netns exec "$NS" timeout 60 python3 "$HERE/py/remote_client.py" 10.231.77.1 "$TCSD_PORT" none || rc=1
tcs_stop_tcsd || { echo "tcsd did not stop cleanly" >&2; rc=1; }
exit $rc
