#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""avmm's integration scenarios on real arm64 KVM, in one nested L1 boot.

  run_integration.py [--results FILE] [--only a,b] [--build]
      boots L1 once (tools/run-nested.sh), runs every scenario inside it,
      checks each one separately, writes FILE (JSON) and prints a summary;
      exits non-zero when L1 could not be booted at all, or (without
      --results) when any scenario failed
  run_integration.py --check NAME --results FILE
      reports one scenario's result from FILE: one ctest test per scenario
"""

import argparse
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nested import GuestError, Nested, Unexpected  # noqa: E402

SCENARIOS = ["kvm-probe", "hello", "fibonacci", "hang", "abort", "linux-shell", "linux-smp"]
# Run by default (and by ctest).  tests/integration/smp-soak.py boots the
# 2-vCPU machine many times, for the interrupt-line races it once exposed.
DEFAULT = SCENARIOS
# Interactive scenarios: Linux on the console, and how many vCPUs it must see.
LINUX = {"linux-shell": 1, "linux-smp": 2}
# L2's UART sits behind two emulated PL011s and avmm: type slowly.
L2_CHAR_DELAY = 0.02


class Failed(Exception):
    pass


def check(cond, what, out):
    if not cond:
        raise Failed("%s\n--- scenario output ---\n%s" % (what, out[-3000:]))


def check_regs(out, rc, x0_hex, x0_dec):
    check(re.search(r"avmm: vcpu0 stopped at BRK #0x0, pc 0x[0-9a-f]+", out),
          "no 'avmm: vcpu0 stopped at BRK #0x0, pc ...' line", out)
    line = r"x0  = 0x%016x \(%d\)" % (x0_hex, x0_dec)
    check(re.search(line, out), "no register dump line matching /%s/" % line, out)
    check(rc == 0, "avmm exit status %d, want 0" % rc, out)


def batch_check(name, out, rc):
    if name == "kvm-probe":
        check(rc == 0, "kvm-probe exit status %d, want 0" % rc, out)
        check(re.search(r"KVM_CAP_ARM_USER_IRQ = 1\b", out), "KVM_CAP_ARM_USER_IRQ is not 1", out)
    elif name == "hello":
        check_regs(out, rc, 42, 42)
    elif name == "fibonacci":
        check_regs(out, rc, 55, 55)
    elif name == "hang":
        check(rc == 124, "avmm --timeout 3 exit status %d, want 124" % rc, out)
        check(re.search(r"timeout", out, re.I), "no message mentioning 'timeout'", out)
    elif name == "abort":
        # x0 = 0: the guest checked EC, DFSC, FAR and ELR of both aborts itself.
        check_regs(out, rc, 0, 0)
        check(re.search(r"guest error: vcpu0: 8-byte read of unmapped address 0xf000000", out),
              "no guest-error line for the unmapped access", out)
        check(re.search(r"guest error: vcpu0: unsupported access form .* at 0x9000000", out),
              "no guest-error line for the ISV=0 access", out)


def arch_timer_counts(text):
    """Per-CPU counts on /proc/interrupts' arch_timer line (on a GIC)."""
    for line in text.splitlines():
        if "arch_timer" in line and "GIC" in line:
            fields = line.split()
            counts = []
            for f in fields[1:]:
                if not f.isdigit():
                    break
                counts.append(int(f))
            return counts, line.strip()
    return None, None


def arch_timer_count(text):
    """Sum of the per-CPU counts on /proc/interrupts' arch_timer line (on a GIC)."""
    counts, line = arch_timer_counts(text)
    return (sum(counts) if counts is not None else None), line


def linux_shell(g, name, cpus=1):
    t = {}
    t0 = time.monotonic()
    ended = r"@@SCENARIO-END %s rc=\d+ t=[0-9.]+@@" % re.escape(name)
    g.expect(r"avmm-guest: init started", 180, fail=ended)
    t["to init"] = time.monotonic() - t0
    g.expect(r"~ # ", 120, fail=ended)
    t["to prompt"] = time.monotonic() - t0
    g.sendline("echo $((6*7))", L2_CHAR_DELAY)
    g.expect(r"\n42\n", 60, fail=ended)
    g.expect(r"~ # ", 60, fail=ended)
    g.sendline("uname -m", L2_CHAR_DELAY)
    g.expect(r"\naarch64\n", 60, fail=ended)
    g.expect(r"~ # ", 60, fail=ended)
    start = len(g.buf)
    g.sendline("cat /proc/interrupts", L2_CHAR_DELAY)
    g.expect(r"arch_timer[^\n]*\n", 60, fail=ended)
    g.expect(r"~ # ", 60, fail=ended)
    counts, line = arch_timer_counts(g.buf[start:])
    check(counts is not None, "no arch_timer line on a GIC in /proc/interrupts", g.buf[start:])
    check(len(counts) == cpus, "%d CPU columns on the arch_timer line, want %d: %s"
          % (len(counts), cpus, line), g.buf[start:])
    check(all(c > 0 for c in counts), "an arch_timer count is 0: %s" % line, g.buf[start:])
    count = sum(counts)
    if cpus > 1:
        start = len(g.buf)
        g.sendline("nproc", L2_CHAR_DELAY)
        m = g.expect(r"\n(\d+)\n", 60, fail=ended)
        g.expect(r"~ # ", 60, fail=ended)
        check(int(m.group(1)) == cpus, "nproc says %s, want %d" % (m.group(1), cpus),
              g.buf[start:])
    t["commands"] = time.monotonic() - t0 - t["to prompt"]
    # A system reset restarts the guest inside the same avmm process.
    tr = time.monotonic()
    g.sendline("reboot -f", L2_CHAR_DELAY)
    g.expect(r"avmm-guest: init started", 180, fail=ended)
    g.expect(r"~ # ", 60, fail=ended)
    t["reboot"] = time.monotonic() - tr
    start = len(g.buf)
    g.sendline("echo $((6*7))", L2_CHAR_DELAY)
    g.expect(r"\n42\n", 60, fail=ended)
    g.expect(r"~ # ", 60, fail=ended)
    if cpus > 1:
        g.sendline("nproc", L2_CHAR_DELAY)
        m = g.expect(r"\n(\d+)\n", 60, fail=ended)
        g.expect(r"~ # ", 60, fail=ended)
        check(int(m.group(1)) == cpus, "after reboot nproc says %s, want %d" % (m.group(1), cpus),
              g.buf[start:])
    g.sendline("poweroff -f", L2_CHAR_DELAY)
    m = g.expect(r"@@SCENARIO-END %s rc=(\d+) t=([0-9.]+)@@" % re.escape(name), 120)
    rc = int(m.group(1))
    check(rc == 0, "avmm exit status %d after 'poweroff -f', want 0" % rc, g.buf[start:])
    return "timer count %d; %s" % (count, ", ".join("%s %.1f s" % kv for kv in t.items()))


def run_all(names, build, timeout):
    results = {}
    script = os.path.join(HERE, "l1-scenarios.sh")
    cmd = "/avmm/tests/scenarios.sh " + " ".join(names)
    t0 = time.monotonic()
    g = Nested(cmd, timeout=timeout, build=build,
               extra=["--add", script + ":/avmm/tests/scenarios.sh"],
               log=os.environ.get("AVMM_CONSOLE_LOG"))
    with g:
        try:
            g.expect(r"avmm-l1: up after", 600 if build else 120)
            t_boot = time.monotonic() - t0
            print("L1 booted after %.1f s (including the prepare steps run-nested.sh checks)"
                  % t_boot, flush=True)
            g.expect(r"avmm-l1: /dev/kvm present", 10)
        except GuestError as e:
            print("L1 did not boot: %s" % e, flush=True)
            return None
        dead = None
        for name in names:
            if dead:
                results[name] = {"ok": False, "seconds": 0,
                                 "detail": "not run: L1 died during '%s'" % dead}
                continue
            ts = time.monotonic()
            try:
                g.expect(r"@@SCENARIO-BEGIN %s@@\n" % re.escape(name), 120)
                begin = g.pos
                if name in LINUX:
                    detail = linux_shell(g, name, LINUX[name])
                else:
                    m = g.expect(r"@@SCENARIO-END %s rc=(\d+) t=([0-9.]+)@@" % re.escape(name),
                                 180)
                    out = g.buf[begin:m.start()]
                    batch_check(name, out, int(m.group(1)))
                    detail = "rc %s" % m.group(1)
                results[name] = {"ok": True, "seconds": time.monotonic() - ts, "detail": detail}
            except (Failed, Unexpected) as e:
                results[name] = {"ok": False, "seconds": time.monotonic() - ts, "detail": str(e)}
                if name in LINUX and isinstance(e, Failed):
                    # L2 may still be up: try to end it so later steps can run.
                    try:
                        g.sendline("poweroff -f", L2_CHAR_DELAY)
                        g.expect(r"@@SCENARIO-END %s rc=" % re.escape(name), 60)
                    except GuestError:
                        dead = name
            except GuestError as e:
                results[name] = {"ok": False, "seconds": time.monotonic() - ts, "detail": str(e)}
                dead = name
            r = results[name]
            print("%-12s %s  %6.1f s  %s" % (name, "PASS" if r["ok"] else "FAIL", r["seconds"],
                                             r["detail"].splitlines()[0] if r["detail"] else ""),
                  flush=True)
        if not dead:
            try:
                st = g.exit_status(120)
                print("L1 powered off, AVMM-EXIT-STATUS=%d" % st)
            except GuestError as e:
                print("warning: L1 did not finish cleanly: %s" % e)
    print("total %.1f s" % (time.monotonic() - t0))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results")
    ap.add_argument("--only", help="comma-separated scenarios (default: all)")
    ap.add_argument("--check", metavar="NAME")
    ap.add_argument("--build", action="store_true", help="let run-nested.sh rebuild avmm first")
    ap.add_argument("--timeout", type=int, default=1200, help="whole-run limit, seconds")
    args = ap.parse_args()

    if args.check:
        try:
            with open(args.results) as f:
                r = json.load(f)[args.check]
        except (OSError, ValueError, KeyError, TypeError):
            print("no result for '%s' in %s: the integration.boot test did not run or crashed"
                  % (args.check, args.results))
            return 1
        print("%s: %s (%.1f s)\n%s" % (args.check, "PASS" if r["ok"] else "FAIL",
                                         r["seconds"], r["detail"]))
        return 0 if r["ok"] else 1

    names = args.only.split(",") if args.only else DEFAULT
    for n in names:
        if n not in SCENARIOS:
            ap.error("unknown scenario '%s' (have: %s)" % (n, ", ".join(SCENARIOS)))
    if args.results and os.path.exists(args.results):
        os.unlink(args.results)
    results = run_all(names, args.build, args.timeout)
    if results is None:
        return 1
    passed = sum(1 for r in results.values() if r["ok"])
    if args.results:
        with open(args.results, "w") as f:
            json.dump(results, f, indent=1)
        return 0
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
