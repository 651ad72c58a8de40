#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot the L2 guest kernel under plain qemu-system-aarch64 (TCG, no avmm) with
QEMU's own virtio-mmio devices (block, rng, console): the initramfs from
`tools/mkinitramfs.sh --modules virtio` loads the virtio modules and
switch_roots to root=/dev/vda, an image from tools/mkrootfs.sh. This is the
reference an avmm virtio plugin must match. Checks that the guest reads a
file put on the disk, writes one that the host reads back (debugfs), uses the
rng, logs in as root on hvc0 (virtio-console, the rootfs's getty), and that
the disk is clean afterwards (e2fsck)."""

import argparse
import os
import random
import re
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nested import REPO, Console, GuestError  # noqa: E402

# Lines of the initramfs /init that mean the root disk did not work.
FAIL = r"staying in the initramfs|insmod \S+ failed|Kernel panic|avmm-guest: init started"


def run(argv, **kw):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if r.returncode != 0:
        raise GuestError("%s failed (rc %d):\n%s" % (" ".join(argv), r.returncode, r.stdout))
    return r.stdout


class Fifo:
    """The guest's hvc0, a QEMU pipe chardev: PATH.in to the guest, PATH.out from it."""

    def __init__(self, path):
        for end in (".in", ".out"):
            if os.path.exists(path + end):
                os.unlink(path + end)
            os.mkfifo(path + end)
        # O_RDWR: neither open waits for QEMU, which opens them when it starts
        self.tx = os.open(path + ".in", os.O_RDWR)
        self.rx = os.open(path + ".out", os.O_RDWR | os.O_NONBLOCK)
        self.buf = ""

    def expect(self, pattern, timeout):
        end = time.monotonic() + timeout
        while not re.search(pattern, self.buf):
            left = end - time.monotonic()
            if left <= 0:
                raise GuestError("hvc0: no /%s/ after %d s; hvc0 output:\n%s"
                                 % (pattern, timeout, self.buf[-800:] or "(none)"))
            if select.select([self.rx], [], [], min(left, 0.5))[0]:
                data = os.read(self.rx, 4096).decode(errors="replace")
                self.buf += re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", data)
        self.buf = self.buf[re.search(pattern, self.buf).end():]

    def sendline(self, text):
        os.write(self.tx, (text + "\n").encode())

    def close(self):
        os.close(self.tx)
        os.close(self.rx)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--guest-dir", default=os.environ.get(
        "AVMM_GUEST_DIR", os.path.join(REPO, "build", "guest")))
    ap.add_argument("--work", default=None, help="where the images go (default GUEST_DIR/rootfs-test)")
    ap.add_argument("--timeout", type=int, default=240)
    args = ap.parse_args()
    work = args.work or os.path.join(args.guest_dir, "rootfs-test")
    os.makedirs(work, exist_ok=True)
    image = os.path.join(args.guest_dir, "Image")
    if not os.path.exists(image):
        print("missing %s: run tools/fetch-guest.sh" % image)
        return 1
    env = dict(os.environ, AVMM_GUEST_DIR=args.guest_dir)
    initrd = os.path.join(work, "initramfs-modules.cpio.gz")
    disk = os.path.join(work, "rootfs.img")
    token = "avmm-token-%08x" % random.getrandbits(32)
    hvc_path = os.path.join(work, "hvc0")
    hvc = Fifo(hvc_path)
    with open(os.path.join(work, "token"), "w") as f:
        f.write(token + "\n")

    argv = ["qemu-system-aarch64", "-M", "virt", "-cpu", "max", "-m", "512", "-nographic",
            "-nic", "none", "-no-reboot", "-kernel", image, "-initrd", initrd,
            "-drive", "if=none,file=%s,format=raw,id=d0" % disk,
            "-device", "virtio-blk-device,drive=d0",
            "-device", "virtio-rng-device",
            "-chardev", "pipe,id=vc0,path=%s" % hvc_path, "-device", "virtio-serial-device",
            "-device", "virtconsole,chardev=vc0",
            "-append", "console=ttyAMA0 quiet root=/dev/vda rw"]
    t0 = time.monotonic()
    try:
        run([os.path.join(REPO, "tools", "mkinitramfs.sh"), args.guest_dir,
             "--modules", "virtio", "-o", initrd], env=env)
        run([os.path.join(REPO, "tools", "mkrootfs.sh"), disk, "--size", "32",
             "--add", "%s:/etc/avmm-token" % os.path.join(work, "token")], env=env)
        with Console(argv, timeout=args.timeout) as c:
            c.expect(r"avmm-guest: modules loaded", 150, fail=FAIL)
            c.expect(r"avmm-guest: mounted /dev/vda on /newroot \(ext4, rw\)", 30, fail=FAIL)
            c.expect(r"avmm-guest: rootfs init started", 30, fail=FAIL)
            t_init = time.monotonic() - t0
            c.expect(r"~ # ", 60)
            c.sendline("cat /etc/avmm-token")
            c.expect(r"\n%s\n" % token, 30)
            c.sendline("grep ' / ' /proc/mounts")
            c.expect(r"\n/dev/vda / ext4 rw[,\s]", 30)
            c.sendline("cat /sys/class/misc/hw_random/rng_current")
            c.expect(r"\nvirtio_rng\.0\n", 30)
            c.sendline("[ -c /dev/hvc0 ] && echo hvc$((1+1))")
            c.expect(r"\nhvc2\n", 30)
            # virtio-console both ways: the rootfs's getty and a root login on hvc0
            hvc.expect(r"login: $", 60)
            hvc.sendline("root")
            hvc.expect(r"~ # $", 30)
            hvc.sendline("echo hvc-$((40+2)) $(tty)")
            hvc.expect(r"\nhvc-42 /dev/hvc0\n", 30)
            # the applet links made on the host (and busybox itself, which --list
            # names too) are exactly what busybox lists
            c.sendline('[ "$(busybox --list | sort)" = "$(ls /bin | sort)" ]'
                       ' && echo applets$((1+1))')
            c.expect(r"\napplets2\n", 30)
            c.sendline("echo $((6*7))-%s >/written && sync && mount -o remount,ro / && echo ro$((1+1))"
                       % token)
            c.expect(r"\nro2\n", 60)
            c.expect(r"~ # ", 30)
            c.sendline("poweroff -f")
            c.wait(60)
        run(["e2fsck", "-fn", disk])
        written = run(["debugfs", "-R", "cat /written", disk]).splitlines()
        if "42-" + token not in written:
            raise GuestError("the host reads %r from /written, not 42-%s" % (written, token))
    except GuestError as e:
        print("l2-rootfs: FAIL: %s" % e)
        return 1
    finally:
        hvc.close()
    print("l2-rootfs: rootfs init after %.1f s, hvc0 login ok, total %.1f s" % (t_init, time.monotonic() - t0))
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
