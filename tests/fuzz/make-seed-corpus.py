#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""(Re)generate the seed-* files of tests/fuzz/corpus/tcsd-packet/.

Seeds: one TCSD request frame per distinct ordinal in the TrouSerS traces,
one "TCSD ordinal byte + successful TPM reply" per pass-through row (the
fuzz target's TPM-reply half), and a few hand-made malformed frames.
Files not named seed-* (crashers found by the fuzzer) are left alone.
"""
import json
import pathlib
import re
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
TRACES = ROOT / 'tests' / 'data' / 'traces'
OUT = ROOT / 'tests' / 'fuzz' / 'corpus' / 'tcsd-packet'


def records(name):
    with open(TRACES / name) as f:
        return [json.loads(line) for line in f if line.strip()]


def slug(s):
    return re.sub(r'[^a-z0-9]+', '-', s.lower()).strip('-') or 'none'


def passthrough_rows():
    """TCSD ordinal -> TPM ordinal, from the table and the TPM_ORD_* enum."""
    types = (ROOT / 'src' / 'tcs-types.h').read_text()
    tpm = {m[0]: int(m[1], 0) for m in re.findall(r'\b(TPM_ORD_\w+) = (0x[0-9a-fA-F]+)', types)}
    table = (ROOT / 'src' / 'tcs-ordinal.c').read_text()
    rows = {}
    for ordinal, name in re.findall(r'TPM\((\d+), "\w+",[^,]*,\s*(TPM_ORD_\w+)', table):
        rows[int(ordinal)] = tpm[name]
    return rows


def header(size, code, n, ts, to, ps, po):
    return struct.pack('>7I', size, code, n, ts, to, ps, po)


def malformed(osap):
    size, code, n, ts, to, ps, po = struct.unpack('>7I', osap[:28])
    body = osap[28:]
    yield 'empty', b''
    yield 'short-header', osap[:27]
    yield 'truncated', osap[:-1]
    yield 'size-mismatch', header(size + 1, code, n, ts, to, ps, po) + body
    yield 'too-many-parms', header(size, code, 65, 65, to, ps, po) + body
    yield 'type-size-small', header(size, code, n, n - 1, to, ps, po) + body
    yield 'type-offset-past-end', header(size, code, n, ts, 0xfffffffe, ps, po) + body
    yield 'parm-offset-inside-types', header(size, code, n, ts, to, ps + 1, po - 1) + body
    yield 'parm-size-huge', header(size, code, n, ts, to, 0xffffffff, po) + body
    yield 'header-only-one-parm', header(28, code, 1, 1, 28, 0, 28)
    # types UINT32, AUTH, PBYTE with six bytes of parameters
    yield 'short-auth', header(37, 23, 3, 3, 28, 6, 31) + bytes([3, 7, 4]) + bytes(6)
    # GETRANDOM whose blob-looking length exceeds the packet
    yield 'blob-length', header(41, 44, 3, 3, 28, 10, 31) + bytes([3, 3, 4]) + \
        struct.pack('>II', 0xa0e83900, 0x7fffffff) + b'\0\0'
    # a KM_KEYINFO whose vendor data length runs past the end
    yield 'keyinfo-vendor', header(28 + 1 + 46, 0, 1, 1, 28, 46, 29) + bytes([12]) + \
        bytes(42) + struct.pack('>I', 0xfffffff0)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob('seed-*'):
        old.unlink()
    count = 0

    first = {}
    for r in records('tcsd-wire.jsonl'):
        best = first.get(r['ordinal'])
        if best is None or (best['result'] != 0 and r['result'] == 0):
            first[r['ordinal']] = r
    for ordinal, r in sorted(first.items()):
        path = OUT / f"seed-req-{ordinal:03d}-{slug(r['name'])}"
        path.write_bytes(bytes.fromhex(r['request']))
        count += 1

    tpm = records('tpm-wire.jsonl')
    for ordinal, tpm_ordinal in sorted(passthrough_rows().items()):
        for r in tpm:
            if r['ordinal'] == tpm_ordinal and r['result'] == 0 and r['reply']:
                path = OUT / f"seed-rsp-{ordinal:03d}-{slug(r['name'])}"
                path.write_bytes(bytes([ordinal]) + bytes.fromhex(r['reply']))
                count += 1
                break

    osap = bytes.fromhex(next(r['request'] for r in records('tcsd-wire.jsonl')
                              if r['ordinal'] == 24))
    for name, data in malformed(osap):
        (OUT / f'seed-bad-{name}').write_bytes(data)
        count += 1
    print(f'{count} seeds in {OUT}')


if __name__ == '__main__':
    main()
