#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot the L2 guest (build/guest/{Image,initramfs.cpio.gz}) straight under
qemu-system-aarch64 (TCG, no avmm) and check its shell works: this separates
"the guest image is broken" from "avmm is broken" when linux-shell fails."""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nested import REPO, Console, GuestError  # noqa: E402
from run_integration import arch_timer_count  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--guest-dir", default=os.environ.get(
        "AVMM_GUEST_DIR", os.path.join(REPO, "build", "guest")))
    ap.add_argument("--timeout", type=int, default=180)
    args = ap.parse_args()

    image = os.path.join(args.guest_dir, "Image")
    initrd = os.path.join(args.guest_dir, "initramfs.cpio.gz")
    for f in (image, initrd):
        if not os.path.exists(f):
            print("missing %s: run tools/fetch-guest.sh and tools/mkinitramfs.sh" % f)
            return 1
    argv = ["qemu-system-aarch64", "-M", "virt", "-cpu", "max", "-m", "512", "-nographic",
            "-nic", "none",
            "-no-reboot", "-kernel", image, "-initrd", initrd,
            "-append", "console=ttyAMA0 quiet"]
    t0 = time.monotonic()
    try:
        with Console(argv, timeout=args.timeout) as c:
            c.expect(r"avmm-guest: init started", 120)
            t_init = time.monotonic() - t0
            c.expect(r"~ # ", 60)
            c.sendline("echo $((6*7))")
            c.expect(r"\n42\n", 30)
            c.sendline("uname -m")
            c.expect(r"\naarch64\n", 30)
            c.expect(r"~ # ", 30)
            # the same /proc/interrupts check linux-shell makes through avmm
            start = len(c.buf)
            c.sendline("cat /proc/interrupts")
            c.expect(r"arch_timer[^\n]*\n", 30)
            c.expect(r"~ # ", 30)
            count, line = arch_timer_count(c.buf[start:])
            if not count:
                raise GuestError("no arch_timer ticks on a GIC in:\n" + c.buf[start:])
            print("l2-initramfs: %s" % line)
            c.sendline("poweroff -f")
            c.wait(60)
    except GuestError as e:
        print("l2-initramfs: FAIL: %s" % e)
        return 1
    print("l2-initramfs: init after %.1f s, total %.1f s" % (t_init, time.monotonic() - t0))
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
