#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run from another network namespace by test-remote-ops.sh: which TCSD
ordinals a non-loopback peer may run. Argument: HOST PORT MODE where MODE is
'listed' (remote_ops = random,getcapability) or 'none' (remote_ops empty)."""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcsd_wire import Tap, ORD, Conn, parse, pbyte, u32  # noqa: E402

host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]


TAP = Tap()
check = TAP.check


if mode == "none":
    try:
        c = Conn(port, host=host, timeout=5)
        r = c.call(ORD["OPENCONTEXT"], [])
        check("remote peer refused when remote_ops is empty", r is None)
    except OSError as e:
        check("remote peer refused when remote_ops is empty", True, f"({e.__class__.__name__})")
else:
    c = Conn(port, host=host)
    ctx = c.open_context()
    check("remote OpenContext (implied by every remote_ops name)", ctx != 0)
    res, _, p = parse(c.call(ORD["GETRANDOM"], [u32(ctx), u32(16)]))
    check("remote GetRandom (listed: random)", res == 0 and struct.unpack(">I", p[:4])[0] == 16, hex(res))
    res, _, p = parse(c.call(ORD["GETCAPABILITY"], [u32(ctx), u32(0x1a), u32(0), pbyte(b"")]))
    check("remote GetCapability (listed: getcapability)", res == 0, hex(res))
    res, _, _ = parse(c.call(ORD["OIAP"], [u32(ctx)]))
    check("remote OIAP refused (not listed)", res == 0x2002, hex(res))
    res, _, _ = parse(c.call(ORD["LOADKEYBYUUID"], [u32(ctx), (9, b"\0" * 15 + b"\1")]))
    check("remote LoadKeyByUUID refused (not listed)", res == 0x2002, hex(res))
    res, _, _ = parse(c.call(58, [u32(ctx), (7, b"\0" * 45)]))
    check("remote OwnerClear refused (owner class)", res == 0x2002, hex(res))
    res, _, p = parse(c.call(ORD["GETRANDOM"], [u32(ctx), u32(8)]))
    check("remote connection still served after refusals", res == 0, hex(res))
sys.exit(TAP.done())
