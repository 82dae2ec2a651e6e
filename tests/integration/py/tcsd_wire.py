# SPDX-License-Identifier: LGPL-2.1-or-later
"""A minimal TCSD wire-protocol client for tests: builds and parses packets by hand,
so tests can send exactly the malformed bytes a broken or hostile client would."""
import socket
import struct

T_BYTE, T_BOOL, T_UINT16, T_UINT32, T_PBYTE = 0, 1, 2, 3, 4
T_NONCE, T_AUTH, T_DIGEST, T_UUID, T_ENCAUTH = 6, 7, 8, 9, 10

ORD = {"OPENCONTEXT": 1, "CLOSECONTEXT": 2, "OIAP": 23, "OSAP": 24, "GETRANDOM": 44,
       "STIRRANDOM": 45, "GETCAPABILITY": 46, "TCSGETCAPABILITY": 4, "FREEMEMORY": 3,
       "LOADKEYBYUUID": 12, "EVICTKEY": 13, "FLUSHSPECIFIC": 120}


def packet(code, params, reserve=None):
    """params: list of (type, bytes). Header as libtspi writes it."""
    types = bytes(t for t, _ in params)
    body = b"".join(b for _, b in params)
    nslots = len(params) if reserve is None else reserve
    types = types.ljust(nslots, b"\0")
    parm_off = 28 + nslots
    size = parm_off + len(body)
    hdr = struct.pack(">7I", size, code, len(params), len(params), 28, len(body), parm_off)
    return hdr + types + body


def u32(v):
    return (T_UINT32, struct.pack(">I", v))


def u16(v):
    return (T_UINT16, struct.pack(">H", v))


def pbyte(b):
    return (T_PBYTE, b)


def parse(reply):
    """-> (result, [(type, value-bytes)]) for fixed-size types, raw rest otherwise."""
    size, result, nparms, tsize, toff, psize, poff = struct.unpack(">7I", reply[:28])
    types = reply[toff:toff + nparms] if nparms else b""
    return result, types, reply[poff:poff + psize] if nparms else b""


class Conn:
    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.s = socket.create_connection((host, port), timeout=timeout)

    def send(self, data):
        self.s.sendall(data)

    def recv_reply(self):
        """The next reply frame, or None when the daemon closed the connection."""
        hdr = self._recv_exact(28)
        if hdr is None:
            return None
        size = struct.unpack(">I", hdr[:4])[0]
        rest = self._recv_exact(size - 28) if size > 28 else b""
        return hdr + (rest or b"")

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.s.recv(n - len(buf))
            except (ConnectionResetError, socket.timeout):
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def call(self, code, params, reserve=None):
        self.send(packet(code, params, reserve))
        return self.recv_reply()

    def open_context(self):
        r = self.call(ORD["OPENCONTEXT"], [])
        result, types, p = parse(r)
        assert result == 0, hex(result)
        return struct.unpack(">I", p[:4])[0]

    def close(self):
        self.s.close()


class Tap:
    """TAP-style checks for the wire tests: ok/not ok lines, a plan, an exit code."""

    def __init__(self):
        self.count = 0
        self.failures = 0

    def check(self, name, cond, detail=""):
        self.count += 1
        self.failures += 0 if cond else 1
        print(("ok" if cond else "not ok") + f" {self.count} - {name} {detail}".rstrip(), flush=True)
        return cond

    def done(self):
        print(f"1..{self.count}")
        return 1 if self.failures else 0
