#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for tcsd's org.tcs.Manager, for testing the clients alone.

It follows dbus/org.tcs.Manager.xml closely enough for tpmctl, tpmadm and
tpmlist: properties, the fixed keys, secrets (plain passphrases, sha1,
well-known), the stored owner secret, CreateStorageKey's replace, DeleteKeys
with descendants, and Backup/Restore through passed file descriptors with a
trivial archive format ("TCSMOCK1" + secret digest + JSON key list). It keeps
everything in memory; no TPM. Callers other than root are refused owner
methods unless --allow-all is given (a crude stand-in for polkit).

Usage: test-manager-mock.py [--allow-all]   (on the bus DBUS_SYSTEM_BUS_ADDRESS names)
"""
import hashlib
import json
import os
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

IFACE = 'org.tcs.Manager'
SRK = '00000000-0000-0000-0000-000000000001'
SK = '00000000-0000-0000-0000-000000000002'
RK = '00000000-0000-0000-0000-000000000003'
NIL = '00000000-0000-0000-0000-000000000000'
KEYWORDS = {'srk': SRK, 'sk': SK, 'rk': RK}
WELL_KNOWN = bytes(20)


class Error(dbus.DBusException):
    def __init__(self, name, msg):
        super().__init__(msg, name='org.tcs.Error.' + name)


def secret_value(raw, options, option, allow_empty_default=None):
    mode = str(options.get(option, 'plain'))
    raw = bytes(raw)
    if len(raw) > 1024:
        raise Error('InvalidArgs', 'secret longer than 1024 bytes')
    if mode == 'well-known':
        if raw:
            raise Error('InvalidArgs', 'a well-known secret must be empty')
        return WELL_KNOWN
    if mode == 'sha1':
        if len(raw) != 20:
            raise Error('InvalidArgs', 'a sha1 secret has 20 bytes')
        return raw
    if mode != 'plain':
        raise Error('InvalidArgs', 'unknown secret mode %s' % mode)
    if not raw:
        return allow_empty_default
    return hashlib.sha1(raw).digest()


def check_options(options, allowed):
    for k in options:
        if k not in allowed:
            raise Error('InvalidArgs', 'unknown option %s' % k)


def key_info(uuid, parent, usage=4, migratable=True):
    return {'uuid': uuid, 'parent': parent, 'usage': usage, 'migratable': migratable,
            'alg': 'rsa', 'pub': os.urandom(256)}


class Manager(dbus.service.Object):
    def __init__(self, bus, allow_all):
        super().__init__(bus, '/org/tcs/Manager')
        self.allow_all = allow_all
        self.owner = None          # owner auth value (20 bytes) or None
        self.stored = None
        self.enabled = True
        self.activated = True
        self.keys = []             # dicts, storage order

    # -- helpers
    def check(self, sender, owner_method=True):
        if not owner_method or self.allow_all:
            return
        uid = self.connection.get_unix_user(sender)
        if uid != 0:
            raise Error('PermissionDenied', 'not authorised (uid %d)' % uid)

    def find(self, key):
        k = KEYWORDS.get(str(key).lower(), str(key).lower())
        for e in self.keys:
            if e['uuid'] == k:
                return e
        raise Error('NotFound', 'no key %s' % key)

    def descendants(self, uuid):
        out, todo = [], [uuid]
        while todo:
            p = todo.pop(0)
            for e in self.keys:
                if e['parent'] == p:
                    out.append(e)
                    todo.append(e['uuid'])
        return out

    def owner_auth(self, raw, options, option='owner-secret-mode'):
        if self.owner is None:
            raise Error('NotOwned', 'the TPM has no owner')
        v = secret_value(raw, options, option, allow_empty_default=self.stored)
        if v is None:
            raise Error('NoOwnerSecret', 'no owner secret given and none stored')
        if v != self.owner:
            raise Error('TpmAuthFailed', 'TPM_AUTHFAIL (0x1)')
        return v

    def match(self, criteria):
        allowed = {'ancestor', 'parent', 'algorithm', 'usage', 'uuids'}
        for k in criteria:
            if k not in allowed:
                raise Error('InvalidArgs', 'unknown criterion %s' % k)
        keys = list(self.keys)
        if 'ancestor' in criteria:
            a = self.find(criteria['ancestor'])
            ids = {e['uuid'] for e in self.descendants(a['uuid'])}
            keys = [e for e in keys if e['uuid'] in ids]
        if 'parent' in criteria:
            p = self.find(criteria['parent'])
            keys = [e for e in keys if e['parent'] == p['uuid']]
        if 'algorithm' in criteria:
            if criteria['algorithm'] not in ('rsa', 'des', '3des', 'aes128', 'aes192', 'aes256',
                                             'hmac', 'sha', 'xor'):
                raise Error('InvalidArgs', 'unknown algorithm %s' % criteria['algorithm'])
            keys = [e for e in keys if e['alg'] == criteria['algorithm']]
        if 'usage' in criteria:
            u = {'storage': 4, 'signing': 0x10, 'bind': 0x14}.get(criteria['usage'])
            if u is None:
                raise Error('InvalidArgs', 'unknown usage %s' % criteria['usage'])
            keys = [e for e in keys if e['usage'] == u]
        if 'uuids' in criteria:
            ids = {KEYWORDS.get(str(u).lower(), str(u).lower()) for u in criteria['uuids']}
            keys = [e for e in keys if e['uuid'] in ids]
        return keys

    # -- properties
    def props(self):
        return {
            'DaemonVersion': 'mock', 'TpmVersion': '1.2.3.19', 'TpmManufacturer': 'IBM',
            'Owned': dbus.Boolean(self.owner is not None),
            'Enabled': dbus.Boolean(self.enabled), 'Activated': dbus.Boolean(self.activated),
            'Ownable': dbus.Boolean(True), 'OwnerClearDisabled': dbus.Boolean(False),
            'ForceClearDisabled': dbus.Boolean(True),
            'OwnerSecretStored': dbus.Boolean(self.stored is not None),
            'ConnectedClients': dbus.UInt32(0),
        }

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature='s', out_signature='a{sv}')
    def GetAll(self, iface):
        return self.props()

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature='ss', out_signature='v')
    def Get(self, iface, name):
        return self.props()[name]

    # -- methods
    @dbus.service.method(IFACE, in_signature='ayaya{sv}', out_signature='a{sv}',
                         sender_keyword='sender')
    def TakeOwnership(self, owner, srk, options, sender=None):
        self.check(sender)
        check_options(options, ('owner-secret-mode', 'srk-secret-mode', 'store-owner-secret',
                                'create-storage-keys'))
        if self.owner is not None:
            raise Error('AlreadyOwned', 'the TPM has an owner')
        v = secret_value(owner, options, 'owner-secret-mode')
        store = bool(options.get('store-owner-secret', True))
        if v is None:
            if not store:
                raise Error('InvalidArgs', 'a random owner secret must be stored')
            v = os.urandom(20)
        self.owner = v
        self.stored = v if store else None
        self.keys = [key_info(SRK, NIL, migratable=False)]
        if options.get('create-storage-keys', True):
            self.keys += [key_info(SK, SRK, migratable=False), key_info(RK, SRK)]
        self.KeysChanged([e['uuid'] for e in self.keys], [])
        return dbus.Dictionary({'owner-secret-stored': dbus.Boolean(store)}, signature='sv')

    @dbus.service.method(IFACE, in_signature='ayaya{sv}', out_signature='a{sv}',
                         sender_keyword='sender')
    def ChangeOwnerSecret(self, owner, new, options, sender=None):
        self.check(sender)
        check_options(options, ('owner-secret-mode', 'new-owner-secret-mode', 'store-owner-secret'))
        self.owner_auth(owner, options)
        v = secret_value(new, options, 'new-owner-secret-mode')
        if v is None:
            if self.stored is None and not options.get('store-owner-secret', False):
                raise Error('InvalidArgs', 'a random owner secret must be stored')
            v = os.urandom(20)
        self.owner = v
        store = self.stored is not None or options.get('store-owner-secret', False)
        if store:
            self.stored = v
        return dbus.Dictionary({'owner-secret-stored': dbus.Boolean(store)}, signature='sv')

    @dbus.service.method(IFACE, in_signature='', out_signature='b', sender_keyword='sender')
    def ForgetOwnerSecret(self, sender=None):
        self.check(sender)
        had = self.stored is not None
        self.stored = None
        return had

    @dbus.service.method(IFACE, in_signature='aya{sv}', sender_keyword='sender')
    def ClearOwner(self, owner, options, sender=None):
        self.check(sender)
        check_options(options, ('owner-secret-mode',))
        self.owner_auth(owner, options)
        gone = [e['uuid'] for e in self.keys]
        self.owner = self.stored = None
        self.keys = []
        self.KeysChanged([], gone)

    @dbus.service.method(IFACE, in_signature='baya{sv}', sender_keyword='sender')
    def SetEnabled(self, enabled, owner, options, sender=None):
        self.check(sender)
        check_options(options, ('owner-secret-mode',))
        if self.owner is None:
            raise Error('PhysicalPresenceRequired', 'physical presence is required')
        self.owner_auth(owner, options)
        self.enabled = bool(enabled)

    @dbus.service.method(IFACE, in_signature='ba{sv}', out_signature='b', sender_keyword='sender')
    def SetActivated(self, activated, options, sender=None):
        self.check(sender)
        raise Error('PhysicalPresenceRequired', 'physical presence is required')

    @dbus.service.method(IFACE, in_signature='saya{sv}', out_signature='s', sender_keyword='sender')
    def CreateStorageKey(self, kind, srk, options, sender=None):
        self.check(sender)
        check_options(options, ('srk-secret-mode', 'replace', 'safety-copy', 'safety-secret',
                                'safety-secret-mode', 'owner-secret', 'owner-secret-mode',
                                'no-safety-copy'))
        if self.owner is None:
            raise Error('NotOwned', 'the TPM has no owner')
        uuid = {'rk': RK, 'sk': SK}.get(str(kind))
        if not uuid:
            raise Error('InvalidArgs', 'kind must be rk or sk')
        old = [e for e in self.keys if e['uuid'] == uuid]
        if old:
            desc = self.descendants(uuid)
            if not options.get('replace', False):
                raise Error('AlreadyExists', 'the key exists with %d registered descendants'
                            % len(desc))
            if uuid == RK and 'safety-copy' not in options and \
                    not options.get('no-safety-copy', False):
                raise Error('InvalidArgs', 'replacing the RK needs safety-copy and safety-secret')
            if 'safety-copy' in options:
                self.owner_auth(options.get('owner-secret', b''), options)
                fd = options['safety-copy'].take()
                with os.fdopen(fd, 'wb') as f:
                    f.write(self.archive(bytes(options.get('safety-secret', b'')))[0])
            gone = {e['uuid'] for e in desc} | {uuid}
            self.keys = [e for e in self.keys if e['uuid'] not in gone]
        self.keys.append(key_info(uuid, SRK, migratable=(uuid == RK)))
        return uuid

    @dbus.service.method(IFACE, in_signature='a{sv}', out_signature='a(ss)')
    def ListKeys(self, criteria):
        return dbus.Array([(e['uuid'], e['parent']) for e in self.match(criteria)],
                          signature='(ss)')

    @dbus.service.method(IFACE, in_signature='s', out_signature='a{sv}')
    def GetKeyInfo(self, key):
        e = self.find(key)
        flags = 2 if e['migratable'] else 0
        return {
            'uuid': e['uuid'], 'parent-uuid': e['parent'], 'version': '01010000',
            'usage': dbus.UInt32(e['usage']),
            'usage-name': {4: 'Storage', 0x10: 'Signing', 0x14: 'Bind'}[e['usage']],
            'flags': dbus.UInt32(flags),
            'flag-names': dbus.Array(['migratable'] if flags else [], signature='s'),
            'auth-usage': dbus.UInt32(0), 'auth-usage-name': 'Never',
            'algorithm': dbus.UInt32(0x20), 'algorithm-name': 'RSA',
            'encryption-scheme': dbus.UInt32(0x12), 'encryption-scheme-name': 'RSAESOAEP_SHA1_MGF1',
            'signature-scheme': dbus.UInt32(0x10), 'signature-scheme-name': 'None',
            'key-size': dbus.UInt32(2048),
            'public-key': dbus.ByteArray(e['pub']),
        }

    @dbus.service.method(IFACE, in_signature='a{sv}a{sv}', out_signature='as',
                         sender_keyword='sender')
    def DeleteKeys(self, criteria, options, sender=None):
        self.check(sender)
        check_options(options, ('descendants',))
        if not criteria:
            raise Error('InvalidArgs', 'at least one criterion is required')
        hit = [e for e in self.match(criteria) if e['uuid'] not in (SRK, SK, RK)]
        ids = {e['uuid'] for e in hit}
        for e in hit:
            desc = {d['uuid'] for d in self.descendants(e['uuid'])}
            if desc - ids:
                if not options.get('descendants', False):
                    raise Error('HasChildren', 'key %s has descendants' % e['uuid'])
                ids |= desc
        deleted = [e['uuid'] for e in self.keys if e['uuid'] in ids]
        self.keys = [e for e in self.keys if e['uuid'] not in ids]
        if deleted:
            self.KeysChanged([], deleted)
        return deleted

    def archive(self, secret):
        rk = [e for e in self.keys if e['uuid'] == RK]
        keys = rk + self.descendants(RK)
        body = json.dumps([{k: (v.hex() if isinstance(v, bytes) else v) for k, v in e.items()}
                           for e in keys]).encode()
        return b'TCSMOCK1' + hashlib.sha1(b'archive' + secret).digest() + body, len(keys)

    @dbus.service.method(IFACE, in_signature='hayaya{sv}', out_signature='a{sv}',
                         sender_keyword='sender')
    def Backup(self, fd, secret, owner, options, sender=None):
        fd = fd.take()
        try:
            self.check(sender)
            if not bytes(secret):
                raise Error('InvalidArgs', 'an archive secret is required')
            self.owner_auth(owner, options)
            if not any(e['uuid'] == RK for e in self.keys):
                raise Error('NotFound', 'there is no RK')
            data, n = self.archive(bytes(secret))
            os.write(fd, data)
            return {'key-count': dbus.UInt32(n), 'size': dbus.UInt64(len(data))}
        finally:
            os.close(fd)

    @dbus.service.method(IFACE, in_signature='hhayaya{sv}', out_signature='a{sv}',
                         sender_keyword='sender')
    def Restore(self, fd, safety, secret, owner, options, sender=None):
        fd, safety = fd.take(), safety.take()
        try:
            self.check(sender)
            data = b''
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                data += chunk
            if not data.startswith(b'TCSMOCK1'):
                raise Error('InvalidArchive', 'not a tcs key archive')
            if data[8:28] != hashlib.sha1(b'archive' + bytes(secret)).digest():
                raise Error('ArchiveAuthFailed', 'the archive secret is wrong')
            self.owner_auth(owner, options)
            keys = json.loads(data[28:])
            rk_exists = any(e['uuid'] == RK for e in self.keys)
            old = ([e for e in self.keys if e['uuid'] == RK] + self.descendants(RK)) if rk_exists else []
            report = {'key-count': dbus.UInt32(len(keys)),
                      'replaced-key-count': dbus.UInt32(len(old)),
                      'rk-exists': dbus.Boolean(rk_exists)}
            if options.get('dry-run', False):
                return report
            if rk_exists and not options.get('replace', False):
                raise Error('AlreadyExists', 'an RK exists')
            if rk_exists:
                os.write(safety, self.archive(bytes(secret))[0])
                gone = {e['uuid'] for e in old}
                self.keys = [e for e in self.keys if e['uuid'] not in gone]
            for e in keys:
                e['pub'] = bytes.fromhex(e['pub'])
                self.keys.append(e)
            return report
        finally:
            os.close(fd)
            os.close(safety)

    # a test hook: what TSS applications do over the wire (Tspi_Context_RegisterKey)
    @dbus.service.method('org.tcs.ManagerMock', in_signature='ssu')
    def RegisterKey(self, uuid, parent, usage):
        self.find(parent)
        self.keys.append(key_info(str(uuid), self.find(parent)['uuid'], usage=int(usage)))
        self.KeysChanged([str(uuid)], [])

    @dbus.service.signal(IFACE, signature='asas')
    def KeysChanged(self, registered, unregistered):
        pass


def main():
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    bus_name = dbus.service.BusName("org.tcs.Manager", bus)
    Manager(bus, '--allow-all' in sys.argv)
    print('READY: %s' % bus_name.get_name(), flush=True)
    GLib.MainLoop().run()


if __name__ == '__main__':
    main()
