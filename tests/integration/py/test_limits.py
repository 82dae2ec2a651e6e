#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Each client-controlled limit (set low by test-py.sh's TCS_TCSD_EXTRA_CONF):
exceeding it gives that client the documented error, and the daemon and the
other clients carry on."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcsd_wire import Tap, ORD, Conn, packet, parse, pbyte, u32  # noqa: E402

PORT = int(os.environ["TSS_TCSD_PORT"])
MAX_CONN, MAX_CTX, MAX_SESS, MAX_REQ = 8, 3, 4, 2048


TAP = Tap()
check = TAP.check


def result(reply):
    return None if reply is None else struct.unpack(">I", reply[4:8])[0]


def served():
    c = Conn(PORT)
    ctx = c.open_context()
    ok = parse(c.call(ORD["GETRANDOM"], [u32(ctx), u32(8)]))[0] == 0
    c.close()
    return ok


# contexts per connection
c = Conn(PORT)
ctxs = [c.open_context() for _ in range(MAX_CTX)]
check(f"{MAX_CTX} contexts on one connection", len(set(ctxs)) == MAX_CTX)
check("one more context is refused with TSS_E_OUTOFMEMORY (0x2005)", result(c.call(ORD["OPENCONTEXT"], [])) == 0x2005)
check("the connection's contexts still work", parse(c.call(ORD["GETRANDOM"], [u32(ctxs[0]), u32(8)]))[0] == 0)
check("other connections still get contexts", served())
c.call(ORD["CLOSECONTEXT"], [u32(ctxs[2])])
check("after closing one, a context can be opened again", result(c.call(ORD["OPENCONTEXT"], [])) == 0)

# auth sessions per context
ctx = ctxs[0]
res = [result(c.call(ORD["OIAP"], [u32(ctx)])) for _ in range(MAX_SESS + 1)]
check(f"{MAX_SESS} sessions in one context", res[:MAX_SESS] == [0] * MAX_SESS, str(res))
check("one more session is refused with 0x2005", res[MAX_SESS] == 0x2005, hex(res[MAX_SESS] or 0))
check("another context of the same connection still opens sessions", result(c.call(ORD["OIAP"], [u32(ctxs[1])])) == 0)

# request size
big = packet(ORD["STIRRANDOM"], [u32(ctx), u32(200), pbyte(b"x" * 200)])
check("a request within max_request_size is served", result(c.call(ORD["STIRRANDOM"], [u32(ctx), u32(200), pbyte(b"x" * 200)])) == 0)
o = Conn(PORT)
octx = o.open_context()
o.send(packet(ORD["STIRRANDOM"], [u32(octx), u32(MAX_REQ), pbyte(b"x" * MAX_REQ)]))
r = o.recv_reply()
check("a request over max_request_size gets an error and is closed", r is None or (len(r) == 28 and result(r) == 0x2004))
check("that connection is closed", o.recv_reply() is None)
o.close()
check("the first connection is unaffected", parse(c.call(ORD["GETRANDOM"], [u32(ctx), u32(8)]))[0] == 0)

# connections (c holds one)
conns = [Conn(PORT) for _ in range(MAX_CONN - 1)]
for x in conns:
    x.open_context()
extra = Conn(PORT)
r = extra.call(ORD["OPENCONTEXT"], [])
check(f"connection {MAX_CONN + 1} is closed at once", r is None)
extra.close()
check("existing connections are served", parse(c.call(ORD["GETRANDOM"], [u32(ctx), u32(8)]))[0] == 0)
for x in conns:
    x.close()
import time  # noqa: E402
time.sleep(0.3)
check("after others leave, new connections are accepted", served())
c.close()
sys.exit(TAP.done())
