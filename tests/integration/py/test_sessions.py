#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Auth-session virtualisation: more OIAP sessions than the TPM holds (16 on
swtpm), spread over several connections, each used twice afterwards with a
correct HMAC (owner secret = the well-known secret). Sessions that had to be
saved out of the TPM come back transparently under the same client handle.
Afterwards every session is gone from the TPM again."""
import hashlib
import hmac
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcsd_wire import Tap, ORD, T_AUTH, Conn, parse, pbyte, u32  # noqa: E402

PORT = int(os.environ["TSS_TCSD_PORT"])
OWNER = b"\0" * 20
TPM_ORD_GetCapabilityOwner = 0x66


TAP = Tap()
check = TAP.check


def tpm_property(c, ctx, prop):
    sub = struct.pack(">I", prop)
    res, _, p = parse(c.call(ORD["GETCAPABILITY"], [u32(ctx), u32(5), u32(4), pbyte(sub)]))
    return struct.unpack(">I", p[4:8])[0]


def tpm_auth_handles():
    """Sessions the TPM holds: TPM_CAP_PROP_MAX_AUTHSESS - TPM_CAP_PROP_AUTHSESS (free)
    (TPM_CAP_HANDLE shows a client its own sessions only)"""
    c = Conn(PORT)
    ctx = c.open_context()
    n = tpm_property(c, ctx, 0x10d) - tpm_property(c, ctx, 0x10a)
    c.call(ORD["CLOSECONTEXT"], [u32(ctx)])
    c.close()
    return n


def owner_status(conn, ctx, sess):
    """GetCapabilityOwner authorised by an OIAP session; rolls the nonces."""
    odd = os.urandom(20)
    digest = hashlib.sha1(struct.pack(">I", TPM_ORD_GetCapabilityOwner)).digest()
    mac = hmac.new(OWNER, digest + sess["even"] + odd + b"\1", hashlib.sha1).digest()
    auth = (T_AUTH, struct.pack(">I", sess["handle"]) + odd + b"\1" + mac)
    res, types, p = parse(conn.call(48, [u32(ctx), auth]))
    if res == 0:
        sess["even"] = p[-41:-21]  # the reply AUTH: nonceEven, continue, HMAC
    return res


base = tpm_auth_handles()
conns = []
for i in range(4):
    c = Conn(PORT)
    conns.append((c, c.open_context(), []))
N = int(os.environ.get("TCS_N_SESSIONS", "40"))
n_open = 0
for i in range(N):
    c, ctx, sessions = conns[i % 4]
    res, _, p = parse(c.call(ORD["OIAP"], [u32(ctx)]))
    if res != 0:
        check(f"OIAP #{i}", False, hex(res))
        break
    sessions.append({"handle": struct.unpack(">I", p[:4])[0], "even": p[4:24]})
    n_open += 1
check(f"{N} OIAP sessions open at once (the TPM holds 16)", n_open == N, f"({n_open})")
held = tpm_auth_handles()
check("the TPM never holds more than it can", 0 < held <= 16, f"({held})")
for rnd in (1, 2):
    bad = []
    for c, ctx, sessions in conns:
        for s in sessions:
            res = owner_status(c, ctx, s)
            if res != 0:
                bad.append(hex(res))
    check(f"round {rnd}: every session authorises a command", not bad, " ".join(bad[:5]))
for c, ctx, sessions in conns:
    c.call(ORD["CLOSECONTEXT"], [u32(ctx)])
    c.close()
check("all sessions released", tpm_auth_handles() == base, f"({tpm_auth_handles()} vs {base})")
sys.exit(TAP.done())
