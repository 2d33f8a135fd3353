#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Drives an interactive quilt session (quilt shell, quilt exec -it) on a pseudo-terminal,
# as a person at a terminal would, for tests/test-exec.sh. Prints "key=value" lines with
# what it saw; the shell test asserts on them.
#
#   exec-pty.py session QUILT-ARGS...   runs QUILT-ARGS (e.g. quilt shell box) on a 30x100
#                                       terminal: tty, stty size, a resize to 40x120, Ctrl-C
#                                       of a sleep, "exit 5"
#   exec-pty.py timing QUILT-ARGS...    runs a non-interactive command and reports when its
#                                       first line and its end arrived (seconds)

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Session:
    def __init__(self, argv):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.buf = b""

    def read_until(self, pattern, timeout=10):
        """Reads until pattern (a regex on bytes) matches what arrived since the last match."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                print(f"# no {pattern!r} in {self.buf[-300:]!r}", file=sys.stderr)
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                continue
            try:
                data = os.read(self.fd, 4096)
            except OSError:
                return None
            if not data:
                return None
            # Line editors ask where the cursor is (DSR); a terminal answers.
            if b"\x1b[6n" in data:
                self.send(b"\x1b[1;5R")
            self.buf += CSI.sub(b"", data)

    def send(self, s):
        os.write(self.fd, s.encode() if isinstance(s, str) else s)

    def command(self, line):
        # After the prompt the line editor asks for the cursor position and reads the
        # answer; typing into that exchange loses keys, as it would for a fast typist.
        time.sleep(0.2)
        self.send(line + "\r")

    def wait(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                return os.waitstatus_to_exitcode(status)
            # Keep the terminal drained so that the child never blocks writing.
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                try:
                    os.read(self.fd, 4096)
                except OSError:
                    pass
        os.kill(self.pid, 9)
        return "timeout"


PROMPT = rb"[#$] $"
CSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def session(argv):
    # The size is set before the session starts (pty.fork gives the child our terminal's
    # size, which under a test runner is none): the child inherits it through the pty.
    pid, fd = pty.fork()
    if pid == 0:
        set_size(0, 30, 100)
        os.execvp(argv[0], argv)
    s = Session.__new__(Session)
    s.pid, s.fd, s.buf = pid, fd, b""

    out = {}
    out["prompt"] = int(s.read_until(PROMPT) is not None)
    s.command("tty")
    m = s.read_until(rb"(/dev/pts/\d+|not a tty)\r?\n")
    out["tty"] = m.group(1).decode() if m else "none"
    s.read_until(PROMPT)
    s.command("stty size")
    m = s.read_until(rb"\n(\d+ \d+)\r?\n")
    out["size"] = m.group(1).decode().replace(" ", "x") if m else "none"
    s.read_until(PROMPT)

    set_size(s.fd, 40, 120)  # the kernel sends quilt SIGWINCH
    time.sleep(0.3)
    s.command("stty size")
    m = s.read_until(rb"\n(\d+ \d+)\r?\n")
    out["resized"] = m.group(1).decode().replace(" ", "x") if m else "none"
    s.read_until(PROMPT)

    s.command("sleep 100")
    time.sleep(0.5)
    t0 = time.monotonic()
    s.send(b"\x03")
    out["interrupted"] = int(s.read_until(PROMPT, timeout=5) is not None)
    out["interrupt_ms"] = int((time.monotonic() - t0) * 1000)
    s.command("echo status=$?")
    m = s.read_until(rb"status=(\d+)")
    out["sleep_status"] = m.group(1).decode() if m else "none"
    s.read_until(PROMPT)

    s.command("exit 5")
    out["exit"] = s.wait()
    for k, v in out.items():
        print(f"{k}={v}")


def timing(argv):
    t0 = time.monotonic()
    s = Session(argv)
    first = s.read_until(rb"first")
    t_first = time.monotonic() - t0
    s.read_until(rb"second")
    status = s.wait()
    t_end = time.monotonic() - t0
    print(f"first={t_first:.2f}" if first else "first=none")
    print(f"end={t_end:.2f}")
    print(f"exit={status}")


if __name__ == "__main__":
    {"session": session, "timing": timing}[sys.argv[1]](sys.argv[2:])
