#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One org.tcs.Manager call on the system bus (DBUS_SYSTEM_BUS_ADDRESS), for the tests.

  manager.py call METHOD [ARG...]   each ARG is JSON; these objects are special:
        {"ay": "text"} or {"ay_hex": "00ff"}  a byte array
        {"fd_read": PATH} / {"fd_write": PATH} a file descriptor opened on PATH
        {"fd_write_ro": PATH}                 a descriptor opened read-only, for a write
        {"a{sv}": {"key": ["type", value]}}   options with explicit GVariant types
  manager.py get PROPERTY | getall
  manager.py monitor FILE              append each KeysChanged signal as a JSON line
Prints {"result": [...]} and exits 0, or {"error": NAME, "message": TEXT} and exits 1.
"""
import json
import os
import sys

import dbus
import dbus.mainloop.glib

BUS_NAME = "org.tcs.Manager"
PATH = "/org/tcs/Manager"
IFACE = "org.tcs.Manager"

TYPES = {
    "s": dbus.String, "b": dbus.Boolean, "u": dbus.UInt32, "t": dbus.UInt64,
    "as": lambda v: dbus.Array(v, signature="s"),
}


def convert(arg, fds):
    if isinstance(arg, dict):
        if "ay" in arg:
            return dbus.ByteArray(arg["ay"].encode())
        if "ay_hex" in arg:
            return dbus.ByteArray(bytes.fromhex(arg["ay_hex"]))
        if "fd_read" in arg:
            fd = os.open(arg["fd_read"], os.O_RDONLY)
            fds.append(fd)
            return dbus.types.UnixFd(fd)
        if "fd_write" in arg:
            fd = os.open(arg["fd_write"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            fds.append(fd)
            return dbus.types.UnixFd(fd)
        if "fd_write_ro" in arg:
            fd = os.open(arg["fd_write_ro"], os.O_RDONLY)
            fds.append(fd)
            return dbus.types.UnixFd(fd)
        if "a{sv}" in arg:
            # values of type "ay" (text), "ay_hex", or "fd_write" (a descriptor, for "h")
            def value(t, v):
                if t == "ay":
                    return dbus.ByteArray(v.encode())
                if t == "ay_hex":
                    return dbus.ByteArray(bytes.fromhex(v))
                if t == "fd_write":
                    return convert({"fd_write": v}, fds)
                return TYPES[t](v)
            return dbus.Dictionary({k: value(t, v) for k, (t, v) in arg["a{sv}"].items()},
                                   signature="sv")
        return dbus.Dictionary(arg, signature="sv")
    return arg


def plain(v):
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.Array, list, tuple, dbus.Struct)):
        if isinstance(v, dbus.Array) and v.signature == "y":
            return bytes(v).hex()
        return [plain(x) for x in v]
    if isinstance(v, (dbus.Dictionary, dict)):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (dbus.ByteArray, bytes)):
        return bytes(v).hex()
    if isinstance(v, (int, dbus.Byte)):
        return int(v)
    if isinstance(v, str):
        return str(v)
    return v


def monitor(path):
    """Append KeysChanged signals to path as JSON lines; "{}" first when listening."""
    import dbus.mainloop.glib
    from gi.repository import GLib

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()

    def on_keys(reg, unreg):
        with open(path, "a") as f:
            f.write(json.dumps({"registered": [str(x) for x in reg],
                                "unregistered": [str(x) for x in unreg]}) + "\n")

    bus.add_signal_receiver(on_keys, "KeysChanged", IFACE, None, PATH)
    with open(path, "a") as f:
        f.write("{}\n")
    GLib.MainLoop().run()


def main():
    cmd = sys.argv[1]
    if cmd == "monitor":
        monitor(sys.argv[2])
        return
    bus = dbus.SystemBus()
    obj = bus.get_object(BUS_NAME, PATH, introspect=False)
    try:
        if cmd == "call":
            fds = []
            args = [convert(json.loads(a), fds) for a in sys.argv[3:]]
            res = obj.get_dbus_method(sys.argv[2], IFACE)(*args, timeout=300)
            for fd in fds:
                os.close(fd)
            if res is None:
                res = []
            elif not isinstance(res, tuple):
                res = [res]
            print(json.dumps({"result": plain(list(res))}))
        elif cmd == "get":
            v = obj.Get(IFACE, sys.argv[2], dbus_interface="org.freedesktop.DBus.Properties")
            print(json.dumps({"result": plain(v)}))
        elif cmd == "getall":
            v = obj.GetAll(IFACE, dbus_interface="org.freedesktop.DBus.Properties")
            print(json.dumps({"result": plain(v)}))
        else:
            raise SystemExit("unknown command " + cmd)
    except dbus.exceptions.DBusException as e:
        print(json.dumps({"error": e.get_dbus_name(), "message": e.get_dbus_message()}))
        sys.exit(1)


if __name__ == "__main__":
    main()
