#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""(Re)generate the seed-* files of tests/fuzz/corpus/luks-token/: valid
"tcs" LUKS2 tokens (a synthetic 2048-bit TPM_KEY bind blob, with and without
PIN, PCRs, SK) and malformed variants the parser must refuse. Files not
named seed-* (crashers found by the fuzzer) are left alone."""
import json
import pathlib
import struct

OUT = pathlib.Path(__file__).resolve().parent / 'corpus' / 'luks-token'


def key_blob(pcr_info=b''):
    """TPM_KEY 1.1: bind key (0x0014), OAEP, RSA-2048, pubkey and encData 256 bytes."""
    b = bytes([1, 1, 0, 0]) + struct.pack('>HIB', 0x0014, 2, 1)
    b += struct.pack('>IHHI', 1, 3, 1, 12) + struct.pack('>III', 2048, 2, 0)
    b += struct.pack('>I', len(pcr_info)) + pcr_info
    b += struct.pack('>I', 256) + bytes([0xc5] * 256)
    b += struct.pack('>I', 256) + bytes([0x5a] * 256)
    return b


def token(**over):
    t = {'type': 'tcs', 'keyslots': ['1'], 'tcs-version': 1, 'tcs-parent': 'rk',
         'tcs-parent-fingerprint': '11' * 32, 'tcs-key': key_blob().hex(),
         'tcs-bound': 'ab' * 256, 'tcs-pin': False}
    t.update(over)
    return {k: v for k, v in t.items() if v is not None}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for f in OUT.glob('seed-*'):
        f.unlink()
    pcr_info = bytes([0, 3, 0x80, 0, 0]) + b'\x22' * 40
    seeds = {
        'valid': token(),
        'valid-pin': token(**{'tcs-pin': True}),
        'valid-sk-pcrs': token(**{'tcs-parent': 'sk', 'tcs-pcrs': [0, 7, 23],
                                  'tcs-key': key_blob(pcr_info).hex()}),
        'bad-keyslot': token(keyslots=['07']),
        'two-keyslots': token(keyslots=['1', '2']),
        'bad-hex': token(**{'tcs-bound': 'zz'}),
        'short-key': token(**{'tcs-key': key_blob().hex()[:-2]}),
        'pcr-dup': token(**{'tcs-pcrs': [7, 7]}),
        'no-type': token(type=None),
        'version-2': token(**{'tcs-version': 2}),
    }
    for name, t in seeds.items():
        (OUT / f'seed-{name}.json').write_text(json.dumps(t))
    (OUT / 'seed-nested.json').write_text('{"type":"tcs","keyslots":[[[[["1"]]]]]}')
    (OUT / 'seed-trailing.json').write_text(json.dumps(token()) + ' {}')
    (OUT / 'seed-pcr-list.txt').write_text('0,7,23')


if __name__ == '__main__':
    main()
