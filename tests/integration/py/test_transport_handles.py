#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Handle isolation between clients: ExecuteTransport, GetCapability, FlushSpecific.

Root (the victims): tcs-victim holds a bind key (no usage secret) and a secret
bound to it; another root connection holds more OIAP sessions than the TPM
(16 on swtpm), so some are saved out of it. Then, as user nobody (setpriv):
* GetCapability(TPM_CAP_HANDLE: keys, sessions, transports, saved contexts;
  TPM_CAP_KEY_HANDLE) lists the caller's own virtual handles only;
* inside a transport session (implemented here: TPM_KH_TRANSPORT, no
  encryption): a wrapped GetRandom works (the transport crypto is right); an
  UnBind, EvictKey and FlushSpecific(TPM_RT_CONTEXT) that claim 0 handles and
  carry the victim's raw TPM key handle (or a context count) first in DATAw,
  an UnBind naming the raw handle as its handle, a GetCapability(TPM_CAP_HANDLE)
  are refused by tcsd;
* FlushSpecific(TPM_RT_CONTEXT) of every likely saved-context count, of
  TPM_RT_AUTH on handles it does not own and of unknown resource types are
  refused.
Afterwards the victim's key still unbinds its secret and every one of root's
sessions, saved ones included, still authorises a command.
The victim's raw TPM key handle comes from tcsd's debug log (the attacker
would read it from GetCapability before this fix, or guess it).
Run by test-py.sh --owned (TSS_TCSD_PORT, TCS_DIR, TCS_BUILD_DIR)."""
import hashlib
import hmac
import json
import os
import re
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcsd_wire import ORD, T_AUTH, Conn, Tap, parse, pbyte, u32  # noqa: E402

PORT = int(os.environ["TSS_TCSD_PORT"])
TSS_E_BAD_PARAMETER = 0x2003
TPM_CAP_KEY_HANDLE, TPM_CAP_HANDLE = 0x07, 0x14
TPM_RT_KEY, TPM_RT_AUTH, TPM_RT_TRANS, TPM_RT_CONTEXT = 1, 2, 4, 5
TPM_KH_TRANSPORT = 0x40000003
TPM_ORD_UnBind, TPM_ORD_EvictKey, TPM_ORD_GetRandom = 0x1E, 0x22, 0x46
TPM_ORD_GetCapability, TPM_ORD_FlushSpecific = 0x65, 0xBA
TPM_ORD_ExecuteTransport, TPM_ORD_GetCapabilityOwner = 0xE7, 0x66
SECRET = "the victim's bound secret"
NO_AUTH = (T_AUTH, b"\0" * 45)


def handle_list(conn, ctx, area, sub):
    """GetCapability -> (result, [handles])"""
    subb = struct.pack(">I", sub) if sub is not None else b""
    res, _, p = parse(conn.call(ORD["GETCAPABILITY"], [u32(ctx), u32(area), u32(len(subb)),
                                                       pbyte(subb)]))
    if res != 0:
        return res, []
    n = struct.unpack(">H", p[4:6])[0]
    return res, list(struct.unpack(f">{n}I", p[6:6 + 4 * n]))


class Transport:
    """A transport session without encryption key (TPM_KH_TRANSPORT): the
    session secret goes to the TPM in the clear, DATAw is not encrypted."""

    def __init__(self, conn, ctx):
        self.c, self.ctx, self.secret = conn, ctx, os.urandom(20)
        info = struct.pack(">HIIH", 0x001E, 0, 7, 1)  # TPM_TRANSPORT_PUBLIC, no attributes
        res, _, p = parse(conn.call(92, [u32(ctx), u32(0), u32(TPM_KH_TRANSPORT), u32(len(info)),
                                         pbyte(info), u32(20), pbyte(self.secret)]))
        self.result = res
        if res == 0:
            self.handle = struct.unpack(">I", p[4:8])[0]
            self.even = p[-20:]

    def execute(self, ordinal, data, handles=(), wrapped_handles=None):
        """ExecuteTransport of an unauthorised command; handles: what the client
        says (little-endian list), wrapped_handles: how many the TPM will see.
        -> (result, wrapped result, wrapped reply data)"""
        n_tpm = len(handles) if wrapped_handles is None else wrapped_handles
        wire = b"".join(struct.pack(">I", h) for h in handles) + data
        # the TPM splits handles from DATAw by the ordinal, whatever tcsd was told
        dataw = wire[4 * n_tpm:]
        h1 = hashlib.sha1(struct.pack(">I", ordinal) + dataw).digest()
        size = 10 + len(wire)
        digest = hashlib.sha1(struct.pack(">II", TPM_ORD_ExecuteTransport, size) + h1).digest()
        odd = os.urandom(20)
        mac = hmac.new(self.secret, digest + self.even + odd + b"\1", hashlib.sha1).digest()
        params = [u32(self.ctx), u32(ordinal), u32(len(data)), pbyte(data), u32(len(handles))]
        if handles:
            params.append(pbyte(b"".join(struct.pack("<I", h) for h in handles)))
        params += [NO_AUTH, NO_AUTH, (T_AUTH, struct.pack(">I", self.handle) + odd + b"\1" + mac)]
        res, _, p = parse(self.c.call(93, params))
        if res != 0:
            return res, None, b""
        off = 4 + 4 * struct.unpack(">I", p[:4])[0]
        self.even = p[off + 82:off + 102]  # the third AUTH: the transport's
        off += 123 + 8 + 4
        rcw, n = struct.unpack(">II", p[off:off + 8])
        return res, rcw, p[off + 8:off + 8 + n]


def attack(victim):
    """As nobody: every way at the victim's key and root's saved sessions."""
    out = {}
    c = Conn(PORT)
    ctx = c.open_context()
    res, _, p = parse(c.call(ORD["OIAP"], [u32(ctx)]))
    own_auth = struct.unpack(">I", p[:4])[0] if res == 0 else None
    t = Transport(c, ctx)
    out["establish"] = t.result
    out["own_auth"], out["own_trans"] = own_auth, getattr(t, "handle", None)
    for name, area, sub in (("cap_keys", TPM_CAP_HANDLE, TPM_RT_KEY),
                            ("cap_auths", TPM_CAP_HANDLE, TPM_RT_AUTH),
                            ("cap_trans", TPM_CAP_HANDLE, TPM_RT_TRANS),
                            ("cap_contexts", TPM_CAP_HANDLE, TPM_RT_CONTEXT),
                            ("cap_key_handles", TPM_CAP_KEY_HANDLE, None)):
        out[name] = handle_list(c, ctx, area, sub)
    raw = victim["raw"]
    blob = bytes.fromhex(victim["blob"])
    if t.result == 0:
        out["getrandom"] = t.execute(TPM_ORD_GetRandom, struct.pack(">I", 8))[:2]
        r = t.execute(TPM_ORD_UnBind, struct.pack(">II", raw, len(blob)) + blob,
                      wrapped_handles=1)
        out["unbind_lying"] = [r[0], r[1], SECRET.encode() in r[2]]
        r = t.execute(TPM_ORD_UnBind, struct.pack(">I", len(blob)) + blob, handles=[raw])
        out["unbind_raw"] = [r[0], r[1], SECRET.encode() in r[2]]
        out["cap_wrapped"] = t.execute(TPM_ORD_GetCapability,
                                       struct.pack(">III", TPM_CAP_HANDLE, 4, TPM_RT_KEY))[:2]
        out["flush_ctx_lying"] = [t.execute(TPM_ORD_FlushSpecific,
                                            struct.pack(">II", n, TPM_RT_CONTEXT),
                                            wrapped_handles=1)[:2] for n in range(0, 12)]
        out["evict_lying"] = t.execute(TPM_ORD_EvictKey, struct.pack(">I", raw),
                                       wrapped_handles=1)[:2]
    out["flush_context"] = sorted({parse(c.call(ORD["FLUSHSPECIFIC"], [u32(ctx), u32(n),
                                                                       u32(TPM_RT_CONTEXT)]))[0]
                                   for n in range(0, 64)})
    out["flush_auth"] = sorted({parse(c.call(ORD["FLUSHSPECIFIC"], [u32(ctx), u32(h),
                                                                    u32(TPM_RT_AUTH)]))[0]
                                for h in victim["auths"]})
    out["flush_unknown"] = sorted({parse(c.call(ORD["FLUSHSPECIFIC"], [u32(ctx), u32(raw),
                                                                       u32(ty)]))[0]
                                   for ty in (3, 6, 7, 8, 0x99)})
    c.call(ORD["CLOSECONTEXT"], [u32(ctx)])
    c.close()
    print(json.dumps(out))


def owner_status(conn, ctx, sess):
    """GetCapabilityOwner authorised by an OIAP session (well-known owner secret)."""
    odd = os.urandom(20)
    digest = hashlib.sha1(struct.pack(">I", TPM_ORD_GetCapabilityOwner)).digest()
    mac = hmac.new(b"\0" * 20, digest + sess["even"] + odd + b"\1", hashlib.sha1).digest()
    auth = (T_AUTH, struct.pack(">I", sess["handle"]) + odd + b"\1" + mac)
    res, _, p = parse(conn.call(48, [u32(ctx), auth]))
    if res == 0:
        sess["even"] = p[-41:-21]
    return res


def raw_slot(key):
    """The TPM slot tcsd loaded the victim's key into, from its debug log."""
    for _ in range(50):
        with open(os.path.join(os.environ["TCS_DIR"], "tcsd.log"), errors="replace") as f:
            m = re.findall(rf"key 0x{key:08x} (?:loaded|swapped) into slot 0x([0-9a-f]+)", f.read())
        if m:
            return int(m[-1], 16)
        time.sleep(0.1)
    return None


def main():
    tap = Tap()
    check = tap.check
    build = os.environ["TCS_BUILD_DIR"]
    victim = subprocess.Popen([os.path.join(build, "tests/integration/tcs-victim"), SECRET],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info = {}
    for line in victim.stdout:
        if line.strip() == "READY":
            break
        k, _, v = line.strip().partition(" ")
        info[k] = v
    if not check("the victim loaded a key and bound a secret to it", "BLOB" in info):
        victim.kill()
        return tap.done()
    key = int(info["KEY"], 16)
    raw = raw_slot(key)
    check("the victim's TPM key slot is known (tcsd's debug log)", raw is not None)
    # root's sessions: more than the TPM holds, so some are saved out of it
    rc = Conn(PORT)
    rctx = rc.open_context()
    sessions = []
    for _ in range(24):
        res, _, p = parse(rc.call(ORD["OIAP"], [u32(rctx)]))
        if res == 0:
            sessions.append({"handle": struct.unpack(">I", p[:4])[0], "even": p[4:24]})
    check("root holds 24 OIAP sessions (the TPM 16)", len(sessions) == 24)

    arg = json.dumps({"raw": raw or 0, "blob": info["BLOB"],
                      "auths": [s["handle"] for s in sessions]})
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        sys.executable, os.path.abspath(__file__), "--attack", arg],
                       capture_output=True, text=True, timeout=180)
    try:
        out = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        check("the attacker ran as nobody", False, r.stderr[-500:])
        victim.kill()
        return tap.done()
    print("# attacker:", json.dumps(out), flush=True)
    check("nobody established a transport session", out["establish"] == 0, hex(out["establish"]))
    check("GetCapability(HANDLE, RT_KEY) lists no key of another client",
          out["cap_keys"] == [0, []], str(out["cap_keys"]))
    check("GetCapability(KEY_HANDLE) lists no key of another client",
          out["cap_key_handles"] == [0, []], str(out["cap_key_handles"]))
    check("GetCapability(HANDLE, RT_AUTH) lists the caller's own session only",
          out["cap_auths"] == [0, [out["own_auth"]]], str(out["cap_auths"]))
    check("GetCapability(HANDLE, RT_TRANS) lists the caller's own transport only",
          out["cap_trans"] == [0, [out["own_trans"]]], str(out["cap_trans"]))
    check("GetCapability(HANDLE, RT_CONTEXT) lists no saved context",
          out["cap_contexts"] == [0, []], str(out["cap_contexts"]))
    check("a wrapped GetRandom works (the transport is sound)",
          out.get("getrandom") == [0, 0], str(out.get("getrandom")))
    check("wrapped UnBind claiming 0 handles, raw handle in DATAw: refused by tcsd",
          out.get("unbind_lying", [0])[0] == TSS_E_BAD_PARAMETER and
          not out["unbind_lying"][2], str(out.get("unbind_lying")))
    check("wrapped UnBind naming the raw TPM handle: refused by tcsd",
          out.get("unbind_raw", [0])[0] not in (0, None) and not out["unbind_raw"][2],
          str(out.get("unbind_raw")))
    check("wrapped GetCapability(TPM_CAP_HANDLE): refused",
          out.get("cap_wrapped", [0])[0] == TSS_E_BAD_PARAMETER, str(out.get("cap_wrapped")))
    check("wrapped FlushSpecific(RT_CONTEXT) claiming 0 handles: refused",
          all(x[0] == TSS_E_BAD_PARAMETER for x in out.get("flush_ctx_lying", [[0]])),
          str(out.get("flush_ctx_lying", [])[:3]))
    check("wrapped EvictKey claiming 0 handles, raw handle in DATAw: refused",
          out.get("evict_lying", [0])[0] == TSS_E_BAD_PARAMETER, str(out.get("evict_lying")))
    check("FlushSpecific(TPM_RT_CONTEXT, 0..63): refused",
          out["flush_context"] == [TSS_E_BAD_PARAMETER], str(out["flush_context"]))
    check("FlushSpecific(TPM_RT_AUTH) of root's sessions: refused",
          0 not in out["flush_auth"], str(out["flush_auth"]))
    check("FlushSpecific of other resource types: refused",
          out["flush_unknown"] == [TSS_E_BAD_PARAMETER], str(out["flush_unknown"]))

    victim.stdin.write("go\n")
    victim.stdin.flush()
    last = victim.stdout.read().strip()
    victim.wait(timeout=60)
    check("the victim's key still unbinds its secret", last == "UNBIND ok", last)
    bad = [hex(x) for x in (owner_status(rc, rctx, s) for s in sessions) if x != 0]
    check("every one of root's sessions still works, saved ones too", not bad, " ".join(bad[:5]))
    rc.call(ORD["CLOSECONTEXT"], [u32(rctx)])
    rc.close()
    return tap.done()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--attack":
        attack(json.loads(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
