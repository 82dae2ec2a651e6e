#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""System persistent storage operations on the TCSD wire, one per run, for
tests that run them as different users (test-attack-ps.sh runs it under
setpriv). Prints the TSS result as 0x%x (and, for blob, the key blob in hex).

  ps_op.py blob UUID                      GetRegisteredKeyBlob
  ps_op.py register UUID PARENT BLOBHEX   RegisterKey (no vendor data)
  ps_op.py register-many PREFIX N PARENT BLOBHEX
                                          RegisterKey PREFIX-…-000000000001..N,
                                          stops at the first error; prints
                                          "<registered> 0x<last result>"
  ps_op.py unregister UUID                UnregisterKey
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcsd_wire import T_UUID, Conn, parse, pbyte, u32  # noqa: E402

REGISTERKEY, UNREGISTERKEY, GETREGISTEREDKEYBLOB = 5, 6, 9


def uuid(text):
    raw = bytes.fromhex(text.replace("-", ""))
    assert len(raw) == 16, text
    return (T_UUID, raw)


def call(conn, ctx, code, params):
    reply = conn.call(code, [u32(ctx)] + params)
    if reply is None:
        return None, b""
    result, _types, body = parse(reply)
    return result, body


def register(conn, ctx, key, parent, blob):
    return call(conn, ctx, REGISTERKEY,
                [uuid(parent), uuid(key), u32(len(blob)), pbyte(blob), u32(0)])[0]


def main(argv):
    conn = Conn(int(os.environ["TSS_TCSD_PORT"]))
    ctx = conn.open_context()
    op = argv[1]
    if op == "blob":
        result, body = call(conn, ctx, GETREGISTEREDKEYBLOB, [uuid(argv[2])])
        if result == 0:
            n = struct.unpack(">I", body[:4])[0]
            print(f"0x{result:x} {body[4:4 + n].hex()}")
        else:
            print(f"0x{result:x}" if result is not None else "closed")
    elif op == "register":
        result = register(conn, ctx, argv[2], argv[3], bytes.fromhex(argv[4]))
        print(f"0x{result:x}" if result is not None else "closed")
    elif op == "register-many":
        prefix, n, parent, blob = argv[2], int(argv[3]), argv[4], bytes.fromhex(argv[5])
        done, result = 0, 0
        for i in range(1, n + 1):
            result = register(conn, ctx, f"{prefix}-{i:012x}", parent, blob)
            if result != 0:
                break
            done += 1
        print(f"{done} 0x{result:x}" if result is not None else f"{done} closed")
    elif op == "unregister":
        result = call(conn, ctx, UNREGISTERKEY, [uuid(argv[2])])[0]
        print(f"0x{result:x}" if result is not None else "closed")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
