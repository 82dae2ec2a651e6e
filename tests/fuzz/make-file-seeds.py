#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""(Re)generate the seed-* files of the file-format fuzz corpora:

  corpus/ps/           system.data files (tests/data/ps fixtures, edge cases)
  corpus/keyblob/      TPM_KEY / TPM_PUBKEY structures, TSS KEY BLOB PEM and DER
  corpus/key-archive/  whole archives (secret "fuzz", cheapest scrypt) and payloads
  corpus/tpmencrypt/   record lists for fuzz-tpmencrypt's builder, raw files

The input layouts are those documented at the top of each fuzz-*.c. Files
not named seed-* (crashers, coverage finds) are left alone. Needs python3-
cryptography for the archives' AES-GCM.
"""
import base64
import hashlib
import hmac
import os
import pathlib
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / 'tests' / 'data' / 'ps'
CORPUS = ROOT / 'tests' / 'fuzz' / 'corpus'
RK_UUID = bytes(15) + b'\x03'


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f'seed-{name}').write_bytes(data)


def ps_records(data):
    """(uuid, parent, pub, blob) of every record of a version-1 system.data."""
    n = struct.unpack_from('<I', data, 1)[0]
    off, out = 5, []
    for _ in range(n):
        uuid, parent = data[off:off + 16], data[off + 16:off + 32]
        pub_len, blob_len, vendor_len, _flags = struct.unpack_from('<HHIH', data, off + 32)
        off += 42
        pub = data[off:off + pub_len]
        blob = data[off + pub_len:off + pub_len + blob_len]
        off += pub_len + blob_len + vendor_len
        out.append((uuid, parent, pub, blob))
    return out


def pubkey_of(key):
    """TPM_PUBKEY (TPM_KEY_PARMS ‖ TPM_STORE_PUBKEY) of a 1.1 TPM_KEY."""
    off = 4 + 2 + 4 + 1
    parms_size = struct.unpack_from('>I', key, off + 8)[0]
    parms = key[off:off + 12 + parms_size]
    off += 12 + parms_size
    off += 4 + struct.unpack_from('>I', key, off)[0]  # PCR info
    mod_len = struct.unpack_from('>I', key, off)[0]
    return parms + key[off:off + 4 + mod_len]


def der_octets(b):
    n = len(b)
    if n < 128:
        hdr = bytes([n])
    elif n < 256:
        hdr = bytes([0x81, n])
    else:
        hdr = bytes([0x82, n >> 8, n & 0xff])
    return b'\x04' + hdr + b


def der_seq(b):
    n = len(b)
    hdr = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 0xff])
    return b'\x30' + hdr + b


def pem(der, parent=None):
    b64 = base64.b64encode(der).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    head = [f'Parent-UUID: {parent}'] if parent else []
    return ('\n'.join(head + ['-----BEGIN TSS KEY BLOB-----'] + lines +
                      ['-----END TSS KEY BLOB-----']) + '\n').encode()


def archive(payload, secret=b'fuzz'):
    salt, nonce = bytes(range(16)), bytes(range(12))
    out = hashlib.scrypt(secret, salt=salt, n=1 << 10, r=1, p=1, dklen=64)
    verifier = hmac.new(out[32:], b'tcs key archive', 'sha256').digest()
    header = (b'TCSKEYAR' + struct.pack('>HBBII', 1, 1, 10, 1, 1) + salt + verifier + nonce +
              struct.pack('>I', len(payload)))
    return header + AESGCM(out[:32]).encrypt(nonce, payload, header)


def payload(entries):
    out = struct.pack('>I', len(entries))
    for kind, uuid, parent, blob, der in entries:
        out += bytes([kind]) + uuid + parent + struct.pack('>I', len(blob)) + blob
        if kind == 1:
            out += struct.pack('>I', len(der)) + der + b'\x11' * 20 + b'\x22' * 20
    return out


def tpmenc_header(alg, chunk, flags=0, blob=b'\1' * 8, bound=b'\2' * 256):
    body = bytes([alg, 0, flags, 0]) + struct.pack('>I', chunk) + RK_UUID + bytes(32)
    body += (bytes(16) if flags & 2 else struct.pack('>I', len(blob)) + blob)
    body += struct.pack('>I', len(bound)) + bound
    head = b'\x89TPMENC\n' + struct.pack('>HH', 1, len(body)) + body
    return head + hashlib.sha256(head).digest()


def records(*recs):
    """fuzz-tpmencrypt builder records: (final, size, data)."""
    return b''.join(bytes([final]) + struct.pack('>HB', size, len(data)) + data
                    for final, size, data in recs)


def main():
    for f in CORPUS.glob('*/seed-*'):
        if f.parent.name != 'tcsd-packet':
            f.unlink()
    blobs = []
    for f in sorted(FIXTURES.glob('*.data')):
        data = f.read_bytes()
        write('ps', f.stem, data)
        for uuid, parent, pub, blob in ps_records(data):
            if blob and blob not in [b for _, _, b in blobs]:
                blobs.append((uuid, parent, blob))
    write('ps', 'empty', b'')
    write('ps', 'no-records', b'\x01' + bytes(4))
    write('ps', 'bad-version', b'\x02' + bytes(4))

    for i, (_uuid, _parent, blob) in enumerate(blobs[:4]):
        write('keyblob', f'tpm-key-{i}', blob)
        write('keyblob', f'tpm-pubkey-{i}', pubkey_of(blob))
        write('keyblob', f'pem-srk-{i}', pem(der_octets(blob)))
        write('keyblob', f'pem-rk-{i}', pem(der_octets(blob), '00000000-0000-0000-0000-000000000003'))
        write('keyblob', f'der-seq-{i}', der_seq(der_octets(blob) + der_octets(RK_UUID)))
    write('keyblob', 'pem-empty', pem(b''))

    priv = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    der = priv.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
    keys = [b for _, _, b in blobs] or [b'\1' * 64]
    one = payload([(1, RK_UUID, bytes(15) + b'\x01', keys[0], der)])
    three = payload([(1, RK_UUID, bytes(15) + b'\x01', keys[0], der)] +
                    [(2, bytes([i]) * 16, RK_UUID, keys[i % len(keys)], b'') for i in (1, 2)])
    write('key-archive', 'archive-rk', b'\x00' + archive(one))
    write('key-archive', 'archive-rk-two-keys', b'\x00' + archive(three))
    write('key-archive', 'archive-wrong-secret', b'\x00' + archive(one, b'other'))
    write('key-archive', 'payload-rk', b'\x01' + one)
    write('key-archive', 'payload-rk-two-keys', b'\x01' + three)
    write('key-archive', 'payload-key-first', b'\x01' + payload([(2, RK_UUID, bytes(16), keys[0], b'')]))

    for sel, name in ((0, 'gcm'), (1, 'chacha'), (2, 'cbc')):
        full = 4112 if sel == 2 else 4096
        write('tpmencrypt', f'{name}-empty', bytes([sel]) + records((1, 16 if sel == 2 else 0, b'\x10' * 16)))
        write('tpmencrypt', f'{name}-two-chunks',
              bytes([sel]) + records((0, full, b'\x10' * 16), (1, 48, b'x' * 32 + b'\x10' * 16)))
        write('tpmencrypt', f'{name}-no-final', bytes([sel]) + records((0, full, b'\x10' * 16)))
        write('tpmencrypt', f'raw-{name}', b'\x04' + tpmenc_header(sel + 1, 4096) + b'\0' * 64)
    # #10.2: a full CBC record padded with one byte decrypts to chunk size + 15
    write('tpmencrypt', 'cbc-padding-overflow',
          b'\x02' + records((0, 4112, b'\x01'), (1, 16, b'\x10' * 16)))
    write('tpmencrypt', 'cbc-padding-overflow-4112',
          b'\x0a' + records((0, 4128, b'\x01'), (1, 16, b'\x10' * 16)))
    write('tpmencrypt', 'raw-key-in-ps', b'\x04' + tpmenc_header(1, 4096, flags=2))
    write('tpmencrypt', 'raw-bad-magic', b'\x04' + b'\x89TPMENX\n' + bytes(40))


if __name__ == '__main__':
    main()
