#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The close race (issue #10, item 1): user nobody sends an owner-class ordinal and
closes at once while the worker is kept busy by other connections' GetRandom, so
tcsd would ask the kernel for the peer's uid only after the socket had closed (and
the kernel says uid 0 then). The uid must be fixed while the connection is alive:
the ordinal is refused, with a log line, every time, and root can still run it."""
import encodings.idna  # noqa: F401 (nobody cannot import it later from root's python)
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcsd_wire import Tap, ORD, Conn, packet, parse, pbyte, u32  # noqa: E402

PORT = int(os.environ["TSS_TCSD_PORT"])
LOG = os.path.join(os.environ["TCS_DIR"], "tcsd.log")
DISABLEFORCECLEAR = 61
ROUNDS, FLOOD, ATTACKS_PER_ROUND = 20, 150, 4
TSS_E_FAIL = 0x2002

TAP = Tap()
check = TAP.check


def result(reply):
    return None if reply is None else struct.unpack(">I", reply[4:8])[0]


def capability(c, ctx, area, sub):
    res, _, p = parse(c.call(ORD["GETCAPABILITY"], [u32(ctx), u32(area), u32(4), pbyte(struct.pack(">I", sub))]))
    assert res == 0, hex(res)
    n = struct.unpack(">I", p[:4])[0]
    return p[4:4 + n]


def disable_force_clear_set(c, ctx):
    # TPM_CAP_FLAG / TPM_CAP_FLAG_VOLATILE: TPM_STCLEAR_FLAGS, disableForceClear after tag + deactivated
    return capability(c, ctx, 4, 0x109)[3] != 0


def owned(c, ctx):
    return capability(c, ctx, 5, 0x111)[0] != 0  # TPM_CAP_PROPERTY / TPM_CAP_PROP_OWNER


def refusals():
    with open(LOG, errors="replace") as f:
        return sum(1 for line in f if "refused owner operation DISABLEFORCECLEAR" in line)


def become_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def attacker(go_r, done_w):
    """As nobody: per round, connections with a context send DisableForceClear and close."""
    become_nobody()
    for _ in range(ROUNDS):
        conns = []
        for _ in range(ATTACKS_PER_ROUND):
            a = Conn(PORT)
            conns.append((a, a.open_context()))
        os.write(done_w, b"r")  # ready
        os.read(go_r, 1)
        for a, ctx in conns:
            a.send(packet(DISABLEFORCECLEAR, [u32(ctx)]))
            a.close()  # before the worker gets to the request
        os.write(done_w, b"d")
    os._exit(0)


root = Conn(PORT)
rctx = root.open_context()
check("the TPM is owned before the attack", owned(root, rctx))
check("disableForceClear is clear before the attack", not disable_force_clear_set(root, rctx))
before = refusals()

flood = []
for _ in range(FLOOD):
    f = Conn(PORT)
    flood.append((f, f.open_context()))

go_r, go_w = os.pipe()
done_r, done_w = os.pipe()
pid = os.fork()
if pid == 0:
    try:
        attacker(go_r, done_w)
    finally:
        os._exit(1)

for rnd in range(ROUNDS):
    if os.read(done_r, 1) != b"r":
        break
    # keep the single worker busy: a queue of GetRandom from other connections
    for f, ctx in flood:
        f.send(packet(ORD["GETRANDOM"], [u32(ctx), u32(256)]))
    os.write(go_w, b"g")
    os.read(done_r, 1)
    for f, ctx in flood:
        f.recv_reply()
_, status = os.waitpid(pid, 0)
check("the attacker ran all rounds", os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, str(status))
for f, _ in flood:
    f.close()

# the requests of closed connections are still processed: wait until all are logged
want = before + ROUNDS * ATTACKS_PER_ROUND
deadline = time.time() + 20
while refusals() < want and time.time() < deadline:
    time.sleep(0.2)
got = refusals() - before
check(f"every one of the {ROUNDS * ATTACKS_PER_ROUND} racing requests was refused with a log line",
      got == ROUNDS * ATTACKS_PER_ROUND, f"{got} refusals logged")
check("the TPM is still owned", owned(root, rctx))
check("disableForceClear is still clear: no racing request got through",
      not disable_force_clear_set(root, rctx))

# waiting for the answer, nobody gets the owner refusal
pid = os.fork()
if pid == 0:
    become_nobody()
    n = Conn(PORT)
    nctx = n.open_context()
    os._exit(0 if result(n.call(DISABLEFORCECLEAR, [u32(nctx)])) == TSS_E_FAIL else 1)
_, status = os.waitpid(pid, 0)
check("nobody's DisableForceClear is answered TSS_E_FAIL (0x2002)", os.WEXITSTATUS(status) == 0)

check("root (an owner user) still runs DisableForceClear", result(root.call(DISABLEFORCECLEAR, [u32(rctx)])) == 0)
check("and the flag is set now", disable_force_clear_set(root, rctx))
root.close()
sys.exit(TAP.done())
