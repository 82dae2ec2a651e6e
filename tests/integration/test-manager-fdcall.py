#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Backup and Restore straight through GDBus (gdbus call and busctl cannot pass
file descriptors), to check the API apart from tpmctl.

Usage: test-manager-fdcall.py backup ARCHIVE SECRET OWNER
       test-manager-fdcall.py restore ARCHIVE SAFETY SECRET OWNER [OPTION=true...]
Secrets are passphrases (plain mode); an empty OWNER means the stored one.
Prints the reply's dictionary as JSON, or the D-Bus error name and exits 1.
"""
import json
import os
import sys

from gi.repository import Gio, GLib


def call(method, params, fds):
    bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
    fdl = Gio.UnixFDList.new()
    for fd in fds:
        fdl.append(fd)
    try:
        reply, _ = bus.call_with_unix_fd_list_sync(
            'org.tcs.Manager', '/org/tcs/Manager', 'org.tcs.Manager', method, params,
            GLib.VariantType('(a{sv})'), Gio.DBusCallFlags.NONE, 120000, fdl, None)
    except GLib.Error as e:
        print(Gio.DBusError.get_remote_error(e) or e.message)
        sys.exit(1)
    print(json.dumps(reply.unpack()[0]))


def main():
    cmd = sys.argv[1]
    if cmd == 'backup':
        path, secret, owner = sys.argv[2:5]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        call('Backup', GLib.Variant('(hayaya{sv})', (0, secret.encode(), owner.encode(), {})), [fd])
    elif cmd == 'restore':
        path, safety, secret, owner = sys.argv[2:6]
        opts = {o.split('=')[0]: GLib.Variant('b', True) for o in sys.argv[6:]}
        fd = os.open(path, os.O_RDONLY)
        sfd = os.open(safety, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        call('Restore', GLib.Variant('(hhayaya{sv})', (0, 1, secret.encode(), owner.encode(), opts)),
             [fd, sfd])
    else:
        sys.exit(2)


if __name__ == '__main__':
    main()
