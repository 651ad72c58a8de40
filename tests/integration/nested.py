# SPDX-License-Identifier: MIT
"""Drive a guest console over a child process's stdio (standard library only).

Console   any command whose stdin/stdout is a serial console (QEMU -nographic)
Nested    tools/run-nested.sh --cmd CMD: an L1 arm64 Linux under QEMU that runs
          CMD and prints AVMM-EXIT-STATUS=<n> before powering off

    with Nested("avmm -c /avmm/configs/hello.ini", timeout=300) as g:
        g.expect(r"x0  = 0x000000000000002a \(42\)", 60)
        assert g.exit_status(60) == 0
"""

import os
import re
import select
import signal
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUN_NESTED = os.path.join(REPO, "tools", "run-nested.sh")

# ANSI escapes busybox's line editor sends (cursor queries and the like).
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class GuestError(Exception):
    """The guest did not do what was expected (hang, early exit, bad output)."""


class Unexpected(GuestError):
    """expect()'s `fail` pattern showed up first; the guest is still running."""


def _tail(text, n=1500):
    text = text[-n:]
    return text if text.strip() else "(no output)"


_live = set()


def _kill_live_and_reraise(signum, frame):
    """ctest's timeout or a `timeout` wrapper kills us with SIGTERM: QEMU runs in a
    session of its own, so take it down first instead of leaving it orphaned."""
    for c in list(_live):
        c.kill()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_signal_handlers():
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _kill_live_and_reraise)


class Console:
    """A child process whose stdio is a guest console."""

    def __init__(self, argv, timeout=600, log=None, echo=None, env=None):
        self.argv = list(argv)
        self.timeout = timeout
        self.start = time.monotonic()
        self.deadline = self.start + timeout
        self.buf = ""          # everything seen, \r and ANSI escapes stripped
        self.pos = 0           # expect() searches from here
        self.status = None     # AVMM-EXIT-STATUS once seen
        if echo is None:
            echo = os.environ.get("AVMM_CONSOLE_ECHO", "") not in ("", "0")
        self.echo = echo
        self.log = open(log, "w", encoding="utf-8", errors="replace") if log else None
        # A session of its own: on timeout the whole tree (script + QEMU) dies.
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True, env=env)
        os.set_blocking(self.proc.stdout.fileno(), False)
        _live.add(self)
        _install_signal_handlers()

    # -- plumbing ---------------------------------------------------------
    def elapsed(self):
        return time.monotonic() - self.start

    def _feed(self, data):
        data = _ANSI.sub(b"", data).replace(b"\r", b"")
        text = data.decode("utf-8", errors="replace")
        self.buf += text
        if self.echo:
            sys.stderr.write(text)
            sys.stderr.flush()
        if self.log:
            self.log.write(text)
            self.log.flush()

    def _read(self, wait):
        """Read what is available within `wait` seconds; False at EOF."""
        fd = self.proc.stdout.fileno()
        r, _, _ = select.select([fd], [], [], max(0.0, wait))
        if not r:
            return True
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        if not data:
            return False
        self._feed(data)
        return True

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        self.kill()
        _live.discard(self)
        if self.log:
            self.log.close()
            self.log = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the interface ----------------------------------------------------
    def expect(self, pattern, timeout=60, fail=None):
        """Wait for regex `pattern` in output not yet consumed; return the match.

        Raises GuestError when it does not show up within `timeout` seconds, the
        whole-run timeout expires (QEMU is then killed), the process ends, or
        regex `fail` (say, a "program ended" marker) shows up before it.
        """
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        frx = re.compile(fail) if isinstance(fail, str) else fail
        t0 = time.monotonic()
        end = min(t0 + timeout, self.deadline)
        eof = False
        while True:
            m = rx.search(self.buf, self.pos)
            f = frx.search(self.buf, self.pos) if frx else None
            if f and (not m or f.start() < m.start()):
                out = self.buf[self.pos:f.end()]
                self.pos = f.end()
                raise Unexpected("/%s/ appeared before /%s/ after %.1f s; output:\n%s" % (
                    frx.pattern, rx.pattern, time.monotonic() - t0, _tail(out)))
            if m:
                self.pos = m.end()
                return m
            now = time.monotonic()
            if eof or now >= end:
                break
            eof = not self._read(min(end - now, 0.5))
        waited = time.monotonic() - t0
        if eof:
            self.proc.wait()
            why = "guest exited (rc %s) before /%s/ appeared after %.1f s" % (
                self.proc.returncode, rx.pattern, waited)
        elif end >= self.deadline:
            why = "guest hung: whole-run timeout of %d s hit waiting for /%s/" % (
                self.timeout, rx.pattern)
        else:
            why = "guest hung: no match for /%s/ after %.0f s" % (rx.pattern, waited)
        self.kill()
        raise GuestError("%s; last output:\n%s" % (why, _tail(self.buf[self.pos:])))

    def send(self, text, char_delay=0.0):
        """Type `text` on the console. A per-character delay keeps slow nested
        UARTs (small RX FIFOs several emulation layers down) from dropping input."""
        data = text.encode()
        try:
            if char_delay <= 0:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
                return
            for i in range(len(data)):
                self.proc.stdin.write(data[i:i + 1])
                self.proc.stdin.flush()
                # keep draining output so the guest never blocks on its TX side
                self._read(char_delay)
        except BrokenPipeError:
            raise GuestError("guest console closed while sending %r; last output:\n%s"
                             % (text, _tail(self.buf)))

    def sendline(self, text, char_delay=0.0):
        self.send(text + "\n", char_delay)

    def exit_status(self, timeout=60):
        """Wait for AVMM-EXIT-STATUS=<n> and for the process to end; return n."""
        m = self.expect(r"AVMM-EXIT-STATUS=(\d+)\n", timeout)
        self.status = int(m.group(1))
        self.wait(min(30, max(1, self.deadline - time.monotonic())))
        return self.status

    def wait(self, timeout):
        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            if not self._read(min(0.5, end - time.monotonic())):
                break
        try:
            return self.proc.wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            raise GuestError("guest did not power off within %d s; last output:\n%s"
                             % (timeout, _tail(self.buf)))


class Nested(Console):
    """tools/run-nested.sh --cmd CMD: L1 Linux + CMD inside it."""

    def __init__(self, cmd=None, timeout=600, build=False, extra=(), **kw):
        argv = [RUN_NESTED, "--timeout", str(int(timeout) + 30)]
        if cmd is not None:
            argv += ["--cmd", cmd]
        if not build:
            argv.append("--no-build")
        argv += list(extra)
        super().__init__(argv, timeout=timeout, **kw)
