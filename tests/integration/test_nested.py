#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The console driver against plain shell commands (no QEMU): matching,
timeouts that kill the child and say what was awaited, early-end patterns, the
exit-status protocol, and the /proc/interrupts parser."""

import os
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nested import Console, GuestError, Unexpected  # noqa: E402
from run_integration import arch_timer_count  # noqa: E402


def sh(script, timeout=20):
    return Console(["sh", "-c", script], timeout=timeout)


class DriverTest(unittest.TestCase):
    def test_expect_consumes_in_order(self):
        with sh("printf 'a 1\\r\\nb 2\\n\\033[6nc 3\\n'") as c:
            self.assertEqual(c.expect(r"b (\d)").group(1), "2")
            # \r and ANSI escapes are gone; earlier output is not matched again
            self.assertEqual(c.expect(r"\nc (\d)\n").group(1), "3")
            with self.assertRaises(GuestError) as e:
                c.expect(r"a 1", 5)
            self.assertIn("exited", str(e.exception))

    def test_send_reaches_stdin(self):
        with sh("read x; echo got=$x") as c:
            c.sendline("hello", char_delay=0.001)
            c.expect(r"got=hello\n", 10)

    def test_hang_is_reported_and_killed(self):
        with sh("echo started; sleep 60") as c:
            c.expect("started", 10)
            t0 = time.monotonic()
            with self.assertRaises(GuestError) as e:
                c.expect(r"never", 1)
            self.assertLess(time.monotonic() - t0, 5)
            msg = str(e.exception)
            self.assertIn("guest hung: no match for /never/ after 1 s", msg)
            self.assertIsNotNone(c.proc.poll(), "child not killed")

    def test_whole_run_timeout(self):
        with sh("sleep 60", timeout=1) as c:
            with self.assertRaises(GuestError) as e:
                c.expect(r"x", 30)
            self.assertIn("whole-run timeout of 1 s", str(e.exception))

    def test_fail_pattern_first(self):
        with sh("echo '@@END rc=3@@'; echo prompt; sleep 5") as c:
            with self.assertRaises(Unexpected):
                c.expect(r"prompt", 10, fail=r"@@END rc=\d+@@")

    def test_exit_status(self):
        with sh("echo noise; echo AVMM-EXIT-STATUS=7") as c:
            self.assertEqual(c.exit_status(10), 7)


    def test_sigterm_takes_the_console_tree_down(self):
        # The driver killed by ctest's timeout must not orphan QEMU.
        script = ("import sys, time; sys.path.insert(0, %r)\n"
                  "from nested import Console\n"
                  "c = Console(['sh', '-c', 'sleep 300 & echo child $!; wait'])\n"
                  "print(c.expect(r'child (\\d+)', 10).group(1), flush=True)\n"
                  "time.sleep(60)\n" % HERE)
        p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        child = int(p.stdout.readline())
        os.kill(child, 0)  # alive
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10), -signal.SIGTERM)
        for _ in range(50):
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            self.fail("the console's child outlived the driver")


class InterruptsTest(unittest.TestCase):
    def test_arch_timer_sum(self):
        text = ("           CPU0       CPU1\n"
                " 11:        100         23     GICv2  27 Level     arch_timer\n"
                " 33:          5          0     GICv2  33 Level     uart-pl011\n")
        self.assertEqual(arch_timer_count(text)[0], 123)

    def test_no_gic_line(self):
        self.assertIsNone(arch_timer_count(" 11: 5 arch_timer\n")[0])


if __name__ == "__main__":
    unittest.main()
