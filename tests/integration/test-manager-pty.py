#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Run a command on a new pseudo-terminal and answer its questions.

Usage: test-manager-pty.py [--timeout S] [EXPECT ANSWER]... -- COMMAND [ARG...]

For each pair, waits until the terminal output contains EXPECT (text), then
types ANSWER and a newline. An ANSWER of the form @cmdline:FILE:TEXT first
saves the command's /proc/PID/cmdline (NULs as spaces) in FILE, then types
TEXT: what ps(1) shows while the command waits. Afterwards it reads the rest of the output.
Prints the whole transcript (\\r removed) on stdout and exits with the
command's exit status; 124 when an EXPECT did not come in time (the
transcript so far goes to stderr).
"""
import os
import pty
import select
import sys
import time


def main():
    args = sys.argv[1:]
    timeout = 20.0
    if args[:1] == ['--timeout']:
        timeout = float(args[1])
        args = args[2:]
    sep = args.index('--')
    pairs = list(zip(args[:sep:2], args[1:sep:2]))
    cmd = args[sep + 1:]

    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = b''
    seen = 0

    def read_some(deadline):
        nonlocal out
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return False
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the command closed the terminal
            return None
        if not chunk:
            return None
        out += chunk
        return True

    for expect, answer in pairs:
        deadline = time.monotonic() + timeout
        while expect.encode() not in out[seen:]:
            r = read_some(deadline)
            if not r:
                sys.stderr.write(out.decode(errors='replace').replace('\r', ''))
                sys.stderr.write('\n[pty: no %r within %gs]\n' % (expect, timeout))
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                sys.exit(124)
        seen = out.index(expect.encode(), seen) + len(expect)
        # the prompt is printed before the terminal mode changes: let it settle
        time.sleep(0.2)
        if answer.startswith('@cmdline:'):
            _, path, answer = answer.split(':', 2)
            with open('/proc/%d/cmdline' % pid, 'rb') as f, open(path, 'wb') as o:
                o.write(f.read().replace(b'\0', b' '))
        os.write(fd, answer.encode() + b'\n')
    deadline = time.monotonic() + timeout
    while True:
        r = read_some(deadline)
        if r is None:
            break
        if r is False:
            sys.stderr.write('[pty: the command did not finish within %gs]\n' % timeout)
            os.kill(pid, 9)
            break
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors='replace').replace('\r', ''))
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128)


if __name__ == '__main__':
    main()
