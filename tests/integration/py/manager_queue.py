#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Scenarios for test-manager-queue.sh: org.tcs.Manager calls in flight at once
(GDBus through PyGObject: asynchronous calls, descriptors, the interactive flag).

  manager_queue.py polkit-never LOG        a polkit authority that never answers
                                           CheckAuthorization; logs calls to LOG
  manager_queue.py call-interactive METHOD a call with ALLOW_INTERACTIVE_AUTHORIZATION
                                           (ClearOwner, ForgetOwnerSecret)
  manager_queue.py stuck-io PORT DIR       Restore from a pipe that never delivers and
                                           Backup into one that never drains, while a
                                           TSS client and other manager calls go on
  manager_queue.py queue LOG DIR           owner operations queue behind a stalled
                                           Backup; a vanished caller's is dropped;
                                           the 17th waiting one is refused
Each scenario prints one JSON document of what it saw; the shell checks it.
"""
import fcntl
import json
import os
import struct
import sys
import time

from gi.repository import Gio, GLib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tcsd_wire  # noqa: E402

NAME, PATH, IFACE = "org.tcs.Manager", "/org/tcs/Manager", "org.tcs.Manager"
ADDRESS = os.environ["DBUS_SYSTEM_BUS_ADDRESS"]


def connect():
    return Gio.DBusConnection.new_for_address_sync(
        ADDRESS, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)


def ay(s):
    return s.encode()


class Call:
    """One asynchronous call; .done, .error (D-Bus name), .message, .elapsed."""

    def __init__(self, bus, method, args, fds=(), timeout_ms=120000,
                 flags=Gio.DBusCallFlags.NONE):
        self.done = False
        self.error = self.message = self.result = None
        self.start = time.monotonic()
        fdl = Gio.UnixFDList.new()
        for fd in fds:
            fdl.append(fd)
        bus.call_with_unix_fd_list(NAME, PATH, IFACE, method, args, None, flags, timeout_ms,
                                   fdl, None, self._on_reply)

    def _on_reply(self, bus, res):
        try:
            reply, _ = bus.call_with_unix_fd_list_finish(res)
            self.result = reply.unpack()
        except GLib.Error as e:
            self.error = Gio.DBusError.get_remote_error(e) or str(e)
            self.message = e.message
        self.elapsed = time.monotonic() - self.start
        self.done = True

    def report(self):
        return {"done": self.done, "error": self.error, "message": self.message,
                "elapsed": round(getattr(self, "elapsed", -1), 2)}


def run_until(cond, seconds):
    """Iterate the main loop until cond() or the time is up; cond()'s last value."""
    ctx = GLib.MainContext.default()
    end = time.monotonic() + seconds
    while not cond() and time.monotonic() < end:
        ctx.iteration(False)
        time.sleep(0.01)
    return cond()


def backup_args(fd_index, secret="s"):
    return GLib.Variant("(hayaya{sv})", (fd_index, ay(secret), ay(""), {}))


def stuffed_pipe():
    """A pipe whose buffer is full: a write into it cannot proceed until r is read."""
    r, w = os.pipe()
    fl = fcntl.fcntl(w, fcntl.F_GETFL)
    fcntl.fcntl(w, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    try:
        while True:
            os.write(w, b"\0" * 65536)
    except BlockingIOError:
        pass
    fcntl.fcntl(w, fcntl.F_SETFL, fl)
    return r, w


def get_random(port):
    """OpenContext, GetRandom(16), CloseContext over the TCSD wire; seconds taken or None."""
    t = time.monotonic()
    try:
        c = tcsd_wire.Conn(port, timeout=5)
        ctx = c.open_context()
        result, _, p = tcsd_wire.parse(c.call(tcsd_wire.ORD["GETRANDOM"],
                                              [tcsd_wire.u32(ctx), tcsd_wire.u32(16)]))
        ok = result == 0 and struct.unpack(">I", p[:4])[0] == 16
        c.call(tcsd_wire.ORD["CLOSECONTEXT"], [tcsd_wire.u32(ctx)])
        c.close()
    except Exception:  # a stalled worker: timeout or closed connection
        return None
    return round(time.monotonic() - t, 2) if ok else None


def sync_call(bus, method, args, fds=(), seconds=8):
    c = Call(bus, method, args, fds, timeout_ms=int(seconds * 1000))
    run_until(lambda: c.done, seconds + 1)
    return c


# ---------------------------------------------------------------- scenarios

def polkit_never(log):
    xml = """<node><interface name="org.freedesktop.PolicyKit1.Authority">
      <method name="CheckAuthorization">
        <arg type="(sa{sv})" direction="in"/><arg type="s" direction="in"/>
        <arg type="a{ss}" direction="in"/><arg type="u" direction="in"/>
        <arg type="s" direction="in"/><arg type="(bba{ss})" direction="out"/>
      </method>
      <method name="CancelCheckAuthorization"><arg type="s" direction="in"/></method>
    </interface></node>"""
    pending = []  # the invocations, never answered

    def on_call(conn, sender, path, iface, method, params, inv):
        with open(log, "a") as f:
            if method == "CheckAuthorization":
                f.write("check %s flags=%d id=%s\n" % (params[1], params[3], params[4]))
                pending.append(inv)
            else:
                f.write("cancel %s\n" % params[0])
                inv.return_value(None)

    bus = connect()
    info = Gio.DBusNodeInfo.new_for_xml(xml)
    bus.register_object("/org/freedesktop/PolicyKit1/Authority", info.interfaces[0], on_call)
    Gio.bus_own_name_on_connection(bus, "org.freedesktop.PolicyKit1",
                                   Gio.BusNameOwnerFlags.NONE, None, None)
    GLib.MainLoop().run()


def call_interactive(method):
    bus = connect()
    args = {"ClearOwner": GLib.Variant("(aya{sv})", (ay(""), {})),
            "ForgetOwnerSecret": None}[method]
    c = Call(bus, method, args, flags=Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION)
    run_until(lambda: c.done, 60)
    print(json.dumps(c.report()))


def stuck_io(port, tmp):
    bus = connect()
    out = {}
    # Restore reading a pipe whose writer stays open and silent
    r, w = os.pipe()
    safety = os.open(os.path.join(tmp, "stuck-safety"), os.O_RDWR | os.O_CREAT | os.O_TRUNC,
                     0o600)
    restore = Call(bus, "Restore",
                   GLib.Variant("(hhayaya{sv})", (0, 1, ay("s"), ay(""), {})), [r, safety])
    os.close(r)
    os.close(safety)
    run_until(lambda: False, 0.5)
    out["restore_pending"] = not restore.done
    out["getrandom_during_restore"] = get_random(port)
    out["listkeys_during_restore"] = sync_call(bus, "ListKeys", GLib.Variant("(a{sv})", ({},))).report()
    f = os.open(os.path.join(tmp, "during-restore.arch"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                0o600)
    out["backup_during_restore"] = sync_call(bus, "Backup", backup_args(0), [f], 20).report()
    os.close(f)
    run_until(lambda: restore.done, 30)
    out["restore"] = restore.report()
    os.close(w)

    # Backup into a pipe that never drains
    r, w = stuffed_pipe()
    backup = Call(bus, "Backup", backup_args(0), [w])
    os.close(w)
    run_until(lambda: False, 1.0)
    out["getrandom_during_backup"] = get_random(port)
    out["listkeys_during_backup"] = sync_call(bus, "ListKeys", GLib.Variant("(a{sv})", ({},))).report()
    run_until(lambda: backup.done, 30)
    out["backup"] = backup.report()
    os.close(r)
    out["getrandom_after"] = get_random(port)
    print(json.dumps(out))


def log_has(log, text):
    try:
        with open(log, errors="replace") as f:
            return text in f.read()
    except OSError:
        return False


def queue(log, tmp):
    bus = connect()
    out = {}
    # A: holds the owner turn while its archive cannot be written
    r, w = stuffed_pipe()
    made = open(log, errors="replace").read().count("key archive made")
    a = Call(bus, "Backup", backup_args(0), [w])
    os.close(w)
    out["a_made"] = run_until(lambda: open(log, errors="replace").read().count(
        "key archive made") > made, 30)
    # B: a caller on its own connection, queued behind A, then gone
    bus_b = connect()
    fb_path = os.path.join(tmp, "vanished.arch")
    fb = os.open(fb_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    b = Call(bus_b, "Backup", backup_args(0), [fb])
    os.close(fb)
    run_until(lambda: False, 1.0)
    out["b_pending"] = not b.done
    bus_b.close_sync(None)
    out["b_dropped_logged"] = run_until(
        lambda: log_has(log, "Backup dropped: its caller left the bus"), 10)
    # C1..C16 wait; the 17th waiting one (D) is refused at once
    cs = []
    for i in range(16):
        fd = os.open(os.path.join(tmp, "queued%d.arch" % i), os.O_WRONLY | os.O_CREAT |
                     os.O_TRUNC, 0o600)
        cs.append(Call(bus, "Backup", backup_args(0), [fd]))
        os.close(fd)
    fd = os.open(os.path.join(tmp, "refused.arch"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                 0o600)
    d = Call(bus, "Backup", backup_args(0), [fd])
    os.close(fd)
    run_until(lambda: d.done, 10)
    out["d"] = d.report()
    out["c_pending_while_a_holds"] = sum(not c.done for c in cs)
    out["a_pending"] = not a.done
    # drain A's pipe: A completes, then the queue runs in order
    fl = fcntl.fcntl(r, fcntl.F_GETFL)
    fcntl.fcntl(r, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    got = bytearray()

    def drain():
        try:
            while True:
                chunk = os.read(r, 65536)
                if not chunk:
                    break
                got.extend(chunk)
        except BlockingIOError:
            pass
        return a.done

    run_until(drain, 30)
    drain()
    out["a"] = a.report()
    out["a_bytes_beyond_stuffing"] = len(got) > 65536
    run_until(lambda: all(c.done for c in cs), 120)
    out["c"] = [c.report() for c in cs]
    out["c_ok"] = sum(c.done and c.error is None for c in cs)
    out["c_files_written"] = sum(os.path.getsize(os.path.join(tmp, "queued%d.arch" % i)) > 0
                                 for i in range(16))
    run_until(lambda: False, 1.0)
    out["vanished_file_size"] = os.path.getsize(fb_path)
    out["b_done"] = b.done
    os.close(r)
    print(json.dumps(out))


def main():
    cmd = sys.argv[1]
    if cmd == "polkit-never":
        polkit_never(sys.argv[2])
    elif cmd == "call-interactive":
        call_interactive(sys.argv[2])
    elif cmd == "stuck-io":
        stuck_io(int(sys.argv[2]), sys.argv[3])
    elif cmd == "queue":
        queue(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit("unknown scenario " + cmd)


if __name__ == "__main__":
    main()
