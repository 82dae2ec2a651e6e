#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The TCSD ordinals libtspi never sends, or that tcsd does not implement, on the wire.

* stubs (TrouSerS' tcs_wrap_Error rows: FREEMEMORY, GETREGISTEREDKEY, the
  CHANGEAUTHASYM pair, GETCAPABILITYSIGNED, CONTINUESELFTEST, FIELDUPGRADE,
  SETRIDIRECTION, DAAJOIN, DAASIGN, MAKEIDENTITY2) answer TSS_E_FAIL (0x2002) as
  TrouSerS does, also with a well-formed context;
* ordinals 0 and >= 123 answer 0x2002 (TrouSerS: "Illegal TCSD Ordinal");
* the transport ordinals (92-94) refuse a malformed request with an error
  (they work: tspi/tspi-transport.c), and the connection stays usable;
* GETCREDENTIAL answers a well-formed reply (no platform credentials here);
* OWNERREADPUBEK (1.1) with a real owner HMAC succeeds;
* LOADMAINTENANCEARCHIVE, which no Tspi_ function sends, and the 1.1
  SETTEMPDEACTIVATED reach the TPM;
* the connection keeps working after each of them.
Run by test-py.sh --owned against our tcsd (port in TSS_TCSD_PORT)."""
import hashlib
import hmac
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcsd_wire import ORD, T_AUTH, Conn, Tap, parse, pbyte, u32  # noqa: E402

PORT = int(os.environ["TSS_TCSD_PORT"])
TSS_E_FAIL = 0x2002
STUBS = {3: "FREEMEMORY", 8: "GETREGISTEREDKEY", 27: "CHANGEAUTHASYMSTART",
         28: "CHANGEAUTHASYMFINISH", 47: "GETCAPABILITYSIGNED", 55: "CONTINUESELFTEST",
         67: "FIELDUPGRADE", 68: "SETRIDIRECTION", 74: "DAAJOIN", 75: "DAASIGN",
         112: "MAKEIDENTITY2"}
TRANSPORT = {92: "ESTABLISHTRANSPORT", 93: "EXECUTETRANSPORT", 94: "RELEASETRANSPORTSIGNED"}

TAP = Tap()
check = TAP.check
c = Conn(PORT)
ctx = c.open_context()


def result_of(code, params):
    reply = c.call(code, params)
    if reply is None:
        return None
    return parse(reply)[0]


def still_serving():
    res, _, p = parse(c.call(ORD["GETRANDOM"], [u32(ctx), u32(8)]))
    return res == 0


for code, name in sorted(STUBS.items()):
    res = result_of(code, [u32(ctx)])
    check(f"{name} ({code}) -> TSS_E_FAIL as TrouSerS", res == TSS_E_FAIL,
          hex(res) if res is not None else "closed")
    res = result_of(code, [])
    check(f"{name} ({code}) without parameters -> TSS_E_FAIL", res == TSS_E_FAIL,
          hex(res) if res is not None else "closed")
for code, name in sorted(TRANSPORT.items()):
    res = result_of(code, [u32(ctx), u32(0)])
    check(f"{name} ({code}) with a truncated request -> an error", res not in (None, 0),
          hex(res) if res is not None else "closed")
for code in (0, 123, 200, 0xffffffff):
    res = result_of(code, [u32(ctx)])
    check(f"ordinal {code:#x} -> TSS_E_FAIL", res == TSS_E_FAIL,
          hex(res) if res is not None else "closed")
check("the connection is still served (GetRandom)", still_serving())

# GETCREDENTIAL(ctx, type, access mode) -> UINT32 size + PBYTE, or an error
reply = c.call(86, [u32(ctx), u32(1), u32(1)])
res, types, p = parse(reply) if reply else (None, b"", b"")
ok = res is not None and (res != 0 or (types[:1] == b"\x03" and
                                       len(p) >= 4 + struct.unpack(">I", p[:4])[0]))
check("GETCREDENTIAL (86) answers a well-formed reply", ok, hex(res) if res is not None else "")
check("the connection is still served", still_serving())

# LOADMAINTENANCEARCHIVE (70, owner class; no Tspi_ function sends it): with a real
# OIAP session and a made-up HMAC it reaches the TPM, which refuses it (libtpms has
# no maintenance): a TPM-layer result, not a TCS one
res, _, p = parse(c.call(ORD["OIAP"], [u32(ctx)]))
if res == 0:
    handle = struct.unpack(">I", p[:4])[0]
    auth = (T_AUTH, struct.pack(">I", handle) + b"\x11" * 20 + b"\0" + b"\x22" * 20)
    res = result_of(70, [u32(ctx), u32(4), pbyte(b"arch"), auth])
check("LOADMAINTENANCEARCHIVE (70) reaches the TPM, which refuses it",
      res is not None and 0 < res < 0x1000, hex(res) if res is not None else "closed")
# SETTEMPDEACTIVATED (65): libtspi sends it only to a 1.1 TPM; without physical
# presence (locked by the BIOS step) the TPM answers TPM_BAD_PRESENCE
res = result_of(65, [u32(ctx)])
check("SETTEMPDEACTIVATED (65) reaches the TPM: TPM_BAD_PRESENCE", res == 0x2d,
      hex(res) if res is not None else "closed")
check("the connection is still served", still_serving())

# OWNERREADPUBEK (52): libtspi uses OwnerReadInternalPub(EK) on a 1.2 TPM; this
# sends the 1.1 command with a real owner HMAC (well-known secret)
res, _, p = parse(c.call(ORD["OIAP"], [u32(ctx)]))
if res == 0:
    handle, even, odd = struct.unpack(">I", p[:4])[0], p[4:24], os.urandom(20)
    digest = hashlib.sha1(struct.pack(">I", 0x7D)).digest()
    mac = hmac.new(b"\0" * 20, digest + even + odd + b"\0", hashlib.sha1).digest()
    res = result_of(52, [u32(ctx), (T_AUTH, struct.pack(">I", handle) + odd + b"\0" + mac)])
check("OWNERREADPUBEK (52) with the owner's HMAC succeeds", res == 0,
      hex(res) if res is not None else "closed")
check("the connection is still served", still_serving())
c.call(ORD["CLOSECONTEXT"], [u32(ctx)])
c.close()
sys.exit(TAP.done())
