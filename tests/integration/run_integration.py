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
import configparser
import hashlib
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nested import GuestError, Nested, Unexpected  # noqa: E402

DISK = ["disk-rw", "disk-durable", "disk-unsafe", "disk-readonly", "disk-console", "disk-lock"]
NET = ["net-user", "net-restrict", "net-rxfreeze", "net-tap", "net-pair", "net-qemu"]
SCENARIOS = ["kvm-probe", "hello", "fibonacci", "hang", "abort", "selfbrk", "devices",
             "virtio-hostile", "oot-scratch", "linux-shell", "linux-smp", "linux-disk"] + DISK + \
    NET + ["l1-kernel-log"]
# Run by default (and by ctest).  tests/integration/smp-soak.py boots the
# 2-vCPU machine many times, for the interrupt-line races it once exposed.
DEFAULT = SCENARIOS
# Checked after everything else ran, so always run last (also with --only).
LAST = "l1-kernel-log"
# Interactive scenarios: Linux on the console, how many vCPUs it must see,
# and the line its init prints (the initramfs's, or the root disk's).
LINUX = {"linux-shell": (1, "avmm-guest: init started"),
         "linux-smp": (2, "avmm-guest: init started"),
         "linux-disk": (1, "avmm-guest: rootfs init started")}
# L2's UART sits behind two emulated PL011s and avmm: type slowly.
L2_CHAR_DELAY = 0.02
# hang runs `avmm --timeout HANG_TIMEOUT`; its watchdog must stop it within
# this window (seconds, as l1-scenarios.sh measures it around the whole run):
# an avmm that exits early or hangs until the harness's own 20 s kill fails.
HANG_TIMEOUT = 3
HANG_WINDOW = (HANG_TIMEOUT - 0.1, HANG_TIMEOUT + 1.5)

# avmm's stderr lines at warning level or above (core/log.c: "avmm: ",
# an optional "<device>: ", then the category).
AVMM_LOUD = re.compile(r"avmm: (?:[^:\n]+: )?(?:error|warning|guest error|unimplemented): [^\n]*")
# The warning+ lines each scenario expects, as regexes; each must match
# exactly one line, and any other warning+ line fails the scenario.
EXPECTED_AVMM = {
    "hang": [r"avmm: error: timeout: the guest did not finish within %d s; "
             r"stopping it \(status 124\)" % HANG_TIMEOUT],
    # The load and the LDP (decoded by avmm: no syndrome) from unmapped
    # addresses; the LDP from the PL011 is emulated without a word.
    "abort": [r"avmm: guest error: vcpu0: 8-byte read of unmapped address 0xf000000 at pc "
              r"0x[0-9a-f]+; injecting an external abort",
              r"avmm: guest error: vcpu0: 8-byte read of unmapped address 0xf000010 at pc "
              r"0x[0-9a-f]+; injecting an external abort"],
    # The register accesses the transport refuses, one line each; the ring
    # errors only set DEVICE_NEEDS_RESET.  Eight lines: under the device's
    # burst of ten (core/log.h), so none is suppressed.
    "virtio-hostile": [
        r"avmm: rng0: guest error: virtio-mmio: queue 0: QueueNum 0 is not a power of two "
        r"in 1\.\.\d+: not ready$",
        r"avmm: rng0: guest error: virtio-mmio: queue 0: QueueNum 3 is not a power of two "
        r"in 1\.\.\d+: not ready$",
        # 2 x QueueNumMax
        r"avmm: rng0: guest error: virtio-mmio: queue 0: QueueNum [1-9]\d+ is not a power of "
        r"two in 1\.\.\d+: not ready$",
        r"avmm: rng0: guest error: virtio-mmio: queue 0: rings at 0x30000000/0x40201000/"
        r"0x40202000 misaligned or outside RAM: not ready$",
        r"avmm: rng0: guest error: virtio-mmio: 1-byte read of register 0x000: RAZ$",
        r"avmm: rng0: guest error: virtio-mmio: 2-byte read of register 0x004: RAZ$",
        r"avmm: rng0: guest error: 8-byte read at 0xa000000 \(offset 0x0\) not supported by "
        r"this device; pc 0x[0-9a-f]+$",
        r"avmm: rng0: guest error: virtio-mmio: 1-byte write of register 0x070: ignored$"],
    # L1 takes the tap down (the guest pings meanwhile), then deletes it.
    "net-tap": [r"avmm: net0: warning: virtio-net: tap avtap0 is down: frames from the "
                r"guest are dropped until `ip link set avtap0 up`$",
                r"avmm: net0: warning: virtio-net: tap avtap0 was deleted: link down$"],
    # Guest 2 powers off first, closing its end of guest 1's stream listener.
    "net-pair": [r"avmm: s1: warning: virtio-net: unixstream peer closed the connection: "
                 r"link down until the next one connects$"],
    # The QEMU guest powers off first, closing its stream server's connection.
    "net-qemu": [r"avmm: s1: warning: virtio-net: unixstream peer closed the connection: "
                 r"link down$"],
}
# tests/guests/virtio-hostile.S's cases, in its order: each must print
# "virtio-hostile: NAME: ok".
VIRTIO_HOSTILE_CASES = [
    "queuesel", "queuenum", "rings-outside", "narrow",
    "feat-no-v1", "feat-unoffered", "feat-word2", "feat-ok",
    "loop", "ind-unneg", "ind-nested", "ind-next", "ind-big", "ind-len", "ind-loop",
    "ind-outside", "wrap", "outside", "straddle", "idx-jump", "head-range", "next-range",
    "order", "good-chain", "good-four", "good-indirect"]

# A kernel log's trouble lines (what l1-scenarios.sh and KLOG_CMD grep for,
# made precise here).
KERNEL_TROUBLE = re.compile(r"WARN|BUG|Oops|Call trace")
# The one kernel-log complaint a Linux guest may have, and only when avmm
# said (with -v) that the host kernel would not let it hide the GICv3 CPU
# interface from the guest (core/accel_kvm.c): Linux 6.1's KVM reports
# ID_AA64PFR0_EL1.GIC = 1 next to avmm's GICv2, so gic_cpu_init WARNs
# ("GICv3 system registers enabled, broken firmware!") once per boot.
HOST_KEEPS_GIC = re.compile(r"avmm: kvm: the host kernel keeps ID_AA64PFR0_EL1\.GIC = \d")
GIC_SYSREG_WARN = [r"WARNING: CPU: 0 PID: 0 at drivers/irqchip/irq-gic\.c:\d+ gic_cpu_init",
                   r"Call trace:"]
# In L2: its kernel log's line count (so an empty log cannot pass) and
# trouble lines, between two markers.  Neither the markers nor the pattern
# read the same typed as printed, so the shell's echo of this line (wrapped
# or not) is never taken for output.
KLOG_CMD = ("k=$(dmesg);echo @@K$((2));echo \"$k\"|wc -l;"
            "echo \"$k\"|grep -E 'WAR[N]|BU[G]|Oop[s]|Call t[r]ace';echo @@K$((3))")


class Failed(Exception):
    pass


class FailedAfterEnd(Failed):
    """A check on a Linux scenario's output once avmm had already exited."""


def check(cond, what, out):
    if not cond:
        raise Failed("%s\n--- scenario output ---\n%s" % (what, out[-3000:]))


def match_expected(lines, expected, what, out):
    """Every line must match one of the `expected` regexes and each regex
    exactly one line."""
    hits = {rx: [] for rx in expected}
    unexpected = []
    for line in lines:
        for rx in expected:
            if re.search(rx, line):
                hits[rx].append(line)
                break
        else:
            unexpected.append(line)
    check(not unexpected, "%d unexpected %s: %s" % (len(unexpected), what,
                                                      "\n  ".join(unexpected)), out)
    for rx, got in hits.items():
        check(len(got) == 1, "%s: want exactly one line matching /%s/, got %d%s"
              % (what, rx, len(got), "".join("\n  " + g for g in got)), out)


def check_avmm_lines(name, out):
    match_expected(AVMM_LOUD.findall(out), EXPECTED_AVMM.get(name, []),
                   "avmm warning/error lines", out)


REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def guest_stop_pc(guest):
    """Where the guest's BRK must stop: its config's load-address plus the
    `stop' symbol of the object the packed .bin came from (tools/mkl1.sh
    copies each guest's nm output, NAME.sym, next to it)."""
    l1 = os.environ.get("AVMM_L1_DIR", os.path.join(REPO, "build", "l1"))
    syms = [os.path.join(l1, d, "avmm", "build", "guests", guest + ".sym")
            for d in ("root", "native")]
    syms = [f for f in syms if os.path.exists(f)]
    if not syms:
        raise Failed("no %s.sym under %s: tools/cross-build.sh writes it and tools/mkl1.sh "
                     "packs it" % (guest, l1))
    sym = max(syms, key=os.path.getmtime)
    stop = None
    with open(sym) as f:
        for line in f:
            fields = line.split()
            if len(fields) == 3 and fields[2] == "stop":
                stop = int(fields[0], 16)
    if stop is None:
        raise Failed("%s has no 'stop' symbol" % sym)
    cfg = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    cfg.read(os.path.join(REPO, "configs", guest + ".ini"))
    return int(cfg["boot"]["load-address"], 0) + stop


def check_regs(out, rc, x0, guest):
    pc = guest_stop_pc(guest)
    stopped = r"avmm: vcpu0 stopped at BRK #0x0, pc 0x%x\b" % pc
    check(re.search(stopped, out), "no line matching /%s/ (the `stop' label of %s.S)"
          % (stopped, guest), out)
    line = r"x0  = 0x%016x \(%d\)" % (x0, x0)
    check(re.search(line, out), "no register dump line matching /%s/" % line, out)
    pcline = r"pc  = 0x%016x\n" % pc
    check(re.search(pcline, out), "no register dump line matching /%s/" % pcline.strip(), out)
    check(rc == 0, "avmm exit status %d, want 0" % rc, out)


def batch_check(name, out, rc, t):
    check_avmm_lines(name, out)
    if name == "kvm-probe":
        check(rc == 0, "kvm-probe exit status %d, want 0" % rc, out)
        check(re.search(r"KVM_CAP_ARM_USER_IRQ = 1\b", out), "KVM_CAP_ARM_USER_IRQ is not 1", out)
    elif name == "hello":
        check_regs(out, rc, 42, name)
    elif name == "fibonacci":
        check_regs(out, rc, 55, name)
    elif name == "hang":
        check(rc == 124, "avmm --timeout %d exit status %d, want 124" % (HANG_TIMEOUT, rc), out)
        check(HANG_WINDOW[0] <= t <= HANG_WINDOW[1],
              "avmm --timeout %d ended after %.1f s, want %.1f-%.1f s (its own watchdog)"
              % (HANG_TIMEOUT, t, HANG_WINDOW[0], HANG_WINDOW[1]), out)
    elif name == "abort":
        # x0 = 0: the guest checked EC, DFSC, FAR and ELR of both aborts and
        # the values its LDP from the PL011 read.
        check_regs(out, rc, 0, name)
    elif name == "selfbrk":
        # brk-exit = false: the guest took its BRK itself and powered off.
        check(rc == 0, "selfbrk exit status %d, want 0 (124: the guest parked at `fail')"
              % rc, out)
        check("stopped at BRK" not in out, "avmm stopped the guest at its BRK", out)
    elif name == "devices":
        # x0 = 0: the guest's own UART, GIC and timer checks passed.
        check(re.search(r"(?m)^devices: hello through the PL011$", out),
              "the guest's line 'devices: hello through the PL011' is missing", out)
        check_regs(out, rc, 0, name)
    elif name == "virtio-hostile":
        # Every case's line, in order; x0 = 0 says the same as a bitmask.
        # avmm's lines (stderr) are taken out first: one could land inside a
        # line of the guest's (stdout) that the PL011's chardev still queued.
        guest = re.sub(AVMM_LOUD.pattern + r"\n?", "", out)
        got = re.findall(r"(?m)^virtio-hostile: (\S+): (.*)$", guest)
        bad = ["%s: %s" % g for g in got if g[1] != "ok"]
        check(not bad, "virtio-hostile cases failed: %s (steps: tests/guests/virtio-hostile.S)"
              % ", ".join(bad), out)
        check([g[0] for g in got] == VIRTIO_HOSTILE_CASES,
              "virtio-hostile printed cases %s, want %s" % ([g[0] for g in got],
                                                          VIRTIO_HOSTILE_CASES), out)
        check(re.search(r"(?m)^virtio-hostile: done$", guest), "virtio-hostile never finished",
              out)
        check_regs(out, rc, 0, name)
    elif name == "oot-scratch":
        # x0 = 0: the out-of-tree plugin's registers read back and counted.
        check_regs(out, rc, 0, name)
        m = re.search(r"avmm: s0: (\d+) accesses", out)
        check(m and int(m.group(1)) == 11, "the scratch plugin did not log '11 accesses' "
              "(the guest's 11 MMIO accesses) at exit", out)
    elif name in DISK:
        disk_check(name, out, rc)
    elif name in NET:
        net_check(name, out, rc)
    elif name == LAST:
        m = re.search(r"lines: (\d+)", out)
        check(m and int(m.group(1)) > 20, "L1's dmesg printed (almost) nothing", out)
        trouble = [l for l in out.splitlines() if KERNEL_TROUBLE.search(l)]
        match_expected(trouble, [], "lines in L1's kernel log", out)


def known_sha256():
    """SHA-256 of /etc/avmm-known as the x86 host reads it from the root disk
    tools/mkrootfs.sh made (debugfs here, not the guest's path)."""
    guest = os.environ.get("AVMM_GUEST_DIR", os.path.join(REPO, "build", "guest"))
    r = subprocess.run(["debugfs", "-R", "cat /etc/avmm-known", os.path.join(guest, "rootfs.img")],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if r.returncode != 0 or len(r.stdout) != 1 << 20:
        raise Failed("debugfs could not read /etc/avmm-known (%d bytes) from %s/rootfs.img"
                     % (len(r.stdout), guest))
    return hashlib.sha256(r.stdout).hexdigest()


def section(out, begin, end, what):
    m = re.search(r"%s\n(.*?)%s" % (re.escape(begin), re.escape(end)), out, re.S)
    check(m, "no %s ... %s section (%s)" % (begin, end, what), out)
    return m.group(1)


def want(pattern, text, what, out):
    m = re.search(pattern, text, re.M)
    check(m, "%s: no line matching /%s/" % (what, pattern), out)
    return m


def l2_batch_log(out, gic_allowed):
    """A batch guest's kernel log (between @@K2 and @@K3) and its console."""
    log = section(out, "@@K2", "@@K3", "the L2 kernel log")
    lines = log.splitlines()
    check(lines and lines[0].strip().isdigit() and int(lines[0]) > 20,
          "L2's dmesg printed (almost) nothing", out)
    match_expected([l for l in lines[1:] if l.strip()], GIC_SYSREG_WARN if gic_allowed else [],
                   "lines in L2's kernel log", out)
    console = re.sub(r"\n@@K2\n.*?\n@@K3\n", "\n", out, flags=re.S)
    trouble = [l for l in console.splitlines() if KERNEL_TROUBLE.search(l)]
    match_expected(trouble, [], "lines on L2's console", out)


def disk_check(name, out, rc):
    """tests/integration/l1-disk.sh's scenarios."""
    check(rc == 0, "disk.sh exit status %d" % rc, out)
    gic_allowed = bool(HOST_KEEPS_GIC.search(out))
    if name != "disk-lock":
        want(r"^avmm-guest: rootfs init started \(batch\)$", out, "L2 booted from the disk", out)
        l2_batch_log(out, gic_allowed)
    host = section(out, "@@HOST-BEGIN", "@@HOST-END", "L1's view of the image") \
        if name != "disk-lock" and name != "disk-console" else ""
    if name == "disk-rw":
        want(r"^%s  /etc/avmm-known$" % known_sha256(), out, "sha256 of the known file", out)
        want(r"^/dev/vda / ext4 rw[, ]", out, "root mounted read-write from vda", out)
        want(r"^write_cache=write back$", out, "FLUSH offered (cache = writeback)", out)
        want(r"^rng=virtio_rng\.\d+$", out, "virtio_rng is the current hw_random", out)
        want(r"^hwrng-bytes=64$", out, "/dev/hwrng gave 64 bytes", out)
        want(r"^remounted-ro$", out, "the guest synced and remounted read-only", out)
        want(r"^AVMM-L2-STATUS=0$", out, "the guest script", out)
        want(r"^avmm-rc=0$", out, "avmm's exit status after poweroff", out)
        want(r"^e2fsck-rc=0$", host, "the image is clean (e2fsck -fn)", out)
        want(r"^host-written\.txt=avmm-written-42$", host, "debugfs reads /written.txt", out)
        g = want(r"^guest-written\.bin=([0-9a-f]{64})  /written.bin$", out, "the guest's sha256", out)
        want(r"^host-written\.bin=%s  -$" % g.group(1), host, "debugfs reads the same /written.bin",
             out)
    elif name in ("disk-durable", "disk-unsafe"):
        wc = "write back" if name == "disk-durable" else "write through"
        want(r"^write_cache=%s$" % wc, out, "FLUSH %s" % ("offered" if name == "disk-durable"
                                                        else "not offered (cache = unsafe)"), out)
        want(r"^killed avmm \(SIGKILL\) after RECORD-2-DONE$", out, "the guest's record", out)
        want(r"^avmm-rc=137$", out, "avmm died of SIGKILL", out)
        want(r"^e2fsck-rc=[01]$", host, "e2fsck -fp replayed the journal", out)
        want(r"^host-record=durable-record-42$", host, "the flushed record is in the image", out)
    elif name == "disk-readonly":
        want(r"^ro=1$", out, "the guest sees a read-only disk", out)
        want(r"^/dev/vda / ext4 ro[, ]", out, "root mounted read-only", out)
        want(r"^fs-write-refused$", out, "a file-system write fails", out)
        want(r"^dev-write-refused$", out, "a raw write to the device fails", out)
        want(r"^AVMM-L2-STATUS=0$", out, "the guest script", out)
        want(r"^avmm-rc=0$", out, "avmm's exit status", out)
        want(r"^image-unchanged$", host, "the image is byte-identical", out)
    elif name == "disk-console":
        hvc = section(out, "@@HVC-BEGIN", "@@HVC-END", "what socat read from hvc0")
        # (getty's first prompt may come before socat connects: a unix chardev
        # without a client drops output, so the login is read from the console)
        want(r"^login\[\d+\]: root login on 'hvc0'$", out, "a root login on hvc0", out)
        want(r"^hvc-42 /dev/hvc0$", hvc, "the shell on hvc0 answered", out)
        want(r"^HVC-2-SEEN$", out, "the guest saw the hvc0 shell's file", out)
        want(r"^AVMM-L2-STATUS=0$", out, "the guest script", out)
        want(r"^avmm-rc=0$", out, "avmm's exit status", out)
    elif name == "disk-lock":
        second = section(out, "@@SECOND-BEGIN", "@@SECOND-END", "the second avmm")
        want(r"^second-rc=2$", second, "the second avmm on the image exits 2", out)
        want(r"disk-lock\.img", second, "the second avmm's error names the image", out)


# virtio-net feature bits (virtio 1.2 5.1.3) in the guest's
# /sys/class/net/eth0/device/features: one '0'/'1' per bit, bit 0 first.
NET_FEATURES = {"CSUM": 0, "GUEST_CSUM": 1, "MTU": 3, "MAC": 5, "GUEST_TSO4": 7,
                "GUEST_TSO6": 8, "HOST_TSO4": 11, "HOST_TSO6": 12, "MRG_RXBUF": 15,
                "STATUS": 16}
NET_ALWAYS = ["MTU", "MAC", "MRG_RXBUF", "STATUS"]
# 1 MiB over TCP in frames of at most 1514 bytes (1460 of payload) takes at
# least 719 frames.  Fewer than NET_TSO_FRAMES means frames larger than the
# MTU (1613 bytes of payload on average), so segmentation offload in use.
# How far below it lands depends on the sender's TCP (L1 to the guest has
# taken 64, 114 and 332 frames; the guest to L1 about 45), so the limit sits
# between the two: with TSO off either way it is at least 719 (seen: 731).
NET_NO_TSO_FRAMES = 719
NET_TSO_FRAMES = 650
NET_OFFLOADS = ["CSUM", "GUEST_CSUM", "GUEST_TSO4", "GUEST_TSO6", "HOST_TSO4", "HOST_TSO6"]


def net_features(out, want_on, want_off):
    f = want(r"^features=([01]{64})$", out, "the guest's virtio-net features", out).group(1)
    bad = ["%s=%s" % (n, f[NET_FEATURES[n]]) for n in want_on if f[NET_FEATURES[n]] != "1"] + \
        ["%s=%s" % (n, f[NET_FEATURES[n]]) for n in want_off if f[NET_FEATURES[n]] != "0"]
    check(not bad, "negotiated virtio-net features: %s (want on: %s; off: %s)"
          % (", ".join(bad), ", ".join(want_on), ", ".join(want_off) or "-"), out)


def pair_check(name, out, rc):
    """net-pair (two avmm guests) and net-qemu (guest 2 under QEMU): each
    fetches the other's file over both links."""
    check(rc == 0, "net.sh exit status %d" % rc, out)
    host = section(out, "@@HOST-BEGIN", "@@HOST-END", "what L1 saw")
    known = known_sha256()
    gic_allowed = bool(HOST_KEEPS_GIC.search(out))
    for i, end in ((1, "@@GUEST-2"), (2, "@@GUESTS-END")):
        g = section(out, "@@GUEST-%d" % i, end, "guest %d's console and avmm" % i)
        vmm = "qemu" if name == "net-qemu" and i == 2 else "avmm"
        who = "guest %d (%s): " % (i, vmm)
        want(r"^%s-rc-%d=0$" % (vmm, i), host, who + "exit status after poweroff", out)
        if vmm == "qemu":
            said = re.findall(r"(?m)^qemu-system-aarch64: .*$", g)
            check(not said, who + "QEMU said: " + "; ".join(said), out)
        want(r"^avmm-guest: rootfs init started \(batch\)$", g, who + "booted from the disk", out)
        l2_batch_log(g, gic_allowed)
        want(r"^AVMM-L2-STATUS=0$", g, who + "the guest script", out)
        want(r"^links=eth\d,eth\d$", g, who + "both cards found by MAC", out)
        for link in ("dgram", "stream"):
            want(r"^%s  /run/%s$" % (known, link), g,
                 who + "sha256 of the peer's file fetched over " + link, out)
            m = want(r"^%s-rx-bytes=(\d+)$" % link, g, who + link + " bytes received", out)
            check(int(m.group(1)) >= 1 << 20, "%s%s received %s bytes, less than the 1 MiB "
                  "file" % (who, link, m.group(1)), out)
        m = want(r"^peer-done-tries=(\d+)$", g, who + "the peer's done file", out)
        check(int(m.group(1)) < 60, who + "never fetched the peer's done file", out)
        if i == 1:
            want(r"^stream-carrier=0$", g, who + "the stream link went down at the end", out)


def net_check(name, out, rc):
    """tests/integration/l1-net.sh's scenarios."""
    if name in ("net-pair", "net-qemu"):
        return pair_check(name, out, rc)
    check(rc == 0, "net.sh exit status %d" % rc, out)
    want(r"^avmm-guest: rootfs init started \(batch\)$", out, "L2 booted from the disk", out)
    l2_batch_log(out, bool(HOST_KEEPS_GIC.search(out)))
    host = section(out, "@@HOST-BEGIN", "@@HOST-END", "what L1 saw")
    known = known_sha256()
    want(r"^AVMM-L2-STATUS=0$", out, "the guest script", out)
    want(r"^avmm-rc=0$", host, "avmm's exit status after poweroff", out)
    if name in ("net-user", "net-restrict", "net-tap"):
        # The guest served L1: a short page and the 1 MiB file.
        want(r"^host-got=guest-served-42$", host, "L1 fetched the guest's page", out)
        want(r"^host-big=%s  -$" % known, host, "L1 fetched the guest's 1 MiB file", out)
        want(r"^STOP-2-SEEN$", out, "L1 reached the guest's port 7", out)
    if name in ("net-user", "net-restrict"):
        want(r"^dhcp-rc=0$", out, "udhcpc got a lease", out)
        want(r"^\s*inet 10\.0\.2\.15/24 ", out, "the guest's DHCP address", out)
        net_features(out, NET_ALWAYS, NET_OFFLOADS)
    if name == "net-user":
        # (restricted, libslirp's DHCP offers neither a router nor DNS)
        want(r"^default via 10\.0\.2\.2 dev eth0", out, "the default route from DHCP", out)
        want(r"^nameserver 10\.0\.2\.3$", out, "the DNS server from DHCP", out)
        want(r"^wget-rc=0$", out, "the guest fetched L1's file through the gateway", out)
        want(r"^%s  /run/k$" % known, out, "sha256 of the file the guest fetched", out)
        # Without offloads: net-tap's frame limit must be well below this.
        m = want(r"^guest-rx-frames=(\d+)$", out, "frames of the 1 MiB fetch", out)
        check(int(m.group(1)) >= NET_NO_TSO_FRAMES, "1 MiB without offloads took only %s "
              "frames: the frame count does not measure what net-tap assumes" % m.group(1), out)
        want(r"^dns-queries-seen=[1-9]\d*$", host, "slirp forwarded a DNS query to L1's "
             "resolver", out)
    elif name == "net-restrict":
        want(r"^wget-rc=[1-9]\d*$", out, "restrict = on: the guest's fetch from L1 fails", out)
    elif name == "net-tap":
        want(r"^wget-rc=0$", out, "the guest fetched L1's file over the tap", out)
        want(r"^%s  /run/k$" % known, out, "sha256 of the file the guest fetched", out)
        net_features(out, NET_ALWAYS + NET_OFFLOADS, [])
        # With TSO and the guest's GSO (GUEST_TSO4 on receive), well below
        # NET_TSO_FRAMES; TSO off in either direction, above it.
        for what, key in (("L1 to the guest", "guest-rx-frames"),
                          ("the guest to L1", "tap-rx-frames")):
            m = want(r"^%s=(\d+)$" % key, out, "frames counted " + what, out)
            check(int(m.group(1)) < NET_TSO_FRAMES, "1 MiB from %s took %s frames, want < %d: "
                  "segmentation offload is not in use" % (what, m.group(1), NET_TSO_FRAMES), out)
        want(r"^tap-set-down$", host, "L1 took the tap down", out)
        want(r"^tap-deleted$", host, "L1 deleted the tap", out)
        want(r"^carrier-after-delete=0$", out, "the guest saw its link go down", out)
    elif name == "net-rxfreeze":
        want(r"^wget1-rc=0$", out, "the first fetch through the gateway", out)
        want(r"^flooded$", host, "L1 flooded the guest", out)
        m = want(r"^rx-while-down=(\d+)$", out, "frames taken while eth0 was down", out)
        # The device filled what the queue had posted (256 entries) and then
        # had to wait: well over a hundred frames arrived while down.
        check(int(m.group(1)) >= 128, "only %s frames reached the guest while eth0 was down, "
              "want >= 128 (did the flood happen?)" % m.group(1), out)
        want(r"^wget2-rc=0$", out, "traffic flows again after the guest refilled", out)
        want(r"^%s  /run/k2$" % known, out, "sha256 of the file fetched after the freeze", out)


def l2_kernel_log(g, ended, gic_allowed, when):
    """Type KLOG_CMD in L2 and check what its kernel log says."""
    g.sendline(KLOG_CMD, L2_CHAR_DELAY)
    m1 = g.expect(r"\n@@K2\n", 60, fail=ended)
    m2 = g.expect(r"\n@@K3\n", 60, fail=ended)
    log = g.buf[m1.end():m2.start() + 1]
    g.expect(r"~ # ", 60, fail=ended)
    lines = log.splitlines()
    check(lines and lines[0].strip().isdigit() and int(lines[0]) > 20,
          "L2's dmesg (%s) printed (almost) nothing" % when, log)
    match_expected([l for l in lines[1:] if l.strip()], GIC_SYSREG_WARN if gic_allowed else [],
                   "lines in L2's kernel log (%s)" % when, log)


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


def linux_shell(g, name, begin, cpus=1, init_line="avmm-guest: init started"):
    t = {}
    t0 = time.monotonic()
    ended = r"@@SCENARIO-END %s rc=\d+ t=[0-9.]+@@" % re.escape(name)
    g.expect(re.escape(init_line), 180, fail=ended)
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
    gic_allowed = bool(HOST_KEEPS_GIC.search(g.buf, begin))
    l2_kernel_log(g, ended, gic_allowed, "first boot")
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
    g.expect(re.escape(init_line), 180, fail=ended)
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
    l2_kernel_log(g, ended, gic_allowed, "after the reset")
    g.sendline("poweroff -f", L2_CHAR_DELAY)
    m = g.expect(r"@@SCENARIO-END %s rc=(\d+) t=([0-9.]+)@@" % re.escape(name), 120)
    rc = int(m.group(1))
    check(rc == 0, "avmm exit status %d after 'poweroff -f', want 0" % rc, g.buf[start:])
    # The console outside the kernel-log listings (a panic or an Oops gets
    # through "quiet"), and avmm's own lines.
    out = g.buf[begin:m.start()]
    console = re.sub(r"\n@@K2\n.*?\n@@K3\n", "\n", out, flags=re.S)
    trouble = [l for l in console.splitlines() if KERNEL_TROUBLE.search(l)]
    try:
        match_expected(trouble, [], "lines on L2's console", out)
        check_avmm_lines(name, out)
    except Failed as e:
        raise FailedAfterEnd(str(e))
    note = "; host keeps ID_AA64PFR0_EL1.GIC (gic_cpu_init WARN allowed)" if gic_allowed else ""
    return "timer count %d; %s%s" % (count, ", ".join("%s %.1f s" % kv for kv in t.items()), note)


def run_all(names, build, timeout):
    results = {}
    script = os.path.join(HERE, "l1-scenarios.sh")
    cmd = "/avmm/tests/scenarios.sh " + " ".join(names)
    t0 = time.monotonic()
    g = Nested(cmd, timeout=timeout, build=build,
               extra=["--add", script + ":/avmm/tests/scenarios.sh",
                      "--add", os.path.join(HERE, "l1-lib.sh") + ":/avmm/tests/lib.sh",
                      "--add", os.path.join(HERE, "l1-disk.sh") + ":/avmm/tests/disk.sh",
                      "--add", os.path.join(HERE, "l1-net.sh") + ":/avmm/tests/net.sh"],
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
                    detail = linux_shell(g, name, begin, *LINUX[name])
                else:
                    m = g.expect(r"@@SCENARIO-END %s rc=(\d+) t=([0-9.]+)@@" % re.escape(name),
                                 420)
                    out = g.buf[begin:m.start()]
                    batch_check(name, out, int(m.group(1)), float(m.group(2)))
                    detail = "rc %s" % m.group(1)
                results[name] = {"ok": True, "seconds": time.monotonic() - ts, "detail": detail}
            except (Failed, Unexpected) as e:
                results[name] = {"ok": False, "seconds": time.monotonic() - ts, "detail": str(e)}
                if name in LINUX and isinstance(e, Failed) and not isinstance(e, FailedAfterEnd):
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
    names = [n for n in names if n != LAST] + [LAST]
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
