#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One user must not deny service to all (issue #10, item 6). User nobody takes as many
connections, contexts, auth sessions, event-log entries and keys as tcsd gives it; each stops
at its per-peer quota with the documented error, and root (another uid) still connects,
opens sessions and logs events. Connections holding no context are closed after
idle_timeout_ms. Limits set by meson: max_connections = 16 (so 4 per peer),
max_contexts_per_peer = 6, max_events_per_peer = 5, idle_timeout_ms = 2000; the
max_keys_per_peer = 3; the per-peer auth sessions are the automatic quarter of what
the TPM holds."""
import encodings.idna  # noqa: F401 (nobody cannot import it later from root's python)
import hashlib
import hmac
import os
import subprocess
import socket
import struct
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcsd_wire import Tap, ORD, T_AUTH, Conn, parse, pbyte, u32  # noqa: E402

PORT = int(os.environ["TSS_TCSD_PORT"])
PER_PEER_CONN, MAX_CTX, MAX_EVENTS, MAX_KEYS, IDLE_S = 4, 6, 5, 3, 2.0
LOGPCREVENT, GETREGISTEREDKEYBLOB, LOADKEYBYBLOB = 17, 9, 11
T_UUID = 9
RK_UUID = bytes(15) + b"\3"
SRK_SECRET = b"\0" * 20  # well-known
TPM_KH_SRK, TPM_ORD_LoadKey2 = 0x40000000, 0x41
OUTOFMEMORY = 0x2005
T_PCR_EVENT = 15

TAP = Tap()


def result(reply):
    return None if reply is None else struct.unpack(">I", reply[4:8])[0]


def log_event(c, ctx, pcr=16):
    ev = bytes([1, 2, 0, 0]) + struct.pack(">III", pcr, 1, 20) + b"\x11" * 20 + struct.pack(">I", 4) + b"test"
    return result(c.call(LOGPCREVENT, [u32(ctx), (T_PCR_EVENT, ev)]))


def load_key(c, ctx, blob):
    """LoadKeyByBlob under the SRK, authorised by a fresh OIAP session (not continued)."""
    res, _, p = parse(c.call(ORD["OIAP"], [u32(ctx)]))
    if res:
        return res
    handle, even = struct.unpack(">I", p[:4])[0], p[4:24]
    odd = os.urandom(20)
    digest = hashlib.sha1(struct.pack(">I", TPM_ORD_LoadKey2) + blob).digest()
    mac = hmac.new(SRK_SECRET, digest + even + odd + b"\0", hashlib.sha1).digest()
    auth = (T_AUTH, struct.pack(">I", handle) + odd + b"\0" + mac)
    return result(c.call(LOADKEYBYBLOB, [u32(ctx), u32(TPM_KH_SRK), u32(len(blob)), pbyte(blob), auth]))


def alive(c):
    """The connection is still served (it may have no context: ask for one)."""
    try:
        r = c.call(ORD["OPENCONTEXT"], [])
    except OSError:
        return False
    return r is not None and result(r) == 0


def attack(w):
    """As nobody: take everything; report (name, value) lines on w; keep it all until told."""
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    out = os.fdopen(w, "w", buffering=1)

    def say(k, v):
        out.write(f"{k} {v}\n")

    # connections: the 5th is closed at once
    conns = []
    for _ in range(PER_PEER_CONN + 2):
        c = Conn(PORT)
        try:
            r = c.call(ORD["OPENCONTEXT"], [])
        except OSError:
            r = None
        if r is None:
            c.close()
            break
        conns.append((c, [struct.unpack(">I", parse(r)[2][:4])[0]]))
    say("connections", len(conns))
    # contexts: over all those connections
    refused = None
    for _ in range(MAX_CTX + 2):
        c, ctxs = conns[0]
        r = c.call(ORD["OPENCONTEXT"], [])
        if result(r) != 0:
            refused = result(r)
            break
        ctxs.append(struct.unpack(">I", parse(r)[2][:4])[0])
    say("contexts", sum(len(x[1]) for x in conns))
    say("context_refusal", refused)
    # event log
    events, refused = 0, None
    for _ in range(MAX_EVENTS + 3):
        r = log_event(conns[0][0], conns[0][1][0])
        if r != 0:
            refused = r
            break
        events += 1
    say("events", events)
    say("event_refusal", refused)
    # loaded keys (each load's session ends with it)
    keys, refused = 0, None
    for _ in range(MAX_KEYS + 3):
        r = load_key(conns[0][0], conns[0][1][0], RK_BLOB)
        if r != 0:
            refused = r
            break
        keys += 1
    say("keys", keys)
    say("key_refusal", refused)
    # auth sessions, last (the key loads above need one each): spread over every context
    sessions, refused = 0, None
    for _ in range(400):
        c, ctxs = conns[sessions % len(conns)]
        r = result(c.call(ORD["OIAP"], [u32(ctxs[sessions % len(ctxs)])]))
        if r != 0:
            refused = r
            break
        sessions += 1
    say("sessions", sessions)
    say("session_refusal", refused)
    say("ready", 1)
    sys.stdin.read()  # hold everything until the parent closes stdin
    os._exit(0)


# a key to load: the RK, registered in system storage under the SRK
mk = subprocess.run([os.path.join(os.environ["TCS_BUILD_DIR"], "tests/integration/tcs-make-rk")],
                    capture_output=True, text=True)
TAP.check("tcs-make-rk registers the RK", mk.returncode == 0, mk.stderr.strip())
c = Conn(PORT)
res, _, p = parse(c.call(GETREGISTEREDKEYBLOB, [u32(c.open_context()), (T_UUID, RK_UUID)]))
RK_BLOB = p[4:4 + struct.unpack(">I", p[:4])[0]] if res == 0 else b""
c.close()

r, w = os.pipe()
stdin_r, stdin_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.close(stdin_w)
    os.dup2(stdin_r, 0)
    sys.stdin = os.fdopen(0)
    try:
        attack(w)
    except BaseException:
        traceback.print_exc()
    os._exit(1)
os.close(w)
os.close(stdin_r)
got = {}
with os.fdopen(r) as f:
    for line in f:
        k, v = line.split()
        got[k] = v
        if k == "ready":
            break
TAP.check(f"nobody gets {PER_PEER_CONN} connections, not more", got.get("connections") == str(PER_PEER_CONN), str(got))
TAP.check(f"nobody gets {MAX_CTX} contexts, then 0x2005",
          got.get("contexts") == str(MAX_CTX) and got.get("context_refusal") == str(OUTOFMEMORY), str(got))
TAP.check("nobody's auth sessions stop at a quota (0x2005), well below what the TPM holds",
          got.get("session_refusal") == str(OUTOFMEMORY) and 0 < int(got.get("sessions", 0)) < 100, str(got))
TAP.check(f"nobody logs {MAX_EVENTS} events, then 0x2005",
          got.get("events") == str(MAX_EVENTS) and got.get("event_refusal") == str(OUTOFMEMORY), str(got))
TAP.check(f"nobody loads {MAX_KEYS} keys, then 0x2005",
          got.get("keys") == str(MAX_KEYS) and got.get("key_refusal") == str(OUTOFMEMORY), str(got))

# root, meanwhile
root = [Conn(PORT) for _ in range(PER_PEER_CONN + 2)]
ctxs = [c.open_context() for c in root]
TAP.check("root still connects (more than nobody's quota)", len(ctxs) == len(root))
res = [result(root[i % len(root)].call(ORD["OIAP"], [u32(ctxs[i % len(ctxs)])])) for i in range(8)]
TAP.check("root still opens auth sessions", res == [0] * 8, str(res))
TAP.check("root still loads keys", [load_key(root[1], ctxs[1], RK_BLOB) for _ in range(MAX_KEYS + 1)] == [0] * (MAX_KEYS + 1))
TAP.check("root still logs events", [log_event(root[0], ctxs[0]) for _ in range(MAX_EVENTS + 1)] == [0] * (MAX_EVENTS + 1))

# nobody leaves: its quotas are free again (sessions and connections were per holder)
os.close(stdin_w)
os.waitpid(pid, 0)
for c in root:
    c.close()

# idle connections: one holding nothing is closed, one holding a context is kept
idle = Conn(PORT)
busy = Conn(PORT)
bctx = busy.open_context()
time.sleep(IDLE_S + 1.5)
idle.s.settimeout(2)
try:
    data = idle.s.recv(1)
except (ConnectionResetError, socket.timeout):
    data = None
TAP.check("a connection without a context is closed after idle_timeout_ms", data == b"")
TAP.check("a connection holding a context is kept", parse(busy.call(ORD["GETRANDOM"], [u32(bctx), u32(8)]))[0] == 0)
c = Conn(PORT)
ctx = c.open_context()
c.call(ORD["CLOSECONTEXT"], [u32(ctx)])
time.sleep(IDLE_S + 1.5)
TAP.check("a connection whose last context closed is closed after idle_timeout_ms", not alive(c))
TAP.check("tcsd still serves", alive(Conn(PORT)))
sys.exit(TAP.done())
