#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Malformed and hostile TCSD traffic against a running tcsd (port in TSS_TCSD_PORT).

Every bad request must get a bare error reply or a closed connection - never a
crash, a hang or a leak - and a well-behaved client must keep being served.
Run by test-bad-input.sh, which starts swtpm + tcsd and checks the daemon
survived and released every TPM session afterwards."""
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcsd_wire import (Tap, ORD, T_AUTH, T_PBYTE, T_UINT16, Conn, packet, parse,  # noqa: E402
                       pbyte, u16, u32)

PORT = int(os.environ["TSS_TCSD_PORT"])
TIMEOUT_MS = int(os.environ.get("TCS_REQUEST_TIMEOUT_MS", "1500"))


TAP = Tap()
check = TAP.check


def error_or_closed(reply, expect=None):
    if reply is None:
        return True
    if len(reply) != 28:
        return False
    result = struct.unpack(">I", reply[4:8])[0]
    return result != 0 and (expect is None or result == expect)


def healthy():
    """A good client still gets served: OpenContext, GetRandom(16), CloseContext."""
    c = Conn(PORT)
    ctx = c.open_context()
    result, types, p = parse(c.call(ORD["GETRANDOM"], [u32(ctx), u32(16)]))
    ok = result == 0 and struct.unpack(">I", p[:4])[0] == 16
    c.call(ORD["CLOSECONTEXT"], [u32(ctx)])
    c.close()
    return ok


def raw(data, close_after=False):
    c = Conn(PORT)
    c.send(data)
    if close_after:
        c.close()
        return None
    r = c.recv_reply()
    c.close()
    return r


def hdr(size, code, nparms=0, tsize=0, toff=28, psize=0, poff=28):
    return struct.pack(">7I", size, code, nparms, tsize, toff, psize, poff)


def tpm_handles(rt):
    """Keys (rt 1) or auth sessions (rt 2) loaded in the TPM: the maximum less the free
    slots (TPM_CAP_PROPERTY; TPM_CAP_HANDLE shows a client its own handles only)."""
    c = Conn(PORT)
    ctx = c.open_context()
    n = []
    for prop in ((0x110, 0x104) if rt == 1 else (0x10d, 0x10a)):
        sub = pbyte(struct.pack(">I", prop))
        result, types, p = parse(c.call(ORD["GETCAPABILITY"], [u32(ctx), u32(5), u32(4), sub]))
        assert result == 0, hex(result)
        n.append(struct.unpack(">I", p[4:8])[0])
    c.call(ORD["CLOSECONTEXT"], [u32(ctx)])
    c.close()
    return n[0] - n[1]


check("baseline client served", healthy())
base_auth, base_keys = tpm_handles(2), tpm_handles(1)

# --- sizes and offsets ---
check("packet_size below the header", error_or_closed(raw(hdr(10, 1))))
t0 = time.monotonic()
check("2 GiB packet_size", error_or_closed(raw(hdr(0x80000000, 44))))
# functional, not a timing claim: it must not wait for 2 GiB that never come
check("2 GiB packet_size answered without waiting for the body", time.monotonic() - t0 < 10.0)
check("4 GiB - 1 packet_size", error_or_closed(raw(hdr(0xFFFFFFFF, 44))))
check("packet just over the configured limit", error_or_closed(raw(hdr(65537, 44) + b"\0" * 100)))
check("num_parms huge", error_or_closed(raw(hdr(33, 44, 0xFFFFFFFF, 0xFFFFFFFF, 28, 4, 29) + b"\3" + b"\0" * 4)))
check("type_offset outside the packet", error_or_closed(raw(hdr(33, 44, 1, 1, 4000, 4, 29) + b"\3" + b"\0" * 4)))
check("parm_offset outside the packet", error_or_closed(raw(hdr(33, 44, 1, 1, 28, 4, 9000) + b"\3" + b"\0" * 4)))
check("parm_size disagrees with packet_size", error_or_closed(raw(hdr(33, 44, 1, 1, 28, 400, 29) + b"\3" + b"\0" * 4)))

c = Conn(PORT)
ctx = c.open_context()
# a PBYTE whose length field points far outside the packet
r = c.call(ORD["STIRRANDOM"], [u32(ctx), u32(0x7FFFFFFF), pbyte(b"abcd")])
check("PBYTE length outside the packet", error_or_closed(r, 0x2004))
# wrong parameter types
r = c.call(ORD["GETRANDOM"], [u32(ctx), u16(16)])
check("wrong parameter type", error_or_closed(r, 0x2004))
r = c.call(ORD["GETRANDOM"], [u32(ctx)])
check("missing parameter", error_or_closed(r, 0x2004))
r = c.call(ORD["OIAP"], [(T_UINT16, b"\0\1")])
check("context of the wrong type", error_or_closed(r, 0x2004))
for o in (0, 123, 200, 0x7FFFFFFF, 0xFFFFFFFF):
    check(f"unknown ordinal {o}", error_or_closed(c.call(o, [u32(ctx)]), 0x2002))
check("stub ordinal FREEMEMORY", error_or_closed(c.call(ORD["FREEMEMORY"], [u32(ctx)]), 0x2002))
check("unknown context", error_or_closed(c.call(ORD["GETRANDOM"], [u32(ctx ^ 0x5A5A5A5A), u32(8)]), 0x20C1))
check("request before OpenContext on a new connection", error_or_closed(raw(packet(ORD["GETRANDOM"], [u32(0), u32(8)])), 0x20C1))
# GetRandom larger than any TPM reply
r = c.call(ORD["GETRANDOM"], [u32(ctx), u32(0xFFFFFFFF)])
result = struct.unpack(">I", r[4:8])[0] if r else None
check("GetRandom(4 GiB) does not crash", r is not None)
check("same connection still usable", parse(c.call(ORD["GETRANDOM"], [u32(ctx), u32(8)]))[0] == 0)

# isolation: another connection cannot use this context
other = Conn(PORT)
check("another connection's context is refused", error_or_closed(other.call(ORD["GETRANDOM"], [u32(ctx), u32(8)]), 0x20C1))
check("another connection cannot close it", error_or_closed(other.call(ORD["CLOSECONTEXT"], [u32(ctx)]), 0x20C1))
# nor its authorisation sessions: OwnerReadPubek with the first connection's OIAP handle
oiap = parse(c.call(ORD["OIAP"], [u32(ctx)]))
ah = struct.unpack(">I", oiap[2][:4])[0]
octx = other.open_context()
fake_auth = (T_AUTH, struct.pack(">I", ah) + b"\0" * 20 + b"\1" + b"\0" * 20)
check("another connection's auth session is refused",
      error_or_closed(other.call(52, [u32(octx), fake_auth]), 0x20C3))
other.close()
check("context survives the other connection's attempts", parse(c.call(ORD["GETRANDOM"], [u32(ctx), u32(8)]))[0] == 0)
c.close()

# --- vanishing and slow clients ---
raw(hdr(100, 44, 2, 2, 28, 8, 30)[:20], close_after=True)
raw(hdr(100, 44, 2, 2, 28, 8, 30) + b"\3\3" + b"\0" * 10, close_after=True)
c = Conn(PORT)
ctx = c.open_context()
c.send(packet(ORD["GETRANDOM"], [u32(ctx), u32(64)]))
c.close()  # gone before the reply
check("clients vanishing mid-request do not hurt", healthy())

# the client waits longer than the check allows, so a server that never drops it fails
slow = Conn(PORT, timeout=TIMEOUT_MS / 1000 + 25)
slow.send(hdr(100, 44, 2, 2, 28, 8, 30)[:10])
t0 = time.monotonic()
check("half-sent request is dropped after the request timeout", slow.recv_reply() is None)
elapsed = time.monotonic() - t0
check("dropped by the request timeout, not by the client", elapsed < TIMEOUT_MS / 1000 + 20, f"({elapsed:.1f} s)")
slow.close()

# ten idle sockets must never lock anyone out
idle = [Conn(PORT) for _ in range(20)]
check("20 idle sockets do not lock others out", healthy())
for s in idle:
    s.close()

# --- sessions and contexts released on abrupt disconnect ---
conns = []
for _ in range(10):
    c = Conn(PORT)
    ctx = c.open_context()
    r = c.call(ORD["OIAP"], [u32(ctx)])
    check("OIAP", parse(r)[0] == 0)
    conns.append(c)
for c in conns:
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()  # RST, no CloseContext
time.sleep(0.5)

# --- random garbage with plausible headers ---
rng = random.Random(1234)
for i in range(300):
    n = rng.randrange(0, 12)
    body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
    types = bytes(rng.choice([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 99]) for _ in range(n))
    code = rng.choice([1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 23, 24, 29, 36, 37, 43, 44, 46, 86, 101, 120, rng.randrange(1, 123)])
    size = 28 + n + len(body)
    data = struct.pack(">7I", size, code, n, n, 28, len(body), 28 + n) + types + body
    try:
        c = Conn(PORT)
        ctx = c.open_context()
        if n and types[0] == 3 and len(body) >= 4 and rng.random() < 0.8:
            # mostly a valid context, so the handlers behind it get exercised
            data = data[:28 + n] + struct.pack(">I", ctx) + data[28 + n + 4:]
        c.send(data)
        c.recv_reply()
        c.close()
    except OSError as e:
        check(f"garbage packet {i}", False, str(e))
check("300 random packets later the daemon serves", healthy())

time.sleep(0.5)
check("TPM auth sessions back to baseline", tpm_handles(2) == base_auth, f"({tpm_handles(2)} vs {base_auth})")
check("TPM key slots back to baseline", tpm_handles(1) == base_keys, f"({tpm_handles(1)} vs {base_keys})")
sys.exit(TAP.done())
