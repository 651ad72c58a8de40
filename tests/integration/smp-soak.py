#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Soak test for Linux on 2 vCPUs: N boots in one L1, each powered off at its
prompt; prints how many hung, with each avmm thread's state at a hang.  Two
interrupt-line races once hung ~1 boot in 10 here (see core/vcpu.c
create_in_order and core/accel_kvm.c); 0 of 80 since.

  smp-soak.py [N] [--log FILE]
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nested import Nested  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=20)
    ap.add_argument("--log", help="write the whole console here")
    args = ap.parse_args()
    script = os.path.join(HERE, "smp-soak-l1.sh")
    g = Nested("sh /avmm/tests/smp-soak-l1.sh %d" % args.n, timeout=70 * args.n + 180,
               build=True, extra=["--add", script + ":/avmm/tests/smp-soak-l1.sh"], log=args.log)
    hung = 0
    with g:
        for i in range(1, args.n + 1):
            g.expect(r"@@ITER %d\n" % i, 180)
            m = g.expect(r"(~ # |@@HANG %d\n)" % i, 120)
            if m.group(1).startswith("@@HANG"):
                hung += 1
                start = g.pos
                g.expect(r"@@RC \d+ %d" % i, 60)
                print("boot %d: HUNG\n%s" % (i, g.buf[start:g.pos]), flush=True)
            else:
                g.sendline("poweroff -f", 0.02)
                g.expect(r"@@RC (\d+) %d" % i, 60)
                print("boot %d: ok" % i, flush=True)
        g.expect(r"@@DONE", 60)
    print("%d of %d boots hung" % (hung, args.n))
    return 1 if hung else 0


if __name__ == "__main__":
    sys.exit(main())
