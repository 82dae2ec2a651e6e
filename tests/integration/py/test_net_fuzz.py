#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A network mutation fuzzer: recorded TCSD request frames (tests/data/traces)
mutated - bit flips, byte and UINT32 overwrites, length-field lies in the
header, truncation, junk appended, frames spliced, pipelined, connections
reset mid-frame - and sent to a live tcsd (port in TSS_TCSD_PORT).

Bounded and reproducible: TCS_NET_FUZZ_SECONDS (default 30) and
TCS_NET_FUZZ_MAX (frames, default unlimited), TCS_NET_FUZZ_SEED (default: from
the clock; printed either way, rerun with it to reproduce). Fails when tcsd
stops accepting connections (it died: test-py.sh then shows the log and any
sanitizer report), when a legitimate client is not served afterwards, or when
TPM auth sessions or key slots do not return to the baseline. Hours-long
runs: docs/fuzzing.md."""
import json
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcsd_wire import ORD, Conn, Tap, parse, pbyte, u32  # noqa: E402

PORT = int(os.environ["TSS_TCSD_PORT"])
SECONDS = float(os.environ.get("TCS_NET_FUZZ_SECONDS", "30"))
MAX = int(os.environ.get("TCS_NET_FUZZ_MAX", "0")) or None
SEED = int(os.environ.get("TCS_NET_FUZZ_SEED") or time.time_ns() % (1 << 32))
TRACES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "traces")

TAP = Tap()
check = TAP.check
rng = random.Random(SEED)
print(f"# seed {SEED} (TCS_NET_FUZZ_SEED={SEED} reproduces), {SECONDS:g} s", flush=True)


def load_frames():
    frames = []
    for name in ("tcsd-wire.jsonl", "tcsd-conversations.jsonl"):
        with open(os.path.join(TRACES, name)) as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    req = rec.get("request")
                    if req and len(req) >= 56:
                        frames.append(bytes.fromhex(req))
    return sorted(set(frames))


def healthy():
    try:
        c = Conn(PORT, timeout=10)
        ctx = c.open_context()
        result, _, p = parse(c.call(ORD["GETRANDOM"], [u32(ctx), u32(16)]))
        c.call(ORD["CLOSECONTEXT"], [u32(ctx)])
        c.close()
        return result == 0 and struct.unpack(">I", p[:4])[0] == 16
    except (OSError, AssertionError, struct.error, TypeError):
        return False


def tpm_handles(rt):
    c = Conn(PORT)
    ctx = c.open_context()
    result, _, p = parse(c.call(ORD["GETCAPABILITY"],
                                [u32(ctx), u32(0x14), u32(4), pbyte(struct.pack(">I", rt))]))
    c.call(ORD["CLOSECONTEXT"], [u32(ctx)])
    c.close()
    assert result == 0, hex(result)
    return struct.unpack(">H", p[4:6])[0]


# header fields: packet_size, ordinal, num_parms, type_size, type_offset, parm_size, parm_offset
LIES = [0, 1, 2, 27, 28, 29, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff,
        0x80000000, 0xfffffffe, 0xffffffff]


def mutate(frame, frames, ctx):
    f = bytearray(frame)
    # the recorded context handle is stale: mostly use this connection's
    if ctx is not None and len(f) >= 28 + 4:
        nparms = struct.unpack_from(">I", f, 8)[0]
        poff = struct.unpack_from(">I", f, 24)[0]
        if 0 < nparms < 64 and 28 + nparms <= poff <= len(f) - 4 and f[28] == 3 and rng.random() < 0.8:
            struct.pack_into(">I", f, poff, ctx)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 5])):
        op = rng.randrange(9)
        if op == 0 and f:  # bit flips
            for _ in range(rng.randrange(1, 4)):
                i = rng.randrange(len(f))
                f[i] ^= 1 << rng.randrange(8)
        elif op == 1 and len(f) >= 28:  # a header length field lies
            field = rng.choice([0, 2, 3, 4, 5, 6])
            v = rng.choice(LIES + [len(f) + rng.randrange(-8, 9) & 0xffffffff])
            struct.pack_into(">I", f, 4 * field, v)
        elif op == 2 and len(f) > 28:  # a UINT32 in the body: sizes, handles, counts
            i = rng.randrange(28, len(f) - 3) if len(f) > 31 else 28
            v = rng.choice(LIES + [rng.getrandbits(32)])
            f[i:i + 4] = struct.pack(">I", v)[:len(f) - i]
        elif op == 3 and f:  # truncation (the header's size then says more)
            del f[rng.randrange(len(f)):]
        elif op == 4:  # junk appended
            f += bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 64)))
        elif op == 5:  # splice: our header, another frame's body
            other = rng.choice(frames)
            cut = rng.randrange(min(len(f), len(other)) + 1)
            f = f[:cut] + bytearray(other[cut:])
        elif op == 6 and f:  # bytes set to interesting values
            for _ in range(rng.randrange(1, 4)):
                f[rng.randrange(len(f))] = rng.choice([0, 1, 0x7f, 0x80, 0xff, rng.getrandbits(8)])
        elif op == 7 and len(f) > 28:  # a run removed or duplicated inside the body
            a = rng.randrange(28, len(f))
            b = min(len(f), a + rng.randrange(1, 32))
            f = f[:a] + f[b:] if rng.random() < 0.5 else f[:b] + f[a:b] + f[b:]
        elif op == 8 and len(f) >= 28:  # the ordinal of another frame, this frame's body
            f[4:8] = rng.choice(frames)[4:8]
    # keep packet_size honest half of the time, so parsers behind it get reached
    if len(f) >= 4 and rng.random() < 0.5:
        struct.pack_into(">I", f, 0, len(f))
    return bytes(f)


def one_round(frames, recent):
    """One connection: maybe a context, one to four mutated frames, a reply each or not."""
    c = Conn(PORT, timeout=5)
    ctx = None
    try:
        if rng.random() < 0.7:
            ctx = c.open_context()
        c.s.settimeout(0.15)
        sent = 0
        for _ in range(rng.choice([1, 1, 1, 2, 4])):
            data = mutate(rng.choice(frames), frames, ctx)
            recent.append(data)
            del recent[:-8]
            sent += 1
            if rng.random() < 0.1:
                # a frame cut off by a reset, in the middle of the bytes
                c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.send(data[:rng.randrange(len(data) + 1)])
                break
            c.send(data)
            if c.recv_reply() is None:
                break
        return sent
    except ConnectionRefusedError:
        raise
    except (OSError, AssertionError, struct.error, TypeError):
        return 1  # closed or reset by tcsd (TypeError: no reply to OpenContext)
    finally:
        c.close()


frames = load_frames()
check(f"{len(frames)} recorded request frames loaded", len(frames) > 100)
check("baseline client served", healthy())
base_auth, base_keys = tpm_handles(2), tpm_handles(1)

recent = []
sent = rounds = 0
end = time.monotonic() + SECONDS
alive = True
while time.monotonic() < end and (MAX is None or sent < MAX):
    try:
        sent += one_round(frames, recent)
    except ConnectionRefusedError:
        alive = False
        break
    rounds += 1
    if rounds % 200 == 0 and not healthy():
        alive = False
        break
if not alive:
    print("# tcsd stopped answering; the last frames sent:", flush=True)
    for d in recent:
        print("#   " + d.hex(), flush=True)
check(f"tcsd kept accepting connections ({sent} mutated frames in {rounds} connections, seed {SEED})",
      alive)
if not alive:
    sys.exit(TAP.done())
time.sleep(1.5)  # connections that ended in a timeout or reset are cleaned up
if not check("afterwards a legitimate client is served", healthy()):
    sys.exit(TAP.done())
auth, keys = tpm_handles(2), tpm_handles(1)
check("TPM auth sessions back to baseline", auth == base_auth, f"({auth} vs {base_auth})")
check("TPM key slots back to baseline", keys == base_keys, f"({keys} vs {base_keys})")
sys.exit(TAP.done())
